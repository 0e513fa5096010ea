"""The one MongoDB dependency provider.

One ``MongoClient`` per container (created at setup, closed on stop/kill);
workers receive a small domain API built around the service's own database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError


def make_client(uri: str) -> MongoClient[Any]:
    # tz_aware so datetimes read back are UTC-aware like the ones we write. (Its documents are dicts;
    # typed MongoClient[Any], as it always was, so that callers' variables keep their types.)
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)


class MongoDatabase(DependencyProvider):  # type: ignore[misc]  # nameko is untyped
    """Injects ``api(database)``; ``api`` may define ``ensure_indexes(database)``."""

    def __init__(self, api: Callable[[Database[dict[str, Any]]], Any] | None = None):
        self.api = api
        self.client: MongoClient[dict[str, Any]] | None = None
        self.database: Database[dict[str, Any]] | None = None

    def setup(self) -> None:
        config = self.container.config
        self.client = make_client(config["MONGO_URI"])
        self.database = self.client[config["MONGO_DB"]]
        ensure = getattr(self.api, "ensure_indexes", None)
        if ensure:
            ensure(self.database)

    def stop(self) -> None:
        self._close()

    def kill(self) -> None:
        self._close()

    def _close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def get_dependency(self, worker_ctx: Any) -> Any:
        assert self.database is not None, "nameko sets a dependency up before any worker asks for it"
        return self.api(self.database) if self.api else self.database


def find_page(
    collection: Collection[Any], filt: dict[str, Any], sort: list[tuple[str, int]], page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page (numbered from 1) of the documents matching ``filt`` in ``sort`` order, and how many
    match in all (page numbers are bounded where they are parsed, so the skip always fits)."""
    cursor = collection.find(filt).sort(sort).skip((page - 1) * page_size).limit(page_size)
    return list(cursor), collection.count_documents(filt)


def insert_new(collection: Collection[Any], docs: list[dict[str, Any]]) -> set[Any]:
    """Insert ``docs`` in one round trip (one statement: FerretDB leaks connections on multi-statement
    writes only); the ids that went in — the others already existed (any other error is raised)."""
    if not docs:
        return set()
    try:
        collection.insert_many(docs, ordered=False)
        return {d["_id"] for d in docs}
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors) or exc.details.get("writeConcernErrors"):
            raise
        return {d["_id"] for d in docs} - {docs[e["index"]]["_id"] for e in errors}
