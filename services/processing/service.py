"""Processing service: opens a case for every filed dossier and runs it through
reception → specialist department → leader → result, with working-day deadlines
and a hash-chained history."""
from __future__ import annotations

import base64
import logging
import time as _time
from datetime import datetime
from typing import Any

from nameko.dependency_providers import Config
from nameko.timer import timer

from services.common import files
from services.common.calendar import deadline_flags, default_calendar
from services.common.errors import Conflict, Forbidden, NotFound
from services.common.events import Actor, EventEnvelope, consumer, new_event, utcnow
from services.common.messaging import EventDispatcher, RpcProxy, event_handler, rpc
from services.common.mongo import MongoDatabase
from services.common.service_base import PortalService
from services.common.schemas import dump, parse

from . import exceptions

from .dependencies import ProcessingStore
from .history import GENESIS, external_reference, make_entry, verify
from .schemas import (
    CLOCK_STATUSES, Case, CaseCommand, CaseHistory, CasePage, CaseSummary, ChainReport, Document, QueueQuery, Supplement,
    Timeline,
)
from .workflow import Context, Decision, clock_fields, decide

log = logging.getLogger(__name__)

SYSTEM = {"id": "processing", "role": "system"}
OFFICIALS = ("reception", "specialist", "leader", "agency_admin")


