"""Test harness: real RabbitMQ and a real MongoDB-wire server.

When AMQP_URI / MONGO_URI are not set, ``scripts/infra up`` starts the local
ones (RabbitMQ from Debian, FerretDB built from tools/ferretdb). Each test
session works in its own databases (DB_PREFIX) and its own RabbitMQ virtual
hosts, so it can run beside `make run` and beside another session.
"""

import eventlet

eventlet.monkey_patch()  # before anything imports socket/threading (pymongo, requests)

import os  # noqa: E402
import subprocess  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.helpers import drop_vhost, make_vhost  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SESSION = f"t{uuid.uuid4().hex[:8]}"


def pytest_collection_modifyitems(config, items):
    """Each test is marked by where it lives (tests/unit, tests/integration, tests/e2e): `make unit`
    runs `-m unit`, the fast ones, without any server."""
    for item in items:
        kind = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        if kind in ("unit", "integration", "e2e"):
            item.add_marker(kind)


def pytest_addoption(parser):
    parser.addoption("--keep-data", action="store_true", help="keep the session's databases and vhosts")


@pytest.fixture(scope="session")
def infra(request):
    """Start (or reuse) the servers; give back the URIs the session uses."""
    external_amqp = os.environ.get("AMQP_URI")
    external_mongo = os.environ.get("MONGO_URI")
    if not (external_amqp and external_mongo):
        try:
            subprocess.run([str(ROOT / "scripts" / "infra"), "up"], check=True)
        except subprocess.CalledProcessError as exc:
            pytest.exit(f"local RabbitMQ/FerretDB could not start (scripts/infra up → {exc.returncode})", 3)
    mongo_uri = external_mongo or "mongodb://127.0.0.1:27017/"
    vhosts = []

    def amqp_for(purpose: str) -> str:
        if external_amqp:
            return external_amqp
        name = f"{SESSION}_{purpose}"
        make_vhost(name)
        vhosts.append(name)
        return f"pyamqp://guest:guest@127.0.0.1:5672/{name}"

    info = {"mongo_uri": mongo_uri, "amqp_for": amqp_for, "db_prefix": SESSION}
    os.environ["MONGO_URI"] = mongo_uri
    os.environ["DB_PREFIX"] = SESSION
    yield info
    if not request.config.getoption("--keep-data"):
        import pymongo

        client = pymongo.MongoClient(mongo_uri)
        for name in client.list_database_names():
            if name.startswith(SESSION + "_"):
                client.drop_database(name)
        client.close()
        for name in vhosts:
            drop_vhost(name)


@pytest.fixture(scope="session")
def private_broker(infra):
    """A RabbitMQ node of this session's own, for tests that stop and restart the broker: the
    shared one on 5672 serves everyone else's tests. Give each user a vhost (``vhost(name)``)."""
    import shutil

    from tests.rabbit_node import RabbitNode

    base = ROOT / "var" / "rabbit" / SESSION
    node = RabbitNode(base, f"rel-{SESSION}")
    try:
        node.start()
    except Exception:
        node.shutdown()
        raise
    yield node
    node.shutdown()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def mongo(infra):
    import pymongo

    client = pymongo.MongoClient(infra["mongo_uri"], tz_aware=True)
    yield client
    client.close()
