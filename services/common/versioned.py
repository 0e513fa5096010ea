"""Documents that change only through numbered transitions.

Why not ``find_one_and_update({"_id": x, "version": v}, …)``? FerretDB 1.24
(SQLite) applies updates as read → modify in Go → write back by ``_id``,
without holding a lock between the read and the write: two officials acting
at once would both "win", and a concurrent ``$pull`` can silently undo a
transition. The one write it does make atomic is an **insert with a unique
``_id``**. So every change to a versioned document is claimed and committed
by inserts keyed ``"<doc id>#<version>"``:

1. a small marker in ``<collection>_pending`` — the claim: exactly one writer
   gets version v+1, the others a stale-version conflict, and nothing changes;
2. the record in ``<collection>_transitions`` with the new field values and
   the events to publish (our outbox) — the commit;
3. the document itself, a projection of its records, updated by ``_id``;
4. the events, published; then the marker is deleted — a record whose marker is
   gone has been published.

A crash anywhere is repaired by :meth:`recover` (a timer), which only reads the
pending markers — a small collection — never the growing log. Queries here
filter on ``_id`` alone: FerretDB on SQLite uses its index for nothing else.
Writes are kept to what the protocol needs (FerretDB serialises them): claim,
record, projection, marker deletion; :meth:`transition_many` does the claims, the
records and the marker deletions of many documents in one round trip each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar, cast

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from . import error_catalogue as catalogue
from .errors import BrokerUnavailable, Conflict, PortalError
from .events import utcnow
from .mongo import find_page, insert_new

log = logging.getLogger(__name__)

Dispatch = Callable[[str, dict[str, Any]], None]
#: what a change decides from a document's current version: (changes, events), or None for nothing to do
Decide = Callable[[dict[str, Any]], "tuple[dict[str, Any], list[dict[str, Any]]] | None"]
T = TypeVar("T")
D = TypeVar("D")

#: transitions per chunk in :meth:`VersionedDocuments.transition_many`
MANY_CHUNK = 250


def stale_version(doc_id: str, expected: int) -> PortalError:
    """The Conflict (409, ``stale_version``) of a change decided on an older version."""
    return catalogue.error("stale_version", {"id": doc_id, "expected_version": expected})


def retry_stale(doc: D, attempt: Callable[[D], T], reread: Callable[[D], D]) -> T:
    """Optimistic concurrency: ``attempt`` decides from ``doc`` and commits a transition; when another
    change landed first (a ``stale_version`` conflict, and only that), ``reread`` gives the document's
    newer version and ``attempt`` decides again from it. Any other error, a refusal ``attempt``
    raises after looking at the newer version included, goes to the caller."""
    while True:
        try:
            return attempt(doc)
        except Conflict as exc:
            if exc.code != "stale_version":
                raise
            doc = reread(doc)


class VersionedDocuments:
    def __init__(self, db: Database[Any], name: str, stale_after: float = 10.0):
        self.docs: Collection[dict[str, Any]] = db[name]
        self.log: Collection[dict[str, Any]] = db[f"{name}_transitions"]
        self.pending: Collection[dict[str, Any]] = db[f"{name}_pending"]
        self.stale_after = timedelta(seconds=stale_after)

    @staticmethod
    def ensure_indexes(db: Database[Any], name: str) -> None:
        db[f"{name}_transitions"].create_index([("doc_id", ASCENDING), ("version", ASCENDING)])

    def get(self, doc_id: str) -> dict[str, Any] | None:
        return self.docs.find_one({"_id": doc_id})

    # ------------------------------------------------------------ reads
    # Services read their documents through these, never through ``docs``: the collection's layout
    # (and its pending and transitions companions) stays this module's business.
    def find(
        self,
        filt: dict[str, Any] | None = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 0,
        skip: int = 0,
        projection: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        cursor = self.docs.find(filt or {}, projection)
        if sort:
            cursor = cursor.sort(sort)
        return list(cursor.skip(skip).limit(limit))

    def count(self, filt: dict[str, Any] | None = None) -> int:
        return self.docs.count_documents(filt or {})

    def page(
        self, filt: dict[str, Any], sort: list[tuple[str, int]], page: int, page_size: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page (numbered from 1) of the documents matching ``filt`` and how many match in all."""
        return find_page(self.docs, filt, sort, page, page_size)

    # ------------------------------------------------------------ writes
    def _claim(self, doc_id: str, version: int) -> bool:
        try:
            self.pending.insert_one(
                {"_id": f"{doc_id}#{version}", "doc_id": doc_id, "version": version, "at": utcnow()}
            )
            return True
        except DuplicateKeyError:
            return False

    def _commit(self, record: dict[str, Any]) -> bool:
        """Claim the version, insert the record; False if someone else has it."""
        claimed_at = time.monotonic()
        if not self._claim(record["doc_id"], record["version"]):
            return False
        try:
            self.log.insert_one(record)
        except DuplicateKeyError:
            # Committed and published long ago (its marker is gone): drop our claim.
            self.pending.delete_one({"_id": record["_id"]})
            return False
        if time.monotonic() - claimed_at > self.stale_after.total_seconds() / 2:
            # Slow enough that recovery may have swept our marker away: put it back, it is what
            # guarantees the events get published.
            self._remark(record)
        return True

    def _remark(self, record: dict[str, Any]) -> None:
        try:
            self.pending.insert_one(
                {"_id": record["_id"], "doc_id": record["doc_id"], "version": record["version"], "at": record["at"]}
            )
        except DuplicateKeyError:
            pass

    def create(
        self,
        doc_id: str,
        doc: dict[str, Any],
        events: list[dict[str, Any]],
        extra: dict[str, Any] | None = None,
        dispatch: Dispatch | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Create version 1; returns (document, created). A second create of
        the same id (a replay) returns the existing document, unchanged. With ``dispatch``
        the events of a new document are published at once (else call :meth:`publish`).

        If another writer holds the claim, wait for it; if its claim goes stale
        (it died between claim and commit), take the version over.
        """
        record = {
            "_id": f"{doc_id}#1",
            "doc_id": doc_id,
            "version": 1,
            "set": {**doc, "version": 1},
            "events": events,
            "at": utcnow(),
            **(extra or {}),
        }
        deadline = time.monotonic() + self.stale_after.total_seconds() + 5
        while True:
            if self._commit(record):
                created = self._projected(record)
                if dispatch is not None:
                    self._publish(record, dispatch)
                return created, True
            existing = self.get(doc_id)
            if existing is not None:
                return existing, False
            committed = self.log.find_one({"_id": record["_id"]})
            if committed is not None:  # committed by a writer that crashed before projecting it
                return self._projected(committed), False
            marker = self.pending.find_one({"_id": record["_id"]})
            if marker is not None and utcnow() - marker["at"] > self.stale_after:
                self.pending.delete_one({"_id": record["_id"]})
                continue
            if time.monotonic() > deadline:
                raise catalogue.error("in_progress", {"id": doc_id})
            time.sleep(0.2)

    def transition(
        self,
        doc_id: str,
        expected_version: int,
        changes: dict[str, Any],
        events: list[dict[str, Any]],
        extra: dict[str, Any] | None = None,
        dispatch: Dispatch | None = None,
    ) -> dict[str, Any]:
        """Commit version expected+1 with ``changes``; Conflict if someone else did first.

        ``extra`` is stored on the transition record only (e.g. who, why, a hash link). With
        ``dispatch`` the events are published at once (else call :meth:`publish`).
        """
        record = self._record(doc_id, expected_version + 1, changes, events, extra)
        if not self._commit(record):
            raise stale_version(doc_id, expected_version)
        doc = self._projected(record)
        if dispatch is not None:
            self._publish(record, dispatch)
        return doc

    def change(
        self, doc: dict[str, Any] | str, decide: Decide, dispatch: Dispatch | None = None
    ) -> tuple[dict[str, Any] | None, bool]:
        """Commit what ``decide`` makes of the document's current version, deciding again on the newer
        version when another change landed first (:func:`retry_stale`). ``doc`` is the document as the
        caller read it, or its id; ``decide`` gives (changes, events), or None when there is nothing to
        do (it may also raise). The document after, and whether this call changed it; (None, False)
        when there is no such document. With ``dispatch`` the events are published at once."""

        def attempt(current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
            if current is None:
                return None, False
            decision = decide(current)
            if decision is None:
                return current, False
            changes, events = decision
            return self.transition(current["_id"], current["version"], changes, events, dispatch=dispatch), True

        def reread(current: dict[str, Any] | None) -> dict[str, Any] | None:
            # Only after a stale_version, which only attempt(an existing document) raises.
            assert current is not None
            return self.get(current["_id"])

        return retry_stale(self.get(doc) if isinstance(doc, str) else doc, attempt, reread)

    def transition_many(
        self,
        items: Iterable[tuple[str, int, dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]],
        dispatch: Dispatch,
        concurrency: int = 8,
        current: Iterable[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any] | None]:
        """Many independent transitions (doc id, expected version, changes, events, extra); the
        document after each, or None where someone else got that version first. The events are
        published.

        ``current``: the documents as the caller read them, one per item. One whose version is the
        expected one is projected without reading it again (see :meth:`_project`).

        In chunks of ``MANY_CHUNK``, each: the claims in one insert, the records in one insert, then
        each projection (one update by ``_id``) followed by its events, and the markers of all that
        were published in one delete (the pending collection is small, so a filter on it is cheap).
        Chunks keep every claim young while it is worked on: :meth:`recover` leaves young claims alone."""
        items = list(items)
        known: list[dict[str, Any] | None] = list(current) if current is not None else [None] * len(items)
        outcome: list[dict[str, Any] | None] = []
        refused = [False]  # the broker refused an event: leave the rest in the outbox for recover
        for start in range(0, len(items), MANY_CHUNK):
            outcome += self._transition_chunk(
                items[start : start + MANY_CHUNK], known[start : start + MANY_CHUNK], dispatch, concurrency, refused
            )
        return outcome

    def _transition_chunk(
        self,
        items: list[tuple[str, int, dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]],
        known: list[dict[str, Any] | None],
        dispatch: Dispatch,
        concurrency: int,
        refused: list[bool],
    ) -> list[dict[str, Any] | None]:
        claimed_at = time.monotonic()  # before the records' "at", which recover ages the markers by
        records = [
            self._record(doc_id, version + 1, changes, events, extra)
            for doc_id, version, changes, events, extra in items
        ]
        if not records:
            return []
        won = insert_new(self.pending, [self._marker(r) for r in records])
        committed = [r for r in records if r["_id"] in won]
        logged = insert_new(self.log, committed)
        lost = [r["_id"] for r in committed if r["_id"] not in logged]
        if lost:  # committed and published long ago (their markers were gone): drop our claims
            self.pending.delete_many({"_id": {"$in": lost}})
        done = [(r, doc) for r, doc in zip(records, known, strict=True) if r["_id"] in logged]
        if done and time.monotonic() - claimed_at > self.stale_after.total_seconds() / 2:
            # Slow enough that recovery may have freed our claims before the records went in: put
            # the markers back, they are what guarantees the events get published (as _commit does).
            insert_new(self.pending, [self._marker(r) for r, _ in done])

        published: list[str] = []

        def finish(pair: tuple[dict[str, Any], dict[str, Any] | None]) -> dict[str, Any] | None:
            record, doc = pair
            projected = self._project(record, doc, claimed_at)
            if not refused[0]:
                if self._send(record, dispatch):
                    published.append(record["_id"])
                else:
                    refused[0] = True
            return projected

        try:
            with ThreadPoolExecutor(concurrency) as pool:
                finished = list(pool.map(finish, done))
        finally:  # even if one of them failed: what was published must not be published again
            if published:
                self.pending.delete_many({"_id": {"$in": published}})  # the markers gone = published
        docs = {r["_id"]: projected for (r, _), projected in zip(done, finished, strict=True)}
        return [docs.get(r["_id"]) for r in records]

    def _project(self, record: dict[str, Any], doc: dict[str, Any] | None, claimed_at: float) -> dict[str, Any] | None:
        """:meth:`_apply`, without reading the document again when the caller's copy is at the version
        just before the record's and the claim is younger than half of ``stale_after``. Holding the
        claim, nobody else can commit this version, and :meth:`recover` (the only other writer of
        this record's projection) leaves claims younger than ``stale_after`` alone, so the document
        is still the caller's copy — the same guarantee as :meth:`_apply`'s read, one read fewer."""
        if (
            doc is not None
            and doc.get("version") == record["version"] - 1
            and record["version"] > 1
            and time.monotonic() - claimed_at < self.stale_after.total_seconds() / 2
        ):
            self.docs.update_one({"_id": record["doc_id"]}, {"$set": record["set"]})
            return {**doc, **record["set"]}
        return self._apply(record)

    @staticmethod
    def _marker(record: dict[str, Any]) -> dict[str, Any]:
        return {"_id": record["_id"], "doc_id": record["doc_id"], "version": record["version"], "at": record["at"]}

    def _send(self, record: dict[str, Any], dispatch: Dispatch) -> bool:
        """Dispatch a record's events; False (they stay in the outbox) if the broker refuses them."""
        try:
            for envelope in record.get("events") or []:
                dispatch(envelope["type"], envelope)
        except BrokerUnavailable:
            log.warning("events of %s kept in the outbox until the broker is back", record["_id"])
            return False
        return True

    def _record(
        self,
        doc_id: str,
        version: int,
        changes: dict[str, Any],
        events: list[dict[str, Any]],
        extra: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "_id": f"{doc_id}#{version}",
            "doc_id": doc_id,
            "version": version,
            "set": {**changes, "version": version},
            "events": events,
            "at": utcnow(),
            **(extra or {}),
        }

    def _apply(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Project a committed record onto the document (only onto the version just before it); the
        document after, None when there is none (a record of an id that has no document)."""
        doc_id, version = record["doc_id"], record["version"]
        if version == 1:
            try:
                self.docs.insert_one({"_id": doc_id, **record["set"]})
            except DuplicateKeyError:
                return self.get(doc_id)
            return {"_id": doc_id, **record["set"]}
        current = self.get(doc_id)
        if current is not None and current.get("version") == version - 1:
            self.docs.update_one({"_id": doc_id}, {"$set": record["set"]})
            return {**current, **record["set"]}
        return current

    def _projected(self, record: dict[str, Any]) -> dict[str, Any]:
        """:meth:`_apply` for :meth:`create` and :meth:`transition`, which answer with the document: it
        is there (their callers read it, or it has just been inserted). Only a transition of an id
        without a document, which callers do not make, gives None, as it always has."""
        return cast("dict[str, Any]", self._apply(record))

    def history(self, doc_id: str) -> list[dict[str, Any]]:
        """The document's records in version order, each read by its ``_id``: versions are claimed one
        after another from 1, so the first missing one ends the history. (A filter on ``doc_id``
        would scan every record of every document on FerretDB: 9 s at 2,000 cases.)"""
        records: list[dict[str, Any]] = []
        while (record := self.log.find_one({"_id": f"{doc_id}#{len(records) + 1}"})) is not None:
            records.append(record)
        return records

    # ----------------------------------------------------------- publish
    def publish(self, doc_id: str, version: int, dispatch: Dispatch) -> None:
        """Publish a committed record's events now; with the broker down they stay in the outbox
        (the record and its marker) and :meth:`recover` publishes them later. The change itself
        is committed either way, so the caller's request succeeds."""
        record = self.log.find_one({"_id": f"{doc_id}#{version}"})
        if record is not None:
            self._publish(record, dispatch)

    def _publish(self, record: dict[str, Any], dispatch: Dispatch) -> bool:
        try:
            for envelope in record.get("events") or []:
                dispatch(envelope["type"], envelope)
        except BrokerUnavailable:
            log.warning("events of %s kept in the outbox until the broker is back", record["_id"])
            return False
        self.pending.delete_one({"_id": record["_id"]})  # the marker gone = published
        return True

    def recover(self, dispatch: Dispatch, limit: int = 500) -> int:
        """Timer job: finish what a crash left between claim and publish.

        Only markers older than ``stale_after`` are touched, so the live request
        that holds one is never raced; records go in version order per document.
        """
        cutoff = utcnow() - self.stale_after
        done = 0
        stale = list(self.pending.find().sort("at", ASCENDING).limit(limit))
        for marker in stale:
            if marker["at"] >= cutoff:
                continue
            record = self.log.find_one({"_id": marker["_id"]})
            if record is None:  # claimed, never committed: free the version
                self.pending.delete_one({"_id": marker["_id"]})
                continue
            doc = self.get(record["doc_id"])
            current = doc["version"] if doc else 0
            if current < record["version"] - 1:
                continue  # an earlier record is still pending; it goes first
            if current == record["version"] - 1:
                self._apply(record)
            if not self._publish(record, dispatch):
                break  # the broker is down: the rest would wait out the same retries
            done += 1
        return done