class ProcessingService(PortalService):
    name = "processing"
    versioned = ("cases",)

    store: ProcessingStore = MongoDatabase(ProcessingStore)
    dispatch = EventDispatcher()
    intake = RpcProxy("intake")
    config = Config()

    def _ctx(self, now: datetime | None = None) -> Context:
        def departments(agency_id: str) -> set[str]:
            agency = self.intake.get_agency(agency_id)
            return {d["id"] for d in agency.get("departments", [])}

        def agency_exists(agency_id: str) -> bool:
            try:
                self.intake.get_agency(agency_id)
                return True
            except NotFound:
                return False

        def store_document(kind: str, doc: Document) -> dict:
            content = files.decode(doc.content_b64, doc.filename)
            ctype = files.check(content, doc.filename, doc.content_type,
                                int(self.config.get("MAX_DOCUMENT_BYTES", 10 * 1024 * 1024)))
            digest = files.sha256(content)
            blob_id = f"{kind}-{digest[:32]}"
            chunks = self.store.files.put(blob_id, content)
            return {"id": blob_id, "filename": doc.filename, "content_type": ctype, "size": len(content),
                    "sha256": digest, "chunks": chunks}

        return Context(now=now or utcnow(), calendar=default_calendar(),
                       at_risk_days=float(self.config.get("AT_RISK_WORKING_DAYS", 1)),
                       departments=departments, agency_exists=agency_exists, store_document=store_document,
                       pay_at_desk=str(self.config.get("FEE_PAYABLE_AT_DESK", "true")).lower() == "true")

    def _commit(self, case: dict, actor: dict, action: str, decision: Decision, now: datetime,
                event_type: str = "case_status_changed") -> dict:
        """One numbered transition: the changes, the history entry chained to the last, the event."""
        version = case["version"] + 1
        changes = {**decision.changes, "updated_at": now}
        who = Actor.model_validate(actor).model_dump()
        entry = make_entry(case["code"], version, case.get("history_head", GENESIS), {**changes, "version": version},
                           action=action, from_status=case["status"], to_status=decision.to, actor=who, at=now,
                           reason=decision.reason)
        changes["history_head"] = entry["hash"]
        payload = {
            "code": case["code"], "action": action, "from": case["status"], "to": decision.to,
            "case_version": version, "agency_id": case["agency_id"],
            "department_id": changes.get("department_id", case.get("department_id")),
            "applicant_id": case["applicant_id"], "procedure_code": case["procedure_code"],
            "procedure_name": case["procedure_name"], "delivery_method": case["delivery_method"],
            "delivery_address": case.get("delivery_address"),
            "delivery_province_code": case.get("delivery_province_code"), "fee_vnd": case.get("fee_vnd", 0),
            "level": case["level"], "sector": case.get("sector"), "channel": case.get("channel"),
            "due_at": changes.get("due_at", case.get("due_at")), "reason": decision.reason, **decision.event,
        }
        event = new_event(event_type, who, payload, dossier_code=case["code"])
        updated = self.store.cases.transition(case["code"], case["version"], changes, [event],
                                              extra={"history": entry})
        self.store.cases.publish(case["code"], version, self.dispatch)
        return updated

    def _case(self, code: str) -> dict:
        case = self.store.case(code)
        if not case:
            raise exceptions.case_not_found(code)
        return case

    def _visible_to_official(self, case: dict, who: Actor) -> bool:
        if who.role in ("operator", "system"):
            return True
        if who.role not in OFFICIALS:
            return False
        if who.agency_id == case["agency_id"]:
            return True
        return any(r.get("agency_id") == who.agency_id for r in case.get("cohandling", []))

    # -------------------------------------------------------- open a case
    @event_handler("intake", "dossier_submitted")
    @consumer("intake", "dossier_submitted")
    def open_case(self, envelope: EventEnvelope) -> None:
        """Every filed dossier opens one case (idempotent: the case id is the dossier code)."""
        p = envelope.payload
        now = utcnow()
        code = p["code"]
        case = {
            "code": code, "procedure_code": p["procedure_code"], "procedure_version": p["procedure_version"],
            "procedure_name": p["procedure_name"], "agency_id": p["agency_id"], "sector": p.get("sector"),
            "field": p.get("field"), "level": p["level"], "handled_as_level": p.get("handled_as_level", p["level"]),
            "channel": p.get("channel", "online"), "applicant_id": p["applicant_id"],
            "delivery_method": p["delivery_method"], "delivery_address": p.get("delivery_address"),
            "delivery_province_code": p.get("delivery_province_code"),
            "fee_vnd": p.get("fee_vnd", 0), "processing_days": p["processing_days"],
            "fee_status": "unpaid" if p.get("handled_as_level") == 4 and p.get("fee_vnd", 0) > 0 else "not_required",
            "supplement_clock": p.get("supplement_clock", "restart"), "status": "submitted",
            "submitted_at": datetime.fromisoformat(p["submitted_at"]), "clock": [], "due_at": None,
            "statutory_due_at": None, "paused": False, "flags": {"at_risk": False, "overdue": False},
            "department_id": None, "cohandling": [], "apologies": [], "attachments": p.get("attachments", []),
            "opened_at": now, "updated_at": now, "opened_by_event": envelope.event_id,
            "origin": p.get("origin"),
        }
        entry = make_entry(code, 1, GENESIS, {**case, "version": 1}, action="open", from_status=None,
                           to_status="submitted", actor=envelope.actor.model_dump(), at=now,
                           reason=external_reference(p.get("origin")))
        case["history_head"] = entry["hash"]
        event = new_event("case_opened", SYSTEM, {"code": code, "agency_id": case["agency_id"],
                                                  "procedure_code": case["procedure_code"],
                                                  "applicant_id": case["applicant_id"]}, dossier_code=code)
        _, created = self.store.cases.create(code, case, [event], extra={"history": entry})
        if created:
            log.info("case opened at %s for procedure %s", case["agency_id"], case["procedure_code"])
            self.store.cases.publish(code, 1, self.dispatch)

    @event_handler("payment", "payment_succeeded")
    @consumer("payment", "payment_succeeded")
    def fee_paid(self, envelope: EventEnvelope) -> None:
        """The online payment arrived: the case may now be received."""
        code = envelope.payload["code"]
        while True:
            case = self.store.case(code)
            if case is None or case.get("fee_status") != "unpaid":
                return
            decision = Decision(case["status"], {"fee_status": "paid_online",
                                                 "payment_id": envelope.payload["payment_id"]}, None,
                                {"payment_id": envelope.payload["payment_id"]})
            try:
                self._commit(case, SYSTEM, "fee_paid", decision, utcnow())
                return
            except Conflict:
                continue

    @event_handler("postal", "shipment_lost")
    @consumer("postal", "shipment_lost")
    def redo_after_loss(self, envelope: EventEnvelope) -> None:
        """R30: the result was lost in the post: the agency redoes it (the case goes back to review)."""
        p = envelope.payload
        if p.get("kind") != "return" or not p.get("dossier_code"):
            return
        while True:
            case = self.store.case(p["dossier_code"])
            if case is None or case["status"] not in ("result_ready", "delivered"):
                return
            redo = {"shipment_id": p["shipment_id"], "requested_at": utcnow(), "reason": "lost in the post"}
            decision = Decision("in_review", {"status": "in_review", "redo": redo, "closed_at": None}, redo["reason"],
                                {"redo": redo})
            try:
                self._commit(case, SYSTEM, "redo_after_loss", decision, utcnow())
                return
            except Conflict:
                continue

    # ---------------------------------------------------------- officials
    @rpc
    def command(self, actor: dict, code: str, command: dict) -> dict:
        """One workflow step by an official (see workflow.RULES for who may do what)."""
        who = Actor.model_validate(actor).model_dump()
        cmd = parse(CaseCommand, command, "case command").root
        case = self._case(code)
        if not self._visible_to_official(case, Actor.model_validate(who)):
            raise exceptions.case_not_found(code)
        ctx = self._ctx()
        decision = decide(case, who, cmd, ctx)
        return dump(Case.model_validate(self._commit(case, who, cmd.action, decision, ctx.now)))

    @rpc
    def get_case(self, actor: dict, code: str) -> dict:
        case = self._case(code)
        if not self._visible_to_official(case, Actor.model_validate(actor)):
            raise exceptions.case_not_found(code)
        return dump(Case.model_validate(self._with_live_flags(case)))

    def _with_live_flags(self, case: dict) -> dict:
        if case["status"] in CLOCK_STATUSES and not case.get("paused"):
            at_risk = float(self.config.get("AT_RISK_WORKING_DAYS", 1))
            return {**case, "flags": deadline_flags(default_calendar(), utcnow(), case.get("due_at"), at_risk)}
        return case

    @rpc
    def queue(self, actor: dict, query: dict | None = None) -> dict:
        """Work queue (hàng đợi xử lý) of the official's agency, soonest due first."""
        who = Actor.model_validate(actor)
        if who.role not in OFFICIALS and who.role != "operator":
            raise Forbidden("Chỉ cán bộ mới xem được hàng đợi hồ sơ", None, "officials_only")
        q = parse(QueueQuery, query or {}, "queue query")
        filt: dict[str, Any] = {}
        if q.cohandling:
            filt["cohandling.agency_id"] = who.agency_id
        elif who.role != "operator":
            filt["agency_id"] = who.agency_id
        if q.status:
            filt["status"] = q.status
        if q.department_id:
            filt["department_id"] = q.department_id
        if q.flag:
            filt[f"flags.{q.flag}"] = True
        docs, total = self.store.queue(filt, (q.page - 1) * q.page_size, q.page_size)
        items = [CaseSummary.model_validate(self._with_live_flags(d)) for d in docs]
        return dump(CasePage(items=items, page=q.page, page_size=q.page_size, total=total))

    @rpc
    def history(self, actor: dict, code: str) -> dict:
        """Every entry of the case history with who did it and why (officials of the case's agency)."""
        case = self._case(code)
        if not self._visible_to_official(case, Actor.model_validate(actor)):
            raise exceptions.case_not_found(code)
        entries = [{**r["history"], "version": r["version"]} for r in self.store.history(code) if r.get("history")]
        return dump(CaseHistory(code=code, entries=entries))

    @rpc
    def verify_history(self, actor: dict, code: str) -> dict:
        case = self._case(code)
        who = Actor.model_validate(actor)
        if not (self._visible_to_official(case, who) or who.id == case["applicant_id"]):
            raise exceptions.case_not_found(code)
        report = verify(self.store.history(code))
        if report["valid"] and report.get("head") != case.get("history_head"):
            report = {**report, "valid": False, "broken_at": case["version"],
                      "reason": "case document differs from its history"}
        return dump(ChainReport(code=code, **{k: v for k, v in report.items() if k != "head"}))

    @rpc
    def get_file(self, actor: dict, code: str, file_id: str) -> dict:
        case = self._case(code)
        who = Actor.model_validate(actor)
        if not (self._visible_to_official(case, who) or who.id == case["applicant_id"]):
            raise exceptions.case_not_found(code)
        ref = next((r for r in (case.get("result_document"), case.get("refusal_document")) if r and r["id"] == file_id),
                   None)
        if ref is None or (who.id == case["applicant_id"] and ref is case.get("result_document")
                           and case["status"] not in ("result_ready", "delivered")):
            raise NotFound("Không tìm thấy văn bản", {"file_id": file_id}, "file_not_found")
        content = self.store.files.get(ref["id"], ref["chunks"], ref["sha256"])
        return {"filename": ref["filename"], "content_type": ref["content_type"], "sha256": ref["sha256"],
                "content_b64": base64.b64encode(content).decode()}

    # ------------------------------------------------------------ citizen
    def _own_case(self, actor: dict, code: str, wait: float = 0.0) -> dict:
        who = Actor.model_validate(actor)
        deadline = _time.monotonic() + wait
        while True:
            case = self.store.case(code)
            if case or _time.monotonic() >= deadline:
                break
            _time.sleep(0.2)
        if case is None:
            # The dossier may be filed but its case not opened yet (event in flight).
            if wait and self.intake.get_dossier(actor, code):
                raise exceptions.case_not_ready(code)
            raise exceptions.case_not_found(code)
        if case["applicant_id"] != who.id:
            raise exceptions.case_not_found(code)
        return case

    @rpc
    def withdraw(self, actor: dict, code: str, reason: str | None = None) -> dict:
        """Rút hồ sơ: the citizen withdraws before the agency receives it."""
        case = self._own_case(actor, code, wait=3.0)
        allowed = case["status"] == "submitted" or (
            case["status"] == "returned_for_supplement" and (case.get("supplement") or {}).get("stage") == "reception")
        if not allowed:
            raise exceptions.not_withdrawable(case["status"])
        now = utcnow()
        decision = Decision("withdrawn", {"status": "withdrawn", "withdrawn_at": now, "closed_at": now}, reason)
        try:
            updated = self._commit(case, actor, "withdraw", decision, now)
        except Conflict:
            current = self.store.case(code) or {"status": "unknown"}
            raise exceptions.not_withdrawable(current["status"]) from None
        return self._timeline(updated, public=False)

    @rpc
    def supplement(self, actor: dict, code: str, payload: dict) -> dict:
        """The citizen supplies what was missing; the clock restarts or resumes per the procedure."""
        sup = parse(Supplement, payload, "supplement")
        case = self._own_case(actor, code)
        if case["status"] != "returned_for_supplement":
            raise exceptions.not_supplementable(case["status"])
        now = utcnow()
        stage = (case.get("supplement") or {}).get("stage", "reception")
        record = {**case["supplement"], "supplied_at": now, "attachment_ids": sup.attachment_ids, "note": sup.note}
        changes: dict[str, Any] = {"supplement": record,
                                   "supplements": [*case.get("supplements", []), record]}
        if stage == "review":
            changes.update(clock_fields(case, [*case["clock"], {"kind": "resume", "at": now}], self._ctx(now)))
            to = "in_review"
        else:
            to = "submitted"
        changes["status"] = to
        try:
            updated = self._commit(case, actor, "supplement", Decision(to, changes, sup.note,
                                                                        {"attachment_ids": sup.attachment_ids}), now)
        except Conflict:
            raise exceptions.not_supplementable((self.store.case(code) or {}).get("status", "unknown")) from None
        return self._timeline(updated, public=False)

    @rpc
    def collect_result(self, actor: dict, code: str) -> dict:
        """Online return (R16): the citizen downloads the signed result; the case is delivered."""
        case = self._own_case(actor, code)
        if case["status"] not in ("result_ready", "delivered") or case["delivery_method"] != "online":
            raise exceptions.result_not_available(case["status"])
        ref = case["result_document"]
        content = self.store.files.get(ref["id"], ref["chunks"], ref["sha256"])
        if case["status"] == "result_ready":
            now = utcnow()
            decision = Decision("delivered", {"status": "delivered", "closed_at": now,
                                              "delivered": {"method": "online", "at": now, "by": actor["id"]}},
                                None, {"method": "online"})
            try:
                self._commit(case, actor, "deliver", decision, now)
            except Conflict:
                pass  # a parallel download delivered it: same result either way
        return {"filename": ref["filename"], "content_type": ref["content_type"], "sha256": ref["sha256"],
                "content_b64": base64.b64encode(content).decode()}

    @rpc
    def external_timeline(self, actor: dict, code: str, issue: str, procedures: list[str] | None) -> dict:
        """R31: a ministry system reads a dossier within its procedures; the read goes into the case
        history with the system and its X-Road-style issue reference."""
        who = Actor.model_validate(actor)
        if who.role != "ministry_system":
            raise Forbidden("Chỉ dành cho hệ thống của bộ, ngành", None, "ministry_systems_only")
        case = self.store.case(code)
        if case is None:
            raise exceptions.case_not_found(code)
        if procedures is not None and case["procedure_code"] not in procedures:
            raise Forbidden("Thủ tục nằm ngoài phạm vi được cấp cho hệ thống",
                            {"procedure_code": case["procedure_code"]}, "procedure_out_of_scope")
        while True:
            try:
                decision = Decision(case["status"], {}, external_reference({"system_id": who.id, "issue": issue}))
                case = self._commit(case, actor, "external_read", decision, utcnow(), event_type="case_accessed")
                break
            except Conflict:
                case = self._case(code)
        return self._timeline(case, public=False)

    @rpc
    def timeline(self, actor: dict | None, code: str) -> dict:
        """The citizen's view of their case; with actor None, the public view (no reasons, no documents)."""
        if actor is None:
            return self._timeline(self._case(code), public=True)
        return self._timeline(self._own_case(actor, code), public=False)

    def _timeline(self, case: dict, public: bool) -> dict:
        entries = []
        for record in self.store.history(case["code"]):
            h = record.get("history") or {}
            if not h or h.get("action") in ("deadline_flag", "external_read"):
                continue
            entries.append({"at": h["at"], "action": h["action"], "status": h["to_status"],
                            "agency_id": case["agency_id"], "reason": None if public else h.get("reason")})
        view = {**case, "entries": entries}
        if public:
            for key in ("reasons", "supplement", "result_document", "refusal_document"):
                view.pop(key, None)
        return dump(Timeline.model_validate(view))

    def extra_stats(self) -> dict:
        """Open cases at risk / overdue as of the last deadline sweep (for /metrics)."""
        doc = self.store.db.stats.find_one({"_id": "deadlines"}) or {}
        return {"cases_at_risk": doc.get("at_risk", 0), "cases_overdue": doc.get("overdue", 0)}

    # -------------------------------------------------------------- sweep
    @timer(interval=60)
    def deadline_sweep(self) -> None:
        self.sweep()

    @rpc
    def sweep(self) -> dict:
        """Flag at-risk and overdue cases (events for notification and reporting)."""
        now = utcnow()
        calendar = default_calendar()
        at_risk = float(self.config.get("AT_RISK_WORKING_DAYS", 1))
        checked = flagged = 0
        # Read first, write after: an open cursor holds a read transaction on
        # FerretDB/SQLite, and writes made while it is open wait on it.
        changed = []
        counts = {"at_risk": 0, "overdue": 0}
        for doc in self.store.running_clocks():
            checked += 1
            flags = deadline_flags(calendar, now, doc.get("due_at"), at_risk)
            for flag in counts:
                counts[flag] += bool(flags.get(flag))
            if flags != (doc.get("flags") or {}):
                changed.append((doc, flags))
        self.store.db.stats.replace_one({"_id": "deadlines"}, {"_id": "deadlines", **counts, "checked": checked,
                                                               "at": now}, upsert=True)
        for doc, flags in changed:
            case = self.store.case(doc["_id"])
            if case is None or case["version"] != doc["version"]:
                continue  # changed meanwhile; the next sweep sees it
            newly = [k for k, v in flags.items() if v and not (case.get("flags") or {}).get(k)]
            decision = Decision(case["status"], {"flags": flags}, None, {"flags": flags, "newly": newly})
            try:
                self._commit(case, SYSTEM, "deadline_flag", decision, now, event_type="case_deadline_flagged")
                flagged += 1
            except Conflict:
                continue
        return {"checked": checked, "flagged": flagged}
