"""The portal's ministry RPC, spoken by pika: nameko's RPC protocol is a JSON message
``{"args": [], "kwargs": {...}}`` published to the ``nameko-rpc`` topic exchange with routing key
``<service>.<method>``, a ``reply_to`` queue bound to that exchange and a ``correlation_id``; the
reply is ``{"result": ..., "error": null | {"exc_type", "exc_args", ...}}``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pika
from pika.exceptions import UnroutableError

RPC_EXCHANGE = "nameko-rpc"


class MinistryError(Exception):
    """The portal refused the call: ``code`` is stable (e.g. ``procedure_out_of_scope``),
    ``message`` is for people (Vietnamese), ``details`` says what exactly."""

    def __init__(self, code: str, message: str, details: Any = None, exc_type: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.details, self.exc_type = code, message, details, exc_type


class PortalTimeout(MinistryError):
    def __init__(self, method: str, seconds: float):
        super().__init__("timeout", f"Cổng DVC không trả lời {method} trong {seconds:g} giây", {"method": method})


class PortalUnavailable(MinistryError):
    def __init__(self, method: str):
        super().__init__(
            "service_unavailable", "Dịch vụ kết nối bộ, ngành của cổng DVC chưa sẵn sàng", {"method": method}
        )


def _error(payload: dict) -> MinistryError:
    args = payload.get("exc_args") or []
    if len(args) >= 3 and isinstance(args[2], str):  # the portal's own errors: message, details, code
        return MinistryError(args[2], str(args[0]), args[1] or None, payload.get("exc_type"))
    return MinistryError(
        "remote_error", str(payload.get("value") or payload.get("exc_type")), None, payload.get("exc_type")
    )


class MinistryClient:
    """One connection; calls are synchronous with a timeout and a fresh correlation id each."""

    def __init__(self, amqp_uri: str, system_id: str, secret: str, timeout: float = 30.0, service: str = "ministry"):
        self.credentials = {"system_id": system_id, "secret": secret}
        self.timeout, self.service = timeout, service
        self._conn = pika.BlockingConnection(pika.URLParameters(amqp_uri.replace("pyamqp://", "amqp://", 1)))
        self._channel = self._conn.channel()
        self._channel.confirm_delivery()  # an unroutable call fails at once instead of timing out
        self._channel.exchange_declare(RPC_EXCHANGE, exchange_type="topic", durable=True)
        self._reply_queue = f"rpc.reply-ministry-client-{uuid.uuid4()}"
        self._channel.queue_declare(self._reply_queue, exclusive=True, auto_delete=True)
        self._channel.queue_bind(self._reply_queue, RPC_EXCHANGE, routing_key=self._reply_queue)
        self._replies: dict[str, dict] = {}
        self._channel.basic_consume(self._reply_queue, self._on_reply, auto_ack=True)
        self._subscription: dict | None = None

    # ---------------------------------------------------------------- plumbing
    def _on_reply(self, channel, method, properties, body) -> None:
        self._replies[properties.correlation_id] = json.loads(body)

    def call(self, method: str, **kwargs: Any) -> Any:
        """Call ``ministry.<method>`` with the system's credentials; raise MinistryError on refusal."""
        correlation_id = str(uuid.uuid4())
        body = json.dumps({"args": [], "kwargs": {"credentials": self.credentials, **kwargs}})
        props = pika.BasicProperties(
            content_type="application/json",
            content_encoding="utf-8",
            reply_to=self._reply_queue,
            correlation_id=correlation_id,
            delivery_mode=2,
            headers={"nameko.call_id_stack": [f"ministry-client.{method}.{correlation_id}"]},
        )
        try:
            self._channel.basic_publish(RPC_EXCHANGE, f"{self.service}.{method}", body, props, mandatory=True)
        except UnroutableError:
            raise PortalUnavailable(method) from None
        deadline = time.monotonic() + self.timeout
        while correlation_id not in self._replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PortalTimeout(method, self.timeout)
            self._conn.process_data_events(time_limit=min(left, 0.2))
        reply = self._replies.pop(correlation_id)
        if reply.get("error"):
            raise _error(reply["error"])
        return reply.get("result")

    # ------------------------------------------------------------ the interface
    def file_dossier(self, issue: str, request: dict, attachments: list | None = None) -> dict:
        """File a dossier received through the ministry's channel; ``issue`` is your own case number
        (filing again with it returns the same dossier)."""
        return self.call("file_dossier", issue=issue, request=request, attachments=attachments)

    def dossier_status(self, dossier_code: str) -> dict:
        """Status and timeline; the dossier code travels as the X-Road-style issue reference."""
        return self.call("dossier_status", issue=dossier_code)

    def subscribe(self) -> dict:
        """Make sure the system's status-change queue exists; returns its name."""
        self._subscription = self.call("subscribe")
        return self._subscription

    def status_changes(self, timeout: float = 30.0, max_messages: int | None = None) -> Iterator[dict]:
        """Status changes of the dossiers this system filed, acknowledged once handed to you
        (delivery is at least once: drop repeats by ``event_id``). Stops after ``timeout``
        seconds without a message or after ``max_messages``."""
        queue = (self._subscription or self.subscribe())["queue"]
        count = 0
        for method, _props, body in self._channel.consume(queue, inactivity_timeout=timeout):
            if method is None:
                break
            change = json.loads(body)
            yield change
            self._channel.basic_ack(method.delivery_tag)
            count += 1
            if max_messages and count >= max_messages:
                break
        self._channel.cancel()

    def close(self) -> None:
        if self._conn.is_open:
            self._conn.close()

    def __enter__(self) -> MinistryClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
