"""Optimistic concurrency that holds on FerretDB as on MongoDB (services.common.versioned)."""

import uuid

import eventlet
import pytest

from services.common import error_catalogue as catalogue
from services.common.errors import BrokerUnavailable, Conflict
from services.common.mongo import make_client
from services.common.versioned import VersionedDocuments


@pytest.fixture
def docs(infra):
    client = make_client(infra["mongo_uri"])
    yield VersionedDocuments(client[f"{infra['db_prefix']}_versioned"], f"things{uuid.uuid4().hex[:6]}", stale_after=0)
    client.close()


def test_raw_conditional_update_is_not_a_guard_on_this_server(infra):
    """Why the module exists: document what the server does with a version-filtered update race.

    On MongoDB exactly one of the racing updates matches; on FerretDB 1.24 several can. The
    transition protocol below must be correct either way, so this test only records the count.
    """
    client = make_client(infra["mongo_uri"])
    coll = client[f"{infra['db_prefix']}_versioned"].raw
    doc_id = str(uuid.uuid4())
    coll.insert_one({"_id": doc_id, "version": 1})
    pool = eventlet.GreenPool(8)
    wins = sum(
        pool.imap(
            lambda i: coll.update_one({"_id": doc_id, "version": 1}, {"$set": {"version": 2, "by": i}}).modified_count,
            range(8),
        )
    )
    assert wins >= 1
    client.close()


def test_exactly_one_concurrent_transition_wins(docs):
    doc_id = str(uuid.uuid4())
    docs.create(doc_id, {"status": "submitted"}, [])
    pool = eventlet.GreenPool(8)

    def attempt(i):
        try:
            docs.transition(doc_id, 1, {"status": f"by-{i}"}, [])
            return i
        except Conflict as exc:
            assert exc.code == "stale_version"
            return None

    winners = [i for i in pool.imap(attempt, range(8)) if i is not None]
    assert len(winners) == 1
    doc = docs.get(doc_id)
    assert doc["status"] == f"by-{winners[0]}" and doc["version"] == 2
    assert [r["version"] for r in docs.history(doc_id)] == [1, 2]


def test_concurrent_changes_each_decide_on_the_version_they_commit_on(docs):
    """VersionedDocuments.change: increments that all land, each deciding again on a newer version
    after a conflict; a decision that there is nothing to do, or a refusal, commits nothing."""
    doc_id = str(uuid.uuid4())
    docs.create(doc_id, {"n": 0}, [])
    pool = eventlet.GreenPool(8)
    results = list(pool.imap(lambda _: docs.change(doc_id, lambda d: ({"n": d["n"] + 1}, [])), range(8)))
    assert all(changed for _, changed in results)
    assert docs.get(doc_id)["n"] == 8 and docs.get(doc_id)["version"] == 9
    same, changed = docs.change(doc_id, lambda d: None)
    assert not changed and same["version"] == 9

    def refuse(doc):
        raise catalogue.error("invalid_transition", {"status": doc["n"]})

    with pytest.raises(Conflict) as refused:  # a refusal is not retried, whatever its class
        docs.change(doc_id, refuse)
    assert refused.value.code == "invalid_transition" and docs.get(doc_id)["version"] == 9
    assert docs.change("missing", lambda d: ({"n": 1}, [])) == (None, False)


def test_create_is_idempotent(docs):
    doc_id = str(uuid.uuid4())
    first, created = docs.create(doc_id, {"n": 1}, [{"type": "x", "event_id": "e1"}])
    again, created_again = docs.create(doc_id, {"n": 2}, [{"type": "x", "event_id": "e2"}])
    assert created and not created_again and again["n"] == 1


def test_recover_projects_in_order_and_publishes_once(docs):
    doc_id = str(uuid.uuid4())
    docs.create(doc_id, {"n": 0}, [{"type": "made", "event_id": "a"}])
    sent = []
    docs.recover(lambda t, e: sent.append(e["event_id"]))
    # a crash after committing version 2: claim and record present, projection and publish missing
    at = docs.log.find_one()["at"]
    docs.pending.insert_one({"_id": f"{doc_id}#2", "doc_id": doc_id, "version": 2, "at": at})
    docs.log.insert_one(
        {
            "_id": f"{doc_id}#2",
            "doc_id": doc_id,
            "version": 2,
            "set": {"n": 2, "version": 2},
            "events": [{"type": "changed", "event_id": "b"}],
            "at": at,
            "published": False,
        }
    )
    # and a claim whose writer died before committing: freed, nothing published
    docs.pending.insert_one({"_id": f"{doc_id}#3", "doc_id": doc_id, "version": 3, "at": at})
    docs.recover(lambda t, e: sent.append(e["event_id"]))
    docs.recover(lambda t, e: sent.append(e["event_id"]))
    assert sent == ["a", "b"]
    assert docs.get(doc_id)["n"] == 2 and docs.pending.count_documents({}) == 0
    assert docs.transition(doc_id, 2, {"n": 3}, [])["version"] == 3  # the freed version is usable


def test_events_wait_in_the_outbox_while_the_broker_is_down(docs):
    """Issue #14 item 9: a change committed while RabbitMQ is down stands (the request succeeds),
    its events stay in the outbox, and recovery publishes each once the broker is back."""

    def broker_down(event_type, envelope):
        raise BrokerUnavailable("broker down", {"event_type": event_type})

    ids = [str(uuid.uuid4()) for _ in range(3)]
    for n, doc_id in enumerate(ids):
        doc, created = docs.create(doc_id, {"n": n}, [{"type": "made", "event_id": f"e{n}"}])
        docs.publish(doc_id, 1, broker_down)  # what a service does right after the commit: must not raise
        assert created and doc["version"] == 1
    assert docs.recover(broker_down) == 0
    assert docs.pending.count_documents({}) == 3  # every marker kept: nothing published yet

    sent = []
    assert docs.recover(lambda t, e: sent.append(e["event_id"])) == 3
    docs.recover(lambda t, e: sent.append(e["event_id"]))
    assert sorted(sent) == ["e0", "e1", "e2"]
    assert docs.pending.count_documents({}) == 0  # the markers gone: all published
