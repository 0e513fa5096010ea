"""The reporting writer against the real Mongo-wire server: each event is stored once and folded
once whatever is redelivered, whenever a writer dies (before its journal entry, before its
checkpoint) and whichever order events come in; a rebuild gives the same read models; and the
batch consumer in a real process loses and doubles nothing when it is killed mid-burst, and parks
what is not an event."""

import json
import os
import signal
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pika
import pytest

from bench.harness import wait_rpc
from ops import suite
from services.common.event_contracts import CaseStatusChanged, DossierSubmitted, PaymentSucceeded
from services.common.events import new_event
from services.reporting.dependencies import ReportingStore
from services.reporting.folding import Fold
from services.reporting.periods import cell
from services.reporting.service import SOURCES
from services.reporting.settings import ReportingSettings
from services.reporting.writer import Writer
from tests.helpers import amqp_params

SETTINGS = ReportingSettings(reporting_writer_lease_seconds=0.3, orphan_event_seconds=3600)
T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)


def dossier_events(i: int) -> list[dict]:
    code = f"52-T-{i:05d}"
    base = {
        "code": code,
        "agency_id": ("STP", "SXD")[i % 2],
        "procedure_code": f"P{i % 3}",
        "sector": "S",
        "level": 3,
        "procedure_name": "Thủ tục",
        "applicant_id": "c",
        "delivery_method": "in_person",
    }
    actor = {"id": "c", "role": "citizen"}
    events = [
        new_event(
            DossierSubmitted(
                **base, handled_as_level=3, channel="online", procedure_version=1, processing_days=3, submitted_at=T0
            ),
            actor,
            code,
        ),
        new_event(
            CaseStatusChanged(
                **base, action="receive", from_="submitted", to="received", case_version=2, reception_late=i % 4 == 0
            ),
            actor,
            code,
        ),
        new_event(
            CaseStatusChanged(
                **base,
                action="mark_result_ready",
                from_="approved",
                to="result_ready",
                case_version=6,
                timing_class=("early", "on_time", "late")[i % 3],
                stage_completed={
                    "code": "r",
                    "name": "Trả kết quả",
                    "kind": "result",
                    "department_id": "D1",
                    "due_date": "2026-03-09",
                    "late": False,
                },
            ),
            actor,
            code,
        ),
        new_event(PaymentSucceeded(code=code, amount_vnd=1000 * i, payment_id=f"P{i}"), actor, code),
    ]
    for k, e in enumerate(events):  # distinct instants, in the order they happen
        e["occurred_at"] = (T0 + timedelta(minutes=10 * i + k)).isoformat().replace("+00:00", "Z")
    return events


def expected_counters(events: list[dict]) -> dict[str, dict]:
    """What the counters must be: the pure fold of each event once, in time order."""
    unique = {e["event_id"]: e for e in events}
    fold = Fold(lambda code: None)
    for e in sorted(unique.values(), key=lambda e: e["occurred_at"]):
        fold.apply(e)
    docs: dict[str, dict] = defaultdict(dict)
    for counter_key, delta in fold.deltas.items():
        if delta:
            doc_id, metric = cell(counter_key)
            docs[doc_id][metric] = delta
    return dict(docs)


def counters(db) -> dict[str, dict]:
    """Non-zero counters by document (a gauge that went up and down again stays at 0)."""
    docs = {d["_id"]: {k: v for k, v in d.items() if k != "_id" and v} for d in db.counters.find()}
    return {doc_id: doc for doc_id, doc in docs.items() if doc}


@pytest.fixture
def db(mongo, infra):
    name = f"{infra['db_prefix']}_reporting_w{uuid.uuid4().hex[:6]}"
    yield mongo[name]
    mongo.drop_database(name)


def writer() -> Writer:
    return Writer({t: s for s, t in SOURCES})


def run(w: Writer, store: ReportingStore, bodies) -> bool:
    while not w.run(store, bodies, SETTINGS):  # a dead writer's lease runs out
        time.sleep(0.1)
    return True


def finish(w: Writer, store: ReportingStore) -> None:
    w.run(store, None, SETTINGS)  # stop: checkpoint and hand the role over


class Crash(Exception):
    pass


