"""ReportingStore: raw events (the source of truth of the read models), pending markers,
case states, and counters keyed by ``metric|dimension:value|period``."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.events import utcnow

from .periods import cell


class ReportingStore:
    def __init__(self, db: Database):
        self.db = db
        # While one fold holds the lock it is the only writer, so it may keep what it read:
        self._counters: dict[str, dict] = {}      # counter documents by _id
        self._waiting: set[str] | None = None     # dossier codes with deferred events
        self._folded: int | None = None           # events folded, all time

    def begin_fold(self) -> None:
        """Called once the fold lock is held: remember which dossiers have waiting events (the
        deferred collection is small), so a filing does not cost a lookup to find none."""
        self._counters = {}
        self._waiting = {d["_id"] for d in self.db.deferred.find({}, {"_id": 1})}
        self._folded = (self.db.meta.find_one({"_id": "fold"}) or {}).get("folded", 0)

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

    def deferred_of(self, code: str) -> list[dict]:
        """Events waiting for this dossier's filing (see Fold.apply)."""
        if self._waiting is not None and code not in self._waiting:
            return []
        return (self.db.deferred.find_one({"_id": code}) or {}).get("events", [])

    def orphans(self, older_than: datetime) -> list[str]:
        """Dossiers whose waiting events are older than this: their filing is not coming. A scan,
        but of a collection that is empty unless events arrive ahead of their filing."""
        cutoff = older_than.isoformat()
        return [d["_id"] for d in self.db.deferred.find()
                if min(str(e["occurred_at"]) for e in d.get("events") or [{"occurred_at": cutoff}]) < cutoff]

    def save(self, deltas: dict, states: dict, done: list[str], deferred: dict | None = None,
             released: set | None = None) -> None:
        """Apply one folded batch. Only one folder runs at a time (the lock below), so it turns the
        deltas into absolute documents, journals them, then writes them: replaying the journal after
        a crash rewrites the same values instead of adding the deltas a second time."""
        cells: dict[str, dict[str, float]] = {}
        for counter_key, delta in deltas.items():
            if delta:
                doc_id, metric = cell(counter_key)
                cells.setdefault(doc_id, {})[metric] = delta
        counters = []
        for doc_id, changes in cells.items():
            if doc_id not in self._counters:
                self._counters[doc_id] = self.db.counters.find_one({"_id": doc_id}) or {"_id": doc_id}
            current = dict(self._counters[doc_id])
            for metric, delta in changes.items():
                current[metric] = current.get(metric, 0) + delta
            counters.append(current)
        # How many events have been folded, all time: progress an operator (or a benchmark) can read
        # by _id instead of counting the queue, which is a scan on FerretDB.
        if self._folded is None:
            self._folded = (self.db.meta.find_one({"_id": "fold"}) or {}).get("folded", 0)
        folded = self._folded + len(done)
        journal = {"_id": "batch", "counters": counters, "folded": folded,
                   "states": [{"_id": code, **state} for code, state in states.items()], "done": done,
                   "deferred": [{"_id": code, "events": events} for code, events in (deferred or {}).items()],
                   "released": sorted(released or ())}
        self.db.journal.insert_one(journal)
        self.replay_journal(journal)
        self._counters.update({d["_id"]: d for d in counters})
        self._folded = folded
        if self._waiting is not None:
            self._waiting = (self._waiting | set(deferred or {})) - set(released or ())

    def replay_journal(self, journal: dict | None = None) -> None:
        """Finish the batch a crashed folder journaled (idempotent: every write is absolute)."""
        journal = journal or self.db.journal.find_one({"_id": "batch"})
        if not journal:
            return
        # One statement per command: FerretDB 1.24 leaks SQLite connections on multi-statement
        # update/delete commands under concurrent writes until the database hangs (seen here with
        # bulk_write), and it scans the collection for an $in filter.
        for doc in journal["counters"]:
            self.db.counters.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        for doc in journal["states"]:
            self.db.case_states.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        for doc in journal.get("deferred", []):
            self.db.deferred.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        for code in journal.get("released", []):
            self.db.deferred.delete_one({"_id": code})
        # One statement per event (FerretDB scans for $in and hangs on multi-statement deletes under
        # load), several at a time: the cost is the round trip, not the write.
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda event_id: self.db.pending.delete_one({"_id": event_id}), journal["done"]))
        self.db.meta.replace_one({"_id": "fold"}, {"_id": "fold", "folded": journal.get("folded", 0)}, upsert=True)
        self.db.journal.delete_one({"_id": "batch"})

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
