"""Benchmark: what the Mongo-wire server costs per operation, and what concurrent writers cost it.

    .venv/bin/python bench/bench_store.py [--quick]

On the local FerretDB (or MONGO_URI), in a throw-away database, prints:
  * per operation, sequential: wall time and the server's CPU time (Linux /proc, when the server is
    a local FerretDB) — small insert, _id read, delete, a 200 KB binary chunk in and out;
  * one filing's writes (idempotency key, chunks in one insert_many, claim marker, transition
    record, dossier, marker delete) by 32 concurrent clients with at most N of them writing at a
    time: SQLite takes one writer per database, and writers that find it taken sleep in its busy
    handler, so the bound decides throughput and, above all, the slowest filing. The unbounded
    line is the filing benchmark's storage floor at 32; the best bound is the floor's floor.
"""

import eventlet
import eventlet.semaphore

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

from bson.binary import Binary  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_filing import PDF, PNG, cpu_seconds, server_pid  # noqa: E402
from bench.harness import report, run_pool  # noqa: E402
from services.common.events import utcnow  # noqa: E402
from services.common.mongo import make_client  # noqa: E402

DOSSIER = {
    "form_data": {"full_name": "Người Thử", "purpose": "x" * 200},
    "status": "submitted",
    "attachments": [{"id": "x", "sha256": "0" * 64, "size": 200_016}] * 2,
    "applicant": {"name": "y" * 300},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer operations per line")
    args = ap.parse_args()
    n = 100 if args.quick else 300
    uri = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/")
    client = make_client(uri)
    db = client[f"benchstore{uuid.uuid4().hex[:6]}"]
    pid = server_pid(uri)
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; server {uri} "
        f"({'local FerretDB, pid %d' % pid if pid else 'CPU not measured'})",
        flush=True,
    )
    try:
        db.small.insert_one({"_id": "warm"})
        db.chunks.insert_one({"_id": "warm"})

        def measure(name, fn):
            cpu = cpu_seconds(pid) if pid else 0.0
            start = time.perf_counter()
            for i in range(n):
                fn(i)
            wall = (time.perf_counter() - start) / n * 1000
            spent = f"   server CPU {(cpu_seconds(pid) - cpu) / n * 1000:6.2f} ms" if pid else ""
            print(f"  {name:<40} {wall:7.2f} ms wall{spent}", flush=True)

        print("-- one operation at a time")
        measure("insert_one, small document", lambda i: db.small.insert_one({"_id": f"s{i}", "v": "x" * 100}))
        measure("find_one by _id, small document", lambda i: db.small.find_one({"_id": f"s{i}"}))
        measure("delete_one by _id", lambda i: db.small.delete_one({"_id": f"s{i}"}))
        measure(
            "insert_one, 200 KB binary chunk", lambda i: db.chunks.insert_one({"_id": f"b{i}", "data": Binary(PDF)})
        )
        measure("find_one by _id, 200 KB binary chunk", lambda i: db.chunks.find_one({"_id": f"b{i}"}))

        print("-- one filing's writes, 32 clients, at most N writing at once")
        for limit in (1, 2, 4, 8, 32):
            gate = eventlet.semaphore.Semaphore(limit)

            def file_once(i, tag=f"w{limit}"):
                code, now = f"{tag}-{i}", utcnow()
                with gate:
                    db.idempotency_keys.insert_one(
                        {"_id": f"{code}:key", "dossier_code": code, "request_hash": "0" * 64, "created_at": now}
                    )
                    db.attachment_chunks.insert_many(
                        [{"_id": f"{code}-1:0", "data": Binary(PDF)}, {"_id": f"{code}-2:0", "data": Binary(PNG)}]
                    )
                    db.dossiers_pending.insert_one({"_id": f"{code}#1", "doc_id": code, "version": 1, "at": now})
                    db.dossiers_transitions.insert_one(
                        {"_id": f"{code}#1", "doc_id": code, "set": DOSSIER, "events": [DOSSIER], "at": now}
                    )
                    db.dossiers.insert_one({"_id": code, **DOSSIER})
                    db.dossiers_pending.delete_one({"_id": f"{code}#1"})

            lat, elapsed = run_pool(file_once, n, 32)
            report(f"  x32, writers <= {limit}", lat, elapsed)
    finally:
        client.drop_database(db.name)
        client.close()


if __name__ == "__main__":
    main()
