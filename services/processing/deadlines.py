"""Due days as a pure function of the recorded clock events (replayable), on the one calendar's
convention (services.common.calendar: periods of working days end at 24:00 local of their last day).

Clock events, in order: ``start`` (reception receives the dossier), ``pause`` (a supplement is
requested during review), ``resume`` (the citizen supplemented), ``extend`` (an apology letter
set a new appointment day). Per procedure, a resumed clock either **restarts** (the full
processing time counts again from the complete dossier — the default, as Decree 61/2018 practice
for incomplete dossiers) or **resumes**: the whole working days that were left after the day of
the pause carry over, counted from the day of the resume; the days of the pause do not count.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Literal

from services.common.calendar import WorkingCalendar, as_date

SupplementClock = Literal["restart", "resume"]


def _at(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def compute_due(
    calendar: WorkingCalendar,
    processing_days: int,
    events: Iterable[dict],
    rule: SupplementClock = "restart",
    with_extensions: bool = True,
) -> date | None:
    """The due day after replaying ``events``; None while the clock has not started."""
    due: date | None = None
    remaining: int | None = None
    for event in events:
        kind = event["kind"]
        day = calendar.local_date(_at(event["at"]))
        if kind == "start":
            due = calendar.add_working_days(day, processing_days)
        elif kind == "pause" and due is not None:
            remaining = calendar.working_days_after(day, due)
        elif kind == "resume" and due is not None:
            left = processing_days if rule == "restart" or remaining is None else remaining
            due = calendar.add_working_days(day, left)
            remaining = None
        elif kind == "extend" and with_extensions:
            due = as_date(event["new_due_date"])
    return due


def is_paused(events: Iterable[dict]) -> bool:
    state = False
    for event in events:
        if event["kind"] == "pause":
            state = True
        elif event["kind"] in ("resume", "start"):
            state = False
    return state


def stage_due(calendar: WorkingCalendar, started: datetime, budget: int | None, case_due: date | None) -> date | None:
    """A stage's due day: its budget counted from the day it started, never after the case's."""
    if budget is None:
        return case_due
    due = calendar.add_working_days(calendar.local_date(started), budget)
    return min(due, case_due) if case_due else due
