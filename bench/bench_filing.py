"""Benchmark: concurrent dossier filings through the gateway, and the floor.

    .venv/bin/python bench/bench_filing.py [--concurrency 8] [--count 200]

Starts its own suite (intake + gateway as real processes) on the local
RabbitMQ/FerretDB (or AMQP_URI/MONGO_URI), in throw-away databases, then prints:
  * filings: throughput and p50/p95/p99 latency of POST /api/v1/dossiers
    (two attachments each, JSON + base64) at the given concurrency;
  * floor: bare nameko RPC round trips to a do-nothing service, and bare
    insert_one calls on the same Mongo server, sequential and concurrent.
Figures are printed, never asserted (machines are noisy).
"""
import eventlet
import eventlet.queue

eventlet.monkey_patch()

import argparse  # noqa: E402
import base64  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nameko.containers import ServiceContainer  # noqa: E402
from nameko.rpc import rpc  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402

from bench.harness import base_env, running, seed  # noqa: E402
from ops import suite  # noqa: E402

PDF = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(name, latencies, elapsed):
    ms = [x * 1000 for x in latencies]
    print(f"{name:<34} n={len(ms):<5} {len(ms) / elapsed:8.1f}/s   p50 {pct(ms, 50):7.1f} ms   "
          f"p95 {pct(ms, 95):7.1f} ms   p99 {pct(ms, 99):7.1f} ms   mean {statistics.mean(ms):7.1f} ms")


def run_pool(fn, count, concurrency):
    latencies = []

    def one(i):
        t = time.perf_counter()
        fn(i)
        latencies.append(time.perf_counter() - t)

    pool = eventlet.GreenPool(concurrency)
    start = time.perf_counter()
    for i in range(count):
        pool.spawn_n(one, i)
    pool.waitall()
    return latencies, time.perf_counter() - start


class Echo:
    name = "bench_echo"

    @rpc
    def echo(self, value):
        return value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--floor-count", type=int, default=1000)
    args = ap.parse_args()

    env = base_env(GATEWAY_ADDRESS=f"127.0.0.1:{suite.free_port()}", LOGIN_MAX_ATTEMPTS_PER_IP="100000",
                   SMTP_PORT=str(suite.free_port()))
    amqp, prefix = env["AMQP_URI"], env["DB_PREFIX"]
    seed(env)
    with running(list(suite.COMPONENTS), env) as (procs, client):
        url = suite.gateway_url(env)
        suite.wait_healthy(url, timeout=90, procs=procs)
        api = f"{url}/api/v1"
        print(f"machine: {os.cpu_count()} cores; concurrency {args.concurrency}; filings {args.count}; "
              f"attachment sizes {len(PDF)} + {len(PNG)} bytes")

        tokens = []
        for i in range(args.concurrency):
            n = uuid.uuid4().int
            profile = {"kind": "individual", "full_name": "Người Thử", "national_id": f"{n % 10**12:012d}",
                       "date_of_birth": "1990-01-01", "email": f"bench{n % 10**9}@example.vn",
                       "phone": "0905000000", "password": "bench-password-123"}
            requests.post(f"{api}/auth/register", json=profile, timeout=60).raise_for_status()
            r = requests.post(f"{api}/auth/login", json={"login": profile["email"], "password": profile["password"]},
                              timeout=60)
            tokens.append(r.json()["access_token"])

        form = {"full_name": "Người Thử", "national_id": "079090001234", "date_of_birth": "1990-01-01",
                "residence": "Quy Nhơn", "marital_status": "chưa kết hôn", "purpose": "Thử tải"}
        attachments = [
            {"document_code": "TK-XNHN", "filename": "tk.pdf", "content_type": "application/pdf",
             "content_b64": base64.b64encode(PDF).decode()},
            {"document_code": "BA-LYHON", "filename": "ba.png", "content_type": "image/png",
             "content_b64": base64.b64encode(PNG).decode()}]
        session = [requests.Session() for _ in range(args.concurrency)]
        errors = []

        def file_one(i):
            body = {"procedure_code": "TP-HT-02", "form_data": form, "delivery_method": "in_person",
                    "attachments": attachments}
            r = session[i % args.concurrency].post(
                f"{api}/dossiers", json=body, timeout=120,
                headers={"Authorization": f"Bearer {tokens[i % args.concurrency]}", "Idempotency-Key": f"b{i}"})
            if r.status_code != 201:
                errors.append(r.status_code)

        run_pool(file_one, min(10, args.count), args.concurrency)  # warm-up
        lat, elapsed = run_pool(lambda i: file_one(i + 10), args.count, args.concurrency)
        report("gateway filings (HTTP→RPC→Mongo)", lat, elapsed)
        if errors:
            print(f"  errors: {len(errors)} (statuses {sorted(set(errors))})")

        # Floor 1: bare nameko RPC round trips on the same broker.
        container = ServiceContainer(Echo, {"AMQP_URI": amqp})
        container.start()
        try:
            with ServiceRpcProxy("bench_echo", {"AMQP_URI": amqp}) as proxy:
                lat, elapsed = run_pool(lambda i: proxy.echo(i), args.floor_count, 1)
                report("floor: nameko RPC round trip (seq)", lat, elapsed)
            # A standalone proxy serves one green thread at a time: lend them from a queue.
            proxies = [ServiceRpcProxy("bench_echo", {"AMQP_URI": amqp}) for _ in range(args.concurrency)]
            idle = eventlet.queue.Queue()
            for p in proxies:
                idle.put(p.start())

            def echo(i):
                proxy = idle.get()
                try:
                    proxy.echo(i)
                finally:
                    idle.put(proxy)

            lat, elapsed = run_pool(echo, args.floor_count, args.concurrency)
            report(f"floor: nameko RPC (x{args.concurrency})", lat, elapsed)
            for p in proxies:
                p.stop()
        finally:
            container.stop()

        # Floor 2: bare inserts on the same Mongo-wire server.
        coll = client[f"{prefix}_floor"].inserts
        lat, elapsed = run_pool(lambda i: coll.insert_one({"_id": f"s{i}", "v": i}), args.floor_count, 1)
        report("floor: Mongo insert_one (seq)", lat, elapsed)
        lat, elapsed = run_pool(lambda i: coll.insert_one({"_id": f"c{i}", "v": i}), args.floor_count,
                                args.concurrency)
        report(f"floor: Mongo insert_one (x{args.concurrency})", lat, elapsed)
        big = {"blob": b"0" * 200_000}
        lat, elapsed = run_pool(lambda i: coll.insert_one({"_id": f"b{i}", **big}), 200, 1)
        report("floor: Mongo insert 200 KB doc (seq)", lat, elapsed)


if __name__ == "__main__":
    main()
