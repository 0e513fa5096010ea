"""What every benchmark does around its measurement: make sure the servers run, use throw-away
databases, start the components it needs as real processes, and clean everything up."""
from __future__ import annotations

import contextlib
import os
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
        requests.put(f"{MGMT}/permissions/{prefix}/guest", auth=("guest", "guest"), timeout=10,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        amqp = f"pyamqp://guest:guest@127.0.0.1:5672/{prefix}"
    return {"AMQP_URI": amqp, "MONGO_URI": os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/"),
            "DB_PREFIX": prefix, **extra}


def seed(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "devtools.demo_data"], cwd=ROOT, check=True,
                   env={**os.environ, **env}, stdout=subprocess.DEVNULL)


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
