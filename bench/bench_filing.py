"""Benchmark: concurrent dossier filings through the gateway, each beside its storage floor.

    .venv/bin/python bench/bench_filing.py [--concurrency 8 32] [--count 200] [--encoding json|multipart] [--quick]

Starts its own suite (every component as a real process: processing, notification, reporting,
payment … consume ``dossier_submitted`` and write to the same server) on the local
RabbitMQ/FerretDB (or AMQP_URI/MONGO_URI), in throw-away databases and a virtual host of its own,
then for each concurrency prints:
  * filings: throughput and p50/p95/p99 of POST /api/v1/dossiers (a 200 KB PDF + a small PNG,
    JSON with base64 by default). A 503 with Retry-After is honoured: the client waits as told and
    sends the same request again (same Idempotency-Key); the latency of a filing runs from its
    first attempt to its 201, retries included, and the number of 503s is printed;
  * the storage floor, same run, same server, same concurrency: the documents one filing wrote
    (read back from intake's database: idempotency key, attachment chunks, claim marker, transition
    record, dossier) written again straight with pymongo, in the fewest round trips the store
    allows (one insert per collection, the chunks in one insert_many, the marker's delete);
  * the ratio filings / floor, and the CPU each process spent per filing.
Each phase starts once the broker queues are empty (the previous phase's events consumed).
Figures are printed, never asserted (machines are noisy). ``--quick`` is what ``make bench`` runs.
"""

import eventlet
import eventlet.queue

eventlet.monkey_patch()

import argparse  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
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

from bench.harness import base_env, pct, report, run_pool, running, seed, wait_drained  # noqa: E402,F401
from ops import suite  # noqa: E402

PDF = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
FORM = {
    "full_name": "Người Thử",
    "national_id": "079090001234",
    "date_of_birth": "1990-01-01",
    "residence": "Quy Nhơn",
    "marital_status": "chưa kết hôn",
    "purpose": "Thử tải",
}
FILES = [("TK-XNHN", "tk.pdf", "application/pdf", PDF), ("BA-LYHON", "ba.png", "image/png", PNG)]


class Echo:
    name = "bench_echo"

    @rpc
    def echo(self, value):
        return value if isinstance(value, int) else len(value)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(mongo_uri: str) -> int | None:
    """The local FerretDB serving ``mongo_uri``, to count its CPU too (None for any other server)."""
    port = mongo_uri.rstrip("/").rsplit(":", 1)[-1].split("/")[0]
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"ferretdb") and any(a.endswith(f":{port}".encode()) for a in args):
            return int(proc.name)
    return None


class Filer:
    """Files the benchmark's dossier as one account per concurrent client, honouring 503 + Retry-After."""

    def __init__(self, api: str, tokens: list[str], encoding: str):
        self.api, self.tokens, self.encoding = api, tokens, encoding
        self.sessions = [requests.Session() for _ in tokens]
        self.busy = 0  # 503s answered
        self.errors: list[int] = []
        self.codes: list[str] = []
        dossier = {"procedure_code": "TP-HT-02", "form_data": FORM, "delivery_method": "in_person"}
        self.json_body = json.dumps(
            {
                **dossier,
                "attachments": [
                    {"document_code": c, "filename": f, "content_type": t, "content_b64": base64.b64encode(d).decode()}
                    for c, f, t, d in FILES
                ],
            }
        ).encode()
        self.dossier_part = json.dumps(dossier)

    def file(self, i: int, key: str) -> None:
        n = i % len(self.tokens)
        headers = {"Authorization": f"Bearer {self.tokens[n]}", "Idempotency-Key": key}
        while True:
            if self.encoding == "multipart":
                r = self.sessions[n].post(
                    f"{self.api}/dossiers",
                    headers=headers,
                    timeout=120,
                    data={"dossier": self.dossier_part},
                    files=[(c, (f, d, t)) for c, f, t, d in FILES],
                )
            else:
                r = self.sessions[n].post(
                    f"{self.api}/dossiers",
                    data=self.json_body,
                    timeout=120,
                    headers={**headers, "Content-Type": "application/json"},
                )
            if r.status_code == 503 and r.headers.get("Retry-After"):
                self.busy += 1
                time.sleep(float(r.headers["Retry-After"]))
                continue
            break
        if r.status_code == 201:
            self.codes.append(r.json()["dossier"]["code"])
        else:
            self.errors.append(r.status_code)


