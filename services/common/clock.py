"""The one clock: every service takes "now" from here (through ``services.common.events.utcnow``).

Deadlines are counted in local calendar days, so what a test or a demonstration needs is to
put the whole portal at a chosen moment — a Friday 16:59, the eve of Tết, Sunday 23:59 — and
to move it on. Two ways, both for development and tests only:

* in one process: :func:`set_source` replaces the source of "now" (unit and in-process
  integration tests);
* across processes: ``PORTAL_CLOCK_FILE`` names a file holding an offset in seconds that is
  added to the system clock (the end-to-end suite writes it with :func:`write_offset`).
  Every process rereads it at most every ``_REREAD_SECONDS``, so a change reaches all services
  within a moment. Production mode refuses to start with it set.

An offset, rather than a frozen instant, keeps time flowing: leases, retries and timers that
wait for "a few seconds later" still see seconds pass.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

CLOCK_FILE_ENV = "PORTAL_CLOCK_FILE"
_REREAD_SECONDS = 0.2

_source: Callable[[], datetime] | None = None
_cached: tuple[float, float] = (-1.0, 0.0)  # (monotonic time read, offset seconds)


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    if _source is not None:
        return _source()
    return wall_now() + timedelta(seconds=_offset())


def wall_now() -> datetime:
    """The real instant, never moved by a test: for what is compared with other parties' clocks —
    bearer-token expiry (PyJWT checks ``exp`` against the system clock), the postal operator's
    signed timestamps, sign-in rate-limit windows and the expiry of those records. Deadlines,
    business dates and everything a person reads take :func:`now`."""
    return datetime.now(UTC)


def set_source(source: Callable[[], datetime] | None) -> None:
    """Replace the source of "now" in this process (tests); None restores the system clock."""
    global _source
    _source = source


def _offset() -> float:
    global _cached
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return 0.0
    read_at, offset = _cached
    if time.monotonic() - read_at < _REREAD_SECONDS:
        return offset
    try:
        offset = float(Path(path).read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError):
        offset = 0.0  # no file yet (or half-written): the system clock
    _cached = (time.monotonic(), offset)
    return offset


def write_offset(path: str | Path, target: datetime) -> float:
    """Set the clock of every process reading ``path`` to ``target`` (now); returns the offset."""
    if target.tzinfo is None:
        raise ValueError("the target instant must be timezone-aware")
    offset = (target - wall_now()).total_seconds()
    tmp = Path(f"{path}.tmp")
    tmp.write_text(f"{offset:.6f}\n", encoding="utf-8")
    tmp.replace(path)  # atomic: readers never see half a number
    return offset
