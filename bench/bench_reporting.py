"""Benchmark: reporting ingest rate end to end, against its floor, and query latency as events grow.

    .venv/bin/python bench/bench_reporting.py [--events 1000000] [--batch 100000]
    .venv/bin/python bench/bench_reporting.py --quick     # 30 000 events, well under 2 minutes

Starts one reporting process on the local RabbitMQ/FerretDB (or AMQP_URI/MONGO_URI) in
throw-away databases and a virtual host of its own, publishes synthetic events of every kind the
reporting service consumes (filings, case transitions, deadline flags, payments, ratings), and
times until every event is stored once and folded (the writer's own tally, read by ``_id``).
The dashboard timed is the province's for all time (two counter documents read by ``_id``; an
agency's also asks intake for its departments, which this benchmark does not run).
Printed: events/s end to end; the floor, measured in the same run on the same server: one
``insert_many`` of the same events as documents into a scratch collection (what storing them
costs at the least, with no broker and no folding); their ratio; and the dashboard query
(median of 20) with no events and after each batch: it reads pre-aggregated counters, so it
stays flat.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pika  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402

from bench.harness import base_env, running, wait_rpc  # noqa: E402
from services.common.event_contracts import (  # noqa: E402
    CaseDeadlineFlagged,
    CaseStatusChanged,
    DossierRated,
    DossierSubmitted,
    PaymentSucceeded,
)
from services.common.events import new_event  # noqa: E402

AGENCIES = ["STP", "SXD", "STNMT", "SKHDT", "SGTVT", "UBND-QN", "UBND-GR"]
OPERATOR = {"id": "op", "role": "operator"}


def synthetic(i: int):
    """A dossier's life in events: filed, received, flagged, result ready (early/on time/late), paid, rated…"""
    code = f"52-R-{i:08d}"
    agency = AGENCIES[i % len(AGENCIES)]
    base = {
        "code": code,
        "agency_id": agency,
        "procedure_code": f"P{i % 40:02d}",
        "sector": f"S{i % 5}",
        "level": 3 + i % 2,
        "procedure_name": "Thủ tục",
        "applicant_id": "c",
        "delivery_method": "in_person",
    }
    actor = {"id": "c", "role": "citizen"}
    yield (
        "intake",
        new_event(
            DossierSubmitted(
                **base,
                handled_as_level=base["level"],
                channel="online",
                procedure_version=1,
                processing_days=5,
                submitted_at="2026-12-01T02:00:00Z",
            ),
            actor,
            code,
        ),
    )
    yield (
        "processing",
        new_event(
            CaseStatusChanged(
                **base,
                action="receive",
                from_="submitted",
                to="received",
                case_version=2,
                due_date="2026-12-09",
                reception_due_date="2026-12-02",
                reception_late=i % 7 == 0,
            ),
            actor,
            code,
        ),
    )
    if i % 4 == 0:
        yield (
            "processing",
            new_event(
                CaseDeadlineFlagged(
                    **base,
                    action="deadline_flag",
                    from_="received",
                    to="received",
                    flags={"at_risk": True, "overdue": False},
                    newly=["at_risk"],
                    case_version=3,
                ),
                actor,
                code,
            ),
        )
    yield (
        "processing",
        new_event(
            CaseStatusChanged(
                **base,
                action="mark_result_ready",
                from_="approved",
                to="result_ready",
                case_version=6,
                timing_class=("early", "on_time", "late")[i % 3],
                stage_completed={
                    "code": "review",
                    "name": "Thẩm định",
                    "kind": "review",
                    "department_id": f"D{i % 3}",
                    "due_date": "2026-12-08",
                    "late": i % 5 == 0,
                },
            ),
            actor,
            code,
        ),
    )
    if i % 2:
        yield "payment", new_event(PaymentSucceeded(code=code, amount_vnd=100000, payment_id=f"P{i}"), actor, code)
    if i % 5 == 0:
        yield "feedback", new_event(DossierRated(code=code, agency_id=agency, score=1 + i % 5), actor, code)