def filing_documents(db, code: str) -> dict:
    """What one filing wrote to intake's database, by collection."""
    dossier = db.dossiers.find_one({"_id": code})
    chunks = [
        db.attachment_chunks.find_one({"_id": f"{a['id']}:{n}"})
        for a in dossier["attachments"]
        for n in range(a["chunks"])
    ]
    record = db.dossiers_transitions.find_one({"_id": f"{code}#1"})
    return {
        "idempotency_keys": db.idempotency_keys.find_one({"dossier_code": code}),
        "attachment_chunks": chunks,
        "dossiers_pending": {"_id": record["_id"], "doc_id": code, "version": 1, "at": record["at"]},
        "dossiers_transitions": record,
        "dossiers": dossier,
    }


def storage_floor(db, docs: dict, tag: str):
    """One filing's writes, straight: ``fn(i)`` writes the i-th copy of ``docs`` under new ids."""

    def store(i: int) -> None:
        code = f"{tag}-{i}"
        db.idempotency_keys.insert_one({**docs["idempotency_keys"], "_id": f"{code}:key", "dossier_code": code})
        db.attachment_chunks.insert_many([{**c, "_id": f"{code}:{n}"} for n, c in enumerate(docs["attachment_chunks"])])
        db.dossiers_pending.insert_one({**docs["dossiers_pending"], "_id": f"{code}#1", "doc_id": code})
        db.dossiers_transitions.insert_one({**docs["dossiers_transitions"], "_id": f"{code}#1", "doc_id": code})
        db.dossiers.insert_one({**docs["dossiers"], "_id": code})
        db.dossiers_pending.delete_one({"_id": f"{code}#1"})

    return store


