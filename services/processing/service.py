"""Processing service: opens a case for every filed dossier and runs it through the stages its
procedure declares (reception → specialist department → leader → result), on working-day
deadlines and with a hash-chained history. Every change is a row of ``workflow.LIFECYCLE``."""

from __future__ import annotations

import logging
import time as _time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any, get_args

from contracts.processing import (
    Case,
    CaseCommand,
    CaseHistory,
    CasePage,
    CaseSummary,
    ChainReport,
    CommandBase,
    Document,
    QueueQuery,
    Timeline,
)
from services.common import error_catalogue as catalogue
from services.common import files
from services.common.calendar import default_calendar
from services.common.deadline_calendar import new_owner
from services.common.errors import Conflict, NotFound
from services.common.event_contracts import CaseOpened, DossierSubmitted, PaymentSucceeded, ShipmentLost
from services.common.events import Actor, Event, handles, new_event, utcnow
from services.common.messaging import EventDispatcher, RpcProxy, rpc, timer
from services.common.mongo import MongoDatabase
from services.common.roles import AGENCY_OFFICIALS, OFFICIALS
from services.common.schemas import dump, parse
from services.common.service_base import PortalService
from services.common.settings import Settings
from services.common.versioned import retry_stale

from . import exceptions
from .deadlines import due_day
from .dependencies import ProcessingStore
from .history import GENESIS, external_reference, make_entry, verify
from .schemas import (
    CLOCK_STATUSES,
    CollectResult,
    DeadlineFlag,
    ExternalRead,
    FeePaid,
    RedoAfterLoss,
    Supplement,
    SupplementCommand,
    Withdraw,
)
from .settings import ProcessingSettings
from .workflow import (
    NO_FLAGS,
    Context,
    Decision,
    available_actions,
    case_event,
    decide,
    flag_change_days,
    initial_case,
    live_flags,
)

log = logging.getLogger(__name__)

SYSTEM = {"id": "processing", "role": "system"}
SWEEP_CONCURRENCY = 8
SWEEP_CHUNK = 250  # cases read, then flagged, at a time
#: history entries a citizen's timeline leaves out: the agency's internal work and notes
INTERNAL_ACTIONS = (
    "deadline_flag",
    "external_read",
    "assign",
    "request_cohandling",
    "answer_cohandling",
    "propose",
    "send_back",
    "draft_refusal",
)


