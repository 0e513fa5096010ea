"""The one MongoDB dependency provider.

One ``MongoClient`` per container (created at setup, closed on stop/kill);
workers receive a small domain API built around the service's own database.
"""
from __future__ import annotations

from typing import Any, Callable

from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.database import Database


def make_client(uri: str) -> MongoClient:
    # tz_aware so datetimes read back are UTC-aware like the ones we write.
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)


class MongoDatabase(DependencyProvider):
    """Injects ``api(database)``; ``api`` may define ``ensure_indexes(database)``."""

    def __init__(self, api: Callable[[Database], Any] | None = None):
        self.api = api
        self.client: MongoClient | None = None
        self.database: Database | None = None

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
        return self.api(self.database) if self.api else self.database
