"""A nameko entrypoint that hands a service method several events at once.

``@batch_event_handler(SOURCES, size=1000, wait=0.2)`` consumes the queues nameko's own
``@event_handler`` would use for each ``(source, event_type)`` of the service (same names, same
declaration, so a deployment's backlog carries over), collects up to ``size`` messages or what
arrived within ``wait`` seconds, and runs the method once with the list of bodies. The method
returns True when it has stored them: only then are the messages acknowledged (one multiple ack:
batches run one after the other, so the batch is exactly the unacknowledged messages up to its
last delivery tag). An exception requeues the batch; False also requeues it and stops consuming
(the method says another process is the writer) until a later call returns True. The method is
also called with an empty list every ``idle`` seconds, which is when such a process tries again,
and with None once when the container stops.

A crash before the acknowledgement leaves the messages to be redelivered: the method must be
idempotent by event id.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import eventlet
from eventlet.event import Event
from kombu import Connection, Consumer, Queue
from nameko.constants import AMQP_URI_CONFIG_KEY, DEFAULT_HEARTBEAT, HEARTBEAT_CONFIG_KEY
from nameko.extensions import Entrypoint
from nameko.standalone.events import get_event_exchange

from services.common.events import queue_name

log = logging.getLogger(__name__)

_BROKER_ERRORS = (OSError, ConnectionError, EOFError)
try:  # py-amqp's connection errors do not all derive from OSError
    from amqp.exceptions import AMQPError

    _BROKER_ERRORS += (AMQPError,)
except ImportError:  # pragma: no cover
    pass


def event_queue(source: str, event_type: str, service: str, config: dict) -> Queue:
    """The queue nameko's SERVICE_POOL ``event_handler`` method ``on_<event_type>`` consumes."""
    return Queue(
        queue_name(source, event_type, service, f"on_{event_type}"),
        exchange=get_event_exchange(source, config),
        routing_key=event_type,
        durable=True,
        auto_delete=False,
        exclusive=False,
    )


def _body(message) -> Any:
    """The decoded body: JSON straight with the C decoder (kombu's own goes through an object hook
    for its custom types, which events never use), anything else as kombu decodes it; what cannot
    be decoded goes to the method as text, with the event type it was published as (the method
    parks it as malformed, under its queue)."""
    try:
        if message.content_type == "application/json":
            return json.loads(message.body)
        return message.payload
    except Exception:  # noqa: BLE001 — any decoding error: the body is what it is
        body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else message.body
        return {"type": message.delivery_info.get("routing_key"), "undecodable": body}


class BatchEventHandler(Entrypoint):
    def __init__(
        self, sources: list[tuple[str, str]], size: int = 1000, wait: float = 0.2, idle: float = 1.0, **kwargs: Any
    ):
        self.sources = sources
        self.size = size
        self.wait = wait
        self.idle = idle
        self._stopping = False
        self._gt = None
        super().__init__(**kwargs)

    def start(self) -> None:
        self._stopping = False
        self._gt = self.container.spawn_managed_thread(self._run, identifier=f"{self.method_name}.batches")

    def stop(self) -> None:
        # The loop finishes (and acknowledges) the batch in hand, then closes the channel: the broker
        # requeues whatever was prefetched but not yet stored.
        self._stopping = True
        if self._gt is not None:
            self._gt.wait()

    def kill(self) -> None:
        self._stopping = True
        if self._gt is not None:
            self._gt.kill()

    # ------------------------------------------------------------------ loop
    def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            try:
                with Connection(
                    self.container.config[AMQP_URI_CONFIG_KEY],
                    heartbeat=self.container.config.get(HEARTBEAT_CONFIG_KEY, DEFAULT_HEARTBEAT),
                ) as conn:
                    self._session(conn)
                backoff = 0.5
            except Exception as exc:  # noqa: BLE001 — the broker went away, or a bug: keep consuming
                if self._stopping:
                    return
                log.warning(
                    "batch consumer %s stopped (%s); starting again in %.1f s",
                    self.method_name,
                    exc,
                    backoff,
                    exc_info=not isinstance(exc, _BROKER_ERRORS),
                )
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 30)

    def _session(self, conn: Connection) -> None:
        config, service = self.container.config, self.container.service_name
        channel = conn.channel()
        queues = [event_queue(source, event_type, service, config)(channel) for source, event_type in self.sources]
        buffer: list = []
        # on_message: kombu hands the message over undecoded (_body decodes it; a body that is not
        # JSON must reach the method to be parked, not stop the consumer)
        consumer = Consumer(channel, queues, on_message=buffer.append, accept=self.container.accept, auto_declare=True)
        # Per channel: the batch in hand plus the next one arriving meanwhile.
        consumer.qos(prefetch_count=2 * self.size, apply_global=True)
        consuming = False
        while not self._stopping:
            if consuming:
                self._collect(conn, buffer)
            else:
                eventlet.sleep(self.idle)
            batch, buffer[:] = buffer[: self.size], buffer[self.size :]
            outcome = self._call(conn, [_body(m) for m in batch], buffer if consuming else None)
            if outcome is True:
                if batch:
                    channel.basic_ack(batch[-1].delivery_tag, multiple=True)
                if not consuming:
                    consumer.consume()
                    consuming = True
                continue
            last = (buffer or batch)[-1].delivery_tag if (buffer or batch) else None
            if last is not None:  # neither stored nor to be stored by this process: back to the queue
                channel.basic_nack(last, multiple=True, requeue=True)
            buffer.clear()
            if outcome is False:
                if consuming:
                    consumer.cancel()
                    consuming = False
            else:
                eventlet.sleep(1.0)  # the method failed: give its cause a moment before the redelivery
        if consuming:
            consumer.cancel()
        self._call(conn, None, None)  # the process stops: the method may hand over what it holds

    def _collect(self, conn: Connection, buffer: list) -> None:
        """Until a full batch is in hand, or ``wait`` has passed since one message was (or, with
        none, ``idle``: the method still runs now and then)."""
        start, first = time.monotonic(), (time.monotonic() if buffer else None)
        while len(buffer) < self.size and not self._stopping:
            now = time.monotonic()
            if first is None and buffer:
                first = now
            limit = (first + self.wait) if first is not None else (start + self.idle)
            if now >= limit:
                return
            self._drain(conn, min(limit - now, 0.5))

    @staticmethod
    def _drain(conn: Connection, timeout: float) -> None:
        try:
            conn.drain_events(timeout=timeout)
        except TimeoutError:
            pass
        conn.heartbeat_check()

    def _call(self, conn: Connection, bodies: list, buffer: list | None) -> bool | None:
        """Run the method in a worker; meanwhile keep reading deliveries into ``buffer`` (the next
        batch), so parsing messages overlaps with the worker's database round trips."""
        done = Event()

        def handle_result(worker_ctx, result=None, exc_info=None):
            done.send(None if exc_info else bool(result))
            return result, exc_info

        self.container.spawn_worker(self, (bodies,), {}, handle_result=handle_result)
        while not done.ready():
            if buffer is not None and len(buffer) < self.size:
                self._drain(conn, 0.02)
            else:
                eventlet.sleep(0.01)
        return done.wait()


batch_event_handler = BatchEventHandler.decorator
