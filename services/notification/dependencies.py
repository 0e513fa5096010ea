"""NotificationStore: contacts, inbox messages and per-channel deliveries.

Every message and delivery is keyed by the event that caused it
(``<event id>:<channel>``), so one event never yields two messages; each
send attempt is claimed by inserting ``<delivery id>#<attempt>``, so a retry
timer and a live request never send the same attempt twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.events import utcnow


class NotificationStore:
    def __init__(self, db: Database):
        self.db = db

    @staticmethod
    def ensure_indexes(db: Database) -> None:
        db.inbox.create_index([("account_id", 1), ("created_at", -1)])
        db.deliveries.create_index([("dossier_code", 1)])

    def save_contact(self, account_id: str, contact: dict) -> None:
        self.db.contacts.replace_one({"_id": account_id}, {"_id": account_id, **contact}, upsert=True)

    def contact(self, account_id: str) -> dict | None:
        return self.db.contacts.find_one({"_id": account_id})

    def add_inbox(self, message: dict) -> bool:
        try:
            self.db.inbox.insert_one(message)
            return True
        except DuplicateKeyError:
            return False

    def inbox(self, account_id: str, skip: int, limit: int, unread_only: bool) -> tuple[list[dict], int]:
        filt = {"account_id": account_id}
        if unread_only:
            filt["read_at"] = None
        total = self.db.inbox.count_documents(filt)
        return list(self.db.inbox.find(filt).sort("created_at", -1).skip(skip).limit(limit)), total

    def mark_read(self, account_id: str, message_id: str) -> dict | None:
        doc = self.db.inbox.find_one({"_id": message_id})
        if doc is None or doc["account_id"] != account_id:
            return None
        if doc.get("read_at") is None:
            # Single writer (the owner); a lost race only re-sets the same value.
            self.db.inbox.update_one({"_id": message_id}, {"$set": {"read_at": utcnow()}})
            doc = self.db.inbox.find_one({"_id": message_id})
        return doc

    def add_delivery(self, delivery: dict) -> bool:
        try:
            self.db.deliveries.insert_one(delivery)
        except DuplicateKeyError:
            return False
        if delivery["status"] == "pending":
            # Pending deliveries are also listed in a small queue, so the retry timer
            # never scans the ever-growing deliveries collection.
            self.db.delivery_queue.replace_one(
                {"_id": delivery["_id"]},
                {"_id": delivery["_id"], "next_attempt_at": delivery["next_attempt_at"]},
                upsert=True,
            )
        return True

    def claim_attempt(self, delivery_id: str, attempt: int) -> bool:
        try:
            self.db.delivery_attempts.insert_one({"_id": f"{delivery_id}#{attempt}", "at": utcnow()})
            return True
        except DuplicateKeyError:
            return False

    def record_attempt(
        self, delivery_id: str, attempt: int, error: str | None, max_attempts: int, backoff_seconds: float
    ) -> None:
        now = utcnow()
        if error is None:
            changes = {"status": "sent", "sent_at": now, "attempts": attempt, "last_error": None}
        elif attempt >= max_attempts:
            changes = {"status": "failed", "attempts": attempt, "last_error": error}
        else:
            changes = {
                "status": "retrying",
                "attempts": attempt,
                "last_error": error,
                "next_attempt_at": now + timedelta(seconds=backoff_seconds * 2 ** (attempt - 1)),
            }
        self.db.deliveries.update_one({"_id": delivery_id}, {"$set": changes})
        if changes["status"] == "retrying":
            self.db.delivery_queue.update_one(
                {"_id": delivery_id}, {"$set": {"next_attempt_at": changes["next_attempt_at"]}}
            )
        else:
            self.db.delivery_queue.delete_one({"_id": delivery_id})

    def due_deliveries(self, now: datetime, limit: int = 100) -> list[dict]:
        due = [q["_id"] for q in self.db.delivery_queue.find().limit(1000) if q["next_attempt_at"] <= now][:limit]
        docs = (self.db.deliveries.find_one({"_id": d}) for d in due)
        return [d for d in docs if d and d["status"] in ("pending", "retrying")]

    def deliveries_of(self, dossier_code: str) -> list[dict]:
        """A dossier's deliveries, oldest first (the operator's view of what reached the applicant)."""
        return list(self.db.deliveries.find({"dossier_code": dossier_code}).sort("created_at", 1))

    def deliveries_for(self, event_id: str) -> list[dict]:
        return list(self.db.deliveries.find({"event_id": event_id}))
