"""Benchmark: opening cases from a burst of submitted dossiers, and the deadline sweep.

    .venv/bin/python bench/bench_processing.py [--burst 1000] [--open-cases 100000]

Starts one processing process on the local RabbitMQ/FerretDB (or AMQP_URI/MONGO_URI) in
throw-away databases, then prints:
  * burst: N `dossier_submitted` events published at once → time until every case is open
    (each opening: claim, commit record, projection, history hash, `case_opened` published);
  * sweep: with M open cases whose clocks run (1 % of them due soon), the time of one sweep
    over all of them, and how many it flagged.
"""
import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pika  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402

from bench.harness import base_env, running, wait_rpc  # noqa: E402
from services.common.events import new_event, utcnow  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--open-cases", type=int, default=100_000)
    args = ap.parse_args()
    env = base_env()
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
            env_ = new_event("dossier_submitted", {"id": "c", "role": "citizen"}, {
                "code": code, "procedure_code": "TP-HT-02", "procedure_version": 1, "procedure_name": "Bench",
                "agency_id": "UBND-GR", "level": 3, "handled_as_level": 3, "channel": "online",
                "processing_days": 3, "applicant_id": "c", "delivery_method": "in_person", "fee_vnd": 0,
                "submitted_at": now.isoformat()}, dossier_code=code)
            ch.basic_publish("intake.events", "dossier_submitted", json.dumps(env_).encode(),
                             pika.BasicProperties(content_type="application/json", delivery_mode=2))
        conn.close()
        published = time.perf_counter() - start
        while db.cases.count_documents({}) < args.burst:
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        print(f"burst: {args.burst} dossier_submitted published in {published:.1f} s; all cases open after "
              f"{elapsed:.1f} s → {args.burst / elapsed:.1f} cases/s")

        # ---- sweep over many open cases
        batch, total = [], 0
        t0 = time.perf_counter()
        for i in range(args.open_cases):
            soon = i % 100 == 0
            due = now + (timedelta(hours=20) if soon else timedelta(days=60 + i % 30))
            batch.append({"_id": f"52-SWEEP-{i:07d}", "code": f"52-SWEEP-{i:07d}", "status": "in_review",
                          "paused": False, "version": 3, "due_at": due, "agency_id": "UBND-GR",
                          "department_id": "GR-TPHT", "applicant_id": "c", "procedure_code": "TP-HT-02",
                          "procedure_name": "Bench", "delivery_method": "in_person", "level": 3,
                          "channel": "online", "history_head": "0" * 64,
                          "flags": {"at_risk": False, "overdue": False}})
            if len(batch) == 1000:
                db.cases.insert_many(batch)
                total += len(batch)
                batch = []
        if batch:
            db.cases.insert_many(batch)
        print(f"sweep setup: {args.open_cases} open cases inserted in {time.perf_counter() - t0:.1f} s")
        with ServiceRpcProxy("processing", {"AMQP_URI": amqp}, timeout=3600) as proxy:
            for label in ("sweep", "sweep again (nothing new to flag)"):
                t0 = time.perf_counter()
                result = proxy.sweep()
                took = time.perf_counter() - t0
                print(f"{label}: checked {result['checked']} running clocks, flagged {result['flagged']} (each a "
                      f"committed transition + event) in {took:.1f} s → {result['checked'] / took:.0f} cases/s")


if __name__ == "__main__":
    main()
