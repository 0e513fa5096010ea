"""ReportingStore: raw events (the source of truth of the read models), case states, counters
keyed by ``metric|dimension:value|period``, the fold journal and the writer's lease.

Every write is one statement (one document, or one ``insert_many``): FerretDB 1.24 leaks SQLite
connections on multi-statement update/delete commands under concurrent writes until the database
hangs (seen with ``bulk_write``), and it scans the collection for any filter but a lone ``_id``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import events as _events  # "now" through the module: the one injectable clock
from services.common.events import park

LOCK = "fold"
WAITING = "~waiting"  # the deferred document listing every waiting event


def _each(fn: Callable[[Any], Any], items: Iterable) -> list:
    """One statement per item, several at a time: the cost is the round trip, not the write."""
    items = list(items)
    if len(items) < 4:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(fn, items))


def _upsert(collection: Collection, doc: dict) -> None:
    collection.replace_one({"_id": doc["_id"]}, doc, upsert=True)


def _insert_new(collection, docs: list[dict]) -> list[str]:
    """insert_many that skips documents already there; returns the ids that were."""
    if not docs:
        return []
    try:
        collection.insert_many(docs, ordered=False)
        return []
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        return [e["op"]["_id"] for e in errors]


def envelope_of(doc: dict) -> dict:
    """A stored event as it was received (older versions stored the envelope's fields directly)."""
    if "body" in doc:
        return json.loads(doc["body"])
    return {k: v for k, v in doc.items() if k != "_id"}


class ReportingStore:
    def __init__(self, db: Database):
        self.db = db

    # ----------------------------------------------------------- the writer's lease
    def hold_lease(self, owner: str, lease_seconds: float) -> str | None:
        """ "acquired", "renewed", or None when another live process is the writer."""
        now = _events.utcnow()
        doc = self.db.locks.find_one({"_id": LOCK})
        if doc and doc.get("owner") == owner:
            self.db.locks.update_one({"_id": LOCK}, {"$set": {"at": now}})
            return "renewed"
        if doc and (now - doc["at"]).total_seconds() <= lease_seconds:
            return None
        if doc:  # stale: its writer died. Only the one that deletes this very holder's lock may take over.
            self.db.locks.delete_one({"_id": LOCK, "owner": doc.get("owner")})
        try:
            self.db.locks.insert_one({"_id": LOCK, "owner": owner, "at": now})
            return "acquired"
        except DuplicateKeyError:
            return None

    def release_lease(self, owner: str) -> None:
        self.db.locks.delete_one({"_id": LOCK, "owner": owner})

    # ------------------------------------------------------------------- events
    def store_events(self, envelopes: list[dict], tag: str) -> set[str]:
        """Keep each event once, by event id, as received (one text field: FerretDB's cost grows
        with the number of fields, not the bytes). Returns the ids that were already stored."""
        docs = [
            {
                "_id": e["event_id"],
                "type": e["type"],
                "occurred_at": e["occurred_at"],
                "dossier_code": e.get("dossier_code"),
                "tag": tag,
                "body": json.dumps(e, default=str),
            }
            for e in envelopes
        ]
        return set(_insert_new(self.db.events, docs))

    def event_tag(self, event_id: str) -> str | None:
        return (self.db.events.find_one({"_id": event_id}, {"tag": 1}) or {}).get("tag")

    def retag(self, event_id: str, tag: str) -> None:
        self.db.events.update_one({"_id": event_id}, {"$set": {"tag": tag}})

    def stored_events(self) -> Iterator[tuple[dict, str | None]]:
        for doc in self.db.events.find().batch_size(2000):
            yield envelope_of(doc), doc.get("tag")

    def legacy_pending(self, limit: int) -> list[dict]:
        """Markers left by the per-event ingest of earlier versions (their events are stored)."""
        return [envelope_of(d) | {"_id": d["_id"]} for d in self.db.pending.find().limit(limit)]

    # ------------------------------------------------------------ read models
    def case_states(self, codes: Iterable[str]) -> dict[str, dict | None]:
        codes = list(codes)
        return dict(zip(codes, _each(lambda c: self.db.case_states.find_one({"_id": c}), codes), strict=True))

    def state_codes(self, limit: int) -> set[str] | None:
        """Every dossier with a case state, or None when there are more than ``limit``."""
        codes = {d["_id"] for d in self.db.case_states.find({}, {"_id": 1}).limit(limit + 1)}
        return codes if len(codes) <= limit else None

    def all_counters(self) -> list[dict]:
        return list(self.db.counters.find())

    def park(self, queue: str, body: object, error: str) -> None:
        """Keep a malformed event for an operator (``ops/parked`` lists and replays them)."""
        park(self.db, queue, body, error)

    def counter_docs(self, ids: Iterable[str]) -> dict[str, dict | None]:
        ids = list(ids)
        return dict(zip(ids, _each(lambda i: self.db.counters.find_one({"_id": i}), ids), strict=True))

    def waiting(self) -> tuple[list[str], list[dict]]:
        """Events that wait for their dossier's filing: the ids the writer recorded, and the per-dossier
        documents earlier versions kept (with the events in them)."""
        ids: list[str] = []
        legacy: list[dict] = []
        for doc in self.db.deferred.find():
            if doc["_id"] == WAITING:
                ids = json.loads(doc["blob"])
            else:
                legacy.extend(doc.get("events", []))
        return ids, legacy

    def events_by_id(self, ids: Iterable[str]) -> list[dict]:
        return [envelope_of(d) for d in _each(lambda i: self.db.events.find_one({"_id": i}), ids) if d]

    def orphaned_codes(self) -> set[str]:
        """Dossiers whose events were folded without their filing (see Writer._prefetch)."""
        return {d["_id"] for d in self.db.orphaned.find({}, {"_id": 1})}

    def fold_meta(self) -> dict:
        return self.db.meta.find_one({"_id": "fold"}) or {"_id": "fold", "folded": 0, "committed": {}}

    def cells(self, dim: str, values: list[str], periods: list[str]) -> dict[tuple[str, str], dict]:
        """The counter documents of these values and periods, by (value, period), several at a time."""
        keys = [(value, period) for value in values for period in periods]
        docs = _each(lambda k: self.db.counters.find_one({"_id": f"{dim}:{k[0]}|{k[1]}"}), keys)
        return {k: doc or {} for k, doc in zip(keys, docs, strict=True)}

    # ------------------------------------------------------------ the journal
    def append_journal(self, journal_id: str, entry: dict) -> None:
        """One folded batch, as one text field: a few milliseconds whatever it holds."""
        self.db.journal.insert_one({"_id": journal_id, "blob": json.dumps(entry, default=str)})

    def journals(self) -> list[tuple[str, dict]]:
        """Entries not checkpointed yet, in commit order (a scan, of a handful of documents)."""
        docs = sorted((d for d in self.db.journal.find() if "blob" in d), key=lambda d: d["_id"])
        return [(d["_id"], json.loads(d["blob"])) for d in docs]

    def checkpoint(self, writes: dict, journal_ids: list[str]) -> None:
        """Write the latest value of everything these journal entries changed, then drop them. Every
        write is absolute, so doing it again after a crash in the middle changes nothing."""
        if not journal_ids:
            return
        for collection, new, changed in (
            (self.db.counters, writes["new_counters"], writes["counters"]),
            (self.db.case_states, writes["new_states"], writes["states"]),
        ):
            again = set(_insert_new(collection, new))  # only after a crash: then they are the same documents
            _each(partial(_upsert, collection), [d for d in new if d["_id"] in again] + changed)
        if writes["waiting"] is not None:  # every waiting event, as one text field: one write
            self.db.deferred.replace_one(
                {"_id": WAITING}, {"_id": WAITING, "blob": json.dumps(writes["waiting"])}, upsert=True
            )
        _each(lambda code: self.db.deferred.delete_one({"_id": code}), writes["released"])
        _insert_new(self.db.orphaned, [{"_id": code} for code in writes["orphaned"]])
        _each(lambda event_id: self.db.pending.delete_one({"_id": event_id}), writes["done"])
        if writes["meta"] is not None:
            self.db.meta.replace_one({"_id": "fold"}, {"_id": "fold", **writes["meta"]}, upsert=True)
        self.counters_changed()
        _each(lambda journal_id: self.db.journal.delete_one({"_id": journal_id}), journal_ids)

    # ------------------------------------------------------------ the public statistics, precomputed
    def counters_changed(self) -> None:
        """A new token whenever counters are written: what was computed from the old ones is stale."""
        self.db.meta.replace_one({"_id": "counters"}, {"_id": "counters", "token": uuid.uuid4().hex}, upsert=True)

    def counters_token(self) -> str | None:
        return (self.db.meta.find_one({"_id": "counters"}) or {}).get("token")

    def public_table(self, period: str) -> dict | None:
        return self.db.public_statistics.find_one({"_id": period})

    def save_public_table(self, period: str, table: dict) -> None:
        self.db.public_statistics.replace_one({"_id": period}, {"_id": period, **table}, upsert=True)

    def replay_legacy_journal(self) -> None:
        """Finish a batch journaled by an earlier version (one document "batch" with fields)."""
        doc = self.db.journal.find_one({"_id": "batch"})
        if not doc:
            return
        for collection, docs in (
            (self.db.counters, doc["counters"]),
            (self.db.case_states, doc["states"]),
            (self.db.deferred, doc.get("deferred", [])),
        ):
            _each(partial(_upsert, collection), docs)
        _each(lambda code: self.db.deferred.delete_one({"_id": code}), doc.get("released", []))
        _each(lambda event_id: self.db.pending.delete_one({"_id": event_id}), doc["done"])
        self.db.meta.replace_one({"_id": "fold"}, {"_id": "fold", "folded": doc.get("folded", 0)}, upsert=True)
        self.db.journal.delete_one({"_id": "batch"})

    # ---------------------------------------------------------------- rebuild
    def request_rebuild(self) -> str:
        """Ask for a rebuild, or join the one already asked for; its request id."""
        request = uuid.uuid4().hex
        while True:
            try:
                self.db.control.insert_one({"_id": "rebuild", "request": request, "at": _events.utcnow()})
                return request
            except DuplicateKeyError:  # one is already asked for: wait for that one
                pending = self.db.control.find_one({"_id": "rebuild"})
                if pending is not None:
                    return str(pending["request"])
                # it finished in this very instant: ask again

    def rebuild_request(self) -> str | None:
        return (self.db.control.find_one({"_id": "rebuild"}) or {}).get("request")

    def rebuild_result(self, request: str) -> dict | None:
        doc = self.db.control.find_one({"_id": "rebuilt"})
        return doc if doc and doc.get("request") == request else None

    def wipe_read_models(self) -> None:
        for name in ("journal", "counters", "case_states", "deferred", "orphaned"):
            self.db[name].delete_many({})

    def finish_rebuild(self, request: str, events: int) -> None:
        self.db.control.replace_one(
            {"_id": "rebuilt"},
            {"_id": "rebuilt", "request": request, "events": events, "at": _events.utcnow()},
            upsert=True,
        )
        self.db.control.delete_one({"_id": "rebuild"})
