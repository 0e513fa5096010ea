"""nameko's AMQP extensions, made to outlive a broker outage. Every service imports
``rpc``, ``RpcProxy`` and ``EventDispatcher`` from here and declares event handlers with
``services.common.events.handles``, which uses this ``event_handler``; never nameko's own
(tests/unit/test_messaging.py keeps it so).

Stock nameko 2.14 dies with the broker: a worker that finishes while RabbitMQ is
down publishes its RPC reply (``rpc.Responder.send_response``), kombu gives up
after three quick retries with ``OperationalError: ECONNREFUSED``, the exception
leaves the worker thread, and ``ServiceContainer._handle_thread_exited`` kills the
container, so ``nameko run`` exits. Consumers themselves reconnect (kombu's
``ConsumerMixin``), but only every 2, 4, … 30 s. What changes here:

* an RPC reply that cannot be published is logged and dropped, never fatal: the
  caller times out (the gateway answers 503), and the request, unacknowledged on
  the dead channel, is redelivered once the broker is back, so it is handled again
  (filings are idempotent by Idempotency-Key, workflow commands by version);
* acks and requeues on a channel that died are ignored: the broker requeues what
  the channel held;
* consumers retry the broker every 1–5 s, so they resume within seconds of it;
* every publish retries for about 8 s and then raises :class:`BrokerUnavailable`,
  a 503 for an RPC caller. Events committed in an outbox stay there for the
  recovery timer (services.common.versioned); an event handler whose own publish
  failed has its message requeued rather than acknowledged or parked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import amqp.exceptions
import kombu.exceptions
from kombu import Connection
from nameko import events as nameko_events
from nameko import messaging as nameko_messaging
from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)

from .errors import BrokerUnavailable

log = logging.getLogger(__name__)

# kombu.Connection.ensure: sleeps 0.5, 2, 3, 3 s between five attempts (~8.5 s), short of the
# gateway's RPC_TIMEOUT so a caller still hears a clear 503 rather than a timeout.
PUBLISH_RETRY: dict[str, Any] = {"max_retries": 4, "interval_start": 0.5, "interval_step": 1.5, "interval_max": 3}

# What a publish, ack or requeue raises when the broker is gone. The builtin ConnectionError
# covers the socket errors (reset, refused, broken pipe) that reach us unwrapped.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    amqp.exceptions.ConnectionError,
    amqp.exceptions.RecoverableConnectionError,
    ConnectionError,
    TimeoutError,
)


def _waiting_for_broker(exc: Exception, interval: float) -> None:
    log.warning("broker unavailable (%s); retrying in %.0f s", exc, interval)


class QueueConsumer(nameko_messaging.QueueConsumer):
    """The one consuming connection of a container (RPC, replies, events)."""

    def ack_message(self, message: Any) -> None:
        try:
            super().ack_message(message)
        except BROKER_ERRORS as exc:  # the broker requeues what the dead channel held
            log.info("ack not sent, broker connection lost (%s): the message will be redelivered", exc)

    def requeue_message(self, message: Any) -> None:
        try:
            super().requeue_message(message)
        except BROKER_ERRORS as exc:
            log.info("requeue not sent, broker connection lost (%s): the broker requeues it", exc)

    @contextmanager
    def establish_connection(self) -> Iterator[Any]:
        # kombu's default backoff grows to 30 s; an outage would then last up to 30 s longer here.
        with self.create_connection() as conn:
            conn.ensure_connection(
                self.on_connection_error, self.connect_max_retries, interval_start=1, interval_step=1, interval_max=5
            )
            yield conn


class _ReplyPublisher(Publisher):
    retry_policy = PUBLISH_RETRY


class _Responder(nameko_rpc.Responder):
    publisher_cls = _ReplyPublisher


class RpcConsumer(nameko_rpc.RpcConsumer):
    queue_consumer = QueueConsumer()

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        config = self.container.config
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY],
            nameko_rpc.get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except BROKER_ERRORS as exc:
            # Stock nameko lets this kill the container. The caller times out; the request is
            # redelivered from the dead channel and answered again once the broker is back.
            log.warning(
                "RPC reply to %s not sent, broker unavailable: %s", message.delivery_info.get("routing_key"), exc
            )
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(nameko_rpc.Rpc):
    rpc_consumer = RpcConsumer()


rpc = Rpc.decorator


class ReplyListener(nameko_rpc.ReplyListener):
    queue_consumer = QueueConsumer()


class RpcProxy(nameko_rpc.RpcProxy):
    rpc_reply_listener = ReplyListener()

    def __init__(self, target_service: str, **options: Any):
        options.setdefault("retry_policy", PUBLISH_RETRY)
        super().__init__(target_service, **options)


class EventHandler(nameko_events.EventHandler):
    queue_consumer = QueueConsumer()

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        # The handler could not publish what it owed: neither acknowledge (the event would be
        # lost) nor park it (it is not faulty); it comes back once the broker does.
        if exc_info is not None and isinstance(exc_info[1], BrokerUnavailable):
            self.queue_consumer.requeue_message(message)
        else:
            super().handle_message_processed(message, result, exc_info)


event_handler = EventHandler.decorator


class EventDispatcher(nameko_events.EventDispatcher):
    """Injects ``dispatch(event_type, data)``, which raises :class:`BrokerUnavailable` once the
    publish retries are spent."""

    def __init__(self, **options: Any):
        options.setdefault("retry_policy", PUBLISH_RETRY)
        super().__init__(**options)

    def setup(self) -> None:
        # Stock setup declares the exchange over a connection that gives up after ~9 s, and a
        # failed setup ends the process: one (re)started during an outage would exit again and
        # again. It waits for the broker instead, as the consumers do.
        config = self.container.config
        with Connection(
            config[AMQP_URI_CONFIG_KEY],
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        ) as conn:
            conn.ensure_connection(
                _waiting_for_broker, max_retries=None, interval_start=1, interval_step=1, interval_max=5
            )
        super().setup()

    def get_dependency(self, worker_ctx: Any) -> Callable[[str, Any], None]:
        dispatch = super().get_dependency(worker_ctx)

        def guarded(event_type: str, event_data: Any) -> None:
            try:
                dispatch(event_type, event_data)
            except BROKER_ERRORS as exc:
                raise BrokerUnavailable(
                    "Hệ thống tạm thời không gửi được thông điệp, vui lòng thử lại sau", {"event_type": event_type}
                ) from exc

        return guarded
