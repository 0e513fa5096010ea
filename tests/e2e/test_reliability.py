"""Issue #14 item 9, end to end: the portal outlives `kill -9` of intake and of processing and a
RabbitMQ restart in the middle of filings, with nobody restarting anything by hand, and neither
loses nor doubles a filing.

The suite runs as `make run` runs it (`python -m ops.suite run --seed`: supervisord restarts what
dies) on a RabbitMQ node of this session's own (tests/rabbit_node.py), so stopping the broker
disturbs nobody, and on the shared FerretDB under its own DB_PREFIX. 16 citizens file at once,
each filing with its own Idempotency-Key and retried with that key until it is accepted. The
broker is stopped for RELIABILITY_OUTAGE_SECONDS (15 here, to keep CI bounded: the services'
retry and reconnect paths are the same at 15 s as at 60 s; the full 60 s was run by hand, see
docs/ARCHITECTURE.md "Faults"). Then every key must have exactly one dossier in intake's database
and one case in processing's, the outboxes must be empty and /health all ok. The second variant
runs two replicas of intake and of processing on the same queues, and stops the run with SIGINT
where the first, started as a background job would be (SIGINT ignored), stops it with SIGTERM.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import eventlet
import pytest
import requests

from ops import suite as suite_mod
from ops.supervise import Supervisor
from services.common.config import ROOT
from tests.e2e.conftest import suite_env
from tests.helpers import PDF, b64, new_citizen, wait_for

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = float(os.environ.get("RELIABILITY_OUTAGE_SECONDS", "15"))
CONCURRENCY = 16
FORM = {
    "full_name": "Nguyễn Văn An",
    "national_id": "079090001234",
    "date_of_birth": "1990-05-17",
    "residence": "Quy Nhơn, Bình Định",
    "marital_status": "chưa kết hôn",
    "purpose": "Kết hôn",
}


def filing(n):
    return {
        "procedure_code": "TP-HT-02",
        "form_data": {**FORM, "purpose": f"Hồ sơ thử {n}"},
        "delivery_method": "in_person",
        "attachments": [
            {
                "document_code": "TK-XNHN",
                "filename": "to-khai.pdf",
                "content_type": "application/pdf",
                "content_b64": b64(PDF),
            }
        ],
    }


class Filings:
    """CONCURRENCY citizens filing one dossier after another, each retried with its key until 201."""

    def __init__(self, api, tokens):
        self.api = api
        self.tokens = tokens
        self.codes = {}  # (worker, key) -> the dossier code of the first 201
        self.bodies = {}  # (worker, key) -> what was filed under it
        self.failures = []  # (status or error) of attempts that did not get a 201: expected during faults
        self.stopping = False
        self.threads = []

    def post(self, worker, key, body):
        r = requests.post(
            f"{self.api}/dossiers",
            json=body,
            timeout=60,
            headers={"Authorization": f"Bearer {self.tokens[worker]}", "Idempotency-Key": key},
        )
        return r.status_code, (r.json()["dossier"]["code"] if r.status_code == 201 else None), r.headers

    def file_until_accepted(self, worker, key, body):
        deadline = time.monotonic() + 300
        while True:
            try:
                status, code, _ = self.post(worker, key, body)
            except requests.RequestException as exc:
                status, code = type(exc).__name__, None
            if code:
                return code
            self.failures.append(status)
            assert time.monotonic() < deadline, f"{key} never accepted: {self.failures[-5:]}"
            eventlet.sleep(0.5)

    def worker(self, worker):
        n = 0
        while not self.stopping:
            key = f"w{worker}-{n}-{uuid.uuid4().hex[:6]}"
            self.bodies[(worker, key)] = filing(n)
            self.codes[(worker, key)] = self.file_until_accepted(worker, key, self.bodies[(worker, key)])
            n += 1
            eventlet.sleep(1.0)  # a citizen's pace: the faults, not the volume, are under test

    def start(self):
        self.threads = [eventlet.spawn(self.worker, w) for w in range(CONCURRENCY)]

    def accepted(self):
        return len(self.codes)

    def wait_more(self, count, timeout, what):
        target = self.accepted() + count
        wait_for(lambda: self.accepted() >= target or self.dead(), timeout, what)
        assert not self.dead(), self.dead()

    def dead(self):
        return [t for t in self.threads if t.dead]

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.wait()  # re-raises a worker's assertion


def sign_in(api):
    profile = new_citizen()
    requests.post(f"{api}/auth/register", json=profile, timeout=60).raise_for_status()
    r = requests.post(
        f"{api}/auth/login", json={"login": profile["email"], "password": profile["password"]}, timeout=60
    )
    r.raise_for_status()
    return r.json()["access_token"]


@pytest.mark.parametrize(
    "replicas,stop_with",
    [({}, signal.SIGTERM), ({"intake": 2, "processing": 2}, signal.SIGINT)],
    ids=["one-each", "two-replicas"],
)
def test_filings_survive_kill_9_and_a_broker_restart(infra, private_broker, mongo, replicas, stop_with):
    prefix = f"{infra['db_prefix']}_rel{len(replicas)}"
    env = {**suite_env(infra, private_broker.vhost(prefix), prefix), "TRUSTED_CA_FILE": ""}
    run_dir = ROOT / "var" / "run" / f"test-{prefix}"
    log_dir = ROOT / "var" / "log" / f"test-{prefix}"
    log_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "ops.suite", "run", "--seed", "--run-dir", str(run_dir), "--log-dir", str(log_dir)]
    cmd += [f"--replicas={name}={n}" for name, n in replicas.items()]
    # A background job of a shell has SIGINT ignored; only SIGTERM can stop it.
    ignore_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if stop_with == signal.SIGTERM else None
    runner = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=open(log_dir / "runner.out", "ab"),
        stderr=subprocess.STDOUT,
        preexec_fn=ignore_sigint,
        start_new_session=True,
    )
    url = suite_mod.gateway_url(env)
    api = f"{url}/api/v1"
    load = None
    try:
        suite_mod.wait_healthy(url, timeout=180, procs={"ops.suite run": runner})
        sup = Supervisor.attach(run_dir)
        tokens = list(eventlet.GreenPool(4).imap(lambda _: sign_in(api), range(CONCURRENCY)))
        load = Filings(api, tokens)
        load.start()
        load.wait_more(CONCURRENCY, 120, "the first filings")

        # kill -9 of intake and of processing (every replica), filings in flight
        killed = {name: sup.pids(name) for name in ("intake", "processing")}
        assert [len(p) for p in killed.values()] == [replicas.get("intake", 1), replicas.get("processing", 1)]
        for pids in killed.values():
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: all(
                len(sup.pids(n)) == len(pids) and not set(sup.pids(n)) & set(pids) for n, pids in killed.items()
            ),
            60,
            "supervisord to restart intake and processing",
        )
        load.wait_more(CONCURRENCY, 180, "filings after the kills")

        # the broker goes away and comes back, filings in flight
        private_broker.stop_app()
        try:
            eventlet.sleep(OUTAGE_SECONDS)
        finally:
            private_broker.start_app()
        load.wait_more(2 * CONCURRENCY, 240, "filings after the broker restart")
        load.stop()

        # exactly one dossier per key: a replay of every key answers with the dossier first accepted
        for (worker, key), code in load.codes.items():
            status, again, headers = load.post(worker, key, load.bodies[(worker, key)])
            assert (status, again, headers.get("Idempotent-Replayed")) == (201, code, "true"), key
        codes = set(load.codes.values())
        assert len(codes) == len(load.codes)
        intake = mongo[f"{prefix}_intake"]
        assert {d["_id"] for d in intake.dossiers.find({}, {"_id": 1})} == codes
        keys = {d["_id"].split(":", 1)[1]: d["dossier_code"] for d in intake.idempotency_keys.find()}
        assert keys == {key: code for (_, key), code in load.codes.items()}

        # exactly one case per dossier, once every outbox has drained
        processing = mongo[f"{prefix}_processing"]
        wait_for(
            lambda: (
                processing.cases.count_documents({}) >= len(codes)
                and intake.dossiers_pending.count_documents({}) == 0
                and processing.cases_pending.count_documents({}) == 0
            ),
            180,
            "a case for every dossier",
        )
        assert {c["_id"] for c in processing.cases.find({}, {"_id": 1})} == codes

        health = suite_mod.wait_healthy(url, timeout=60)
        assert health["status"] == "ok" and {s["status"] for s in health["services"].values()} == {"ok"}

        # the restarts were supervisord's, and logged
        log = (run_dir / "supervisord.log").read_text()
        for name, pids in killed.items():
            assert len(re.findall(rf"exited: {name}(-\d)? \(terminated by SIGKILL; not expected\)", log)) == len(pids)
            assert log.count(f"spawned: '{name}") >= 2 * len(pids)
        assert "gave up" not in log

        pids = [p["pid"] for p in sup.processes() if p["pid"]]
        runner.send_signal(stop_with)
        assert runner.wait(90) == 0
        assert not [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
        print(
            f"\n{len(codes)} filings accepted; {len(load.failures)} attempts refused during the faults "
            f"(statuses {sorted(set(map(str, load.failures)))})"
        )
    finally:
        if load is not None:
            load.stopping = True
        if runner.poll() is None:
            runner.send_signal(signal.SIGTERM)
            try:
                runner.wait(90)
            except subprocess.TimeoutExpired:
                runner.kill()
