"""Issue #14 item 9: a broker outage must not kill a service (services.common.messaging).

Each test runs nameko containers in this process against the session's own RabbitMQ node
(tests/rabbit_node.py), which it stops and starts; the shared broker is never touched.
Found by an operator: the RPC reply of a request in flight when RabbitMQ went away raised
``OperationalError: ECONNREFUSED`` in nameko's ``Responder.send_response`` and the whole
container (the intake process) died.
"""

import time
import uuid
from typing import ClassVar

import eventlet
import pytest
from eventlet.event import Event
from nameko.containers import ServiceContainer
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.errors import BrokerUnavailable
from services.common.events import PARKED, PROCESSED, EventPayload, handles, new_event
from services.common.messaging import EventDispatcher, rpc
from services.common.mongo import MongoDatabase
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

state = {}


class Probe:
    name = "outage_probe"
    dispatch = EventDispatcher()

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def slow(self):
        if not state["started"].ready():  # a redelivery runs it again
            state["started"].send()
        state["release"].wait()
        return "done"


class Store:
    def __init__(self, db):
        self.db = db


class Poked(EventPayload):
    source: ClassVar[str] = "outage_source"
    type: ClassVar[str] = "poked"


class Relay:
    name = "outage_relay"
    store = MongoDatabase(Store)

    @handles(Poked)
    def on_poked(self, envelope):
        state["attempts"] += 1
        if state["attempts"] == 1:  # what the handler's own dispatch raises while the broker is away
            raise BrokerUnavailable("broker down", None)


def call_when_up(uri, service, method, timeout=60.0):
    """The first answer once the broker and the service's consumer are back."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with ClusterRpcProxy({"AMQP_URI": uri}, timeout=5) as proxy:
                return getattr(getattr(proxy, service), method)()
        except Exception:
            if time.monotonic() > deadline:
                raise
            eventlet.sleep(0.5)


@pytest.fixture
def running():
    containers = []

    def start(cls, config):
        container = ServiceContainer(cls, config)
        containers.append(container)
        container.start()
        return container

    yield start
    for container in containers:
        container.kill()


def test_a_reply_lost_to_an_outage_does_not_kill_the_service(private_broker, running, caplog):
    uri = private_broker.vhost(f"outage-{uuid.uuid4().hex[:6]}")
    state.update(started=Event(), release=Event())
    container = running(Probe, {"AMQP_URI": uri})
    died = eventlet.spawn(container.wait)  # returns (or raises) only when the container dies

    with ClusterRpcProxy({"AMQP_URI": uri}) as proxy:
        proxy.outage_probe.slow.call_async()
        with eventlet.Timeout(30):
            state["started"].wait()
    private_broker.stop_app()
    try:
        state["release"].send()  # the worker finishes while the broker is away, and must reply
        wait_for(
            lambda: any("RPC reply to outage_probe.slow not sent" in r.getMessage() for r in caplog.records),
            what="the lost reply to be logged",
        )
        eventlet.sleep(0.5)
        assert not died.dead, "the container died with the broker (stock nameko kills it here)"
    finally:
        private_broker.start_app()
    assert call_when_up(uri, "outage_probe", "ping") == "pong"  # its consumer is back
    assert not died.dead


def test_a_service_started_during_an_outage_waits_for_the_broker(private_broker, running):
    """Stock nameko gives up declaring its event exchange after ~9 s and the process exits; a
    service (re)started while RabbitMQ is away must come up with it instead."""
    uri = private_broker.vhost(f"outage-{uuid.uuid4().hex[:6]}")
    private_broker.stop_app()
    try:
        starting = eventlet.spawn(running, Probe, {"AMQP_URI": uri})
        eventlet.sleep(12)  # longer than stock nameko's retries
        assert not starting.dead, "the service gave up on the broker"
    finally:
        private_broker.start_app()
    starting.wait()
    assert call_when_up(uri, "outage_probe", "ping") == "pong"


def test_an_event_handler_that_cannot_publish_is_requeued_not_parked(private_broker, running, infra, mongo):
    uri = private_broker.vhost(f"outage-{uuid.uuid4().hex[:6]}")
    db_name = f"{infra['db_prefix']}_outage_relay"
    state.update(attempts=0)
    running(Relay, {"AMQP_URI": uri, "MONGO_URI": infra["mongo_uri"], "MONGO_DB": db_name})
    event = new_event(Poked(), {"id": "t", "role": "system"})
    event_dispatcher({"AMQP_URI": uri})(Poked.source, Poked.type, event)

    db = mongo[db_name]
    wait_for(
        lambda: (db[PROCESSED].find_one({"_id": event["event_id"]}) or {}).get("status") == "done",
        what="the redelivered event to be handled",
    )
    assert state["attempts"] == 2  # once refused, once handled: not retried in place, not dropped
    assert db[PARKED].count_documents({}) == 0
