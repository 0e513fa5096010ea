"""PostalStore: shipments (numbered transitions) and compensation records."""

from __future__ import annotations

from pymongo.database import Database

from services.common.versioned import VersionedDocuments


class PostalStore:
    def __init__(self, db: Database):
        self.db = db
        self.shipments = VersionedDocuments(db, "shipments")

    @staticmethod
    def ensure_indexes(db: Database) -> None:
        db.shipments.create_index([("operator_id", 1), ("status", 1)])
        db.shipments.create_index([("account_id", 1)])
