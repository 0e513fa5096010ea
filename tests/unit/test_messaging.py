"""Every service uses the broker-outage-proof extensions of services.common.messaging
(issue #14 item 9); the real outages are in tests/integration/test_broker_outage.py."""

import importlib
import inspect
import sys
from unittest import mock

import kombu.exceptions
import pytest
from nameko import events as nameko_events
from nameko import rpc as nameko_rpc
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from gateway.exceptions import to_portal_error
from ops.suite import COMPONENTS
from services.common import messaging
from services.common.errors import BrokerUnavailable

STOCK = {
    nameko_rpc.Rpc: messaging.Rpc,
    nameko_rpc.RpcProxy: messaging.RpcProxy,
    nameko_events.EventHandler: messaging.EventHandler,
    nameko_events.EventDispatcher: messaging.EventDispatcher,
}


def service_class(target):
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_every_component_uses_the_resilient_extensions(component):
    cls = service_class(COMPONENTS[component])
    found = []
    for name, member in inspect.getmembers(cls):
        found += [(name, ext) for ext in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ())]
        found.append((name, member))
    for name, ext in found:
        for stock, ours in STOCK.items():
            if isinstance(ext, stock):
                assert isinstance(ext, ours), f"{component}.{name} uses nameko's {stock.__name__}"
    assert any(isinstance(ext, messaging.Rpc) for _, ext in found) or component == "gateway"


def test_broker_errors_reach_a_person_as_503():
    err = to_portal_error(kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED"))
    assert (err.status, err.code) == (503, "service_unavailable")
    err = to_portal_error(BrokerUnavailable("broker down", None))
    assert (err.status, err.code) == (503, "service_unavailable")


def handler_with(exc):
    handler = messaging.EventHandler("src", "evt")
    handler.queue_consumer = mock.Mock()
    message = object()
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except Exception:
            exc_info = sys.exc_info()
    handler.handle_message_processed(message, None, exc_info)
    return handler.queue_consumer, message


def test_an_event_is_requeued_when_its_handler_could_not_publish():
    consumer, message = handler_with(BrokerUnavailable("broker down", None))
    consumer.requeue_message.assert_called_once_with(message)
    consumer.ack_message.assert_not_called()


@pytest.mark.parametrize("exc", [None, ValueError("a bug: parked by @consumer, never redelivered forever")])
def test_other_outcomes_are_acknowledged(exc):
    consumer, message = handler_with(exc)
    consumer.ack_message.assert_called_once_with(message)
    consumer.requeue_message.assert_not_called()


def test_acks_on_a_dead_channel_are_not_fatal():
    qc = messaging.QueueConsumer()
    message = mock.Mock()
    message.ack.side_effect = ConnectionResetError(104, "Connection reset by peer")
    message.requeue.side_effect = kombu.exceptions.OperationalError("gone")
    qc.ack_message(message)
    qc.requeue_message(message)
