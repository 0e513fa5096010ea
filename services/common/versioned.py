"""Documents that change only through numbered transitions.

Why not ``find_one_and_update({"_id": x, "version": v}, …)``? FerretDB 1.24
(SQLite) applies updates as read → modify in Go → write back by ``_id``,
without holding a lock between the read and the write: two officials acting
at once would both "win", and a concurrent ``$pull`` can silently undo a
transition. The one write it does make atomic is an **insert with a unique
``_id``**. So every change to a versioned document is first *committed* as an
insert into ``<collection>_transitions`` with ``_id = "<doc id>#<version>"``:
exactly one writer can commit version v+1; the loser gets a stale-version
conflict and nothing changes. The record carries the new field values and the
events to publish (our outbox), so a crash after the commit loses nothing: a
timer applies the record to the document if it is behind and publishes its
events. The document itself is a projection of its transitions; on MongoDB
the projection update is additionally guarded by the version filter.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from .errors import Conflict
from .events import utcnow

Dispatch = Callable[[str, dict], None]


def stale_version(doc_id: str, expected: int) -> Conflict:
    return Conflict("Hồ sơ vừa được người khác cập nhật; vui lòng tải lại và thử lại",
                    {"id": doc_id, "expected_version": expected}, "stale_version")


class VersionedDocuments:
    def __init__(self, db: Database, name: str, stale_after: float = 10.0):
        self.docs = db[name]
        self.log = db[f"{name}_transitions"]
        self.stale_after = timedelta(seconds=stale_after)

    @staticmethod
    def ensure_indexes(db: Database, name: str) -> None:
        db[f"{name}_transitions"].create_index([("published", ASCENDING), ("at", ASCENDING)])

    def get(self, doc_id: str) -> dict | None:
        return self.docs.find_one({"_id": doc_id})

    # ------------------------------------------------------------ writes
    def create(self, doc_id: str, doc: dict, events: list[dict], extra: dict | None = None) -> tuple[dict, bool]:
        """Create version 1; returns (document, created). A second create of
        the same id (a replay) returns the existing document, unchanged."""
        record = {"_id": f"{doc_id}#1", "doc_id": doc_id, "version": 1, "set": {**doc, "version": 1},
                  "events": events, "at": utcnow(), "published": False, **(extra or {})}
        try:
            self.log.insert_one(record)
        except DuplicateKeyError:
            existing = self.get(doc_id)
            if existing is None:  # committed by a writer that crashed before projecting it
                existing = self._apply(self.log.find_one({"_id": f"{doc_id}#1"}))
            return existing, False
        return self._apply(record), True

    def transition(self, doc_id: str, expected_version: int, changes: dict, events: list[dict],
                   extra: dict | None = None) -> dict:
        """Commit version expected+1 with ``changes``; Conflict if someone else did first.

        ``extra`` is stored on the transition record only (e.g. who, why, a hash link).
        """
        version = expected_version + 1
        record = {"_id": f"{doc_id}#{version}", "doc_id": doc_id, "version": version,
                  "set": {**changes, "version": version}, "events": events, "at": utcnow(),
                  "published": False, **(extra or {})}
        try:
            self.log.insert_one(record)
        except DuplicateKeyError:
            raise stale_version(doc_id, expected_version) from None
        return self._apply(record)

    def _apply(self, record: dict) -> dict:
        doc_id, version = record["doc_id"], record["version"]
        if version == 1:
            try:
                self.docs.insert_one({"_id": doc_id, **record["set"]})
            except DuplicateKeyError:
                pass
        else:
            self.docs.update_one({"_id": doc_id, "version": version - 1}, {"$set": record["set"]})
        return self.get(doc_id)

    def history(self, doc_id: str) -> list[dict]:
        return list(self.log.find({"doc_id": doc_id}).sort("version", ASCENDING))

    # ----------------------------------------------------------- publish
    def publish(self, doc_id: str, version: int, dispatch: Dispatch) -> None:
        record = self.log.find_one({"_id": f"{doc_id}#{version}"})
        if record and not record.get("published"):
            self._publish(record, dispatch)

    def _publish(self, record: dict, dispatch: Dispatch) -> None:
        for envelope in record.get("events") or []:
            dispatch(envelope["type"], envelope)
        self.log.update_one({"_id": record["_id"]}, {"$set": {"published": True, "published_at": utcnow()}})

    def recover(self, dispatch: Dispatch, limit: int = 500) -> int:
        """Timer job: project and publish transitions a crash left behind.

        Only records older than ``stale_after`` are touched, so the live
        request that committed a record is never raced by the timer.
        """
        cutoff = utcnow() - self.stale_after
        done = 0
        for record in self.log.find({"published": False, "at": {"$lt": cutoff}}).sort("at", ASCENDING).limit(limit):
            doc = self.docs.find_one({"_id": record["doc_id"]}, {"version": 1})
            current = doc["version"] if doc else 0
            if current == record["version"] - 1:
                self._apply(record)
            elif current < record["version"] - 1:
                continue  # an earlier record is still pending; it goes first
            self._publish(record, dispatch)
            done += 1
        return done
