"""Deadlines as a pure function of the recorded clock events (replayable).

Clock events, in order: ``start`` (reception receives the dossier), ``pause``
(a supplement is requested), ``resume`` (the citizen supplemented), ``extend``
(an apology letter set a new appointment date). Per procedure, a resumed
clock either **restarts** (the full processing time counts again from the
complete dossier, the default, as Decree 61/2018 practice for incomplete
dossiers) or **resumes** (only the time that was left counts).
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Literal

from services.common.calendar import WorkingCalendar

SupplementClock = Literal["restart", "resume"]


def _at(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def compute_due(calendar: WorkingCalendar, processing_days: int, events: Iterable[dict],
                rule: SupplementClock = "restart", with_extensions: bool = True) -> datetime | None:
    """The due instant after replaying ``events``; None while the clock has not started."""
    due: datetime | None = None
    remaining: float | None = None
    for event in events:
        kind, at = event["kind"], _at(event["at"])
        if kind == "start":
            due = calendar.add_working_days(at, processing_days)
        elif kind == "pause" and due is not None:
            remaining = max(0.0, calendar.working_days_between(at, due))
        elif kind == "resume" and due is not None:
            if rule == "restart" or remaining is None:
                due = calendar.add_working_days(at, processing_days)
            else:
                due = calendar.add_working_time(at, remaining)
            remaining = None
        elif kind == "extend" and with_extensions:
            due = _at(event["new_due_at"])
    return due


def is_paused(events: Iterable[dict]) -> bool:
    state = False
    for event in events:
        if event["kind"] == "pause":
            state = True
        elif event["kind"] in ("resume", "start"):
            state = False
    return state


def classify(calendar: WorkingCalendar, finished_at: datetime, due_at: datetime) -> str:
    """R15: early (a working day or more to spare), on time, or late."""
    spare = calendar.working_days_between(finished_at, due_at)
    if spare < 0:
        return "late"
    return "early" if spare >= 1 else "on_time"
