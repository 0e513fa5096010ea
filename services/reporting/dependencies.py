"""ReportingStore: raw events (the source of truth of the read models), pending markers,
case states, and counters keyed by ``metric|dimension:value|period``."""
from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.events import utcnow

from .periods import cell


class ReportingStore:
    def __init__(self, db: Database):
        self.db = db

    def record(self, envelope: dict) -> bool:
        """Keep the raw event (once) and queue a copy for folding (the queue stays small,
        so the folder reads it in one pass instead of one lookup per event)."""
        try:
            self.db.events.insert_one({"_id": envelope["event_id"], **envelope})
        except DuplicateKeyError:
            return False
        try:
            self.db.pending.insert_one({"_id": envelope["event_id"], **envelope})
        except DuplicateKeyError:
            pass
        return True

    def pending(self, limit: int) -> list[dict]:
        return list(self.db.pending.find().limit(limit))

    def case_state(self, code: str) -> dict | None:
        return self.db.case_states.find_one({"_id": code})

    def save(self, deltas: dict, states: dict, done: list[str]) -> None:
        # One writer folds at a time (the lock below), so read-add-write is safe on every server.
        cells: dict[str, dict[str, float]] = {}
        for counter_key, delta in deltas.items():
            if delta:
                doc_id, metric = cell(counter_key)
                cells.setdefault(doc_id, {})[metric] = delta
        for doc_id, changes in cells.items():
            current = self.db.counters.find_one({"_id": doc_id}) or {"_id": doc_id}
            for metric, delta in changes.items():
                current[metric] = current.get(metric, 0) + delta
            self.db.counters.replace_one({"_id": doc_id}, current, upsert=True)
        for code, state in states.items():
            self.db.case_states.replace_one({"_id": code}, {"_id": code, **state}, upsert=True)
        for event_id in done:  # one by _id: FerretDB scans the collection for an $in filter
            self.db.pending.delete_one({"_id": event_id})

    def cell(self, dim: str, value: str, period: str) -> dict:
        return self.db.counters.find_one({"_id": f"{dim}:{value}|{period}"}) or {}

    def lock(self, owner: str, lease_seconds: float = 60) -> bool:
        try:
            self.db.locks.insert_one({"_id": "fold", "owner": owner, "at": utcnow()})
            return True
        except DuplicateKeyError:
            doc = self.db.locks.find_one({"_id": "fold"})
            if doc and (utcnow() - doc["at"]).total_seconds() > lease_seconds:
                self.db.locks.delete_one({"_id": "fold"})
                return self.lock(owner, lease_seconds)
            return False

    def touch(self, owner: str) -> None:
        """Keep the lock while folding a long backlog, so no one takes it over as stale."""
        doc = self.db.locks.find_one({"_id": "fold"})
        if doc and doc["owner"] == owner:
            self.db.locks.update_one({"_id": "fold"}, {"$set": {"at": utcnow()}})

    def unlock(self, owner: str) -> None:
        doc = self.db.locks.find_one({"_id": "fold"})
        if doc and doc["owner"] == owner:
            self.db.locks.delete_one({"_id": "fold"})
