"""The days on which deadlines change, so a sweep reads what is due instead of everything open.

Deadlines are counted in days (services.common.calendar), so a flag can only change when a day
begins: the day a deadline becomes "at risk" and the day after its due day. Whoever sets or moves
a deadline *schedules* those days for the document; the sweep asks for the documents due from the
last day it swept up to today and looks at those alone (100,000 open cases, a thousand due →
a thousand reads, not a hundred thousand).

Shaped by FerretDB 1.24 (only a lone ``{_id: x}`` filter uses an index; an update is
read-modify-write without a lock): many writers only ever *insert* into an inbox (atomic, and
idempotent by its key); the single sweeper — holding a lock document — folds the inbox into one
document per day, read and written by ``_id``. On MongoDB the same collections are small and
keyed by ``_id`` too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .calendar import WorkingCalendar
from .events import utcnow
from .single_writer import SingleWriter

LOCK_SECONDS = 300.0


def flag_days(calendar: WorkingCalendar, due: date | None, at_risk_days: int) -> list[date]:
    """The days a deadline due on ``due`` changes its flags: at risk from, overdue from."""
    if due is None:
        return []
    return [calendar.at_risk_from(due, at_risk_days), due + timedelta(days=1)]


class DeadlineCalendar:
    def __init__(self, db: Database, name: str):
        self.inbox = db[f"{name}_calendar_inbox"]
        self.days = db[f"{name}_calendar"]
        self.meta = db[f"{name}_calendar_meta"]
        self.writer = SingleWriter(self.meta, "sweep", LOCK_SECONDS)

    # ----------------------------------------------------------- writers
    def schedule(self, doc_id: str, days: Iterable[date], key: str) -> None:
        """Ask the sweep to look at ``doc_id`` on each of ``days`` (``key`` makes a retry a no-op)."""
        wanted = sorted({d.isoformat() for d in days})
        if not wanted:
            return
        try:
            self.inbox.insert_one({"_id": key, "doc_id": doc_id, "days": wanted, "at": utcnow()})
        except DuplicateKeyError:
            pass

    def schedule_many(self, entries: Iterable[tuple[str, Iterable[date], str]]) -> None:
        """``schedule`` for many documents at once (building the calendar for what is already open)."""
        docs = [
            {"_id": key, "doc_id": doc_id, "days": sorted({d.isoformat() for d in days}), "at": utcnow()}
            for doc_id, days, key in entries
        ]
        docs = [d for d in docs if d["days"]]
        for start in range(0, len(docs), 1000):
            try:
                self.inbox.insert_many(docs[start : start + 1000], ordered=False)
            except BulkWriteError:
                pass  # keys already scheduled: nothing to add

    # ----------------------------------------------------------- the sweeper
    def lock(self, owner: str, wait: float = 0.0) -> bool:
        """One sweeper at a time (replicas race for it); a lock older than LOCK_SECONDS is taken over.
        With ``wait``, wait that many seconds for a sweep in progress to end."""
        return self.writer.acquire(owner, wait)

    def unlock(self, owner: str) -> None:
        self.writer.release(owner)

    def built(self) -> bool:
        """False until the first sweep has scheduled every document open before the calendar existed."""
        return self.meta.find_one({"_id": "built"}) is not None

    def mark_built(self) -> None:
        self.meta.replace_one({"_id": "built"}, {"_id": "built", "at": utcnow()}, upsert=True)

    def due(self, today: date) -> set[str]:
        """(Sweeper only.) Fold the inbox into the day documents, then the ids of every day from the
        last swept one up to today."""
        self._fold_inbox(today)
        state = self.meta.find_one({"_id": "swept"}) or {}
        first = date.fromisoformat(state["day"]) if state.get("day") else today
        ids: set[str] = set()
        day = min(first, today)
        while day <= today:
            doc = self.days.find_one({"_id": day.isoformat()})
            ids.update(doc["ids"] if doc else ())
            day += timedelta(days=1)
        return ids

    def swept(self, today: date) -> None:
        """(Sweeper only.) Today is done so far; the days before it are done for good."""
        state = self.meta.find_one({"_id": "swept"}) or {}
        previous = date.fromisoformat(state["day"]) if state.get("day") else today
        self.meta.replace_one({"_id": "swept"}, {"_id": "swept", "day": today.isoformat()}, upsert=True)
        day = previous
        while day < today:
            self.days.delete_one({"_id": day.isoformat()})
            day += timedelta(days=1)

    def _fold_inbox(self, today: date, batch: int = 20_000) -> None:
        while True:
            entries = list(self.inbox.find().limit(batch))
            if not entries:
                return
            by_day: dict[str, set[str]] = {}
            for entry in entries:
                for day in entry["days"]:
                    # a day already past is looked at today (it was scheduled late, or the sweep was down)
                    by_day.setdefault(max(day, today.isoformat()), set()).add(entry["doc_id"])
            for day, ids in by_day.items():
                doc = self.days.find_one({"_id": day}) or {"_id": day, "ids": []}
                merged = sorted(set(doc["ids"]) | ids)
                self.days.replace_one({"_id": day}, {"_id": day, "ids": merged}, upsert=True)
            # One single-statement delete per entry, several at a time: FerretDB scans for an $in filter
            # and leaks connections on multi-statement deletes; the cost is the round trip.
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda entry: self.inbox.delete_one({"_id": entry["_id"]}), entries))
            if len(entries) < batch:
                return


def new_owner() -> str:
    return uuid.uuid4().hex


def key_for(doc_id: str, version: int | str) -> str:
    return f"{doc_id}#{version}"
