"""The payment service's public payloads: payments, refunds, reconciliations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.common.schemas import MAX_VND, Payload, View

PaymentStatus = Literal["created", "started", "succeeded", "failed", "cancelled", "expired"]


class Payment(View):
    """Giao dịch thanh toán phí, lệ phí of one dossier."""

    id: str
    dossier_code: str
    amount_vnd: int
    currency: str
    status: PaymentStatus
    redirect_url: str | None = None
    provider_txn: str | None = None
    refunded_vnd: int = 0
    created_at: datetime
    expires_at: datetime
    succeeded_at: datetime | None = None


class RefundRequest(Payload):
    amount_vnd: int | None = Field(default=None, ge=1, le=MAX_VND, description="default: everything not yet refunded")
    reason: str = Field(min_length=3, max_length=1000)


class Refund(View):
    id: str
    payment_id: str
    dossier_code: str
    amount_vnd: int
    status: Literal["created", "submitted", "refunded", "failed"]
    reason: str
    automatic: bool
    provider_txn: str | None = None
    created_at: datetime


class Mismatch(View):
    kind: str
    reference: str
    portal_amount: int | None = None
    provider_amount: int | None = None
    detail: str


class Reconciliation(View):
    date: str
    portal_payments: int
    portal_refunds: int
    provider_transactions: int
    mismatches: list[Mismatch]
