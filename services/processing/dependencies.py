"""ProcessingStore: cases (numbered transitions, each with its history entry) and their documents."""
from __future__ import annotations

from typing import Any

from pymongo.database import Database

from services.common.files import ChunkStore
from services.common.versioned import VersionedDocuments

from .schemas import CLOCK_STATUSES


class ProcessingStore:
    def __init__(self, db: Database):
        self.db = db
        self.cases = VersionedDocuments(db, "cases")
        self.files = ChunkStore(db.case_files)

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
        keys = sorted(((d.get("due_at") is not None, d.get("due_at") or 0, d.get("submitted_at"), d["_id"])
                       for d in self.cases.docs.find(filt, {"_id": 1, "due_at": 1, "submitted_at": 1})),
                      key=lambda k: k[:3])
        page = [self.cases.get(k[3]) for k in keys[skip:skip + limit]]
        return [d for d in page if d is not None], len(keys)

    def open_deadlines(self, batch: int = 1000):
        """Cases with a deadline running (processing clock or reception), lightly projected, for the sweep."""
        cursor = self.cases.docs.find({"status": {"$in": [*CLOCK_STATUSES, "submitted"]}},
                                      {"_id": 1, "version": 1, "status": 1, "paused": 1, "due_date": 1,
                                       "reception_due_date": 1, "flags": 1})
        return cursor.batch_size(batch)

    def save_sweep_stats(self, stats: dict) -> None:
        self.db.stats.replace_one({"_id": "deadlines"}, {"_id": "deadlines", **stats}, upsert=True)

    def sweep_stats(self) -> dict:
        return self.db.stats.find_one({"_id": "deadlines"}) or {}

    def history(self, code: str) -> list[dict[str, Any]]:
        return self.cases.history(code)
