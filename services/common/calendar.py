"""The one working-day calendar (ngày làm việc).

Working days are Monday–Friday, minus Vietnamese public holidays (from the
``holidays`` package, which knows the lunar ones), minus announced extra days
off, plus announced make-up working days — the last two from a data file,
because they change every year. All arithmetic is done in Vietnam local time
(UTC+7, no daylight saving); inputs and outputs are aware datetimes.

Deadline convention: adding N working days to an instant on a working day
keeps the clock time (Monday 09:00 + 1 → Tuesday 09:00). An instant on a
non-working day counts from the start of the next working day, so Saturday
10:00 + 1 → the end of Monday (Tuesday 00:00). With this convention
``working_days_between(t, add_working_days(t, n)) == n`` for every ``t``.
"""
from __future__ import annotations

import functools
import os
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterable

import holidays
import yaml

VN_TZ = timezone(timedelta(hours=7), "ICT")
DEFAULT_FILE = Path(__file__).with_name("data") / "calendar_vn.yaml"
_DAY = 86400.0


class WorkingCalendar:
    def __init__(self, extra_days_off: Iterable[date] = (), make_up_working_days: Iterable[date] = (),
                 country: str = "VN", tz: timezone = VN_TZ):
        self.tz = tz
        self.extra_days_off = frozenset(extra_days_off)
        self.make_up_working_days = frozenset(make_up_working_days)
        self._holidays = holidays.country_holidays(country)

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> "WorkingCalendar":
        path = Path(path or os.environ.get("CALENDAR_FILE") or DEFAULT_FILE)
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        as_dates = lambda xs: [x if isinstance(x, date) else date.fromisoformat(str(x)) for x in xs or []]
        return cls(as_dates(data.get("extra_days_off")), as_dates(data.get("make_up_working_days")))

    # ------------------------------------------------------------- days
    def is_working_day(self, day: date) -> bool:
        if day in self.make_up_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= 5:
            return False
        return day not in self._holidays

    def holiday_name(self, day: date) -> str | None:
        return self._holidays.get(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    # ---------------------------------------------------------- instants
    def _local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("calendar arithmetic needs timezone-aware datetimes")
        return instant.astimezone(self.tz)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """``start`` + ``n`` working days (n ≥ 0), as an aware datetime in local time."""
        if n < 0:
            raise ValueError("n must be >= 0")
        local = self._local(start)
        day, clock = local.date(), local.timetz()
        if not self.is_working_day(day):
            day, clock = self.next_working_day(day), time(0, tzinfo=self.tz)
        for _ in range(n):
            day = self.next_working_day(day)
        return datetime.combine(day, clock)

    def add_working_time(self, start: datetime, days: float) -> datetime:
        """``start`` + a possibly fractional amount of working time, in days.

        Same convention as :meth:`add_working_days` (which it equals for whole
        numbers); used when a paused clock resumes with what was left of it.
        """
        if days < 0:
            raise ValueError("days must be >= 0")
        current = self._local(start)
        remaining = days * _DAY
        while True:
            day = current.date()
            if not self.is_working_day(day):
                current = datetime.combine(self.next_working_day(day), time(0, tzinfo=self.tz))
                continue
            end_of_day = datetime.combine(day + timedelta(days=1), time(0, tzinfo=self.tz))
            available = (end_of_day - current).total_seconds()
            if remaining < available:
                return current + timedelta(seconds=remaining)
            if remaining == available:
                # "the end of this day" is written, as add_working_days writes it,
                # as 00:00 of the next working day
                return datetime.combine(self.next_working_day(day), time(0, tzinfo=self.tz))
            remaining -= available
            current = datetime.combine(self.next_working_day(day), time(0, tzinfo=self.tz))

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working time elapsed from ``start`` to ``end``, in days (negative if end < start)."""
        a, b = self._local(start), self._local(end)
        if b < a:
            return -self.working_days_between(end, start)
        total = 0.0
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                lo = datetime.combine(day, time(0, tzinfo=self.tz))
                hi = lo + timedelta(days=1)
                total += max(0.0, (min(hi, b) - max(lo, a)).total_seconds())
            day += timedelta(days=1)
        return total / _DAY


def deadline_flags(calendar: WorkingCalendar, now: datetime, due_at: datetime | None,
                   at_risk_days: float) -> dict:
    """The one at-risk / overdue rule: overdue once past due; at risk with ``at_risk_days``
    working days or fewer left. Used by case deadlines and the feedback answer clock."""
    if due_at is None:
        return {"at_risk": False, "overdue": False}
    left = calendar.working_days_between(now, due_at)
    return {"overdue": left < 0, "at_risk": 0 <= left <= at_risk_days}


@functools.lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    return WorkingCalendar.from_file()
