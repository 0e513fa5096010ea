"""The agencies' work queues as a read model addressed by ``_id`` (hàng đợi hồ sơ).

A queue page is "an agency's cases, soonest due first". Read from the cases themselves that is a
filter and a sort, which FerretDB 1.24 does by decoding every case in Go (11 s at 10,000 cases).
Here the same page costs a handful of ``_id`` reads: one document per agency counts its cases by
due day (and by status and department), one document per (agency, due day) lists that day's
cases with their sort keys, and the page's cases are then read by ``_id``.

Many processes change cases at once and FerretDB's updates are read-modify-write without a lock,
so writers only *insert* the new state of a case into an inbox (keyed ``<code>#<version>``: a retry
is a no-op); one writer at a time folds the inbox into the day and agency documents, writing
absolute values (a fold interrupted by a crash is simply done again). Queue reads fold what is
waiting first, so a page shows every change committed before it was asked for.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common.single_writer import SingleWriter

NO_DUE = "0000-00-00"  # cases without a due day yet (waiting for reception) come first, as MongoDB sorts nulls
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(value: Any) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int((value - _EPOCH).total_seconds() * 1000)
    return 0


def entry_of(case: dict) -> dict:
    """What the queue keeps of a case: its place in the order and what the queue filters on."""
    return {
        "code": case["code"],
        "version": case["version"],
        "agency_id": case["agency_id"],
        "day": case.get("due_date") or NO_DUE,
        "status": case["status"],
        "department_id": case.get("department_id"),
        "due_ms": _ms(case.get("due_at")),
        "submitted_ms": _ms(case.get("submitted_at")),
    }


def _sort_key(entry: dict) -> tuple:
    return entry["day"] != NO_DUE, entry["due_ms"], entry["submitted_ms"], entry["code"]


class QueueIndex:
    def __init__(self, db: Database):
        self.inbox = db.queue_inbox
        self.days = db.queue_days
        self.agencies = db.queue_agencies
        self.where = db.queue_where
        self.writer = SingleWriter(db.queue_meta, "fold", lease_seconds=60)
        self.meta = db.queue_meta

    # ------------------------------------------------------------ writers
    def note(self, case: dict) -> None:
        """The state a case is about to have (before its commit: a crash leaves a harmless extra entry)."""
        entry = entry_of(case)
        try:
            self.inbox.insert_one({"_id": f"{entry['code']}#{entry['version']}", **entry})
        except DuplicateKeyError:
            pass

    def note_many(self, cases: Iterable[dict]) -> None:
        docs = [{"_id": f"{e['code']}#{e['version']}", **e} for e in map(entry_of, cases)]
        for start in range(0, len(docs), 1000):
            try:
                self.inbox.insert_many(docs[start : start + 1000], ordered=False)
            except BulkWriteError:
                pass

    def built(self) -> bool:
        return self.meta.find_one({"_id": "built"}) is not None

    def mark_built(self) -> None:
        self.meta.replace_one({"_id": "built"}, {"_id": "built"}, upsert=True)

    # ------------------------------------------------------------ the folder
    def fold(self, wait: float = 0.0, batch: int = 5000) -> int:
        """Fold what is waiting; how many states were folded. With ``wait``, a reader waits (up to that
        many seconds) for another folder to finish and folds what came after it, so its page shows
        every change committed before it asked."""
        deadline = time.monotonic() + wait
        while True:
            with self.writer.held() as mine:
                if mine:
                    folded = 0
                    while True:
                        entries = list(self.inbox.find().limit(batch))
                        if entries:
                            self._fold(entries)
                            folded += len(entries)
                        if len(entries) < batch:
                            return folded
            if time.monotonic() >= deadline:
                return 0
            time.sleep(0.05)

    def _fold(self, entries: list[dict]) -> None:
        latest: dict[str, dict] = {}
        for e in entries:
            if e["code"] not in latest or e["version"] > latest[e["code"]]["version"]:
                latest[e["code"]] = e
        with ThreadPoolExecutor(8) as pool:
            wheres = dict(zip(latest, pool.map(lambda code: self.where.find_one({"_id": code}), latest)))
        days: dict[str, dict] = {}

        def day_doc(agency: str, day: str) -> dict:
            key = f"{agency}|{day}"
            if key not in days:
                days[key] = self.days.find_one({"_id": key}) or {
                    "_id": key,
                    "agency_id": agency,
                    "day": day,
                    "entries": {},
                }
            return days[key]

        moved = []
        for code, e in latest.items():
            where = wheres[code]
            if where and where["version"] >= e["version"]:
                continue
            if where:
                day_doc(where["agency_id"], where["day"])["entries"].pop(code, None)
            day_doc(e["agency_id"], e["day"])["entries"][code] = {
                k: e[k] for k in ("version", "status", "department_id", "due_ms", "submitted_ms")
            }
            moved.append({"_id": code, "agency_id": e["agency_id"], "day": e["day"], "version": e["version"]})
        # Absolute values, written day documents first, then the agencies' counts, then where each case
        # is, then the inbox emptied: a fold cut short by a crash is redone to the same result.
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda d: self.days.replace_one({"_id": d["_id"]}, d, upsert=True), days.values()))
            for agency in {d["agency_id"] for d in days.values()}:
                index = self.agencies.find_one({"_id": agency}) or {"_id": agency, "days": {}}
                for d in (d for d in days.values() if d["agency_id"] == agency):
                    if d["entries"]:
                        index["days"][d["day"]] = _counts(d["entries"].values())
                    else:
                        index["days"].pop(d["day"], None)
                self.agencies.replace_one({"_id": agency}, index, upsert=True)
            list(pool.map(lambda w: self.where.replace_one({"_id": w["_id"]}, w, upsert=True), moved))
            list(pool.map(lambda e: self.inbox.delete_one({"_id": e["_id"]}), entries))

    # ------------------------------------------------------------ reading
    def page(
        self,
        agency: str,
        skip: int,
        limit: int,
        status: str | None = None,
        department: str | None = None,
        overdue_before: date | None = None,
        due_between: tuple[date, date] | None = None,
        clock_statuses: tuple[str, ...] = (),
    ) -> tuple[list[str], int]:
        """The codes of one page of an agency's queue and how many cases match, soonest due first.
        ``overdue_before`` / ``due_between`` keep the cases of ``clock_statuses`` due before a day /
        within two days (the overdue and at-risk views)."""
        index = self.agencies.find_one({"_id": agency}) or {"days": {}}
        codes: list[str] = []
        total = 0
        for day in sorted(index["days"]):
            if not _day_matches(day, overdue_before, due_between):
                continue
            clock_only = overdue_before is not None or due_between is not None
            n = _matching(index["days"][day], status, department, clock_statuses if clock_only else None)
            total += n
            if n == 0 or len(codes) >= limit:
                continue
            if skip >= n:
                skip -= n
                continue
            doc = self.days.find_one({"_id": f"{agency}|{day}"}) or {"entries": {}}
            rows = sorted(
                (
                    {"code": c, "day": day, **v}
                    for c, v in doc["entries"].items()
                    if (status is None or v["status"] == status)
                    and (department is None or v["department_id"] == department)
                    and (not clock_only or v["status"] in clock_statuses)
                ),
                key=_sort_key,
            )
            taken = rows[skip : skip + limit - len(codes)]
            codes += [r["code"] for r in taken]
            skip = 0
        return codes, total


def _counts(entries: Iterable[dict]) -> dict:
    counts: dict[str, Any] = {"n": 0, "status": {}, "status_department": {}}
    for e in entries:
        counts["n"] += 1
        counts["status"][e["status"]] = counts["status"].get(e["status"], 0) + 1
        key = f"{e['status']}|{e['department_id'] or ''}"
        counts["status_department"][key] = counts["status_department"].get(key, 0) + 1
    return counts


def _matching(counts: dict, status: str | None, department: str | None, statuses: tuple[str, ...] | None) -> int:
    wanted = [status] if status else (list(statuses) if statuses is not None else None)
    if department is None:
        return counts["n"] if wanted is None else sum(counts["status"].get(s, 0) for s in wanted)
    return sum(
        n
        for key, n in counts["status_department"].items()
        if key.split("|", 1)[1] == department and (wanted is None or key.split("|", 1)[0] in wanted)
    )


def _day_matches(day: str, overdue_before: date | None, due_between: tuple[date, date] | None) -> bool:
    if day == NO_DUE:
        return overdue_before is None and due_between is None
    if overdue_before is not None and not day < overdue_before.isoformat():
        return False
    if due_between is not None and not due_between[0].isoformat() <= day <= due_between[1].isoformat():
        return False
    return True
