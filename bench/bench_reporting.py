"""Benchmark: reporting ingest rate and query latency as events grow.

    .venv/bin/python bench/bench_reporting.py [--events 1000000] [--batch 20000]

Starts one reporting process (and intake, for the public statistics' catalog) on the local
RabbitMQ/FerretDB in throw-away databases, publishes synthetic events of every kind the
reporting service consumes (filings, case transitions, payments, feedback, ratings, postal
returns), waits until all are stored and folded, and prints events/s; the dashboard query is
timed before, between batches and after: it reads pre-aggregated counters, so it stays flat.
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
from services.common.events import new_event  # noqa: E402

AGENCIES = ["STP", "SXD", "STNMT", "SKHDT", "SGTVT", "UBND-QN", "UBND-GR"]
OPERATOR = {"id": "op", "role": "operator"}


def synthetic(i: int):
    """A dossier's life in events: filed, received, result ready (early/on time/late), paid, rated…"""
    code = f"52-R-{i:08d}"
    agency = AGENCIES[i % len(AGENCIES)]
    base = {"code": code, "agency_id": agency, "procedure_code": f"P{i % 40:02d}", "sector": f"S{i % 5}",
            "level": 3 + i % 2}
    actor = {"id": "c", "role": "citizen"}
    yield "intake", new_event("dossier_submitted", actor, {**base, "handled_as_level": base["level"],
                                                           "channel": "online"}, code)
    yield "processing", new_event("case_status_changed", actor, {**base, "action": "receive", "to": "received",
                                                                 "case_version": 2}, code)
    yield "processing", new_event("case_status_changed", actor, {
        **base, "action": "mark_result_ready", "to": "result_ready", "case_version": 6,
        "timing_class": ("early", "on_time", "late")[i % 3]}, code)
    if i % 2:
        yield "payment", new_event("payment_succeeded", actor, {"code": code, "amount_vnd": 100000,
                                                                "payment_id": f"P{i}"}, code)
    if i % 5 == 0:
        yield "feedback", new_event("dossier_rated", actor, {"code": code, "agency_id": agency, "score": 1 + i % 5},
                                    code)


def dashboard_ms(amqp, samples=20):
    with ServiceRpcProxy("reporting", {"AMQP_URI": amqp}, timeout=120) as rpc:
        times = []
        for _ in range(samples):
            t = time.perf_counter()
            rpc.dashboard(OPERATOR, "agency", "STP", "ALL")
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=20_000)
    args = ap.parse_args()
    env = base_env()
    amqp = env["AMQP_URI"]
    with running(["reporting"], env) as (_, client):
        db = client[f"{env['DB_PREFIX']}_reporting"]
        wait_rpc("reporting", amqp)
        print(f"machine: {os.cpu_count()} cores; dashboard with no events: {dashboard_ms(amqp):.1f} ms (median)")
        conn = pika.BlockingConnection(pika.URLParameters(amqp.replace("pyamqp://", "amqp://", 1)))
        ch = conn.channel()
        for source in ("intake", "processing", "payment", "feedback"):
            ch.exchange_declare(f"{source}.events", exchange_type="topic", durable=True)
        sent, i, start = 0, 0, time.perf_counter()
        while sent < args.events:
            target = min(args.events, sent + args.batch)
            while sent < target:
                for source, event in synthetic(i):
                    ch.basic_publish(f"{source}.events", event["type"], json.dumps(event).encode(),
                                     pika.BasicProperties(content_type="application/json", delivery_mode=2))
                    sent += 1
                i += 1
            # Every event stored once and folded: the folder's own tally, read by _id (counting the
            # collections would be a scan on FerretDB and would slow what it measures).
            while (db.meta.find_one({"_id": "fold"}) or {}).get("folded", 0) < sent:
                conn.sleep(2)
            elapsed = time.perf_counter() - start
            print(f"{sent:>9} events stored and folded in {elapsed:7.1f} s → {sent / elapsed:7.0f} events/s; "
                  f"dashboard {dashboard_ms(amqp):.1f} ms (median)", flush=True)
        conn.close()


if __name__ == "__main__":
    main()
