"""Admission of filings: how many the gateway sends a service at once, how many may wait, and the
503 ``service_busy`` with ``Retry-After`` past that.

Why: a filing is a burst of writes on the service's own database, and FerretDB on SQLite takes
one writer at a time — writers that find the lock taken sleep in SQLite's busy handler (1 ms, then
up to 100 ms at a time) instead of being woken, so 32 concurrent filings finish later, and in a far
more scattered order, than 4 at a time with the others waiting their turn. The work also holds one
of the service's workers, which its other RPCs (catalog, dossier views) need. So each gateway
process lets ``FILING_MAX_IN_FLIGHT`` filings reach the service at once; the next
``FILING_MAX_WAITING`` wait in arrival order (first come, first served, which keeps the slowest
filing close to the median) for at most ``FILING_MAX_WAIT_SECONDS``; any other is answered at
once with 503 and how long the queue ahead of it takes to drain at the current pace, instead of
being queued for seconds the client cannot see. A retry with the same ``Idempotency-Key`` is safe.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider

from services.common.errors import PortalError
from services.common.settings import Settings

from . import metrics
from .settings import GatewaySettings


class ServiceBusy(PortalError):
    status = 503
    code = "service_busy"


class InFlightLimit:
    """At most ``limit`` holders of a slot; up to ``max_waiting`` wait in FIFO order for at most
    ``max_wait`` seconds. Green threads of one process share it (eventlet, no OS threads)."""

    def __init__(self, service: str, limit: int, max_waiting: int, max_wait: float):
        if limit < 1 or max_waiting < 0 or max_wait <= 0:
            raise ValueError("limit >= 1, max_waiting >= 0 and max_wait > 0 are required")
        self.service, self.limit, self.max_waiting, self.max_wait = service, limit, max_waiting, max_wait
        self.in_flight = 0
        self._queue: deque[Event] = deque()
        self._hold = 0.0  # moving average of how long a slot is held, seconds

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def retry_after(self) -> int:
        """Whole seconds until the queue as it stands would have drained, at least 1 (HTTP's
        Retry-After counts whole seconds)."""
        return max(1, min(60, math.ceil(self._hold * (self.waiting + 1) / self.limit)))

    def busy(self) -> ServiceBusy:
        seconds = self.retry_after()
        metrics.observe_busy(self.service)
        return ServiceBusy(
            f"Hệ thống đang tiếp nhận nhiều hồ sơ cùng lúc; vui lòng gửi lại sau {seconds} giây "
            "(gửi lại với cùng Idempotency-Key sẽ không tạo hồ sơ trùng)",
            {"retry_after_seconds": seconds},
        )

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block, after waiting for it if need be; ServiceBusy if it cannot
        be had (queue full, or not within ``max_wait``)."""
        if self.in_flight < self.limit and not self._queue:
            self.in_flight += 1
        else:
            if len(self._queue) >= self.max_waiting:
                raise self.busy()
            ticket = Event()
            self._queue.append(ticket)
            try:
                with eventlet.Timeout(self.max_wait, False):
                    ticket.wait()
            except BaseException:  # the request itself ended while waiting: give back what it had
                self._leave(ticket)
                raise
            if not ticket.ready():  # not handed a slot in time (a slot handed over just now is kept)
                self._leave(ticket)
                raise self.busy()
        metrics.set_in_flight(self.service, self.in_flight)
        started = time.monotonic()
        try:
            yield
        finally:
            held = time.monotonic() - started
            self._hold = held if self._hold == 0 else 0.8 * self._hold + 0.2 * held
            self._release()

    def _leave(self, ticket: Event) -> None:
        if ticket.ready():
            self._release()
        else:
            self._queue.remove(ticket)

    def _release(self) -> None:
        if self._queue:
            self._queue.popleft().send()  # the slot passes to the first waiter: in_flight unchanged
        else:
            self.in_flight -= 1
        metrics.set_in_flight(self.service, self.in_flight)


class FilingAdmission(DependencyProvider):
    """One :class:`InFlightLimit` per gateway process for the filings sent to ``service``."""

    def __init__(self, service: str):
        self.service = service
        self.limit: InFlightLimit | None = None

    def setup(self) -> None:
        settings = Settings.of(self.container, GatewaySettings)
        self.limit = InFlightLimit(
            self.service, settings.filing_max_in_flight, settings.filing_max_waiting, settings.filing_max_wait_seconds
        )

    def get_dependency(self, worker_ctx) -> InFlightLimit:
        return self.limit
