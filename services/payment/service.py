"""Payment service: online fees of level-4 dossiers through a provider, refunds by R11,
and a daily reconciliation against the provider's statement."""

from __future__ import annotations

import time as _time
import uuid
from datetime import UTC, datetime, timedelta

from nameko.timer import timer

from contracts.payment import Mismatch, Payment, Reconciliation, Refund, RefundRequest
from services.common import error_catalogue as catalogue
from services.common import files
from services.common import pdf as documents
from services.common.calendar import VN_TZ
from services.common.errors import Conflict
from services.common.event_contracts import CaseStatusChanged, DossierSubmitted, PaymentSucceeded, RefundCompleted
from services.common.events import Actor, Event, handles, new_event, utcnow
from services.common.messaging import EventDispatcher, RpcProxy, rpc
from services.common.mongo import MongoDatabase
from services.common.schemas import dump, parse
from services.common.service_base import PortalService
from services.common.settings import Settings

from . import exceptions
from .dependencies import PaymentStore, ProviderClient
from .schemas import FINAL
from .settings import PaymentSettings

SYSTEM = {"id": "payment", "role": "system"}
OUTCOMES = {"success": "succeeded", "fail": "failed", "cancel": "cancelled"}
NO_REFUND_AFTER = ("result_ready", "delivered")  # the agency did its part (Art. 7.3)
AUTO_REFUND_ON = ("reject_at_reception", "return_with_reasons")  # the agency cannot perform


