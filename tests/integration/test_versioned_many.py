"""Many transitions at once (VersionedDocuments.transition_many, the deadline sweep's path) on the
real server: each version won once, each record's events published once, nothing lost."""

import uuid

import eventlet
import pytest

from services.common import versioned
from services.common.errors import BrokerUnavailable
from services.common.mongo import make_client
from services.common.versioned import VersionedDocuments


@pytest.fixture
def db(infra):
    client = make_client(infra["mongo_uri"])
    yield client[f"{infra['db_prefix']}_versioned"]
    client.close()


def things(db, stale_after: float = 10.0) -> VersionedDocuments:
    return VersionedDocuments(db, f"many{uuid.uuid4().hex[:6]}", stale_after=stale_after)


def made(docs: VersionedDocuments, count: int) -> list[dict]:
    return [
        docs.create(str(uuid.uuid4()), {"n": n, "flag": False}, [], dispatch=lambda t, e: None)[0] for n in range(count)
    ]


def flag(doc: dict, tag: str = "x") -> tuple:
    return (
        doc["_id"],
        doc["version"],
        {"flag": True, "by": tag},
        [{"type": "flagged", "event_id": f"{doc['_id']}:{doc['version'] + 1}:{tag}"}],
        {"why": tag},
    )


@pytest.mark.parametrize("stale_after", [10.0, 0.0], ids=["caller's copy", "read again"])
def test_many_commit_project_and_publish_each_once(db, monkeypatch, stale_after):
    """With the caller's copies (and a fresh claim) the projections are written without reading the
    documents again; with stale_after=0 every claim counts as old and each is read again first.
    Either way the same documents come out. Chunks of 3 so that several chunks are exercised."""
    monkeypatch.setattr(versioned, "MANY_CHUNK", 3)
    docs = things(db, stale_after)
    current = made(docs, 7)
    reads = []
    monkeypatch.setattr(docs, "get", lambda doc_id: reads.append(doc_id) or VersionedDocuments.get(docs, doc_id))
    sent = []
    out = docs.transition_many([flag(d) for d in current], lambda t, e: sent.append(e["event_id"]), current=current)
    assert [d["version"] for d in out] == [2] * 7 and all(d["flag"] and d["by"] == "x" for d in out)
    assert len(reads) == (0 if stale_after else 7)
    for before, after in zip(current, out, strict=True):
        stored = docs.get(before["_id"])
        assert stored == after == {**before, "flag": True, "by": "x", "version": 2}
        assert [r["version"] for r in docs.history(before["_id"])] == [1, 2]
        assert docs.history(before["_id"])[1]["why"] == "x"
    assert sorted(sent) == sorted(f"{d['_id']}:2:x" for d in current)
    assert docs.pending.count_documents({}) == 0  # every marker gone: every record published
    assert docs.recover(lambda t, e: sent.append(e["event_id"])) == 0 and len(sent) == 7


def test_many_lose_versions_someone_else_took(db):
    docs = things(db)
    current = made(docs, 4)
    docs.transition(current[1]["_id"], 1, {"by": "official"}, [])  # moved on since the caller read it
    # committed and published long ago: its marker is gone, the record is there
    docs.transition(
        current[2]["_id"], 1, {"by": "earlier"}, [{"type": "t", "event_id": "earlier"}], dispatch=lambda t, e: None
    )
    sent = []
    out = docs.transition_many([flag(d) for d in current], lambda t, e: sent.append(e["event_id"]), current=current)
    assert out[0]["flag"] and out[3]["flag"] and out[1] is None and out[2] is None
    assert docs.get(current[1]["_id"])["by"] == "official" and docs.get(current[2]["_id"])["by"] == "earlier"
    assert sorted(sent) == sorted(f"{current[i]['_id']}:2:x" for i in (0, 3))
    # the claim it lost to is the official's (not published yet); its own were dropped or published
    assert [m["_id"] for m in docs.pending.find()] == [f"{current[1]['_id']}#2"]


def test_concurrent_sweeps_flag_each_document_once(db, monkeypatch):
    """Two batches racing over the same documents: each version goes to one of them, each document
    is projected from its winner's record and each winning record's events are published once."""
    monkeypatch.setattr(versioned, "MANY_CHUNK", 4)
    docs = things(db)
    current = made(docs, 10)
    sent = []
    pool = eventlet.GreenPool(2)
    outs = list(
        pool.imap(
            lambda tag: docs.transition_many(
                [flag(d, tag) for d in current], lambda t, e: sent.append(e["event_id"]), current=current
            ),
            ["a", "b"],
        )
    )
    for i, doc in enumerate(current):
        winners = [tag for tag, out in zip("ab", outs, strict=True) if out[i] is not None]
        assert len(winners) == 1
        assert docs.get(doc["_id"]) == {**doc, "flag": True, "by": winners[0], "version": 2}
        assert [r["why"] for r in docs.history(doc["_id"])[1:]] == winners
    assert len(sent) == len(set(sent)) == 10
    assert docs.pending.count_documents({}) == 0


def test_many_keep_their_events_in_the_outbox_while_the_broker_is_down(db):
    """The changes stand; after the first refusal the rest are not offered to the broker (each
    refusal takes the publish retries); recovery publishes every one of them later, once."""
    docs = things(db, stale_after=0)
    current = made(docs, 5)
    offered = []

    def broker_down(event_type, envelope):
        offered.append(envelope["event_id"])
        raise BrokerUnavailable("broker down", {"event_type": event_type})

    out = docs.transition_many([flag(d) for d in current], broker_down, concurrency=1, current=current)
    assert all(d["version"] == 2 and d["flag"] for d in out)
    assert len(offered) == 1
    assert docs.pending.count_documents({}) == 5  # every marker kept: nothing published yet
    sent = []
    assert docs.recover(lambda t, e: sent.append(e["event_id"])) == 5
    docs.recover(lambda t, e: sent.append(e["event_id"]))
    assert sorted(sent) == sorted(f"{d['_id']}:2:x" for d in current)
    assert docs.pending.count_documents({}) == 0


def test_what_was_published_before_a_failure_is_not_published_again(db):
    docs = things(db, stale_after=0)
    current = made(docs, 4)
    sent = []

    def failing_third(event_type, envelope):
        if len(sent) == 2:
            raise RuntimeError("unexpected")
        sent.append(envelope["event_id"])

    with pytest.raises(RuntimeError):
        docs.transition_many([flag(d) for d in current], failing_third, concurrency=1, current=current)
    assert docs.pending.count_documents({}) == 2  # the two published have lost their markers
    assert docs.recover(lambda t, e: sent.append(e["event_id"])) == 2
    assert sorted(sent) == sorted(f"{d['_id']}:2:x" for d in current)
