"""One writer at a time for a read model that many processes fold into (FerretDB has no
transactions and its updates are read-modify-write without a lock): a lock document taken by an
insert, given up on the way out, taken over once its holder has been silent too long."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from .events import utcnow


class SingleWriter:
    def __init__(self, collection: Collection, name: str, lease_seconds: float = 300.0):
        self.collection = collection
        self.key = f"lock:{name}"
        self.lease = lease_seconds

    def acquire(self, owner: str, wait: float = 0.0) -> bool:
        """Take the lock; with ``wait``, keep trying that many seconds while another writer holds it."""
        deadline = time.monotonic() + wait
        while not self._try(owner):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def _try(self, owner: str) -> bool:
        now = utcnow()
        try:
            self.collection.insert_one({"_id": self.key, "owner": owner, "at": now})
            return True
        except DuplicateKeyError:
            held = self.collection.find_one({"_id": self.key}) or {}
            if held and (now - held["at"]).total_seconds() > self.lease:
                self.collection.delete_one({"_id": self.key})
                return self._try(owner)
            return False

    def release(self, owner: str) -> None:
        held = self.collection.find_one({"_id": self.key}) or {}
        if held.get("owner") == owner:
            self.collection.delete_one({"_id": self.key})

    @contextlib.contextmanager
    def held(self) -> Iterator[bool]:
        """``with writer.held() as mine:`` — ``mine`` says whether this caller got the lock."""
        owner = uuid.uuid4().hex
        mine = self.acquire(owner)
        try:
            yield mine
        finally:
            if mine:
                self.release(owner)