def dashboard_ms(amqp, samples=20):
    with ServiceRpcProxy("reporting", {"AMQP_URI": amqp}, timeout=120) as rpc:
        times = []
        for _ in range(samples):
            t = time.perf_counter()
            rpc.dashboard(OPERATOR, "all", "*", "ALL")
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def floor_rate(db, events: int) -> float:
    """insert_many of the same kind of documents the writer stores, in batches of the writer's size."""
    docs, i = [], 0
    while len(docs) < events:
        for _, event in synthetic(i):
            docs.append(
                {
                    "_id": event["event_id"],
                    "type": event["type"],
                    "occurred_at": event["occurred_at"],
                    "dossier_code": event["dossier_code"],
                    "tag": "floor.1",
                    "body": json.dumps(event),
                }
            )
        i += 1
    start = time.perf_counter()
    for k in range(0, events, 2000):
        db.floor.insert_many(docs[k : k + 2000], ordered=False)
    rate = events / (time.perf_counter() - start)
    db.floor.drop()
    return rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=100_000, help="events published at once between two measurements")
    ap.add_argument("--quick", action="store_true", help="30 000 events in one batch (what `make bench` runs)")
    args = ap.parse_args()
    if args.quick:
        args.events, args.batch = 30_000, 30_000
    env = base_env()
    amqp = env["AMQP_URI"]
    with running(["reporting"], env) as (_, client):
        db = client[f"{env['DB_PREFIX']}_reporting"]
        wait_rpc("reporting", amqp)
        floor = floor_rate(db, min(args.events, 30_000))
        empty = dashboard_ms(amqp)
        print(
            f"machine: {os.cpu_count()} cores; floor (insert_many of the same documents): {floor:.0f} events/s; "
            f"dashboard with no events: {empty:.1f} ms (median of 20)",
            flush=True,
        )
        conn = pika.BlockingConnection(pika.URLParameters(amqp.replace("pyamqp://", "amqp://", 1)))
        ch = conn.channel()
        for source in ("intake", "processing", "payment", "feedback"):
            ch.exchange_declare(f"{source}.events", exchange_type="topic", durable=True)
        # Each batch's messages are made before its clock starts: generating synthetic events is the
        # load generator's work, not the system's.
        sent, i, elapsed, dashboard = 0, 0, 0.0, empty
        while sent < args.events:
            bodies = []
            while len(bodies) < min(args.batch, args.events - sent):
                bodies += [(s, e["type"], json.dumps(e).encode()) for s, e in synthetic(i)]
                i += 1
            start = time.perf_counter()
            for source, kind, body in bodies:
                ch.basic_publish(
                    f"{source}.events",
                    kind,
                    body,
                    pika.BasicProperties(content_type="application/json", delivery_mode=2),
                )
            sent += len(bodies)
            published = time.perf_counter() - start
            # Every event stored once and folded: the writer's own tally, read by _id (counting the
            # collections would be a scan on FerretDB and would slow what it measures).
            while (db.meta.find_one({"_id": "fold"}) or {}).get("folded", 0) < sent:
                conn.sleep(0.2)
            elapsed += time.perf_counter() - start
            dashboard = dashboard_ms(amqp)
            print(
                f"{sent:>9} events stored and folded in {elapsed:7.1f} s → {sent / elapsed:7.0f} events/s "
                f"({sent / elapsed / floor:.2f} of the floor; this batch published in {published:.1f} s); "
                f"dashboard {dashboard:.1f} ms (median)",
                flush=True,
            )
        conn.close()
        with ServiceRpcProxy("reporting", {"AMQP_URI": amqp}, timeout=60) as rpc:
            print(f"writer's time by step (s): {rpc.stats()['writer_seconds']}")
        print(
            f"result: {sent / elapsed:.0f} events/s end to end, floor {floor:.0f} events/s, ratio "
            f"{sent / elapsed / floor:.2f}; dashboard {empty:.1f} ms with no events, {dashboard:.1f} ms at {sent}"
        )


if __name__ == "__main__":
    main()
