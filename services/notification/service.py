"""Notification service: turns case events into inbox messages, emails and SMS
for the applicant (R14's electronic notice, R16's online return channels)."""

from __future__ import annotations

import base64
import logging
import traceback

from nameko.timer import timer

from services.common import error_catalogue as catalogue
from services.common.errors import NotFound
from services.common.event_contracts import (
    AccountRegistered,
    CaseStatusChanged,
    DossierSubmitted,
    FeedbackAnswered,
    IncidentOpened,
    IncidentResolved,
)
from services.common.events import Actor, Event, handles, utcnow
from services.common.messaging import RpcProxy, rpc
from services.common.mongo import MongoDatabase
from services.common.schemas import page_bounds
from services.common.service_base import PortalService
from services.common.settings import Settings

from .channels import SmtpEmail, sms_adapter
from .dependencies import NotificationStore
from .settings import NotificationSettings
from .templates import render

log = logging.getLogger(__name__)
SYSTEM = {"id": "notification", "role": "system"}


class NotificationService(PortalService):
    name = "notification"

    store: NotificationStore = MongoDatabase(NotificationStore)
    intake = RpcProxy("intake")
    processing = RpcProxy("processing")
    settings: NotificationSettings = Settings(NotificationSettings)

    # ------------------------------------------------------------ inputs
    @handles(AccountRegistered)
    def remember_contact(self, event: Event[AccountRegistered]) -> None:
        p = event.payload
        self.store.save_contact(p.account_id, {"name": p.name, "email": p.email, "phone": p.phone})

    @handles(CaseStatusChanged)
    def notify_applicant(self, event: Event[CaseStatusChanged]) -> None:
        p = event.payload
        rendered = render(p.action, p.wire())
        if rendered is None:
            return
        document = p.refusal_document.model_dump() if p.action == "return_with_reasons" and p.refusal_document else None
        contact = self.store.contact(p.applicant_id) or self._fetch_contact(p.applicant_id)
        self._notify(event.event_id, p.applicant_id, p.code, p.action, rendered, contact, document)

    @handles(DossierSubmitted)
    def notify_filed(self, event: Event[DossierSubmitted]) -> None:
        """The applicant hears at once that the dossier was filed, with its code and tracking secret:
        intake gives them to this service alone (the secret never travels on an event, which every
        service may keep); a ministry system's filing is answered to that system instead."""
        p = event.payload
        if p.channel == "ministry_system":
            return
        receipt = self.intake.filing_receipt(SYSTEM, p.code)
        walk_in = p.applicant_id.startswith("walk-in:")
        account_id = None if walk_in else p.applicant_id
        contact = receipt["contact"] if walk_in else (self.store.contact(account_id) or self._fetch_contact(account_id))
        self._notify(event.event_id, account_id, p.code, "filed", render("filed", receipt), contact, None)

    @handles(FeedbackAnswered)
    def notify_feedback_answer(self, event: Event[FeedbackAnswered]) -> None:
        """R19: the answer reaches the asker, signed in or not."""
        p = event.payload
        rendered = render(p.type, p.wire())
        self._notify(event.event_id, p.account_id, p.id, p.type, rendered, {"email": p.email, "phone": p.phone}, None)

    @handles(IncidentOpened)
    def notify_incident_opened(self, event: Event[IncidentOpened]) -> None:
        self._notify_operations(event)

    @handles(IncidentResolved)
    def notify_incident_resolved(self, event: Event[IncidentResolved]) -> None:
        self._notify_operations(event)

    def _notify_operations(self, event: Event[IncidentOpened] | Event[IncidentResolved]) -> None:
        """R24: the operations team hears of an incident and of its end."""
        p = event.payload
        contact = {"email": self.settings.operations_email, "phone": self.settings.operations_phone}
        self._notify(event.event_id, None, f"incident:{p.service}", p.type, render(p.type, p.wire()), contact, None)

    def _notify(
        self,
        event_id: str,
        account_id: str | None,
        reference: str,
        action: str,
        rendered: tuple[str, str, str],
        contact: dict,
        document: dict | None,
    ) -> None:
        subject, body, sms_text = rendered
        now = utcnow()
        if account_id:
            self.store.add_inbox(
                {
                    "_id": f"{event_id}:inbox",
                    "account_id": account_id,
                    "dossier_code": reference,
                    "action": action,
                    "subject": subject,
                    "body": body,
                    "created_at": now,
                    "read_at": None,
                    "document": {k: document[k] for k in ("id", "filename", "content_type", "sha256")}
                    if document
                    else None,
                }
            )
        for channel, to, content in (
            ("email", contact.get("email"), {"subject": subject, "body": body}),
            ("sms", contact.get("phone"), {"text": sms_text}),
        ):
            delivery = {
                "_id": f"{event_id}:{channel}",
                "event_id": event_id,
                "channel": channel,
                "account_id": account_id,
                "dossier_code": reference,
                "to": to,
                **content,
                "document": document,
                "status": "pending" if to else "no_contact",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            if self.store.add_delivery(delivery) and to:
                self._attempt(delivery)

    def _fetch_contact(self, account_id: str) -> dict:
        try:
            account = self.intake.get_account(account_id)
        except NotFound:
            return {}
        contact = {"name": account["name"], "email": account.get("email"), "phone": account.get("phone")}
        self.store.save_contact(account_id, contact)
        return contact

    # ---------------------------------------------------------- delivery
    def _attempt(self, delivery: dict) -> None:
        attempt = delivery.get("attempts", 0) + 1
        if not self.store.claim_attempt(delivery["_id"], attempt):
            return  # someone else is making this attempt
        error = None
        try:
            if delivery["channel"] == "email":
                attachment = self._attachment(delivery)
                SmtpEmail(self.settings).send(delivery["to"], delivery["subject"], delivery["body"], attachment)
            else:
                sms_adapter(self.settings.sms_adapter).send(delivery["to"], delivery["text"])
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("delivery %s attempt %d failed: %s", delivery["_id"], attempt, error)
            log.debug(traceback.format_exc())
        self.store.record_attempt(
            delivery["_id"], attempt, error, self.settings.delivery_max_attempts, self.settings.delivery_backoff_seconds
        )

    def _attachment(self, delivery: dict) -> dict | None:
        """R14: the notice carries the signed refusal document itself."""
        doc = delivery.get("document")
        if not doc:
            return None
        f = self.processing.get_file(SYSTEM, delivery["dossier_code"], doc["id"])
        return {
            "filename": f["filename"],
            "content_type": f["content_type"],
            "content": base64.b64decode(f["content_b64"]),
        }

    @timer(interval=2)
    def retry_deliveries(self) -> None:
        for delivery in self.store.due_deliveries(utcnow()):
            self._attempt(delivery)

    # ------------------------------------------------------------ inbox
    @rpc
    def inbox(self, actor: dict, page: int = 1, page_size: int = 20, unread_only: bool = False) -> dict:
        who = Actor.model_validate(actor)
        page, page_size = page_bounds(page, page_size)
        docs, total = self.store.inbox(who.id, (page - 1) * page_size, page_size, bool(unread_only))
        items = [
            {
                "id": d["_id"],
                "dossier_code": d["dossier_code"],
                "action": d["action"],
                "subject": d["subject"],
                "body": d["body"],
                "created_at": d["created_at"].isoformat(),
                "read_at": d["read_at"].isoformat() if d.get("read_at") else None,
                "document": d.get("document"),
            }
            for d in docs
        ]
        return {"items": items, "page": page, "page_size": page_size, "total": total}

    @rpc
    def mark_read(self, actor: dict, message_id: str) -> dict:
        who = Actor.model_validate(actor)
        doc = self.store.mark_read(who.id, message_id)
        if doc is None:
            raise catalogue.error("message_not_found", {"message_id": message_id})
        return {"id": doc["_id"], "read_at": doc["read_at"].isoformat()}

    @rpc
    def deliveries(self, actor: dict, dossier_code: str) -> list[dict]:
        """Delivery status per channel, for the operator."""
        if Actor.model_validate(actor).role != "operator":
            raise catalogue.error("not_found")
        docs = self.store.deliveries_of(dossier_code)
        return [
            {
                k: (v.isoformat() if hasattr(v, "isoformat") else v)
                for k, v in d.items()
                if k in ("_id", "channel", "status", "attempts", "last_error", "sent_at", "created_at")
            }
            for d in docs
        ]
