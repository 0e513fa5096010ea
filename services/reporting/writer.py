"""The reporting writer: stores each batch of events once and folds it into the read models.

One process at a time is the writer, by a lease in the ``locks`` collection (the others answer
queries and take over when it dies). Being the only writer, it keeps what it read — case states,
counter documents, the events waiting for their dossier's filing — across batches, and counters
can be read-added-written where ``$inc`` is not atomic (FerretDB).

**Stored once.** Each batch is tagged ``<epoch>.<n>``: the epoch is new whenever this process
(re)starts writing (including after any failure), ``n`` counts its batches. An event is stored
once, by event id, with the tag of the batch that stored it, and that batch's journal entry says
``committed[epoch] = n``. A redelivered event is already stored: if its tag is committed it was
folded and is skipped; if not, the writer that stored it died before committing it, so this
batch folds it (and takes it over by retagging it). Nothing is acknowledged before its batch is
journaled, and nothing is folded twice.

**Journal, then checkpoint.** A batch's result — the absolute counter documents and case states
it changed, the waiting events, the tally — is one journal document (one text field, a few
milliseconds to write). Every ``CHECKPOINT_SECONDS`` (or sooner when much has changed) the
checkpoint writes the latest value of everything the journal entries since the last one changed
(a dossier or counter touched by ten batches is written once), then removes those entries. A
crash between the two is finished by replaying the remaining entries, in order, at the next
start: every write is absolute, so replaying twice changes nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import eventlet
from pydantic import ValidationError

from services.common import events as _events
from services.common.events import EventEnvelope, queue_name

from .dependencies import ReportingStore
from .folding import Fold
from .periods import cell
from .settings import ReportingSettings

log = logging.getLogger(__name__)

RENEW_SECONDS = 5.0
CHECKPOINT_SECONDS = 10.0
CHECKPOINT_STATES = 50_000  # checkpoint sooner once this many case states wait for it
ORPHAN_SWEEP_SECONDS = 60.0
CONTROL_SECONDS = 1.0
REBUILD_CHUNK = 5000
STATE_CACHE = 100_000
COUNTER_CACHE = 20_000
# Which dossiers have a case state, known completely in memory (a code is ~100 bytes), so that an
# event for one that has none yet — ahead of its filing, common in a burst — costs no lookup.
# Loaded at start when there are at most KNOWN_LOAD states, given up beyond KNOWN_KEEP.
KNOWN_LOAD = 100_000
KNOWN_KEEP = 1_000_000


_FIELDS = frozenset(EventEnvelope.model_fields)


def _as_dumped(body: object) -> bool:
    """True when ``body`` is exactly what ``EventEnvelope.model_dump(mode="json")`` gives."""
    if type(body) is not dict or body.keys() != _FIELDS:
        return False
    actor = body["actor"]
    if not (
        type(body["event_id"]) is str
        and type(body["type"]) is str
        and type(body["payload"]) is dict
        and type(body["occurred_at"]) is str
        and (body["dossier_code"] is None or type(body["dossier_code"]) is str)
        and type(actor) is dict
        and type(actor.get("id")) is str
        and type(actor.get("role")) is str
    ):
        return False
    try:
        return datetime.fromisoformat(body["occurred_at"]).utcoffset() == timedelta(0) and body["occurred_at"].endswith(
            "Z"
        )
    except ValueError:
        return False


class Unwritten:
    """What the journal entries since the last checkpoint changed, latest value first."""

    def __init__(self) -> None:
        self.counters: dict[str, dict] = {}
        self.states: dict[str, dict] = {}
        self.new: set[str] = set()  # "counter:<id>" / "state:<code>": not in the collection yet
        self.waiting: list[str] | None = None
        self.orphaned: set[str] = set()
        self.done: list[str] = []
        self.released: list[str] = []
        self.meta: dict | None = None
        self.journals: list[str] = []

    def absorb(self, entry: dict, journal_id: str) -> None:
        for kind, new, changed in (("counter", "new_counters", "counters"), ("state", "new_states", "states")):
            target = self.counters if kind == "counter" else self.states
            for doc in entry.get(new, []):
                target[doc["_id"]] = doc
                self.new.add(f"{kind}:{doc['_id']}")
            for doc in entry.get(changed, []):
                target[doc["_id"]] = doc
        if "waiting" in entry:
            self.waiting = entry["waiting"]
        self.orphaned |= set(entry.get("orphaned", []))
        self.done += entry.get("done", [])
        self.released += entry.get("released", [])
        self.meta = entry.get("meta", self.meta)
        self.journals.append(journal_id)

    def writes(self) -> dict:
        split = {"new_counters": [], "counters": [], "new_states": [], "states": []}
        for kind, docs in (("counter", self.counters), ("state", self.states)):
            for doc_id, doc in docs.items():
                split[("new_" if f"{kind}:{doc_id}" in self.new else "") + kind + "s"].append(doc)
        return {
            **split,
            "waiting": self.waiting,
            "orphaned": sorted(self.orphaned),
            "done": self.done,
            "released": self.released,
            "meta": self.meta,
        }


class Writer:
    """Per process (see WriterState): the lease, the batch tags and what the writer keeps in memory."""

    def __init__(self, sources: dict[str, str], service: str = "reporting"):
        self.owner = uuid.uuid4().hex
        self.sources = sources  # event type → source service, for parking malformed events
        self.service = service
        self.epoch: str | None = None
        self.n = 0
        self.committed: dict[str, int] = {}
        self.folded = 0
        self._renewed = self._swept = self._checked = self._checkpointed = 0.0
        self._journal_seq = 0
        self._checkpointing: eventlet.GreenThread | None = None
        self.states: dict[str, dict | None] = {}  # case states as stored or journaled; None: none
        self.counters: dict[str, dict | None] = {}
        self.waiting: dict[str, list[dict]] = {}  # events ahead of their dossier's filing, by dossier
        self.waiting_since: dict[str, float] = {}  # when each dossier's first waiting event came (or we started)
        self.orphaned: set[str] = set()
        self.known: set[str] | None = None
        self.unwritten = Unwritten()
        #: seconds spent per step since the process started, for the stats RPC (and the benchmark)
        self.seconds: Counter[str] = Counter()

    @contextmanager
    def _timed(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] += time.perf_counter() - start

    # ------------------------------------------------------------------ entry
    def run(self, store: ReportingStore, bodies: list | None, settings: ReportingSettings) -> bool:
        """One call of the batch consumer: False when another process is the writer (the batch
        goes back to the queue), True once the batch is stored and journaled."""
        if bodies is None:  # the process stops: write what is journaled, let another one take over
            if self.epoch:
                self._checkpoint(store, wait=True)
                store.release_lease(self.owner)
                self.epoch = None
            return True
        try:
            if not self._hold(store, settings.reporting_writer_lease_seconds):
                return False
            with self._timed("total"):
                with self._timed("parse"):
                    envelopes = self._parse(store, bodies)
                if envelopes:
                    self._ingest(store, envelopes)
                # Nothing came: the counters may as well be written now (not after every short batch:
                # under a flow that arrives a little slower than it is folded that writes each state
                # as often as it changes).
                self._maintain(store, settings, idle=not bodies)
            return True
        except Exception:
            # Start again from what is stored and journaled, under a new epoch: batches of this one
            # that were stored but not journaled must count as not folded when redelivered.
            self.epoch = None
            raise

    def _hold(self, store: ReportingStore, lease: float) -> bool:
        now = time.monotonic()
        if self.epoch and now - self._renewed < min(RENEW_SECONDS, lease / 3):
            return True
        held = store.hold_lease(self.owner, lease)
        if held is None:
            self.epoch = None
            return False
        if held == "acquired" or not self.epoch:
            self._start(store)
        self._renewed = now
        return True

    def _start(self, store: ReportingStore) -> None:
        """Take over from whatever the last writer left: its journal, its waiting events."""
        if self._checkpointing is not None:  # left by a failed call: its entries are replayed below
            self._checkpointing.kill()
            self._checkpointing = None
        store.replay_legacy_journal()
        self.unwritten = Unwritten()
        for journal_id, entry in store.journals():
            self.unwritten.absorb(entry, journal_id)
        store.checkpoint(self.unwritten.writes(), self.unwritten.journals)
        self.unwritten = Unwritten()
        meta = store.fold_meta()
        self.committed = dict(meta.get("committed") or {})
        self.folded = meta.get("folded", 0)
        self.epoch, self.n = uuid.uuid4().hex[:12], 0
        self.states, self.counters = {}, {}
        self.known = store.state_codes(KNOWN_LOAD)
        self.orphaned = store.orphaned_codes()
        ids, legacy = store.waiting()
        self.waiting = {}
        for event in store.events_by_id(ids) + legacy:
            self.waiting.setdefault(Fold.dossier_of(event), []).append(event)
        self.waiting_since = dict.fromkeys(self.waiting, _events.utcnow().timestamp())
        if legacy:  # per-dossier documents of earlier versions: one list from now on
            self._fold(store, [], legacy_codes=sorted(self.waiting))
        while pending := store.legacy_pending(2000):  # left by the per-event ingest of earlier versions
            self._fold(store, pending, done=[e["_id"] for e in pending])
            self._checkpoint(store, wait=True)
        self._checkpoint(store, wait=True)

    def _parse(self, store: ReportingStore, bodies: list) -> list[dict]:
        envelopes: dict[str, dict] = {}
        for body in bodies:
            try:
                # An envelope as every producer dumps it is kept as it came (validating and dumping
                # each through the model was a third of the writer's time); anything else goes
                # through the model, which normalises it or says what is wrong.
                envelope = body if _as_dumped(body) else EventEnvelope.model_validate(body).model_dump(mode="json")
            except ValidationError as exc:  # retrying cannot help: keep it for an operator
                kind = body.get("type") if isinstance(body, dict) else None
                source = self.sources.get(kind or "", "unknown")
                log.error("malformed event parked: %s", exc.errors()[:1])
                store.park(queue_name(source, kind or "unknown", self.service, f"on_{kind}"), body, str(exc))
                continue
            envelopes.setdefault(envelope["event_id"], envelope)  # the same event twice in one batch
        return list(envelopes.values())

    # ------------------------------------------------------------------ ingest
    def _ingest(self, store: ReportingStore, envelopes: list[dict]) -> None:
        self.n += 1
        tag = f"{self.epoch}.{self.n}"
        # The database stores the batch while this process folds it, as if every event were new
        # (they almost always are); a redelivery in the batch means folding again without it.
        storing = eventlet.spawn(self._store, store, envelopes, tag)
        result = self._compute(store, envelopes)
        seen = storing.wait()
        if seen:
            fresh = [e for e in envelopes if e["event_id"] not in seen]
            for envelope in (e for e in envelopes if e["event_id"] in seen):  # redeliveries: rare
                stored_tag = store.event_tag(envelope["event_id"])
                if stored_tag is None or self._is_committed(stored_tag):
                    continue  # folded already (no tag: stored and folded by an earlier version)
                store.retag(envelope["event_id"], tag)
                fresh.append(envelope)
            if len(fresh) < len(envelopes):
                for code in result["assumed"]:  # a filing seen before: its dossier may have a state
                    self.states.pop(code, None)
                result = self._compute(store, fresh)
        self._commit(store, result, position=True)

    def _store(self, store: ReportingStore, envelopes: list[dict], tag: str) -> set[str]:
        with self._timed("store"):
            return store.store_events(envelopes, tag)

    def _is_committed(self, tag: str) -> bool:
        epoch, _, n = tag.rpartition(".")
        return int(n) <= self.committed.get(epoch, 0)

    # -------------------------------------------------------------------- fold
    def _fold(self, store: ReportingStore, events: list[dict], **options) -> None:
        self._commit(store, self._compute(store, events, options.pop("orphans", None)), **options)

    def _compute(self, store: ReportingStore, events: list[dict], orphans: list[str] | None = None) -> dict:
        """Fold events (and release orphans) against what is in memory; nothing is written yet."""
        events = sorted(events, key=lambda e: str(e["occurred_at"]))
        with self._timed("read"):
            assumed = self._prefetch(store, events)
        with self._timed("fold"):
            fold = Fold(self._case_state(store), lambda code: list(self.waiting.get(code, ())))
            for event in events:
                fold.apply(event)
            for code in orphans or ():
                fold.release_orphans(code)
        with self._timed("read"):
            new_counters, counters = self._counter_docs(store, fold.deltas)
        new_states, states = [], []
        for code, state in fold.states.items():
            # self.states still holds the state as it was before this batch
            (states if self.states.get(code) is not None else new_states).append({"_id": code, **state})
        return {
            "events": len(events),
            "fold": fold,
            "orphans": sorted(orphans or ()),
            "assumed": assumed,
            "new_counters": new_counters,
            "counters": counters,
            "new_states": new_states,
            "states": states,
        }

    def _commit(
        self,
        store: ReportingStore,
        result: dict,
        position: bool = False,
        done: list[str] | None = None,
        legacy_codes: list[str] | None = None,
    ) -> None:
        """Journal one folded batch, then let the memory follow."""
        fold = result["fold"]
        committed = dict(self.committed)
        if position:
            committed[self.epoch] = self.n
        waiting = self.waiting
        if fold.deferred or fold.released or legacy_codes:
            waiting = {code: ev for code, ev in {**self.waiting, **fold.deferred}.items() if code not in fold.released}
        entry = {key: result[key] for key in ("new_counters", "counters", "new_states", "states")}
        entry.update(
            {
                "released": legacy_codes or [],
                "orphaned": result["orphans"],
                "done": done or [],
                "meta": {"folded": self.folded + result["events"], "committed": committed},
            }
        )
        if waiting is not self.waiting:
            entry["waiting"] = [e["event_id"] for ev in waiting.values() for e in ev]
        # Journal ids sort in commit order: a writer replays every entry left before it writes any.
        self._journal_seq = max(self._journal_seq + 1, time.time_ns())
        journal_id = f"{self._journal_seq:020d}"
        with self._timed("journal"):
            store.append_journal(journal_id, entry)
        self.unwritten.absorb(entry, journal_id)
        if waiting is not self.waiting:
            now = _events.utcnow().timestamp()
            self.waiting_since = {code: self.waiting_since.get(code, now) for code in waiting}
        self.folded, self.committed, self.waiting = entry["meta"]["folded"], committed, waiting
        self.orphaned |= set(result["orphans"])
        for doc in entry["new_counters"] + entry["counters"]:
            self.counters[doc["_id"]] = doc
        for doc in entry["new_states"] + entry["states"]:
            self.states[doc["_id"]] = {k: v for k, v in doc.items() if k != "_id"}
        if self.known is not None:
            self.known.update(doc["_id"] for doc in entry["new_states"])
            if len(self.known) > KNOWN_KEEP:
                self.known = None
        if len(self.unwritten.states) >= CHECKPOINT_STATES:
            self._checkpoint(store)

    def _checkpoint(self, store: ReportingStore, wait: bool = False) -> None:
        """Write what the journal entries so far changed, in the background: the next batches are
        stored and folded meanwhile (one checkpoint at a time; a failed one fails the next call,
        and the next start replays its entries)."""
        if self._checkpointing is not None:
            self._checkpointing.wait()
            self._checkpointing = None
        # Forgetting loses nothing but what is not written yet, which stays.
        if len(self.states) > STATE_CACHE:
            self.states = {code: self.states[code] for code in self.unwritten.states if code in self.states}
        if len(self.counters) > COUNTER_CACHE:
            self.counters = {i: self.counters[i] for i in self.unwritten.counters if i in self.counters}
        if self.unwritten.journals:
            snapshot, self.unwritten = self.unwritten, Unwritten()
            self._checkpointing = eventlet.spawn(self._write, store, snapshot)
            if wait:
                self._checkpointing.wait()
                self._checkpointing = None
        self._checkpointed = time.monotonic()

    def _write(self, store: ReportingStore, unwritten: Unwritten) -> None:
        with self._timed("checkpoint"):
            store.checkpoint(unwritten.writes(), unwritten.journals)

    def _prefetch(self, store: ReportingStore, events: list[dict]) -> list[str]:
        """Read the case states this batch needs that are not in memory, several at a time. A
        dossier filed in this batch has none (unless its events were folded as orphans before):
        returns those codes, assumed to have none."""
        filed = {e["payload"].get("code") for e in events if e["type"] == "dossier_submitted"}
        assumed = [code for code in filed - self.orphaned if code and code not in self.states]
        for code in assumed:
            self.states[code] = None
        wanted = {Fold.dossier_of(e) for e in events} | filed
        missing = [c for c in wanted if c and c not in self.states]
        if self.known is not None:
            for code in missing:
                if code not in self.known:
                    self.states[code] = None
            missing = [c for c in missing if c in self.known]
        for code, state in store.case_states(missing).items():
            self.states[code] = {k: v for k, v in state.items() if k != "_id"} if state else None
        return assumed

    def _case_state(self, store: ReportingStore):
        def lookup(code: str) -> dict | None:
            if code not in self.states:  # not foreseen by _prefetch
                self.states[code] = store.case_states([code])[code]
            return self.states[code]

        return lookup

    def _counter_docs(self, store: ReportingStore, deltas: dict) -> tuple[list[dict], list[dict]]:
        """The counter documents after this batch, as absolute values: (new ones, changed ones)."""
        cells: dict[str, dict[str, float]] = {}
        for counter_key, delta in deltas.items():
            if delta:
                doc_id, metric = cell(counter_key)
                cells.setdefault(doc_id, {})[metric] = delta
        missing = [d for d in cells if d not in self.counters]
        self.counters.update(store.counter_docs(missing))
        new, changed = [], []
        for doc_id, changes in cells.items():
            current = dict(self.counters[doc_id] or {"_id": doc_id})
            for metric, delta in changes.items():
                current[metric] = current.get(metric, 0) + delta
            (changed if self.counters[doc_id] else new).append(current)
        return new, changed

    # ------------------------------------------------------------- maintenance
    def _maintain(self, store: ReportingStore, settings: ReportingSettings, idle: bool) -> None:
        now = time.monotonic()
        if now - self._checked >= CONTROL_SECONDS:
            self._checked = now
            request = store.rebuild_request()
            if request:
                self._rebuild(store, request, settings)
        if now - self._swept >= ORPHAN_SWEEP_SECONDS:
            self._swept = now
            self._sweep_orphans(store, settings)
        if now - self._checkpointed >= CHECKPOINT_SECONDS or (idle and self.unwritten.journals):
            self._checkpoint(store)

    def _sweep_orphans(self, store: ReportingStore, settings: ReportingSettings, replaying: bool = False) -> None:
        """Fold, with the fields they carry, the events whose filing has not come for
        ORPHAN_EVENT_SECONDS since they came (a backlog after an outage holds old events whose
        filings are right behind them); replaying the stored events, since they happened, as the
        live writer released them then."""
        cutoff = _events.utcnow() - timedelta(seconds=settings.orphan_event_seconds)
        if replaying:
            codes = [
                code
                for code, events in self.waiting.items()
                if min(str(e["occurred_at"]) for e in events) < cutoff.isoformat()
            ]
        else:
            codes = [code for code, since in self.waiting_since.items() if since < cutoff.timestamp()]
        if codes:
            self._fold(store, [], orphans=codes)

    def _rebuild(self, store: ReportingStore, request: str, settings: ReportingSettings) -> None:
        """Recompute every read model from the stored events that were folded (an event stored by
        a batch that never committed is folded when it is redelivered)."""
        self._checkpoint(store, wait=True)
        store.wipe_read_models()
        self.states, self.counters, self.known = {}, {}, set()
        self.waiting, self.waiting_since, self.orphaned, self.folded = {}, {}, set(), 0
        chunk: list[dict] = []
        for envelope, tag in store.stored_events():
            if tag is None or self._is_committed(tag):
                chunk.append(envelope)
            if len(chunk) >= REBUILD_CHUNK:
                self._fold(store, chunk)
                chunk = []
        if chunk:
            self._fold(store, chunk)
        self._sweep_orphans(store, settings, replaying=True)
        self._fold(store, [])  # the tally, even with no event
        self._checkpoint(store, wait=True)
        store.finish_rebuild(request, self.folded)


def rebuild_wait_seconds(events: int) -> float:
    """How long a rebuild request may take before its caller stops waiting (grows with the log)."""
    return 60 + events / 1000
