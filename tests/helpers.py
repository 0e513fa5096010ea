"""Small test helpers shared by integration and end-to-end tests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
import requests

from services.common import clock
from services.common.calendar import VN_TZ

MGMT = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")

# Minimal but real files of each accepted type.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def make_vhost(name: str) -> None:
    requests.put(f"{MGMT}/vhosts/{name}", auth=AUTH, timeout=10).raise_for_status()
    requests.put(
        f"{MGMT}/permissions/{name}/guest", auth=AUTH, timeout=10, json={"configure": ".*", "write": ".*", "read": ".*"}
    ).raise_for_status()


def drop_vhost(name: str) -> None:
    try:
        requests.delete(f"{MGMT}/vhosts/{name}", auth=AUTH, timeout=10)
    except requests.RequestException:
        pass


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_citizen(**over: Any) -> dict:
    n = uuid.uuid4().int
    body = {
        "kind": "individual",
        "full_name": "Nguyễn Văn An",
        "national_id": f"{n % 10**12:012d}",
        "date_of_birth": "1990-05-17",
        "email": f"an.{n % 10**9}@example.vn",
        "phone": "0905123456",
        "password": "mat-khau-rat-manh-2026",
    }
    body.update(over)
    return body


def wait_for(predicate: Any, timeout: float = 60.0, what: str = "condition", every: float = 0.2) -> Any:
    """Poll until ``predicate()`` is truthy and return its value; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def amqp_params(uri: str) -> pika.URLParameters:
    return pika.URLParameters(uri.replace("pyamqp://", "amqp://", 1))


class EventTap:
    """Listens on a service's event exchange (a non-nameko client, with pika)."""

    def __init__(self, amqp_uri: str, source: str, *event_types: str):
        self.conn = pika.BlockingConnection(amqp_params(amqp_uri))
        self.ch = self.conn.channel()
        exchange = f"{source}.events"
        self.ch.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.ch.queue_declare("", exclusive=True).method.queue
        for t in event_types or ("#",):
            self.ch.queue_bind(self.queue, exchange, routing_key=t)

    def drain(self, wait: float = 1.5, until: int | None = None) -> list[dict]:
        """Collect events for ``wait`` seconds (or until ``until`` have arrived)."""
        out, deadline = [], time.time() + wait
        while time.time() < deadline:
            method, _props, body = self.ch.basic_get(self.queue, auto_ack=True)
            if method is None:
                if until is not None and len(out) >= until:
                    break
                self.conn.sleep(0.05)
                continue
            out.append(json.loads(body))
        return out

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass


class SuiteClock:
    """The portal's clock as the end-to-end suite set it (services.common.clock, PORTAL_CLOCK_FILE):
    tests read "now" from here, never from the machine, and may move it forward."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def now(self) -> datetime:
        offset = float(self.path.read_text(encoding="utf-8").strip() or 0)
        return datetime.now(UTC) + timedelta(seconds=offset)

    def local_today(self) -> date:
        return self.now().astimezone(VN_TZ).date()

    def set(self, target: datetime) -> None:
        """Move every service to ``target`` (forward only: records keep their order)."""
        if target < self.now():
            raise ValueError("the suite's clock only moves forward")
        clock.write_offset(self.path, target)
        time.sleep(3 * clock._REREAD_SECONDS)  # every process rereads the file within that

    def advance(self, **delta: float) -> datetime:
        self.set(self.now() + timedelta(**delta))
        return self.now()


def quiet_working_tuesday(after: datetime, calendar: Any, quiet_days: int = 21) -> datetime:
    """09:00 local on the first Tuesday after ``after`` that is followed by ``quiet_days`` days
    without a public holiday: a fixed, ordinary moment for deadlines the tests can count by hand."""
    day = after.astimezone(VN_TZ).date() + timedelta(days=1)
    while True:
        day += timedelta(days=(1 - day.weekday()) % 7)
        span = [day + timedelta(days=k) for k in range(quiet_days)]
        if all(calendar.is_working_day(d) == (d.weekday() < 5) for d in span):
            return datetime.combine(day, datetime.min.time(), VN_TZ).replace(hour=9)
        day += timedelta(days=7)