def rpc_floor(amqp: str, count: int, concurrency: int, payload=None, label: str = "") -> None:
    """Bare nameko RPC round trips to a do-nothing service on the same broker (what two hops cost at
    least), sending ``payload`` (default: a number)."""
    container = ServiceContainer(Echo, {"AMQP_URI": amqp})
    container.start()
    try:
        # A standalone proxy serves one green thread at a time: lend them from a queue.
        proxies = [ServiceRpcProxy("bench_echo", {"AMQP_URI": amqp}) for _ in range(concurrency)]
        idle = eventlet.queue.Queue()
        for p in proxies:
            idle.put(p.start())

        def echo(i):
            proxy = idle.get()
            try:
                proxy.echo(i if payload is None else payload)
            finally:
                idle.put(proxy)

        lat, elapsed = run_pool(echo, count, concurrency)
        report(f"  nameko RPC round trip{label} (x{concurrency})", lat, elapsed)
        for p in proxies:
            p.stop()
    finally:
        container.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--count", type=int, default=300, help="filings per concurrency")
    ap.add_argument("--encoding", choices=("json", "multipart"), default="json")
    ap.add_argument("--quick", action="store_true", help="150 filings per concurrency, no RPC floor")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the suite, e.g. --set FILING_MAX_IN_FLIGHT=64 (repeatable)",
    )
    ap.add_argument(
        "--components",
        default=",".join(suite.COMPONENTS),
        help="which components run (default all: the downstream consumers' work is part of a filing)",
    )
    args = ap.parse_args()
    count = 150 if args.quick else args.count

    components = args.components.split(",")
    env = base_env(
        GATEWAY_ADDRESS=f"127.0.0.1:{suite.free_port()}",
        LOGIN_MAX_ATTEMPTS_PER_IP="100000",
        SMTP_PORT=str(suite.free_port()),
        HEALTH_SERVICES=",".join(c for c in components if c != "gateway"),
        **dict(s.split("=", 1) for s in args.set),
    )
    prefix = env["DB_PREFIX"]
    seed(env)
    with running(components, env) as (procs, client):
        url = suite.gateway_url(env)
        suite.wait_healthy(url, timeout=90, procs=procs)
        api = f"{url}/api/v1"
        print(
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {count} filings per "
            f"concurrency, {args.encoding}; attachments {len(PDF)} + {len(PNG)} bytes; components {len(components)}"
            + "".join(f"; {s}" for s in args.set),
            flush=True,
        )

        tokens = []
        for _ in range(max(args.concurrency)):
            n = uuid.uuid4().int
            profile = {
                "kind": "individual",
                "full_name": "Người Thử",
                "national_id": f"{n % 10**12:012d}",
                "date_of_birth": "1990-01-01",
                "email": f"bench{n % 10**9}@example.vn",
                "phone": "0905000000",
                "password": "bench-password-123",
            }
            requests.post(f"{api}/auth/register", json=profile, timeout=60).raise_for_status()
            r = requests.post(
                f"{api}/auth/login", json={"login": profile["email"], "password": profile["password"]}, timeout=60
            )
            tokens.append(r.json()["access_token"])

        filer = Filer(api, tokens, args.encoding)
        run_pool(lambda i: filer.file(i, f"warm{i}"), 16, 8)
        intake_db, floor_db = client[f"{prefix}_intake"], client[f"{prefix}_floor"]
        docs = filing_documents(intake_db, filer.codes[0])
        pids = {name: p.pid for name, p in procs.items()}
        ferretdb = server_pid(env["MONGO_URI"])
        if ferretdb:
            pids["ferretdb"] = ferretdb

        for c in args.concurrency:
            wait_drained(env)
            filer.busy, filer.errors, filer.codes = 0, [], []
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            print(f"-- concurrency {c}: filings start", flush=True)
            lat, elapsed = run_pool(lambda i: filer.file(i, f"c{c}-{i}"), count, c)
            wait_drained(env)  # the CPU of a filing includes what its event costs downstream
            spent = {name: (cpu_seconds(pid) - before[name]) * 1000 / count for name, pid in pids.items()}
            floor_cpu = cpu_seconds(ferretdb) if ferretdb else 0.0
            floor_lat, floor_elapsed = run_pool(storage_floor(floor_db, docs, f"f{c}"), count, c)
            floor_cpu = (cpu_seconds(ferretdb) - floor_cpu) * 1000 / count if ferretdb else 0.0
            floor = len(floor_lat) / floor_elapsed
            report(f"filings through the gateway (x{c})", lat, elapsed, floor)
            report(f"  storage floor: one filing's writes (x{c})", floor_lat, floor_elapsed)
            print(
                f"  503 service_busy answered: {filer.busy}"
                + (f"; errors: {len(filer.errors)} (statuses {sorted(set(filer.errors))})" if filer.errors else "")
            )
            top = sorted(spent.items(), key=lambda kv: -kv[1])
            print(
                "  CPU per filing: "
                + ", ".join(f"{n} {ms:.1f} ms" for n, ms in top if ms >= 0.5)
                + f"; total {sum(spent.values()):.1f} ms"
                + (f" (the floor's writes: ferretdb {floor_cpu:.1f} ms)" if ferretdb else ""),
                flush=True,
            )
        if not args.quick:
            print("-- parts of the floor")
            rpc_floor(env["AMQP_URI"], 1000, max(args.concurrency))
            # What carrying the attachments as base64 in JSON through the broker costs, bare.
            rpc_floor(
                env["AMQP_URI"],
                300,
                max(args.concurrency),
                json.loads(filer.json_body)["attachments"],
                f" carrying the {len(filer.json_body) // 1000} KB JSON filing",
            )
            big = {"blob": PDF}
            coll = floor_db.inserts
            lat, elapsed = run_pool(lambda i: coll.insert_one({"_id": f"b{i}", **big}), 200, 1)
            report("  Mongo insert of a 200 KB document (seq)", lat, elapsed)


if __name__ == "__main__":
    main()
