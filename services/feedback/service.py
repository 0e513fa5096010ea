"""Feedback service (R17–R19): feedback and questions from every channel, routed to the agency
concerned, answered within 3 working days or escalated to the province office."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from nameko.timer import timer

from contracts.feedback import (
    Answer,
    FeedbackPage,
    FeedbackQuery,
    FeedbackView,
    NewFeedback,
    PublicPage,
    PublicQuery,
    PublicQuestion,
    Rating,
    StaffEntry,
)
from services.common import error_catalogue as catalogue
from services.common.calendar import as_date, deadline_flags, default_calendar
from services.common.deadline_calendar import flag_days, new_owner
from services.common.errors import Conflict, NotFound
from services.common.event_contracts import DossierRated, FeedbackAnswered, FeedbackEscalated, FeedbackReceived
from services.common.events import Actor, new_event, utcnow
from services.common.messaging import EventDispatcher, RpcProxy, rpc
from services.common.mongo import MongoDatabase
from services.common.roles import AGENCY_OFFICIALS, OFFICIALS
from services.common.schemas import dump, parse
from services.common.service_base import PortalService
from services.common.settings import Settings
from services.common.text import words_regex

from . import exceptions
from .dependencies import FeedbackStore
from .redact import redact
from .settings import FeedbackSettings

ANSWER_DAYS = 3  # Art. 11
SYSTEM = {"id": "feedback", "role": "system"}


class FeedbackService(PortalService):
    name = "feedback"
    versioned = ("items",)

    store: FeedbackStore = MongoDatabase(FeedbackStore)
    dispatch = EventDispatcher()
    intake = RpcProxy("intake")
    processing = RpcProxy("processing")
    settings: FeedbackSettings = Settings(FeedbackSettings)

    def _now(self) -> datetime:
        return utcnow()

    @staticmethod
    def _due_date(doc: dict) -> date:
        """The answer's due day (Art. 11: 3 working days; until 24:00 local of that day)."""
        return as_date(doc.get("due_date")) or default_calendar().local_date(doc["due_at"] - timedelta(seconds=1))

    # -------------------------------------------------------------- intake
    def _route(self, item: NewFeedback) -> str:
        """The agency concerned: the dossier's, else the procedure's, else the one named."""
        if item.dossier_code:
            try:
                return self.processing.get_case(SYSTEM, item.dossier_code)["agency_id"]
            except NotFound:
                raise catalogue.error("unknown_dossier", {"dossier_code": item.dossier_code}) from None
        if item.procedure_code:
            try:
                return self.intake.get_procedure(item.procedure_code)["agency_id"]
            except NotFound:
                raise catalogue.error("unknown_procedure", {"procedure_code": item.procedure_code}) from None
        try:
            return self.intake.get_agency(item.agency_id)["id"]
        except NotFound:
            raise catalogue.error("unknown_agency", {"agency_id": item.agency_id}) from None

    def _record(self, item: NewFeedback, channel: str, asker: dict, received_at: datetime, by: dict) -> dict:
        agency_id = self._route(item)
        fid = f"GY{uuid.uuid4().hex[:14].upper()}"
        cal = default_calendar()
        due_date = cal.due_date(received_at, ANSWER_DAYS)
        due = cal.end_of_day(due_date)
        doc = {
            "id": fid,
            "channel": channel,
            "kind": item.kind,
            "subject": item.subject,
            "body": item.body,
            "agency_id": agency_id,
            "procedure_code": item.procedure_code,
            "dossier_code": item.dossier_code,
            "publish_consent": item.publish_consent,
            "asker": asker,
            "status": "received",
            "received_at": received_at,
            "due_date": due_date.isoformat(),
            "due_at": due,
            "flags": {"at_risk": False, "overdue": False},
            "escalated": False,
            "recorded_by": by,
        }
        self.store.calendar.schedule(fid, flag_days(cal, due_date, self._at_risk_days()), f"{fid}#1")
        event = new_event(
            FeedbackReceived(
                id=fid,
                agency_id=agency_id,
                channel=channel,
                kind=item.kind,
                due_at=due,
                due_date=due_date,
                procedure_code=item.procedure_code,
            ),
            by,
        )
        created, _ = self.store.items.create(fid, doc, [event])
        self.store.items.publish(fid, 1, self.dispatch)
        return dump(FeedbackView.model_validate(created))

    @rpc
    def submit(self, actor: dict | None, payload: dict) -> dict:
        """From the portal's Q&A form (hỏi đáp), signed in or anonymous with a contact."""
        item = parse(NewFeedback, payload, "feedback")
        if actor:
            who = Actor.model_validate(actor)
            account = self.intake.get_account(who.id)
            asker = {
                "account_id": who.id,
                "name": account["name"],
                "email": account.get("email"),
                "phone": account.get("phone"),
            }
            by = who.model_dump()
        else:
            if item.contact is None:
                raise catalogue.error("contact_required")
            asker = {"account_id": None, **item.contact.model_dump()}
            by = {"id": "anonymous", "role": "public"}
        return self._record(item, "portal", asker, self._now(), by)

    @rpc
    def record(self, actor: dict, payload: dict) -> dict:
        """An official records feedback received by email, phone or in writing."""
        who = Actor.model_validate(actor)
        if who.role not in OFFICIALS:
            raise catalogue.error("officials_only", None, "Chỉ cán bộ mới ghi nhận phản ánh từ các kênh khác")
        item = parse(StaffEntry, payload, "feedback")
        if item.contact is None:
            raise catalogue.error("contact_required")
        received = item.received_at or self._now()
        return self._record(
            item, item.channel, {"account_id": None, **item.contact.model_dump()}, received, who.model_dump()
        )

    # ------------------------------------------------------------- answers
    def _item(self, fid: str) -> dict:
        doc = self.store.items.get(fid)
        if not doc:
            raise exceptions.feedback_not_found(fid)
        return doc

    def _may_handle(self, who: Actor, doc: dict) -> bool:
        return who.role == "operator" or (who.role in AGENCY_OFFICIALS and who.agency_id == doc["agency_id"])

    @rpc
    def answer(self, actor: dict, fid: str, payload: dict) -> dict:
        who = Actor.model_validate(actor)
        ans = parse(Answer, payload, "answer")
        doc = self._item(fid)
        if not self._may_handle(who, doc):
            raise exceptions.feedback_not_found(fid)
        if doc["status"] == "answered":
            raise catalogue.error("already_answered")
        now = self._now()
        on_time = default_calendar().local_date(now) <= self._due_date(doc)
        event = new_event(
            FeedbackAnswered(
                id=fid,
                agency_id=doc["agency_id"],
                on_time=on_time,
                subject=doc["subject"],
                answer=ans.answer,
                account_id=doc["asker"].get("account_id"),
                email=doc["asker"].get("email"),
                phone=doc["asker"].get("phone"),
                name=doc["asker"].get("name"),
                channel=doc["channel"],
            ),
            who,
        )
        updated = self.store.items.transition(
            fid,
            doc["version"],
            {
                "status": "answered",
                "answer": ans.answer,
                "answered_at": now,
                "answered_by": who.id,
                "on_time": on_time,
                "flags": {"at_risk": False, "overdue": False},
            },
            [event],
        )
        self.store.items.publish(fid, updated["version"], self.dispatch)
        if doc["publish_consent"]:
            names = [doc["asker"].get("name") or ""]
            self.store.publish_question(
                {
                    "_id": fid,
                    "id": fid,
                    "subject": redact(doc["subject"], names),
                    "body": redact(doc["body"], names),
                    "answer": redact(ans.answer, names),
                    "agency_id": doc["agency_id"],
                    "procedure_code": doc.get("procedure_code"),
                    "answered_at": now,
                }
            )
        return dump(FeedbackView.model_validate(updated))

    @rpc
    def queue(self, actor: dict, query: dict | None = None) -> dict:
        """The agency's feedback to answer, soonest due first; the operator sees escalated items."""
        who = Actor.model_validate(actor)
        q = parse(FeedbackQuery, query or {}, "query")
        if who.role == "operator":
            filt: dict[str, Any] = {"escalated": True}
        elif who.role in AGENCY_OFFICIALS:
            filt = {"agency_id": who.agency_id}
        else:
            raise catalogue.error("officials_only", None, "Chỉ cán bộ mới xem được phản ánh")
        if q.status:
            filt["status"] = q.status
        if q.flag:
            filt[f"flags.{q.flag}"] = True
        docs, total = self.store.items.page(filt, [("due_at", 1)], q.page, q.page_size)
        return dump(
            FeedbackPage(
                items=[FeedbackView.model_validate(d) for d in docs], page=q.page, page_size=q.page_size, total=total
            )
        )

    @rpc
    def get(self, actor: dict, fid: str) -> dict:
        who = Actor.model_validate(actor)
        doc = self._item(fid)
        if not (self._may_handle(who, doc) or doc["asker"].get("account_id") == who.id):
            raise exceptions.feedback_not_found(fid)
        return dump(FeedbackView.model_validate(doc))

    # --------------------------------------------------------------- clock
    @timer(interval=60)
    def answer_clock(self) -> None:
        self.sweep(wait=0)  # a sweep in progress (another replica's) does it

    def _at_risk_days(self) -> int:
        return self.settings.feedback_at_risk_working_days

    @rpc
    def sweep(self, wait: float = 300) -> dict:
        """At-risk and overdue flags; overdue items escalate to the province office (R19). Reads only
        the items whose flags can change today (the deadline calendar), one sweeper at a time (asked
        for one, it waits for a sweep in progress)."""
        owner = new_owner()
        if not self.store.calendar.lock(owner, wait):
            return {"checked": 0, "escalated": 0, "busy": True}
        try:
            return self._sweep()
        finally:
            self.store.calendar.unlock(owner)

    def _sweep(self) -> dict:
        now = self._now()
        cal = default_calendar()
        at_risk_days = self._at_risk_days()
        today = cal.local_date(now)
        if not self.store.calendar.built():
            self.store.calendar.schedule_many(
                (d["_id"], flag_days(cal, self._due_date(d), at_risk_days), f"{d['_id']}#calendar")
                for d in list(self.store.open_items())
            )
            self.store.calendar.mark_built()
        checked = escalated = 0
        for fid in sorted(self.store.calendar.due(today)):
            doc = self.store.items.get(fid)
            if doc is None or doc["status"] != "received":
                continue
            checked += 1
            flags = deadline_flags(cal, now, self._due_date(doc), at_risk_days)
            if flags == doc.get("flags") and not (flags["overdue"] and not doc.get("escalated")):
                continue
            changes: dict[str, Any] = {"flags": flags}
            events = []
            if flags["overdue"] and not doc.get("escalated"):
                changes.update(escalated=True, escalated_at=now)
                events.append(
                    new_event(
                        FeedbackEscalated(
                            id=doc["_id"],
                            agency_id=doc["agency_id"],
                            due_at=doc["due_at"],
                            due_date=self._due_date(doc),
                        ),
                        SYSTEM,
                    )
                )
                escalated += 1
            try:
                updated = self.store.items.transition(doc["_id"], doc["version"], changes, events)
                self.store.items.publish(doc["_id"], updated["version"], self.dispatch)
            except Conflict:
                self.store.calendar.schedule(fid, [today], f"{fid}#retry-{new_owner()}")
        self.store.calendar.swept(today)
        return {"checked": checked, "escalated": escalated}

    # -------------------------------------------------------------- public
    @rpc
    def public_questions(self, query: dict | None = None) -> dict:
        """Hỏi đáp công khai: answered questions their askers allowed to publish, personal data removed."""
        q = parse(PublicQuery, query or {}, "query")
        filt: dict[str, Any] = {}
        if q.procedure_code:
            filt["procedure_code"] = q.procedure_code
        if q.agency_id:
            filt["agency_id"] = q.agency_id
        if q.q and words_regex(q.q):
            filt["$and"] = words_regex(q.q)
        docs, total = self.store.public_questions(filt, q.page, q.page_size)
        return dump(
            PublicPage(
                items=[PublicQuestion.model_validate(d) for d in docs], page=q.page, page_size=q.page_size, total=total
            )
        )

    # ------------------------------------------------------------- ratings
    @rpc
    def get_rating(self, actor: dict, code: str) -> dict | None:
        """The applicant's own rating of a dossier, or None (the page then offers the form)."""
        doc = self.store.rating(code)
        if doc is None or doc["account_id"] != Actor.model_validate(actor).id:
            return None
        return {"dossier_code": code, "score": doc["score"], "comment": doc.get("comment")}

    @rpc
    def rate(self, actor: dict, code: str, payload: dict) -> dict:
        """Đánh giá mức độ hài lòng: once per dossier, after delivery, by its applicant."""
        who = Actor.model_validate(actor)
        rating = parse(Rating, payload, "rating")
        timeline = self.processing.timeline(who.model_dump(), code)  # 404 unless it is the applicant's
        if timeline["status"] != "delivered":
            raise exceptions.not_delivered(timeline["status"])
        doc = {
            "_id": code,
            "account_id": who.id,
            "agency_id": timeline["agency_id"],
            "score": rating.score,
            "comment": rating.comment,
            "at": self._now(),
        }
        if not self.store.add_rating(doc):
            raise exceptions.already_rated(code)
        event = new_event(
            DossierRated(code=code, agency_id=timeline["agency_id"], score=rating.score), who, dossier_code=code
        )
        self.dispatch(DossierRated.type, event)
        return {"dossier_code": code, "score": rating.score, "comment": rating.comment}
