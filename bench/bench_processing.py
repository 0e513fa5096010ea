"""Benchmark: opening cases from a burst of submitted dossiers, and the deadline sweep.

    .venv/bin/python bench/bench_processing.py [--burst 1000] [--open-cases 100000]

Starts one processing process on the local RabbitMQ/FerretDB (or AMQP_URI/MONGO_URI) in
throw-away databases, then prints:
  * burst: N `dossier_submitted` events published at once → time until every case is open
    (each opening: claim, commit record, projection, history hash, `case_opened` published);
  * sweep: with M open cases whose clocks run, D of them falling due on one day, the time of the
    sweep on that day (it reads the deadline calendar: only what is due) and how many it flagged.
Each beside its storage floor, same run, same server: the documents one opening (one flagging)
left in processing's database written again straight with pymongo, as many times and as
concurrently as the service did (bench.harness.rewrite). ``--quick`` is what ``make bench`` runs.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import pika  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402

from bench.harness import base_env, documents_of, report, rewrite, run_pool, running, wait_rpc  # noqa: E402
from services.common.calendar import VN_TZ, default_calendar  # noqa: E402
from services.common.clock import write_offset  # noqa: E402
from services.common.deadline_calendar import DeadlineCalendar, flag_days  # noqa: E402
from services.common.event_contracts import DossierSubmitted  # noqa: E402
from services.common.events import new_event, utcnow  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--open-cases", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=1000, help="how many of the open cases fall due on the measured day")
    ap.add_argument("--quick", action="store_true", help="a burst of 300, 10 000 open cases, 100 due")
    args = ap.parse_args()
    if args.quick:
        args.burst, args.open_cases, args.due = 300, 10_000, 100
    clock_file = ROOT / "var" / f"clock-bench-{os.getpid()}"
    write_offset(clock_file, utcnow())
    env = base_env(PORTAL_CLOCK_FILE=str(clock_file))
    amqp = env["AMQP_URI"]
    with running(["processing"], env) as (_, client):
        db = client[f"{env['DB_PREFIX']}_processing"]
        wait_rpc("processing", amqp)
        print(f"machine: {os.cpu_count()} cores")
        # ---- burst
        now = utcnow()
        conn = pika.BlockingConnection(pika.URLParameters(amqp.replace("pyamqp://", "amqp://", 1)))
        ch = conn.channel()
        ch.exchange_declare("intake.events", exchange_type="topic", durable=True)
        start = time.perf_counter()
        for i in range(args.burst):
            code = f"52-BENCH-{i:07d}"
            env_ = new_event(
                DossierSubmitted(
                    code=code,
                    procedure_code="TP-HT-02",
                    procedure_version=1,
                    procedure_name="Bench",
                    agency_id="UBND-GR",
                    level=3,
                    handled_as_level=3,
                    channel="online",
                    processing_days=3,
                    applicant_id="c",
                    delivery_method="in_person",
                    fee_vnd=0,
                    submitted_at=now,
                ),
                {"id": "c", "role": "citizen"},
                dossier_code=code,
            )
            if i == 0:
                first_event = env_["event_id"]
            ch.basic_publish(
                "intake.events",
                "dossier_submitted",
                json.dumps(env_).encode(),
                pika.BasicProperties(content_type="application/json", delivery_mode=2),
            )
        conn.close()
        published = time.perf_counter() - start
        while db.cases.count_documents({}) < args.burst:
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        time.sleep(2)  # the last openings publish and clear their markers
        keys = ("52-BENCH-0000000", first_event)  # the case and its event (processed_events is keyed by it)
        docs = documents_of(db, *keys)
        floor_db = client[f"{env['DB_PREFIX']}_floor"]  # apart: the sweep below must not see the copies
        lat, floor_elapsed = run_pool(rewrite(floor_db, docs, keys, "floor"), args.burst, 10)
        floor = args.burst / floor_elapsed
        print(
            f"burst: {args.burst} dossier_submitted published in {published:.1f} s; all cases open after "
            f"{elapsed:.1f} s → {args.burst / elapsed:.1f} cases/s = {args.burst / elapsed / floor:.2f} × floor"
        )
        report(f"  storage floor: one opening's {len(docs)} documents (x10)", lat, floor_elapsed)

        # ---- sweep over many open cases, a thousand of them due on the measured day
        cal = default_calendar()
        today = cal.local_date(utcnow())
        due_day = cal.add_working_days(today, 7)
        t0 = time.perf_counter()
        batch, entries = [], []
        for i in range(args.open_cases):
            due = due_day if i % (args.open_cases // args.due) == 0 else cal.add_working_days(today, 60 + i % 30)
            code = f"52-SWEEP-{i:07d}"
            batch.append(
                {
                    "_id": code,
                    "code": code,
                    "status": "in_review",
                    "paused": False,
                    "version": 3,
                    "due_date": due.isoformat(),
                    "due_at": cal.end_of_day(due),
                    "statutory_due_date": due.isoformat(),
                    "agency_id": "UBND-GR",
                    "department_id": "GR-TPHT",
                    "applicant_id": "c",
                    "procedure_code": "TP-HT-02",
                    "procedure_name": "Bench",
                    "delivery_method": "in_person",
                    "level": 3,
                    "channel": "online",
                    "history_head": "0" * 64,
                    "processing_days": 3,
                    "submitted_at": utcnow(),
                    "clock": [],
                    "flags": {"at_risk": False, "overdue": False},
                }
            )
            entries.append((code, flag_days(cal, due, 1), f"{code}#3"))  # as the commit that set it schedules
            if len(batch) == 1000:
                db.cases.insert_many(batch)
                batch = []
        if batch:
            db.cases.insert_many(batch)
        calendar = DeadlineCalendar(db, "cases")
        calendar.schedule_many(entries)
        calendar.mark_built()
        print(
            f"sweep setup: {args.open_cases} open cases inserted and scheduled in {time.perf_counter() - t0:.1f} s; "
            f"{len(range(0, args.open_cases, args.open_cases // args.due))} due on {due_day}"
        )
        with ServiceRpcProxy("processing", {"AMQP_URI": amqp}, timeout=3600) as proxy:
            t0 = time.perf_counter()
            result = proxy.sweep()
            print(
                f"sweep today (folds the {args.open_cases} scheduled entries into day documents, nothing due): "
                f"checked {result['checked']} in {time.perf_counter() - t0:.1f} s"
            )
            write_offset(
                clock_file, datetime.combine(cal.at_risk_from(due_day, 1), datetime.min.time(), VN_TZ).replace(hour=9)
            )
            time.sleep(0.5)
            flagged, flag_rate = 0, 0.0
            for label in ("sweep on the day they fall due", "sweep again the same day (nothing new)"):
                t0 = time.perf_counter()
                result = proxy.sweep()
                took = time.perf_counter() - t0
                print(
                    f"{label}: checked {result['checked']} of {args.open_cases} open cases, flagged "
                    f"{result['flagged']} (each a committed transition + event) in {took:.2f} s",
                    flush=True,
                )
                if result["flagged"]:
                    flagged, flag_rate = result["flagged"], result["flagged"] / took
            # The first case is one of those due: what its flag wrote (the transition record, the case).
            flagged = flagged or 1
            docs = [
                (n, d)
                for n, d in documents_of(db, "52-SWEEP-0000000")
                if n in ("cases", "cases_transitions") and d.get("version", 0) >= 4
            ]
            lat, floor_elapsed = run_pool(rewrite(floor_db, docs, ("52-SWEEP-0000000",), "floor"), flagged, 8)
            print(f"flagging on the day: {flag_rate:.1f} cases/s = {flag_rate * floor_elapsed / flagged:.2f} × floor")
            report(f"  storage floor: each flag's {len(docs)} documents (x8)", lat, floor_elapsed)


if __name__ == "__main__":
    main()