class PaymentService(PortalService):
    name = "payment"
    versioned = ("payments", "refunds")

    store: PaymentStore = MongoDatabase(PaymentStore)
    dispatch = EventDispatcher()
    processing = RpcProxy("processing")
    settings: PaymentSettings = Settings(PaymentSettings)

    @property
    def provider(self) -> ProviderClient:
        return ProviderClient(self.settings)

    # ------------------------------------------------------------ events in
    @handles(DossierSubmitted)
    def record_due(self, event: Event[DossierSubmitted]) -> None:
        """A signed level-4 dossier with a fee owes that fee, as its procedure version says."""
        p = event.payload
        if p.handled_as_level == 4 and p.fee_vnd > 0:
            self.store.put_due(
                p.code,
                {
                    "amount_vnd": p.fee_vnd,
                    "applicant_id": p.applicant_id,
                    "agency_id": p.agency_id,
                    "procedure_code": p.procedure_code,
                    "procedure_version": p.procedure_version,
                },
            )

    @handles(CaseStatusChanged)
    def follow_case(self, event: Event[CaseStatusChanged]) -> None:
        p = event.payload
        if p.action in AUTO_REFUND_ON:
            for payment in self.store.payments.find({"dossier_code": p.code, "status": "succeeded"}):
                remaining = payment["amount_vnd"] - payment.get("refunded_vnd", 0)
                if remaining > 0:
                    self._refund(
                        payment["_id"],
                        remaining,
                        f"Tự động hoàn phí: {p.action}",
                        True,
                        key=f"auto:{event.event_id}:{payment['_id']}",
                    )

    # ------------------------------------------------------------ payments
    def _due_for(self, who: Actor, code: str) -> dict:
        deadline = _time.monotonic() + 3
        due = self.store.due(code)
        while due is None and _time.monotonic() < deadline:  # the filing event may still be in flight
            _time.sleep(0.2)
            due = self.store.due(code)
        if due is None or due["applicant_id"] != who.id:
            raise exceptions.no_fee_due(code)
        return due

    @rpc
    def create_payment(self, actor: dict, code: str, idempotency_key: str | None = None) -> dict:
        """Start paying a dossier's fee; the amount is the one its procedure version set."""
        who = Actor.model_validate(actor)
        due = self._due_for(who, code)
        for existing in self.store.payments.find({"dossier_code": code}):
            if existing["status"] == "succeeded":
                raise exceptions.already_paid(code)
            if existing["status"] in ("created", "started") and existing["expires_at"] > utcnow():
                return dump(Payment.model_validate(existing))
        payment_id = f"PAY{uuid.uuid4().hex[:16].upper()}"
        if idempotency_key:
            payment_id = self.store.idempotent(f"{who.id}:{idempotency_key}", payment_id)
            existing = self.store.payments.get(payment_id)
            if existing:
                return dump(Payment.model_validate(existing))
        now = utcnow()
        doc = {
            "id": payment_id,
            "dossier_code": code,
            "account_id": who.id,
            "amount_vnd": due["amount_vnd"],
            "currency": "VND",
            "status": "created",
            "refunded_vnd": 0,
            "created_at": now,
            "expires_at": now + timedelta(seconds=self.settings.payment_expiry_seconds),
        }
        payment, _ = self.store.payments.create(payment_id, doc, [])
        if payment["status"] != "created":
            return dump(Payment.model_validate(payment))
        # Back to the dossier's page after paying: DOSSIER_CODE in the configured URL becomes its code.
        return_url = self.settings.payment_return_url.replace("DOSSIER_CODE", code)
        session = self.provider.start(payment_id, due["amount_vnd"], self.settings.payment_callback_url, return_url)
        started = self.store.payments.transition(
            payment_id,
            payment["version"],
            {
                "status": "started",
                "started_at": utcnow(),
                "provider_session": session["session_id"],
                "redirect_url": session["pay_url"],
            },
            [],
        )
        return dump(Payment.model_validate(started))

    @rpc
    def get_payment(self, actor: dict, payment_id: str) -> dict:
        return dump(Payment.model_validate(self._own(actor, payment_id)))

    def _own(self, actor: dict, payment_id: str) -> dict:
        who = Actor.model_validate(actor)
        payment = self.store.payments.get(payment_id)
        if not payment or (payment["account_id"] != who.id and who.role not in ("operator", "system")):
            raise exceptions.payment_not_found(payment_id)
        return payment

    @rpc
    def callback(self, params: dict) -> dict:
        """The provider's signed result. Forged, replayed or mismatched → rejected, logged, nothing changes."""
        params = {k: str(v) for k, v in (params or {}).items()}

        def reject(reason: str):
            self.store.reject_callback(params, reason)
            raise exceptions.bad_callback(reason)

        if not self.provider.verify(params):
            reject("signature")
        if params.get("merchant") != self.provider.merchant:
            reject("merchant")
        payment = self.store.payments.get(params.get("reference", ""))
        if payment is None:
            reject("unknown reference")
        if params.get("currency") != "VND" or params.get("amount") != str(payment["amount_vnd"]):
            reject("amount or currency")
        outcome = OUTCOMES.get(params.get("status", ""))
        if outcome is None:
            reject("status")
        if not self.store.first_callback(params.get("event_id", ""), params):
            return {"result": "duplicate", "status": payment["status"]}

        def settle(current: dict) -> tuple[dict, list[dict]] | None:
            if current["status"] in FINAL:
                return None
            changes = {"status": outcome, "provider_txn": params.get("txn"), "completed_at": utcnow()}
            events = []
            if outcome == "succeeded":
                changes["succeeded_at"] = utcnow()
                events = [
                    new_event(
                        PaymentSucceeded(
                            payment_id=current["_id"],
                            code=current["dossier_code"],
                            amount_vnd=current["amount_vnd"],
                            provider_txn=params.get("txn"),
                        ),
                        SYSTEM,
                        dossier_code=current["dossier_code"],
                    )
                ]
            return changes, events

        payment, applied = self.store.payments.change(payment, settle, dispatch=self.dispatch)
        if applied:
            return {"result": "applied", "status": payment["status"]}
        if payment["status"] == outcome:
            return {"result": "duplicate", "status": payment["status"]}
        if outcome == "succeeded" and payment["status"] in ("expired", "cancelled", "failed"):
            # The citizen paid after the portal gave up on this payment: the money must go back.
            return self._refund_late_success(payment, params)
        reject(f"payment already {payment['status']}")

    def _refund_late_success(self, payment: dict, params: dict) -> dict:
        payment, _ = self.store.payments.change(
            payment,
            lambda _: (
                {"late_success_txn": params.get("txn"), "provider_txn": params.get("txn"), "late_paid_at": utcnow()},
                [],
            ),
        )
        refund = self._refund(
            payment["_id"],
            payment["amount_vnd"],
            f"Tự động hoàn tiền: thanh toán đến sau khi giao dịch đã {payment['status']}",
            True,
            key=f"late:{params.get('event_id')}",
        )
        return {"result": "refunded_late_success", "status": refund["status"]}

    @timer(interval=30)
    def expire_unpaid(self) -> None:
        """Payments not completed in time expire (the citizen may start a new one)."""
        now = utcnow()
        stale = [
            p for p in self.store.payments.find({"status": {"$in": ["created", "started"]}}) if p["expires_at"] <= now
        ]
        for p in stale:
            try:
                self.store.payments.transition(p["_id"], p["version"], {"status": "expired", "expired_at": now}, [])
            except Conflict:
                continue

    @rpc
    def expire_now(self) -> None:
        self.expire_unpaid()

    @rpc
    def receipt(self, actor: dict, payment_id: str) -> dict:
        """Biên lai điện tử of a successful payment."""
        p = self._own(actor, payment_id)
        if p["status"] != "succeeded":
            raise catalogue.error("no_receipt", {"status": p["status"]})
        paid = p["succeeded_at"].astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
        pdf = documents.document(
            [
                "BIÊN LAI THU PHÍ, LỆ PHÍ (điện tử)",
                f"Mã giao dịch: {p['_id']}",
                f"Hồ sơ: {p['dossier_code']}",
                f"Số tiền: {p['amount_vnd']:,} đ".replace(",", "."),
                f"Mã giao dịch của cổng thanh toán: {p.get('provider_txn')}",
                f"Thời gian: {paid}",
            ]
        )
        return files.download(f"bien-lai-{p['_id']}.pdf", "application/pdf", pdf)

    # -------------------------------------------------------------- refunds
    @rpc
    def refund(self, actor: dict, payment_id: str, request: dict, idempotency_key: str | None = None) -> dict:
        who = Actor.model_validate(actor)
        req = parse(RefundRequest, request, "refund")
        payment = self.store.payments.get(payment_id)
        if payment is None:
            raise exceptions.payment_not_found(payment_id)
        due = self.store.due(payment["dossier_code"]) or {}
        if not (
            who.role == "operator" or (who.role in ("leader", "agency_admin") and who.agency_id == due.get("agency_id"))
        ):
            raise catalogue.error("forbidden_role", None, "Chỉ lãnh đạo cơ quan hoặc quản trị cổng mới hoàn phí")
        # Ask processing for the case's status now: the event-fed copy may lag a step behind.
        status = self.processing.get_case(SYSTEM, payment["dossier_code"])["status"]
        if status in NO_REFUND_AFTER:
            raise exceptions.no_refund_uncollected()
        if payment["status"] != "succeeded":
            raise catalogue.error("not_paid", {"status": payment["status"]})
        amount = req.amount_vnd or (payment["amount_vnd"] - payment.get("refunded_vnd", 0))
        return self._refund(payment_id, amount, req.reason, False, key=idempotency_key)

    def _refund(self, payment_id: str, amount: int, reason: str, automatic: bool, key: str | None = None) -> dict:
        refund_id = f"REF{uuid.uuid4().hex[:16].upper()}"
        if key:
            refund_id = self.store.idempotent(f"refund:{key}", refund_id)
            existing = self.store.refunds.get(refund_id)
            if existing:
                return dump(Refund.model_validate(existing))

        # Reserve the amount on the payment: numbered transitions make concurrent
        # refunds take turns, so together they never exceed what was paid.
        def reserve(current: dict) -> tuple[dict, list[dict]]:
            remaining = current["amount_vnd"] - current.get("refunded_vnd", 0)
            if amount > remaining:
                raise exceptions.over_refund(remaining)
            return {"refunded_vnd": current.get("refunded_vnd", 0) + amount}, []

        payment, _ = self.store.payments.change(payment_id, reserve)
        now = utcnow()
        refund, _ = self.store.refunds.create(
            refund_id,
            {
                "id": refund_id,
                "payment_id": payment_id,
                "dossier_code": payment["dossier_code"],
                "amount_vnd": amount,
                "status": "created",
                "reason": reason,
                "automatic": automatic,
                "created_at": now,
            },
            [],
        )
        refund = self.store.refunds.transition(refund_id, refund["version"], {"status": "submitted"}, [])
        try:
            answer = self.provider.refund(payment["provider_txn"], amount, refund_id)
            changes = {"status": "refunded", "provider_txn": answer["refund_txn"], "refunded_at": utcnow()}
            events = [
                new_event(
                    RefundCompleted(
                        refund_id=refund_id,
                        payment_id=payment_id,
                        code=payment["dossier_code"],
                        amount_vnd=amount,
                        automatic=automatic,
                    ),
                    SYSTEM,
                    dossier_code=payment["dossier_code"],
                )
            ]
        except Exception as exc:
            changes, events = {"status": "failed", "error": str(exc)[:300]}, []
            self._release(payment_id, amount)
        refund = self.store.refunds.transition(refund_id, refund["version"], changes, events)
        self.store.refunds.publish(refund_id, refund["version"], self.dispatch)
        return dump(Refund.model_validate(refund))

    def _release(self, payment_id: str, amount: int) -> None:
        self.store.payments.change(payment_id, lambda current: ({"refunded_vnd": current["refunded_vnd"] - amount}, []))

    @rpc
    def refunds_for(self, actor: dict, payment_id: str) -> list[dict]:
        self._own(actor, payment_id)
        return [dump(Refund.model_validate(r)) for r in self.store.refunds.find({"payment_id": payment_id})]

    # -------------------------------------------------------- reconciliation
    @rpc
    def reconcile(self, day: str | None = None) -> dict:
        """Đối soát: the portal's successful payments and refunds of a day against the provider's statement."""
        day = day or (utcnow().astimezone(VN_TZ) - timedelta(days=1)).date().isoformat()
        start = datetime.fromisoformat(day).replace(tzinfo=VN_TZ)
        end = start + timedelta(days=1)
        portal = {}
        for p in self.store.payments.find():
            paid_at = p.get("succeeded_at") or p.get("late_paid_at")  # late: paid after expiry, then refunded
            if paid_at and start <= paid_at < end:
                portal[p["_id"]] = ("payment", p["amount_vnd"], p.get("provider_txn"))
        refunds = 0
        for r in self.store.refunds.find({"status": "refunded"}):
            if start <= r["refunded_at"] < end:
                portal[r["_id"]] = ("refund", r["amount_vnd"], r.get("provider_txn"))
                refunds += 1
        rows = []
        # The provider's statement is per UTC day; a Vietnamese day spans two of them.
        for utc_day in sorted(
            {start.astimezone(UTC).date().isoformat(), (end - timedelta(seconds=1)).astimezone(UTC).date().isoformat()}
        ):
            rows += self.provider.statement(utc_day)["transactions"]
        provider = {}
        for t in rows:
            at = datetime.fromisoformat(t["at"])
            if start <= at < end:
                provider[t["reference"]] = (t["kind"], int(t["amount"]), t["txn"])
        mismatches = []
        for ref, (kind, amount, _) in portal.items():
            if ref not in provider:
                mismatches.append(
                    Mismatch(
                        kind="missing_at_provider",
                        reference=ref,
                        portal_amount=amount,
                        detail=f"{kind} recorded by the portal, absent from the statement",
                    )
                )
            elif provider[ref][1] != amount:
                mismatches.append(
                    Mismatch(
                        kind="amount_differs",
                        reference=ref,
                        portal_amount=amount,
                        provider_amount=provider[ref][1],
                        detail=kind,
                    )
                )
        for ref, (kind, amount, txn) in provider.items():
            if ref not in portal:
                mismatches.append(
                    Mismatch(
                        kind="missing_at_portal",
                        reference=ref,
                        provider_amount=amount,
                        detail=f"{kind} {txn} on the statement, unknown to the portal",
                    )
                )
        report = Reconciliation(
            date=day,
            portal_payments=len(portal) - refunds,
            portal_refunds=refunds,
            provider_transactions=len(provider),
            mismatches=mismatches,
        )
        self.store.save_reconciliation(day, dump(report))
        return dump(report)
