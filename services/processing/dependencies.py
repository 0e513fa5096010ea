"""ProcessingStore: cases (numbered transitions, each with its history entry) and their documents."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database
from pymongo.errors import BulkWriteError

from services.common.deadline_calendar import DeadlineCalendar
from services.common.files import ChunkStore
from services.common.versioned import VersionedDocuments

from .queue_index import QueueIndex
from .schemas import CLOCK_STATUSES


class ProcessingStore:
    def __init__(self, db: Database):
        self.db = db
        self.cases = VersionedDocuments(db, "cases")
        self.files = ChunkStore(db.case_files)
        self.calendar = DeadlineCalendar(db, "cases")
        self.queue_index = QueueIndex(db)

    @staticmethod
    def ensure_indexes(db: Database) -> None:
        db.cases.create_index([("agency_id", 1), ("status", 1), ("due_at", 1)])
        db.cases.create_index([("applicant_id", 1)])
        db.cases_transitions.create_index([("doc_id", 1), ("version", 1)])
        VersionedDocuments.ensure_indexes(db, "cases")

    def case(self, code: str) -> dict | None:
        return self.cases.get(code)

    def queue(self, filt: dict, skip: int, limit: int) -> tuple[list[dict], int]:
        """One pass over the matching cases reading only their sort keys (FerretDB filters and sorts
        in Go after decoding every document, and a count is a second pass), then the page's cases
        by ``_id``."""
        # as MongoDB sorts: cases without a due day yet (waiting for reception) first
        keys = sorted(
            (
                (d.get("due_at") is not None, d.get("due_at") or 0, d.get("submitted_at"), d["_id"])
                for d in self.cases.docs.find(filt, {"_id": 1, "due_at": 1, "submitted_at": 1})
            ),
            key=lambda k: k[:3],
        )
        page = [self.cases.get(k[3]) for k in keys[skip : skip + limit]]
        return [d for d in page if d is not None], len(keys)

    def all_cases_for_queue(self):
        """Every case, lightly projected (building the queue index once)."""
        return self.cases.docs.find(
            {},
            {
                "_id": 1,
                "code": 1,
                "version": 1,
                "agency_id": 1,
                "due_date": 1,
                "due_at": 1,
                "status": 1,
                "department_id": 1,
                "submitted_at": 1,
            },
        )

    def open_deadlines(self, batch: int = 1000):
        """Cases with a deadline running (processing clock or reception), lightly projected, for the sweep."""
        cursor = self.cases.docs.find(
            {"status": {"$in": [*CLOCK_STATUSES, "submitted"]}},
            {"_id": 1, "version": 1, "status": 1, "paused": 1, "due_date": 1, "reception_due_date": 1, "flags": 1},
        )
        return cursor.batch_size(batch)

    def note_early_payment(self, code: str, payment_id: str) -> None:
        """A fee paid before the case was opened (the two events raced): kept for the opening."""
        self.db.early_payments.replace_one({"_id": code}, {"_id": code, "payment_id": payment_id}, upsert=True)

    def early_payment(self, code: str) -> str | None:
        return (self.db.early_payments.find_one({"_id": code}) or {}).get("payment_id")

    def note_flags(self, changes: list[tuple[str, dict, dict]]) -> None:
        """Keep the set of raised flags (for /metrics) in step with cases' flags: (code, before, after).
        One small document per raised flag: raising many at once (a sweep) is one insert."""
        raised = [
            {"_id": f"{code}|{flag}", "flag": flag}
            for code, before, after in changes
            for flag, up in after.items()
            if up and not before.get(flag)
        ]
        lowered = [
            f"{code}|{flag}"
            for code, before, after in changes
            for flag, up in after.items()
            if not up and before.get(flag)
        ]
        if raised:
            try:
                self.db.flagged_cases.insert_many(raised, ordered=False)
            except BulkWriteError:
                pass  # already there (a replayed sweep)
        for key in lowered:
            self.db.flagged_cases.delete_one({"_id": key})

    def flagged_counts(self) -> dict:
        counts: dict[str, int] = {}
        for doc in self.db.flagged_cases.find({}, {"flag": 1}):
            if doc.get("flag"):
                counts[doc["flag"]] = counts.get(doc["flag"], 0) + 1
        return counts

    def history(self, code: str) -> list[dict[str, Any]]:
        return self.cases.history(code)
