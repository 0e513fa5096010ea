"""Asking for a rebuild joins the one already asked for, and asks again when that one finished in
the very instant between the refused insert and the read (it used to fail with a TypeError)."""

from unittest.mock import MagicMock

from pymongo.errors import DuplicateKeyError

from services.reporting.dependencies import ReportingStore


def _store(inserts: list, reads: list) -> ReportingStore:
    db = MagicMock()
    db.control.insert_one.side_effect = inserts
    db.control.find_one.side_effect = reads
    return ReportingStore(db)


def test_a_new_request_is_its_own():
    store = _store([None], [])
    request = store.request_rebuild()
    assert store.db.control.insert_one.call_args.args[0]["request"] == request


def test_a_pending_request_is_joined():
    store = _store([DuplicateKeyError("dup")], [{"_id": "rebuild", "request": "earlier"}])
    assert store.request_rebuild() == "earlier"


def test_a_request_that_finished_meanwhile_is_asked_again():
    store = _store([DuplicateKeyError("dup"), None], [None])
    request = store.request_rebuild()
    assert store.db.control.insert_one.call_count == 2 and request != "earlier"
    assert store.db.control.insert_one.call_args.args[0]["request"] == request
