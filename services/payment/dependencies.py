"""PaymentStore (dues, payments, refunds, callbacks) and the provider client."""

from __future__ import annotations

import requests
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common import error_catalogue as catalogue
from services.common.events import utcnow
from services.common.versioned import VersionedDocuments

from .settings import PaymentSettings
from .signing import signed, valid

# Seconds a provider call may take. A constant, not a setting: config.yaml never offered one.
PROVIDER_TIMEOUT_SECONDS = 15.0


class PaymentStore:
    def __init__(self, db: Database):
        self.db = db
        self.payments = VersionedDocuments(db, "payments")
        self.refunds = VersionedDocuments(db, "refunds")

    @staticmethod
    def ensure_indexes(db: Database) -> None:
        db.payments.create_index([("dossier_code", 1)])
        db.payments.create_index([("status", 1), ("expires_at", 1)])

    def put_due(self, code: str, due: dict) -> None:
        try:
            self.db.dues.insert_one({"_id": code, **due})
        except DuplicateKeyError:
            pass

    def due(self, code: str) -> dict | None:
        return self.db.dues.find_one({"_id": code})

    def idempotent(self, scope_key: str, payment_id: str) -> str:
        try:
            self.db.payment_keys.insert_one({"_id": scope_key, "payment_id": payment_id, "at": utcnow()})
            return payment_id
        except DuplicateKeyError:
            return self.db.payment_keys.find_one({"_id": scope_key})["payment_id"]

    def first_callback(self, event_id: str, params: dict) -> bool:
        try:
            self.db.callbacks.insert_one({"_id": event_id, "params": params, "at": utcnow()})
            return True
        except DuplicateKeyError:
            return False

    def save_reconciliation(self, day: str, report: dict) -> None:
        """Đối soát of a day: the latest run replaces the day's earlier one."""
        self.db.reconciliations.replace_one({"_id": day}, {"_id": day, **report, "at": utcnow()}, upsert=True)

    def reject_callback(self, params: dict, reason: str) -> None:
        self.db.rejected_callbacks.insert_one({"params": params, "reason": reason, "at": utcnow()})


class ProviderClient:
    """The provider adapter. The simulated provider speaks the same protocol as the real ones
    the province may contract (sessions, signed callbacks, refunds, daily statement)."""

    def __init__(self, settings: PaymentSettings):
        self.url = settings.provider_url.rstrip("/")
        self.secret = settings.provider_secret
        self.merchant = settings.provider_merchant
        self.timeout = PROVIDER_TIMEOUT_SECONDS

    def _call(self, method: str, path: str, params: dict) -> dict:
        try:
            if method == "GET":
                r = requests.get(f"{self.url}{path}", params=signed(params, self.secret), timeout=self.timeout)
            else:
                r = requests.post(f"{self.url}{path}", json=signed(params, self.secret), timeout=self.timeout)
        except requests.RequestException as exc:
            raise catalogue.error("provider_unavailable", {"reason": str(exc)[:200]}) from None
        if r.status_code >= 400:
            raise catalogue.error("provider_error", {"status": r.status_code, "body": r.text[:200]})
        return r.json()

    def start(self, reference: str, amount: int, callback_url: str, return_url: str) -> dict:
        return self._call(
            "POST",
            "/api/sessions",
            {
                "merchant": self.merchant,
                "reference": reference,
                "amount": amount,
                "currency": "VND",
                "callback_url": callback_url,
                "return_url": return_url,
            },
        )

    def refund(self, txn: str, amount: int, reference: str) -> dict:
        answer = self._call(
            "POST", "/api/refunds", {"merchant": self.merchant, "txn": txn, "amount": amount, "reference": reference}
        )
        if not valid(answer, self.secret):
            raise catalogue.error("provider_error", None, "Phản hồi hoàn tiền không có chữ ký hợp lệ")
        return answer

    def statement(self, day: str) -> dict:
        return self._call("GET", "/api/statement", {"merchant": self.merchant, "date": day})

    def verify(self, params: dict) -> bool:
        return valid(params, self.secret)