def test_redeliveries_and_writer_deaths_neither_lose_nor_double(db):
    store = ReportingStore(db)
    events = [e for i in range(30) for e in dossier_events(i)]
    # receptions, results and payments of ten dossiers come ahead of their filings, which come in
    # the batch whose writer dies
    ahead = [e for e in events[:40] if e["type"] != "dossier_submitted"]
    arriving = ahead + [e for e in events[:40] if e["type"] == "dossier_submitted"] + events[40:]
    batches = [arriving[k : k + 15] for k in range(0, 60, 15)] + [arriving[60:90], arriving[90:]]

    w = writer()
    run(w, store, batches[0] + batches[0][:3])  # the same event twice in one batch
    run(w, store, batches[1])
    # dies after storing batch 2, before its journal entry: the broker redelivers it to the next writer
    store.append_journal = lambda *a: (_ for _ in ()).throw(Crash())
    with pytest.raises(Crash):
        w.run(store, batches[2], SETTINGS)
    del store.append_journal
    w2 = writer()
    run(w2, store, batches[2])
    # the next one dies after its journal entry, before the checkpoint writes it: replayed at takeover;
    # the redelivered batch (never acknowledged) is recognised as folded
    store.checkpoint = lambda *a: (_ for _ in ()).throw(Crash())
    with pytest.raises(Crash):
        w2.run(store, batches[3], SETTINGS)
        w2.run(store, [], SETTINGS)
        w2._checkpoint(store, wait=True)
    del store.checkpoint
    w3 = writer()
    run(w3, store, batches[3])
    run(w3, store, batches[4] + batches[1][:5])  # a producer's duplicate, long after
    run(w3, store, batches[5])
    finish(w3, store)

    assert counters(db) == expected_counters(events)
    assert db.events.count_documents({}) == len(events)  # stored once
    assert db.meta.find_one({"_id": "fold"})["folded"] == len(events)
    assert not list(db.journal.find()) and json.loads(db.deferred.find_one()["blob"]) == []  # none waits

    # rebuild from the stored events gives the same read models
    live = counters(db)
    store.request_rebuild()
    w4 = writer()
    run(w4, store, [])
    assert counters(db) == live


def test_events_waiting_for_their_filing_survive_a_new_writer(db):
    store = ReportingStore(db)
    events = [e for i in range(5) for e in dossier_events(i)]
    filings = [e for e in events if e["type"] == "dossier_submitted"]
    w = writer()
    run(w, store, [e for e in events if e["type"] != "dossier_submitted"])
    finish(w, store)
    assert len(json.loads(db.deferred.find_one()["blob"])) == 15
    w2 = writer()
    run(w2, store, filings)
    finish(w2, store)
    assert counters(db) == expected_counters(events)


# ------------------------------------------------------------------ a real process, killed
@pytest.fixture
def reporting_proc(infra, mongo):
    env = {
        "AMQP_URI": infra["amqp_for"](f"rep{uuid.uuid4().hex[:4]}"),
        "MONGO_URI": infra["mongo_uri"],
        "DB_PREFIX": f"{infra['db_prefix']}r{uuid.uuid4().hex[:4]}",
        "REPORTING_WRITER_LEASE_SECONDS": "2",
    }
    log_dir = suite.ROOT / "var" / "log" / f"test-{infra['db_prefix']}"
    state = {"env": env, "proc": None, "db": mongo[f"{env['DB_PREFIX']}_reporting"]}

    def start():
        state["proc"] = suite.start("reporting", env, log_dir)
        wait_rpc("reporting", env["AMQP_URI"])  # its consumers are declared once it answers
        return state["proc"]

    state["start"] = start
    yield state
    if state["proc"] and state["proc"].poll() is None:
        state["proc"].terminate()
        state["proc"].wait(15)
    mongo.drop_database(f"{env['DB_PREFIX']}_reporting")


def publish(amqp_uri: str, events: list, kind: str = "") -> None:
    conn = pika.BlockingConnection(amqp_params(amqp_uri))
    ch = conn.channel()
    source = {t: s for s, t in SOURCES}
    for e in events:
        body = json.dumps(e).encode() if isinstance(e, dict) else e
        kind_ = kind or e["type"]
        ch.exchange_declare(f"{source[kind_]}.events", exchange_type="topic", durable=True)
        ch.basic_publish(
            f"{source[kind_]}.events",
            kind_,
            body,
            pika.BasicProperties(content_type="application/json", delivery_mode=2),
        )
    conn.close()


def test_killed_reporting_process_loses_and_doubles_nothing(reporting_proc):
    env, db = reporting_proc["env"], reporting_proc["db"]
    proc = reporting_proc["start"]()
    events = [e for i in range(600) for e in dossier_events(i)]
    publish(env["AMQP_URI"], [b"{not json", b'{"type": "dossier_submitted"}'], "dossier_submitted")  # parked
    publish(env["AMQP_URI"], events + events[:200])  # with producers' duplicates
    deadline = time.time() + 30
    while db.events.estimated_document_count() == 0 and time.time() < deadline:
        time.sleep(0.02)
    # mid-burst: whatever it had not journaled and acknowledged comes back to the next process
    killed = db.locks.find_one({"_id": "fold"})["owner"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    reporting_proc["start"]()
    deadline = time.time() + 90
    while time.time() < deadline and (
        counters(db) != expected_counters(events) or db.locks.find_one({"_id": "fold"})["owner"] == killed
    ):
        time.sleep(0.5)
    assert counters(db) == expected_counters(events)
    assert db.events.count_documents({}) == len(events)
    parked = list(db.parked_messages.find())
    assert len(parked) == 2 and {p["queue"] for p in parked} == {
        "evt-intake-dossier_submitted--reporting.on_dossier_submitted"
    }
    # stopped cleanly, the writer hands its role over at once (killed, it held it until its lease ran out)
    reporting_proc["proc"].terminate()
    reporting_proc["proc"].wait(15)
    assert db.locks.find_one({"_id": "fold"}) is None
