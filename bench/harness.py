"""What every benchmark does around its measurement: make sure the servers run, use throw-away
databases, start the components it needs as real processes, and clean everything up."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from nameko.exceptions import UnknownService
from nameko.standalone.rpc import ServiceRpcProxy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops import suite  # noqa: E402
from services.common.mongo import make_client  # noqa: E402

MGMT = "http://127.0.0.1:15672/api"


def base_env(**extra: str) -> dict:
    """The local servers (started if AMQP_URI / MONGO_URI are not given), a fresh DB prefix and,
    locally, a RabbitMQ virtual host of its own: synthetic events must never reach the durable
    queues of `make run` or of another benchmark."""
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    amqp = os.environ.get("AMQP_URI")
    if not (amqp and os.environ.get("MONGO_URI")):
        subprocess.run([str(ROOT / "scripts" / "infra"), "up"], check=True)
    if not amqp:
        requests.put(f"{MGMT}/vhosts/{prefix}", auth=("guest", "guest"), timeout=10).raise_for_status()
        requests.put(
            f"{MGMT}/permissions/{prefix}/guest",
            auth=("guest", "guest"),
            timeout=10,
            json={"configure": ".*", "write": ".*", "read": ".*"},
        ).raise_for_status()
        amqp = f"pyamqp://guest:guest@127.0.0.1:5672/{prefix}"
    return {
        "AMQP_URI": amqp,
        "MONGO_URI": os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/"),
        "DB_PREFIX": prefix,
        **extra,
    }


def seed(env: dict) -> None:
    subprocess.run(
        [sys.executable, "-m", "devtools.demo_data"],
        cwd=ROOT,
        check=True,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
    )


def wait_rpc(service: str, amqp: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            with ServiceRpcProxy(service, {"AMQP_URI": amqp}, timeout=30) as proxy:
                proxy.ping()
                return
        except UnknownService:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


@contextlib.contextmanager
def running(names: list[str], env: dict):
    """Start the named components; on exit stop them and drop the benchmark's databases."""
    procs = {n: suite.start(n, env, ROOT / "var" / "log" / env["DB_PREFIX"]) for n in names}
    client = make_client(env["MONGO_URI"])
    try:
        yield procs, client
    finally:
        suite.stop(procs)
        for name in client.list_database_names():
            if name.startswith(env["DB_PREFIX"]):
                client.drop_database(name)
        client.close()
        if env["AMQP_URI"].endswith("/" + env["DB_PREFIX"]):
            requests.delete(f"{MGMT}/vhosts/{env['DB_PREFIX']}", auth=("guest", "guest"), timeout=10)


# ------------------------------------------------------------------ measuring
def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_pool(fn, count: int, concurrency: int) -> tuple[list[float], float]:
    """``fn(i)`` for i < count with ``concurrency`` green threads: each call's latency, and the elapsed time."""
    import eventlet

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


def report(name: str, latencies: list[float], elapsed: float, floor: float | None = None) -> float:
    """Print one figure (and, given the same run's floor in operations/s, the ratio); return its rate."""
    ms = [x * 1000 for x in latencies]
    rate = len(ms) / elapsed
    line = (
        f"{name:<44} n={len(ms):<5} {rate:8.1f}/s   p50 {pct(ms, 50):7.1f} ms   p95 {pct(ms, 95):7.1f} ms   "
        f"p99 {pct(ms, 99):7.1f} ms"
    )
    if floor:
        line += f"   = {rate / floor:.2f} × floor"
    print(line, flush=True)
    return rate


def wait_drained(env: dict, timeout: float = 300) -> None:
    """Wait until no queue of the benchmark's own virtual host holds a message: what one phase
    published (events the downstream services consume) must not weigh on the next phase's figure."""
    if not env["AMQP_URI"].endswith("/" + env["DB_PREFIX"]):
        time.sleep(5)  # a broker we cannot inspect: give the consumers a moment
        return
    deadline, empty = time.time() + timeout, 0
    while time.time() < deadline and empty < 2:  # twice: the management API's counts lag a few seconds
        queues = requests.get(f"{MGMT}/queues/{env['DB_PREFIX']}", auth=("guest", "guest"), timeout=10).json()
        idle = all(q.get("messages", 0) == 0 and q.get("messages_unacknowledged", 0) == 0 for q in queues)
        empty = empty + 1 if idle else 0
        time.sleep(3 if idle else 1)


# ------------------------------------------------------------------ storage floors
def documents_of(db, *keys: str) -> list[tuple[str, dict]]:
    """Every document of ``db`` whose ``_id`` contains one of ``keys``, with its collection: what one
    operation left behind (a scan of every collection: for a benchmark's setup only)."""
    pattern = "|".join(re.escape(k) for k in keys)
    # Claim markers are left out: rewrite() inserts and deletes one with each transition record.
    return [
        (name, doc)
        for name in sorted(db.list_collection_names())
        if not name.endswith("_pending")
        for doc in db[name].find({"_id": {"$regex": pattern}})
    ]


def rewrite(db, docs: list[tuple[str, dict]], keys: tuple[str, ...], tag: str):
    """``fn(i)``: ``docs`` written again straight with pymongo under new ids (each key gets ``tag``-i
    appended), one insert each; a numbered transition's record comes with its claim marker inserted
    before and deleted after, as services.common.versioned writes them. The storage floor of an
    operation that wrote those documents."""

    def store(i: int) -> None:
        for name, doc in docs:
            new_id = str(doc["_id"])
            for key in keys:
                new_id = new_id.replace(key, f"{key}-{tag}-{i}")
            marker = db[name.removesuffix("_transitions") + "_pending"] if name.endswith("_transitions") else None
            if marker is not None:
                marker.insert_one(
                    {"_id": new_id, "doc_id": doc.get("doc_id"), "version": doc.get("version"), "at": doc.get("at")}
                )
            db[name].insert_one({**doc, "_id": new_id})
            if marker is not None:
                marker.delete_one({"_id": new_id})

    return store
