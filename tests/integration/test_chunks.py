"""Chunked file storage on the real server: several files in one round trip, a resumed attempt
keeps what an interrupted one stored, large files in several batches (services.common.files)."""

import uuid

import pytest
from pymongo.errors import BulkWriteError

from services.common import files
from services.common.errors import Conflict
from services.common.files import ChunkStore, sha256
from services.common.mongo import insert_new, make_client


@pytest.fixture
def collection(infra):
    client = make_client(infra["mongo_uri"])
    yield client[f"{infra['db_prefix']}_chunks"][f"chunks{uuid.uuid4().hex[:6]}"]
    client.close()


def test_several_files_are_stored_together_and_read_back_checked(collection):
    store = ChunkStore(collection)
    big, small = b"%PDF-" + bytes(range(256)) * 3000, b"\x89PNG\r\n\x1a\n tiny"
    counts = store.put_many([("D-1", big), ("D-2", small)])
    assert counts == [len(files.chunks(big)), 1] and counts[0] == 3
    assert store.get("D-1", counts[0], sha256(big)) == big
    assert store.get("D-2", 1, sha256(small)) == small
    with pytest.raises(Conflict):  # the hash is still checked on every read
        store.get("D-2", 1, sha256(big))


def test_a_resumed_attempt_keeps_the_chunks_already_stored(collection):
    store = ChunkStore(collection)
    content = b"%PDF-" + b"x" * (files.CHUNK_BYTES + 10)
    collection.insert_one({"_id": "R-1:0", "data": content[: files.CHUNK_BYTES]})  # the interrupted attempt's
    assert store.put_many([("R-1", content)]) == [2]
    assert store.get("R-1", 2, sha256(content)) == content
    assert store.put("R-1", content) == 2  # and again: nothing doubled, nothing refused
    assert collection.count_documents({}) == 2


def test_files_larger_than_a_batch_go_in_several_round_trips(collection, monkeypatch):
    monkeypatch.setattr(files, "BATCH_BYTES", files.CHUNK_BYTES * 2)
    store = ChunkStore(collection)
    content = b"%PDF-" + bytes(range(256)) * 5000  # 5 chunks: batches of 2, 2 and 1
    assert store.put_many([("L-1", content), ("L-2", b"%PDF-small")]) == [5, 1]
    assert store.get("L-1", 5, sha256(content)) == content
    assert collection.count_documents({}) == 6


def test_insert_new_tells_the_new_ids_and_raises_on_any_other_error(collection):
    collection.insert_one({"_id": "a"})
    assert insert_new(collection, [{"_id": "a"}, {"_id": "b"}]) == {"b"}
    assert insert_new(collection, []) == set()
    with pytest.raises(BulkWriteError):  # a refused document is an error, not "already there"
        insert_new(collection, [{"_id": "c", "$bad": 1}])