class ProcessingService(PortalService):
    name = "processing"
    versioned = ("cases",)

    store: ProcessingStore = MongoDatabase(ProcessingStore)
    dispatch = EventDispatcher()
    intake = RpcProxy("intake")
    settings: ProcessingSettings = Settings(ProcessingSettings)

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
            ctype = files.check(content, doc.filename, doc.content_type, self.settings.max_document_bytes)
            digest = files.sha256(content)
            blob_id = f"{kind}-{digest[:32]}"
            chunks = self.store.files.put(blob_id, content)
            return {
                "id": blob_id,
                "filename": doc.filename,
                "content_type": ctype,
                "size": len(content),
                "sha256": digest,
                "chunks": chunks,
            }

        return Context(
            now=now or utcnow(),
            calendar=default_calendar(),
            at_risk_days=self.settings.at_risk_working_days,
            departments=departments,
            agency_exists=agency_exists,
            store_document=store_document,
            pay_at_desk=self.settings.fee_payable_at_desk,
            reception_days=self.settings.reception_working_days,
        )

    def _commit(self, case: dict, actor: dict, action: str, decision: Decision, now: datetime) -> dict:
        """One numbered transition: the changes, the history entry chained to the last, the event."""
        prepared = self._prepare(case, actor, action, decision, now)
        updated = self.store.cases.transition(*prepared, dispatch=self.dispatch)
        self._after([(case, prepared[2])])
        return updated

    def _prepare(
        self, case: dict, actor: dict, action: str, decision: Decision, now: datetime
    ) -> tuple[str, int, dict, list[dict], dict]:
        """(doc id, expected version, changes, events, record extras) of a decision, ready to commit."""
        version = case["version"] + 1
        changes = {**decision.changes, "updated_at": now}
        who = Actor.model_validate(actor).model_dump()
        entry = make_entry(
            case["code"],
            version,
            case.get("history_head", GENESIS),
            {**changes, "version": version},
            action=action,
            from_status=case["status"],
            to_status=decision.to,
            actor=who,
            at=now,
            reason=decision.reason,
        )
        changes["history_head"] = entry["hash"]
        merged = {**case, **changes}
        event = new_event(case_event(case, action, decision, version), who, dossier_code=case["code"])
        if action != "deadline_flag":  # a flag moves neither a deadline nor the case's place in the queue
            # Noted before the commit: a crash in between leaves a harmless extra look, never a missed one.
            self.store.calendar.schedule(
                case["code"], flag_change_days(merged, self._ctx(now)), f"{case['code']}#{version}"
            )
            self.store.queue_index.note({**merged, "version": version})
        return case["code"], case["version"], changes, [event], {"history": entry}

    def _after(self, cases: list[tuple[dict, dict]]) -> None:
        """After commits: the set of raised flags follows each case's (case before, changes)."""
        self.store.note_flags(
            [
                (case["code"], {**NO_FLAGS, **(case.get("flags") or {})}, changes["flags"])
                for case, changes in cases
                if "flags" in changes
            ]
        )

    def _run(self, case: dict, actor: dict, command: type[CommandBase], **fields: Any) -> dict:
        """Decide and commit a step the service takes itself (the applicant's, the system's), trying
        again on the newer version when another change landed first."""

        def attempt(current: dict) -> dict:
            ctx = self._ctx()
            action = get_args(command.model_fields["action"].annotation)[0]  # the command's one Literal
            cmd = command.model_validate({"action": action, "expected_version": current["version"], **fields})
            return self._commit(current, actor, action, decide(current, actor, cmd, ctx), ctx.now)

        return retry_stale(case, attempt, lambda current: self._case(current["code"]))

    def _case(self, code: str) -> dict:
        case = self.store.case(code)
        if not case:
            raise exceptions.case_not_found(code)
        return case

    def _visible_to_official(self, case: dict, who: Actor) -> bool:
        if who.role in ("operator", "system"):
            return True
        if who.role not in AGENCY_OFFICIALS:
            return False
        if who.agency_id == case["agency_id"]:
            return True
        return any(r.get("agency_id") == who.agency_id for r in case.get("cohandling", []))

    # -------------------------------------------------------- open a case
    @handles(DossierSubmitted)
    def open_case(self, event: Event[DossierSubmitted]) -> None:
        """Every filed dossier opens one case (idempotent: the case id is the dossier code)."""
        p = event.payload
        now = utcnow()
        # Reception's deadline counts from the filing, however late the event arrives.
        filed = self._ctx(p.submitted_at)
        case = {**initial_case(p, now, filed), "opened_by_event": event.event_id}
        code = case["code"]
        entry = make_entry(
            code,
            1,
            GENESIS,
            {**case, "version": 1},
            action="open",
            from_status=None,
            to_status="submitted",
            actor=event.actor.model_dump(),
            at=now,
            reason=external_reference(p.origin.model_dump() if p.origin else None),
        )
        case["history_head"] = entry["hash"]
        notice = new_event(
            CaseOpened(
                code=code,
                agency_id=case["agency_id"],
                procedure_code=case["procedure_code"],
                applicant_id=case["applicant_id"],
                reception_due_date=case["reception_due_date"],
            ),
            SYSTEM,
            dossier_code=code,
        )
        self.store.calendar.schedule(code, flag_change_days(case, filed), f"{code}#1")
        self.store.queue_index.note({**case, "version": 1})
        opened, created = self.store.cases.create(
            code, case, [notice], extra={"history": entry}, dispatch=self.dispatch
        )
        if created:
            log.info("case opened at %s for procedure %s", case["agency_id"], case["procedure_code"])
        early = self.store.early_payment(code)
        if early:
            self._apply_fee(opened, early)

    @handles(PaymentSucceeded)
    def fee_paid(self, event: Event[PaymentSucceeded]) -> None:
        """The online payment arrived: the case may now be received."""
        code, payment_id = event.payload.code, event.payload.payment_id
        case = self.store.case(code)
        if case is None:
            # Paid before the filing's own event opened the case: keep it for the opening, then look
            # again (the opening writes then reads, we write then read: one of us sees the other).
            self.store.note_early_payment(code, payment_id)
            case = self.store.case(code)
            if case is None:
                return
        self._apply_fee(case, payment_id)

    def _apply_fee(self, case: dict, payment_id: str) -> None:
        if case.get("fee_status") != "unpaid":
            return
        try:
            self._run(case, SYSTEM, FeePaid, payment_id=payment_id)
        except Conflict as exc:
            if exc.code != "fee_not_due":  # paid meanwhile (a redelivery, or the opening applied it)
                raise

    @handles(ShipmentLost)
    def redo_after_loss(self, event: Event[ShipmentLost]) -> None:
        """R30: the result was lost in the post: the agency redoes it (the case goes back to review)."""
        p = event.payload
        if p.kind != "return" or not p.dossier_code:
            return
        case = self.store.case(p.dossier_code)
        if case is None or case["status"] not in ("result_ready", "delivered"):
            return
        try:
            self._run(case, SYSTEM, RedoAfterLoss, shipment_id=p.shipment_id)
        except Conflict as exc:
            if exc.code != "invalid_transition":  # already back in review (a redelivery)
                raise

    # ---------------------------------------------------------- officials
    @rpc
    def command(self, actor: dict, code: str, command: dict) -> dict:
        """One workflow step by an official (workflow.LIFECYCLE says who may do what)."""
        who = Actor.model_validate(actor).model_dump()
        cmd = parse(CaseCommand, command, "case command").root
        case = self._case(code)
        if not self._visible_to_official(case, Actor.model_validate(who)):
            raise exceptions.case_not_found(code)
        ctx = self._ctx()
        decision = decide(case, who, cmd, ctx)
        return self._case_view(self._commit(case, who, cmd.action, decision, ctx.now), who, ctx)

    @rpc
    def get_case(self, actor: dict, code: str) -> dict:
        case = self._case(code)
        if not self._visible_to_official(case, Actor.model_validate(actor)):
            raise exceptions.case_not_found(code)
        return self._case_view(case, actor, self._ctx())

    def _case_view(self, case: dict, actor: dict, ctx: Context) -> dict:
        view = self._with_live_flags(case, ctx)
        view["available_actions"] = available_actions(case, actor, ctx) if actor.get("role") != "system" else []
        return dump(Case.model_validate(view))

    def _with_live_flags(self, case: dict, ctx: Context) -> dict:
        """Flags as of now (the stored ones are as of the last sweep) and the stage's days left."""
        view = {**case, "flags": live_flags(case, ctx)}
        stage = case.get("stage")
        if stage and stage.get("due_date") and not case.get("paused"):
            view["stage"] = {
                **stage,
                "days_left": ctx.calendar.working_days_left(ctx.today, due_day(stage["due_date"])),
            }
        return view

    @rpc
    def queue(self, actor: dict, query: dict | None = None) -> dict:
        """Work queue (hàng đợi xử lý) of the official's agency, soonest due first."""
        who = Actor.model_validate(actor)
        if who.role not in OFFICIALS:
            raise catalogue.error("officials_only", None, "Chỉ cán bộ mới xem được hàng đợi hồ sơ")
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
        ctx = self._ctx()
        # an agency official's account always carries its agency (without one the full read finds nothing too)
        agency_id = who.agency_id
        if (
            not q.cohandling
            and who.role != "operator"
            and agency_id is not None
            and q.flag in (None, "at_risk", "overdue")
        ):
            docs, total = self._indexed_queue(agency_id, q, ctx)
        else:  # the co-handling and province-wide views, and the reception flags: rarer, read in full
            docs, total = self.store.queue(filt, (q.page - 1) * q.page_size, q.page_size)
        items = [CaseSummary.model_validate(self._with_live_flags(d, ctx)) for d in docs]
        return dump(CasePage(items=items, page=q.page, page_size=q.page_size, total=total))

    def _indexed_queue(self, agency_id: str, q: QueueQuery, ctx: Context) -> tuple[list[dict], int]:
        """An agency's queue page from the queue index (queue_index.py): a few reads by _id."""
        index = self.store.queue_index
        if not index.built():
            index.note_many(list(self.store.all_cases_for_queue()))
            index.mark_built()
        index.fold(wait=5.0)  # what was committed before this request is in the page
        overdue_before: date | None = None
        due_between: tuple[date, date] | None = None
        clock_statuses: tuple[str, ...] = ()
        if q.flag == "overdue":
            overdue_before, clock_statuses = ctx.today, CLOCK_STATUSES
        elif q.flag == "at_risk":
            until = ctx.calendar.add_working_days(ctx.today, ctx.at_risk_days) - timedelta(days=1)
            due_between, clock_statuses = (ctx.today, until), CLOCK_STATUSES
        codes, total = index.page(
            agency_id,
            (q.page - 1) * q.page_size,
            q.page_size,
            status=q.status,
            department=q.department_id,
            overdue_before=overdue_before,
            due_between=due_between,
            clock_statuses=clock_statuses,
        )
        with ThreadPoolExecutor(8) as pool:
            docs = [d for d in pool.map(self.store.case, codes) if d is not None]
        return docs, total

    @timer(interval=2)
    def fold_queue(self) -> None:
        self.store.queue_index.fold()

    @rpc
    def history(self, actor: dict, code: str) -> dict:
        """Every entry of the case history with who did it and why (officials of the case's agency)."""
        case = self._case(code)
        if not self._visible_to_official(case, Actor.model_validate(actor)):
            raise exceptions.case_not_found(code)
        entries = [
            {
                **r["history"],
                "version": r["version"],
                "amendments": (r.get("set", {}).get("supplement") or {}).get("amendments")
                if r["history"].get("action") == "supplement"
                else None,
                "department_id": r.get("set", {}).get("department_id"),
            }
            for r in self.store.history(code)
            if r.get("history")
        ]
        return dump(CaseHistory(code=code, entries=entries))

    @rpc
    def verify_history(self, actor: dict, code: str) -> dict:
        case = self._case(code)
        who = Actor.model_validate(actor)
        if not (self._visible_to_official(case, who) or who.id == case["applicant_id"]):
            raise exceptions.case_not_found(code)
        report = verify(self.store.history(code))
        if report["valid"] and report.get("head") != case.get("history_head"):
            report = {
                **report,
                "valid": False,
                "broken_at": case["version"],
                "reason": "case document differs from its history",
            }
        return dump(ChainReport(code=code, **{k: v for k, v in report.items() if k != "head"}))

    @rpc
    def get_file(self, actor: dict, code: str, file_id: str) -> dict:
        case = self._case(code)
        who = Actor.model_validate(actor)
        if not (self._visible_to_official(case, who) or who.id == case["applicant_id"]):
            raise exceptions.case_not_found(code)
        ref = next(
            (r for r in (case.get("result_document"), case.get("refusal_document")) if r and r["id"] == file_id), None
        )
        if ref is None or (
            who.id == case["applicant_id"]
            and ref is case.get("result_document")
            and case["status"] not in ("result_ready", "delivered")
        ):
            raise catalogue.error("file_not_found", {"file_id": file_id})
        return self._file(ref)

    def _file(self, ref: dict) -> dict:
        content = self.store.files.get(ref["id"], ref["chunks"], ref["sha256"])
        return files.download(ref["filename"], ref["content_type"], content, ref["sha256"])

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
        try:
            updated = self._run(case, actor, Withdraw, reason=reason)
        except Conflict:
            current = self.store.case(code) or {"status": "unknown"}
            raise exceptions.not_withdrawable(current["status"]) from None
        return self._timeline(updated, public=False)

    @rpc
    def supplement(self, actor: dict, code: str, payload: dict) -> dict:
        """Bổ sung và sửa đổi hồ sơ (Art. 15.4): files and corrected form fields, checked and staged by
        intake first, committed to the dossier only once the case has accepted the supplement — a
        refused supplement changes nothing. The clock restarts or resumes per the procedure."""
        sup = parse(Supplement, payload, "supplement")
        case = self._own_case(actor, code)
        if case["status"] != "returned_for_supplement":
            raise exceptions.not_supplementable(case["status"])
        staged: dict[str, Any] = {"staging_id": None, "attachments": [], "amendments": []}
        if sup.attachments or sup.form_changes:
            staged = self.intake.stage_supplement(actor, code, sup.attachments, sup.form_changes)
        try:
            updated = self._run(
                case,
                actor,
                SupplementCommand,
                staging_id=staged["staging_id"],
                note=sup.note,
                attachment_ids=[a["id"] for a in staged["attachments"]],
                amendments=staged["amendments"],
            )
        except Conflict:
            raise exceptions.not_supplementable((self.store.case(code) or {}).get("status", "unknown")) from None
        if staged["staging_id"]:
            # Intake also commits it on the case_status_changed event, should this call be lost.
            self.intake.commit_supplement(code, staged["staging_id"])
        return self._timeline(updated, public=False)

    @rpc
    def collect_result(self, actor: dict, code: str) -> dict:
        """Online return (R16): the citizen downloads the signed result; the case is delivered."""
        case = self._own_case(actor, code)
        if case["status"] not in ("result_ready", "delivered") or case["delivery_method"] != "online":
            raise exceptions.result_not_available(case["status"])
        result = self._file(case["result_document"])
        if case["status"] == "result_ready":
            try:
                self._run(case, actor, CollectResult)
            except Conflict:
                pass  # a parallel download delivered it: same result either way
        return result

    @rpc
    def external_timeline(self, actor: dict, code: str, issue: str, procedures: list[str] | None) -> dict:
        """R31: a ministry system reads a dossier within its procedures; the read goes into the case
        history with the system and its X-Road-style issue reference."""
        who = Actor.model_validate(actor)
        if who.role != "ministry_system":
            raise catalogue.error("ministry_systems_only")
        case = self._case(code)
        if procedures is not None and case["procedure_code"] not in procedures:
            raise catalogue.error("procedure_out_of_scope", {"procedure_code": case["procedure_code"]})
        return self._timeline(self._run(case, actor, ExternalRead, system_id=who.id, issue=issue), public=False)

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
            if not h or h.get("action") in INTERNAL_ACTIONS:
                continue
            entries.append(
                {
                    "at": h["at"],
                    "action": h["action"],
                    "status": h["to_status"],
                    "agency_id": case["agency_id"],
                    "reason": None if public else h.get("reason"),
                }
            )
        view = {**case, "entries": entries}
        if public:
            for key in ("reasons", "supplement", "result_document", "refusal_document", "fee_vnd"):
                view.pop(key, None)
        return dump(Timeline.model_validate(view))

    def extra_stats(self) -> dict:
        """Open cases at risk / overdue (for /metrics), from the small set of flagged cases."""
        counts = self.store.flagged_counts()
        return {
            "cases_at_risk": counts.get("at_risk", 0),
            "cases_overdue": counts.get("overdue", 0),
            "cases_reception_overdue": counts.get("reception_overdue", 0),
        }

    # -------------------------------------------------------------- sweep
    @timer(interval=60)
    def deadline_sweep(self) -> None:
        self.sweep(wait=0)  # a sweep in progress (another replica's) does it

    @rpc
    def sweep(self, wait: float = 300) -> dict:
        """Raise and lower the at-risk / overdue flags (processing clock and reception) of the cases
        whose flags can change today — read from the deadline calendar, not by scanning every open
        case — each change a transition with a ``case_deadline_flagged`` event (notification,
        reporting). One sweeper at a time: the timer skips a sweep while another runs; asked for one
        (the operator's route), it waits for the running one to end and sweeps after it."""
        owner = new_owner()
        if not self.store.calendar.lock(owner, wait):
            return {"checked": 0, "flagged": 0, "busy": True}
        try:
            ctx = self._ctx()
            if not self.store.calendar.built():
                # Cases opened before the calendar existed: schedule them once.
                self.store.calendar.schedule_many(
                    (d["_id"], flag_change_days(d, ctx), f"{d['_id']}#{d['version']}")
                    for d in list(self.store.open_deadlines())
                )
                self.store.calendar.mark_built()
            due = sorted(self.store.calendar.due(ctx.today))
            chunks = [due[i : i + SWEEP_CHUNK] for i in range(0, len(due), SWEEP_CHUNK)]
            checked = flagged = 0
            # Reads cost round trips, several at a time; the next chunk's are read while this chunk's
            # flags are written (FerretDB serves reads beside its one writer).
            with ThreadPoolExecutor(SWEEP_CONCURRENCY) as readers, ThreadPoolExecutor(1) as ahead:

                def read(codes: list[str]) -> list[dict]:
                    return [c for c in readers.map(self.store.case, codes) if c is not None]

                reading = [ahead.submit(read, chunk) for chunk in chunks[:1]]
                for n in range(len(chunks)):
                    cases = reading.pop().result()
                    reading += [ahead.submit(read, chunk) for chunk in chunks[n + 1 : n + 2]]
                    checked += len(cases)
                    flagged += self._flag(cases, ctx)
            self.store.calendar.swept(ctx.today)
            return {"checked": checked, "flagged": flagged}
        finally:
            self.store.calendar.unlock(owner)

    def _flag(self, cases: list[dict], ctx: Context) -> int:
        """The sweep's flag changes among ``cases``, each a transition; how many were committed."""
        changed = [c for c in cases if live_flags(c, ctx) != {**NO_FLAGS, **(c.get("flags") or {})}]
        prepared = [
            self._prepare(
                c,
                SYSTEM,
                "deadline_flag",
                decide(c, SYSTEM, DeadlineFlag(action="deadline_flag", expected_version=c["version"]), ctx),
                ctx.now,
            )
            for c in changed
        ]
        # A round trip each for the claims, the records and the markers of many flag changes, and
        # the cases as read here: each projection is one update, without reading the case again.
        results = self.store.cases.transition_many(prepared, self.dispatch, SWEEP_CONCURRENCY, current=changed)
        for case, updated in zip(changed, results, strict=True):
            if updated is None:  # changed meanwhile: look again in the next sweep
                self.store.calendar.schedule(case["code"], [ctx.today], f"{case['code']}#retry-{new_owner()}")
        self._after(
            [(case, items[2]) for case, items, updated in zip(changed, prepared, results, strict=True) if updated]
        )
        return sum(r is not None for r in results)


__all__ = ["ProcessingService", "CLOCK_STATUSES"]
