"""FeedbackStore: feedback items (numbered transitions), ratings (one per dossier)."""

from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.deadline_calendar import DeadlineCalendar
from services.common.mongo import find_page
from services.common.text import search_key
from services.common.versioned import VersionedDocuments


def _search_text(question: dict) -> str:
    """The folded subject, question and answer: Q&A search ignores diacritics and case."""
    return search_key(question.get("subject"), question.get("body"), question.get("answer"))


class FeedbackStore:
    def __init__(self, db: Database):
        self.db = db
        self.items = VersionedDocuments(db, "feedback")
        self.calendar = DeadlineCalendar(db, "feedback")

    @staticmethod
    def ensure_indexes(db: Database) -> None:
        db.feedback.create_index([("agency_id", 1), ("status", 1), ("due_at", 1)])
        db.public_questions.create_index([("procedure_code", 1), ("agency_id", 1)])
        db.public_questions.create_index([("search_text", 1)])
        for doc in db.public_questions.find({"search_text": {"$exists": False}}):
            db.public_questions.update_one({"_id": doc["_id"]}, {"$set": {"search_text": _search_text(doc)}})

    def open_items(self):
        """Items still to be answered, lightly projected (building the deadline calendar once)."""
        return self.items.docs.find({"status": "received"}, {"_id": 1, "due_date": 1, "due_at": 1})

    def add_rating(self, rating: dict) -> bool:
        try:
            self.db.ratings.insert_one(rating)
            return True
        except DuplicateKeyError:
            return False

    def rating(self, dossier_code: str) -> dict | None:
        return self.db.ratings.find_one({"_id": dossier_code})

    def public_questions(self, filt: dict, page: int, page_size: int) -> tuple[list[dict], int]:
        """One page of the published Q&A (newest answers first) and how many match in all."""
        return find_page(self.db.public_questions, filt, [("answered_at", -1)], page, page_size)

    def publish_question(self, doc: dict) -> None:
        doc = {**doc, "search_text": _search_text(doc)}
        self.db.public_questions.replace_one({"_id": doc["_id"]}, doc, upsert=True)
