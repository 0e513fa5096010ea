"""The case lifecycle (vòng đời hồ sơ) as one declarative table: every transition, who may make
it, from which statuses, and the step that computes its changes.

``LIFECYCLE`` is the whole of it — officials' workflow steps, the applicant's withdrawal,
supplement and online collection, the system's fee-paid, redo-after-loss and deadline flags,
and a ministry system's read. ``decide`` checks the guards in a fixed order (who → version →
status → "past due needs an apology first") and returns the changes; it is pure apart from the
callables in :class:`Context`, so it is tested without a database. The service commits a
decision as one numbered transition (services.common.versioned) with its history entry and event.

Who acts on an official step comes from the procedure's declared workflow
(services.common.workflows): the roles of the stage the case is in. Every stage change is
recorded with its due day and whether it finished late (R32).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.common import error_catalogue as catalogue
from services.common.calendar import WorkingCalendar, as_date, deadline_flags
from services.common.deadline_calendar import flag_days
from services.common.errors import Conflict, Forbidden, ValidationFailed
from services.common.event_contracts import (
    CaseAccessed,
    CaseDeadlineFlagged,
    CaseEvent,
    CaseStatusChanged,
    DossierFacts,
    DossierSubmitted,
)
from services.common.workflows import KIND_VI, ROLE_VI, default_workflow

from .deadlines import compute_due, is_paused, stage_due
from .history import external_reference
from .schemas import CLOCK_STATUSES

#: which stage kind a case in a status is at (returned_for_supplement: where it was asked)
STAGE_OF_STATUS = {
    "submitted": "reception",
    "received": "assignment",
    "in_review": "review",
    "proposed": "approval",
    "refusal_drafted": "approval",
    "approved": "result",
    "result_ready": "result",
    "refusal_signed": "result",
}
OPEN_STATUSES = (*STAGE_OF_STATUS, "returned_for_supplement")
NO_FLAGS = {"at_risk": False, "overdue": False, "reception_at_risk": False, "reception_overdue": False}


@dataclass
class Decision:
    to: str
    changes: dict[str, Any]
    reason: str | None = None
    event: dict[str, Any] = field(default_factory=dict)  # the fields of this action in its event
    event_model: type[CaseEvent] = CaseStatusChanged


@dataclass
class Context:
    now: datetime
    calendar: WorkingCalendar
    at_risk_days: int
    departments: Callable[[str], set[str]]  # agency id → its department ids
    agency_exists: Callable[[str], bool]
    store_document: Callable[[str, Any], dict]  # (kind, Document) → file ref
    pay_at_desk: bool = False
    reception_days: int = 1

    @property
    def today(self) -> date:
        return self.calendar.local_date(self.now)


Step = Callable[[dict, dict, Any, Context], Decision]


@dataclass(frozen=True)
class Transition:
    """One row of the lifecycle. ``by``: "stage" (the roles of the case's current stage),
    "roles" (``roles``, any stage), "cohandler" (the department/agency a co-handling request
    went to), "applicant", "system" or "ministry_system"."""

    sources: tuple[str, ...]
    by: str
    step: Step
    label: str
    to: str = ""  # the status after ("" = unchanged, "*" = decided by the step); documentation and tests
    stage: str | tuple[str, ...] = ()  # by="stage": the stage kind(s) whose roles act
    roles: tuple[str, ...] = ()
    apology_gate: bool = True
    event_model: type[CaseEvent] = CaseStatusChanged


# ---------------------------------------------------------------- helpers
def workflow_of(case: dict) -> dict:
    return case.get("workflow") or default_workflow()


def stage_kind(case: dict, status: str | None = None) -> str | None:
    status = status or case["status"]
    if status == "returned_for_supplement":
        return (case.get("supplement") or {}).get("stage", "reception")
    return STAGE_OF_STATUS.get(status)


def stage_def(case: dict, kind: str | None = None) -> dict | None:
    kind = kind or stage_kind(case)
    return next((s for s in workflow_of(case)["stages"] if s["kind"] == kind), None)


def has_stage(case: dict, kind: str) -> bool:
    return any(s["kind"] == kind for s in workflow_of(case)["stages"])


def _role_error(action: str, roles: tuple[str, ...] | list[str], stage: dict | None) -> Forbidden:
    who = ", ".join(ROLE_VI.get(r, r) for r in roles)
    where = f" ở bước '{stage['name']}'" if stage else ""
    return catalogue.error(
        "forbidden_role",
        {"required_roles": list(roles), "stage": stage["code"] if stage else None},
        f"Thao tác '{LIFECYCLE[action].label}'{where} do {who} thực hiện",
    )


def _open_request(case: dict, request_id: str) -> dict:
    request = next((r for r in case.get("cohandling", []) if r["id"] == request_id), None)
    if request is None:
        raise catalogue.error("unknown_request", {"request_id": request_id})
    if request["status"] != "open":
        raise catalogue.error("request_closed", {"request_id": request_id})
    return request


def _check_actor(case: dict, actor: dict, cmd: Any, t: Transition) -> None:
    action, role = cmd.action, actor.get("role")
    if t.by == "system":
        if role != "system":
            raise catalogue.error("system_only", {"action": action})
        return
    if t.by == "ministry_system":
        if role != "ministry_system":
            raise catalogue.error("ministry_systems_only")
        return
    if t.by == "applicant":
        if actor.get("id") != case["applicant_id"]:
            raise catalogue.error("not_applicant")
        return
    if t.by == "cohandler":
        if role not in ("specialist", "leader"):
            raise _role_error(action, ("specialist", "leader"), None)
        request = _open_request(case, cmd.request_id)
        target_agency = request.get("agency_id") or case["agency_id"]
        ok = actor.get("agency_id") == target_agency and (
            request.get("agency_id") is not None or actor.get("department_id") == request.get("department_id")
        )
        if not ok:
            raise catalogue.error("not_cohandler", {"request_id": cmd.request_id})
        return
    stage = stage_def(case, _acting_stage(case, t)) if t.by == "stage" else None
    roles = tuple(stage["roles"]) if stage else t.roles
    if role not in roles:
        raise _role_error(action, roles, stage)
    if actor.get("agency_id") != case["agency_id"]:
        raise catalogue.error("other_agency", {"agency_id": case["agency_id"]})
    # A specialist acts only on the dossiers of their own department.
    if (
        stage
        and stage["kind"] == "review"
        and role == "specialist"
        and actor.get("department_id") != case.get("department_id")
    ):
        raise catalogue.error("other_department", {"department_id": case.get("department_id")})


def _acting_stage(case: dict, t: Transition) -> str:
    """The stage whose roles make this step: its own, or (a step of several stages) the current one."""
    if isinstance(t.stage, str):
        return t.stage
    current = stage_kind(case)
    return current if current in t.stage else t.stage[-1]


def needs_apology(case: dict, now: datetime, calendar: WorkingCalendar) -> bool:
    """Past its due day with the clock running: an apology letter with a new day comes first."""
    due = as_date(case.get("due_date"))
    return (
        case["status"] in CLOCK_STATUSES
        and not case.get("paused")
        and due is not None
        and calendar.local_date(now) > due
    )


def live_flags(case: dict, ctx: Context) -> dict[str, bool]:
    """At risk / overdue now: the processing clock while it runs; reception while it waits."""
    flags = dict(NO_FLAGS)
    if case["status"] in CLOCK_STATUSES and not case.get("paused"):
        flags.update(deadline_flags(ctx.calendar, ctx.now, as_date(case.get("due_date")), ctx.at_risk_days))
    if case["status"] == "submitted" and case.get("reception_due_date"):
        f = deadline_flags(ctx.calendar, ctx.now, as_date(case["reception_due_date"]), ctx.at_risk_days)
        flags.update(reception_at_risk=f["at_risk"], reception_overdue=f["overdue"])
    return flags


def flag_change_days(case: dict, ctx: Context) -> list[date]:
    """The days the case's flags may change as it stands (for the deadline calendar the sweep reads)."""
    days: list[date] = []
    if case["status"] in CLOCK_STATUSES and not case.get("paused"):
        days += flag_days(ctx.calendar, as_date(case.get("due_date")), ctx.at_risk_days)
    if case["status"] == "submitted":
        days += flag_days(ctx.calendar, as_date(case.get("reception_due_date")), ctx.at_risk_days)
    return days


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def clock_fields(case: dict, clock: list[dict], ctx: Context) -> dict:
    """The due day and its instant after replaying ``clock`` (deadlines are pure of the clock events)."""
    rule = case.get("supplement_clock", "restart")
    due = compute_due(ctx.calendar, case["processing_days"], clock, rule)
    statutory = compute_due(ctx.calendar, case["processing_days"], clock, rule, with_extensions=False)
    return {
        "clock": clock,
        "due_date": _day(due),
        "due_at": ctx.calendar.end_of_day(due) if due else None,
        "statutory_due_date": _day(statutory),
        "paused": is_paused(clock),
    }


def reception_due(case: dict, ctx: Context) -> str:
    """The day reception must act by (Art. 14.5): the reception stage's budget or the default."""
    stage = stage_def(case, "reception") or {}
    days = stage.get("days") if stage.get("days") is not None else ctx.reception_days
    return ctx.calendar.add_working_days(ctx.today, days).isoformat()


# ----------------------------------------------------------------- steps
def _receive(case, actor, cmd, ctx):
    changes: dict[str, Any] = {}
    if case.get("fee_status") == "unpaid":
        # Level 4: not received until the fee is paid online — or at the desk, where allowed.
        if not (cmd.fee_paid_at_desk and ctx.pay_at_desk):
            raise catalogue.error(
                "fee_unpaid", {"fee_vnd": case.get("fee_vnd"), "pay_at_desk_allowed": ctx.pay_at_desk}
            )
        changes["fee_status"] = "paid_at_desk"
    elif case.get("fee_status") == "due_at_desk" and cmd.fee_paid_at_desk:
        changes["fee_status"] = "paid_at_desk"
    to = "received"
    if not has_stage(case, "assignment"):
        if cmd.department_id is None:
            raise catalogue.error("department_required", {"field": "department_id"})
        _check_department(case, cmd.department_id, ctx)
        to, changes["department_id"] = "in_review", cmd.department_id
    elif cmd.department_id is not None:
        raise catalogue.error("department_assigned_later", {"field": "department_id"})
    late = bool(case.get("reception_due_date")) and ctx.today > as_date(case["reception_due_date"])
    changes.update(
        status=to,
        received_at=ctx.now,
        received_by=actor["id"],
        reception_late=late,
        **clock_fields(case, [*case.get("clock", []), {"kind": "start", "at": ctx.now}], ctx),
    )
    return Decision(
        to,
        changes,
        cmd.note,
        {
            "reception_due_date": case.get("reception_due_date"),
            "reception_late": late,
            "department_id": changes.get("department_id"),
        },
    )


def _request_supplement(case, actor, cmd, ctx):
    stage = "review" if case["status"] == "in_review" else "reception"
    missing = [m.model_dump() for m in cmd.missing]
    changes: dict[str, Any] = {
        "status": "returned_for_supplement",
        "supplement": {
            "missing": missing,
            "note": cmd.note,
            "stage": stage,
            "requested_at": ctx.now,
            "requested_by": actor["id"],
        },
    }
    if stage == "review":
        changes.update(clock_fields(case, [*case["clock"], {"kind": "pause", "at": ctx.now}], ctx))
    return Decision("returned_for_supplement", changes, cmd.note, {"missing": missing})


def _reject_at_reception(case, actor, cmd, ctx):
    return Decision(
        "rejected_at_reception",
        {"status": "rejected_at_reception", "reasons": cmd.reasons, "closed_at": ctx.now},
        "; ".join(cmd.reasons),
        {"reasons": cmd.reasons},
    )


def _check_department(case: dict, department_id: str, ctx: Context) -> None:
    if department_id not in ctx.departments(case["agency_id"]):
        raise catalogue.error("unknown_department", {"department_id": department_id})


def _assign(case, actor, cmd, ctx):
    _check_department(case, cmd.department_id, ctx)
    return Decision(
        "in_review",
        {"status": "in_review", "department_id": cmd.department_id},
        None,
        {"department_id": cmd.department_id},
    )


def _request_cohandling(case, actor, cmd, ctx):
    if not (stage_def(case) or {}).get("cohandling", True):
        raise catalogue.error("cohandling_not_in_workflow")
    if (cmd.department_id is None) == (cmd.agency_id is None):
        raise catalogue.error("cohandling_target")
    if cmd.department_id is not None:
        if cmd.department_id not in ctx.departments(case["agency_id"]) or cmd.department_id == case["department_id"]:
            raise catalogue.error("unknown_department", {"department_id": cmd.department_id})
    elif cmd.agency_id == case["agency_id"] or not ctx.agency_exists(cmd.agency_id):
        raise catalogue.error("unknown_agency", {"agency_id": cmd.agency_id})
    sub_due = ctx.calendar.add_working_days(ctx.today, cmd.days)
    due = as_date(case.get("due_date"))
    if due and sub_due > due:
        # R13: the lead department still owes the published deadline.
        raise catalogue.error(
            "cohandling_beyond_deadline", {"sub_due_date": sub_due.isoformat(), "due_date": due.isoformat()}
        )
    request = {
        "id": uuid.uuid4().hex[:12],
        "department_id": cmd.department_id,
        "agency_id": cmd.agency_id,
        "task": cmd.task,
        "requested_at": ctx.now,
        "requested_by": actor["id"],
        "sub_due_date": sub_due.isoformat(),
        "status": "open",
    }
    return Decision(
        case["status"], {"cohandling": [*case.get("cohandling", []), request]}, cmd.task, {"request": request}
    )


def _answer_cohandling(case, actor, cmd, ctx):
    requests, answered = [], None
    for r in case["cohandling"]:
        if r["id"] == cmd.request_id:
            r = answered = {
                **r,
                "status": "answered",
                "answer": cmd.answer,
                "answered_at": ctx.now,
                "answered_by": actor["id"],
                "on_time": ctx.today <= as_date(r["sub_due_date"]),
            }
        requests.append(r)
    return Decision(case["status"], {"cohandling": requests}, None, {"request": answered})


def _propose(case, actor, cmd, ctx):
    pending = [r["id"] for r in case.get("cohandling", []) if r["status"] == "open"]
    if pending:
        raise catalogue.error("cohandling_pending", {"open_requests": pending})
    proposal = {"summary": cmd.summary, "by": actor["id"], "at": ctx.now}
    return Decision("proposed", {"status": "proposed", "proposal": proposal}, cmd.summary)


def _approve(case, actor, cmd, ctx):
    ref = ctx.store_document("result", cmd.result_document)
    return Decision(
        "approved",
        {"status": "approved", "result_document": ref, "approved_by": actor["id"], "approved_at": ctx.now},
        None,
        {"result_document": ref},
    )


def _send_back(case, actor, cmd, ctx):
    proposal = {**(case.get("proposal") or {}), "sent_back": cmd.reason, "sent_back_at": ctx.now}
    return Decision("in_review", {"status": "in_review", "proposal": proposal}, cmd.reason)


def _timing(case: dict, ctx: Context) -> str:
    """R15: against the published time, without extensions."""
    return ctx.calendar.classify(ctx.now, as_date(case["statutory_due_date"]))


def _mark_result_ready(case, actor, cmd, ctx):
    timing = _timing(case, ctx)
    return Decision(
        "result_ready",
        {"status": "result_ready", "result_ready_at": ctx.now, "timing_class": timing},
        None,
        {"timing_class": timing, "result_document": case.get("result_document")},
    )


def _deliver(case, actor, cmd, ctx):
    delivered = {"method": cmd.method, "at": ctx.now, "by": actor["id"], "note": cmd.note}
    changes = {"status": "delivered", "delivered": delivered, "closed_at": ctx.now}
    if cmd.fee_paid_at_desk and case.get("fee_status") == "due_at_desk":
        changes["fee_status"] = "paid_at_desk"
    return Decision("delivered", changes, cmd.note, {"method": cmd.method})


def _draft_refusal(case, actor, cmd, ctx):
    return Decision(
        "refusal_drafted",
        {"status": "refusal_drafted", "reasons": cmd.reasons},
        "; ".join(cmd.reasons),
        {"reasons": cmd.reasons},
    )


def _sign_refusal(case, actor, cmd, ctx):
    ref = ctx.store_document("refusal", cmd.refusal_document)
    return Decision(
        "refusal_signed",
        {"status": "refusal_signed", "refusal_document": ref, "signed_by": actor["id"]},
        None,
        {"refusal_document": ref},
    )


def _return_with_reasons(case, actor, cmd, ctx):
    timing = _timing(case, ctx)
    return Decision(
        "returned_with_reasons",
        {"status": "returned_with_reasons", "closed_at": ctx.now, "timing_class": timing},
        cmd.note,
        {"reasons": case.get("reasons"), "refusal_document": case.get("refusal_document"), "timing_class": timing},
    )


def _issue_apology(case, actor, cmd, ctx):
    if not needs_apology(case, ctx.now, ctx.calendar):
        raise catalogue.error("not_overdue")
    new_due = cmd.new_due_date
    if new_due < ctx.today:
        raise catalogue.error("new_due_date_in_past", {"new_due_date": new_due.isoformat()})
    if not ctx.calendar.is_working_day(new_due):
        raise catalogue.error(
            "new_due_date_not_working_day",
            {
                "new_due_date": new_due.isoformat(),
                "next_working_day": ctx.calendar.first_working_day(new_due).isoformat(),
            },
        )
    clock = [*case["clock"], {"kind": "extend", "at": ctx.now, "new_due_date": new_due.isoformat()}]
    apology = {"letter": cmd.letter, "new_due_date": new_due.isoformat(), "at": ctx.now, "by": actor["id"]}
    changes = {**clock_fields(case, clock, ctx), "apologies": [*case.get("apologies", []), apology]}
    return Decision(case["status"], changes, cmd.letter, {"new_due_date": new_due.isoformat(), "letter": cmd.letter})


def _withdraw(case, actor, cmd, ctx):
    if case["status"] == "returned_for_supplement" and stage_kind(case) != "reception":
        raise catalogue.error("withdraw_not_allowed", {"status": case["status"]})
    return Decision("withdrawn", {"status": "withdrawn", "withdrawn_at": ctx.now, "closed_at": ctx.now}, cmd.reason)


def _supplement(case, actor, cmd, ctx):
    stage = (case.get("supplement") or {}).get("stage", "reception")
    record = {
        **case["supplement"],
        "supplied_at": ctx.now,
        "attachment_ids": cmd.attachment_ids,
        "amendments": cmd.amendments,
        "note": cmd.note,
        "staging_id": cmd.staging_id,
    }
    changes: dict[str, Any] = {"supplement": record, "supplements": [*case.get("supplements", []), record]}
    if stage == "review":
        to = "in_review"
        changes.update(clock_fields(case, [*case["clock"], {"kind": "resume", "at": ctx.now}], ctx))
    else:
        # Complete again: reception's own deadline counts anew from today.
        to = "submitted"
        changes["reception_due_date"] = reception_due(case, ctx)
    changes["status"] = to
    return Decision(
        to,
        changes,
        cmd.note,
        {"attachment_ids": cmd.attachment_ids, "amendments": cmd.amendments, "staging_id": cmd.staging_id},
    )


def _collect_result(case, actor, cmd, ctx):
    if case["delivery_method"] != "online":
        raise catalogue.error("result_not_available", {"delivery_method": case["delivery_method"]})
    delivered = {"method": "online", "at": ctx.now, "by": actor["id"]}
    return Decision(
        "delivered", {"status": "delivered", "closed_at": ctx.now, "delivered": delivered}, None, {"method": "online"}
    )


def _fee_paid(case, actor, cmd, ctx):
    if case.get("fee_status") != "unpaid":
        raise catalogue.error("fee_not_due", {"fee_status": case.get("fee_status")})
    changes: dict[str, Any] = {"fee_status": "paid_online", "payment_id": cmd.payment_id}
    if case["status"] == "submitted":
        changes["reception_due_date"] = reception_due(case, ctx)  # the wait for reception starts now
    return Decision(case["status"], changes, None, {"payment_id": cmd.payment_id})


def _redo_after_loss(case, actor, cmd, ctx):
    redo = {"shipment_id": cmd.shipment_id, "requested_at": ctx.now, "reason": "lost in the post"}
    return Decision(
        "in_review",
        {"status": "in_review", "redo": redo, "closed_at": None},
        "thất lạc khi trả qua bưu chính: làm lại kết quả",
        {"redo": redo},
    )


def _deadline_flag(case, actor, cmd, ctx):
    flags = live_flags(case, ctx)
    old = {**NO_FLAGS, **(case.get("flags") or {})}
    if flags == old:
        raise catalogue.error("flags_unchanged")
    newly = [k for k, v in flags.items() if v and not old.get(k)]
    return Decision(case["status"], {"flags": flags}, None, {"flags": flags, "newly": newly})


def _external_read(case, actor, cmd, ctx):
    reason = external_reference({"system_id": cmd.system_id, "issue": cmd.issue})
    return Decision(case["status"], {}, reason)


# ------------------------------------------------------------- the table
_REVIEWING = ("submitted", "in_review")
LIFECYCLE: dict[str, Transition] = {
    # the one-stop desk and the stages declared per procedure
    "receive": Transition(("submitted",), "stage", _receive, "Tiếp nhận", to="*", stage="reception"),
    "request_supplement": Transition(
        _REVIEWING,
        "stage",
        _request_supplement,
        "Yêu cầu bổ sung",
        to="returned_for_supplement",
        stage=("reception", "review"),
    ),
    "reject_at_reception": Transition(
        ("submitted",),
        "stage",
        _reject_at_reception,
        "Từ chối tiếp nhận",
        to="rejected_at_reception",
        stage="reception",
    ),
    "assign": Transition(
        ("received",), "stage", _assign, "Phân công phòng chuyên môn", to="in_review", stage="assignment"
    ),
    "request_cohandling": Transition(
        ("in_review",), "stage", _request_cohandling, "Xin ý kiến phối hợp", stage="review"
    ),
    "answer_cohandling": Transition(("in_review",), "cohandler", _answer_cohandling, "Trả lời phối hợp"),
    "propose": Transition(("in_review",), "stage", _propose, "Đề xuất kết quả", to="proposed", stage="review"),
    "approve": Transition(("proposed",), "stage", _approve, "Phê duyệt, ký kết quả", to="approved", stage="approval"),
    "send_back": Transition(
        ("proposed",), "stage", _send_back, "Trả lại để xử lý lại", to="in_review", stage="approval"
    ),
    "mark_result_ready": Transition(
        ("approved",), "stage", _mark_result_ready, "Có kết quả tại một cửa", to="result_ready", stage="result"
    ),
    "deliver": Transition(("result_ready",), "stage", _deliver, "Trả kết quả", to="delivered", stage="result"),
    "draft_refusal": Transition(
        ("in_review",), "stage", _draft_refusal, "Dự thảo văn bản từ chối", to="refusal_drafted", stage="review"
    ),
    "sign_refusal": Transition(
        ("refusal_drafted",), "stage", _sign_refusal, "Ký văn bản từ chối", to="refusal_signed", stage="approval"
    ),
    "return_with_reasons": Transition(
        ("refusal_signed",),
        "stage",
        _return_with_reasons,
        "Trả hồ sơ kèm lý do",
        to="returned_with_reasons",
        stage="result",
    ),
    "issue_apology": Transition(
        CLOCK_STATUSES,
        "roles",
        _issue_apology,
        "Văn bản xin lỗi, hẹn lại",
        roles=("reception", "leader"),
        apology_gate=False,
    ),
    # the applicant
    "withdraw": Transition(
        ("submitted", "returned_for_supplement"),
        "applicant",
        _withdraw,
        "Rút hồ sơ",
        to="withdrawn",
        apology_gate=False,
    ),
    "supplement": Transition(
        ("returned_for_supplement",), "applicant", _supplement, "Bổ sung hồ sơ", to="*", apology_gate=False
    ),
    "collect_result": Transition(
        ("result_ready",), "applicant", _collect_result, "Nhận kết quả trực tuyến", to="delivered", apology_gate=False
    ),
    # the system: other services' facts and the deadline sweep
    "fee_paid": Transition(OPEN_STATUSES, "system", _fee_paid, "Đã nộp phí trực tuyến", apology_gate=False),
    "redo_after_loss": Transition(
        ("result_ready", "delivered"),
        "system",
        _redo_after_loss,
        "Làm lại kết quả bị thất lạc",
        to="in_review",
        apology_gate=False,
    ),
    "deadline_flag": Transition(
        OPEN_STATUSES, "system", _deadline_flag, "Cảnh báo hạn", apology_gate=False, event_model=CaseDeadlineFlagged
    ),
    # ministry systems (R31)
    "external_read": Transition(
        (*OPEN_STATUSES, "delivered", "rejected_at_reception", "returned_with_reasons", "withdrawn"),
        "ministry_system",
        _external_read,
        "Hệ thống bộ, ngành tra cứu",
        apology_gate=False,
        event_model=CaseAccessed,
    ),
}
#: the steps an official chooses (the others come from the applicant, the system or a ministry)
OFFICIAL_ACTIONS = tuple(a for a, t in LIFECYCLE.items() if t.by in ("stage", "roles", "cohandler"))


# ------------------------------------------------------------- deciding
def decide(case: dict, actor: dict, cmd: Any, ctx: Context) -> Decision:
    """Check the guards of ``cmd.action`` against the case and compute the transition."""
    t = LIFECYCLE[cmd.action]
    _check_actor(case, actor, cmd, t)
    if cmd.expected_version != case["version"]:
        raise catalogue.error(
            "stale_version", {"expected_version": cmd.expected_version, "current_version": case["version"]}
        )
    if case["status"] not in t.sources:
        raise catalogue.error(
            "invalid_transition",
            {"status": case["status"], "allowed_from": list(t.sources)},
            f"Không thể '{t.label}' khi hồ sơ đang ở trạng thái này",
        )
    if t.apology_gate and needs_apology(case, ctx.now, ctx.calendar):
        raise catalogue.error("apology_required", {"due_date": case.get("due_date")})
    decision = t.step(case, actor, cmd, ctx)
    decision.event_model = t.event_model
    if cmd.action != "deadline_flag":
        _stage_bookkeeping(case, decision, ctx)
        merged = {**case, **decision.changes}
        # Transitions only lower flags; raising them is the sweep's, with its notice (case_deadline_flagged).
        live = live_flags(merged, ctx)
        old = {**NO_FLAGS, **(case.get("flags") or {})}
        decision.changes["flags"] = {k: old[k] and live[k] for k in NO_FLAGS}
        decision.event.setdefault("flags", decision.changes["flags"])
    return decision


def case_event(case: dict, action: str, decision: Decision, version: int) -> CaseEvent:
    """The event a decision publishes: the dossier's facts, the transition, and the action's own fields."""
    merged = {**case, **decision.changes}
    return decision.event_model.model_validate(
        {
            **DossierFacts.of(case),
            "action": action,
            "from": case["status"],
            "to": decision.to,
            "case_version": version,
            "department_id": merged.get("department_id"),
            "due_at": merged.get("due_at"),
            "due_date": merged.get("due_date"),
            "reason": decision.reason,
            **decision.event,
        }
    )


def _stage_bookkeeping(case: dict, decision: Decision, ctx: Context) -> None:
    """Close the stage a transition leaves (late or not) and open the one it enters; keep the
    current stage's due day in step with pauses, resumptions and extensions."""
    merged = {**case, **decision.changes}
    old_kind, new_kind = stage_kind(case), stage_kind(merged)
    current = case.get("stage")
    if current is None:  # a closed case reopened (redo after a loss), or one opened before stages existed
        if new_kind is not None:
            decision.changes["stage"] = _start(merged, new_kind, ctx)
            decision.event["stage"] = _stage_event(decision.changes["stage"])
        return
    if old_kind == new_kind:
        decision.changes["stage"] = _refreshed(current, case, merged, ctx)
        decision.event["stage"] = _stage_event(decision.changes["stage"])
        return
    finished = {
        "code": current["code"],
        "name": current["name"],
        "kind": current["kind"],
        "started_at": current["started_at"],
        "finished_at": ctx.now,
        "due_date": current.get("due_date"),
        "late": bool(current.get("due_date")) and ctx.today > as_date(current["due_date"]),
        "department_id": case.get("department_id"),
    }
    decision.changes["stages"] = [*case.get("stages", []), finished]
    decision.event["stage_completed"] = {
        k: finished[k] for k in ("code", "name", "kind", "department_id", "due_date", "late")
    }
    decision.changes["stage"] = _start(merged, new_kind, ctx) if new_kind else None
    decision.event["stage"] = _stage_event(decision.changes["stage"])


def _start(case: dict, kind: str, ctx: Context) -> dict:
    definition = stage_def(case, kind) or {"code": kind, "name": KIND_VI[kind], "roles": [], "days": None}
    if kind == "reception":
        due = as_date(case.get("reception_due_date"))
    else:
        due = stage_due(ctx.calendar, ctx.now, definition.get("days"), as_date(case.get("due_date")))
    return {
        "code": definition["code"],
        "name": definition["name"],
        "kind": kind,
        "roles": definition["roles"],
        "days": definition.get("days"),
        "started_at": ctx.now,
        "due_date": _day(due),
    }


def _refreshed(stage: dict, case: dict, merged: dict, ctx: Context) -> dict:
    """The same stage after a pause, a resumption or an extension of the case's due day."""
    if stage["kind"] == "reception":
        return {**stage, "due_date": merged.get("reception_due_date")}
    case_due = as_date(merged.get("due_date"))
    if merged.get("paused") and not case.get("paused"):
        # paused: keep what was left of the stage for a resumption
        left = ctx.calendar.working_days_after(ctx.today, as_date(stage["due_date"])) if stage.get("due_date") else None
        return {**stage, "left_at_pause": left}
    if case.get("paused") and not merged.get("paused"):
        rule = case.get("supplement_clock", "restart")
        budget = stage.get("days") if rule == "restart" else stage.get("left_at_pause", stage.get("days"))
        due = stage_due(ctx.calendar, ctx.now, budget, case_due)
        return {**{k: v for k, v in stage.items() if k != "left_at_pause"}, "due_date": _day(due)}
    due = stage_due(ctx.calendar, stage["started_at"], stage.get("days"), case_due)
    return {**stage, "due_date": _day(due)}


def _stage_event(stage: dict | None) -> dict | None:
    return {k: stage[k] for k in ("code", "name", "kind", "due_date")} if stage else None


def initial_case(p: DossierSubmitted, now: datetime, ctx: Context) -> dict:
    """The case a filed dossier opens (the ``open`` of the lifecycle; idempotent by dossier code)."""
    awaiting_fee = p.handled_as_level == 4 and p.fee_vnd > 0
    fee_status = "unpaid" if awaiting_fee else "due_at_desk" if p.fee_vnd > 0 else "not_required"
    case = {
        **p.model_dump(exclude={"schema_version", "signed", "awaiting_fee"}),
        "workflow": p.workflow.model_dump() if p.workflow else default_workflow(),
        "fee_status": fee_status,
        "status": "submitted",
        "clock": [],
        "due_date": None,
        "due_at": None,
        "statutory_due_date": None,
        "paused": False,
        "flags": dict(NO_FLAGS),
        "department_id": None,
        "cohandling": [],
        "apologies": [],
        "opened_at": now,
        "updated_at": now,
        "stages": [],
    }
    # A level-4 dossier waiting for its online fee is not yet waiting for reception.
    case["reception_due_date"] = None if awaiting_fee else reception_due(case, ctx)
    case["stage"] = _start(case, "reception", ctx)
    return case


def available_actions(case: dict, actor: dict, ctx: Context) -> list[str]:
    """The official steps this actor can take on the case now (for the officials' pages)."""
    out = []
    for action in OFFICIAL_ACTIONS:
        t = LIFECYCLE[action]
        if case["status"] not in t.sources:
            continue
        if t.apology_gate and needs_apology(case, ctx.now, ctx.calendar):
            continue
        if action == "issue_apology" and not needs_apology(case, ctx.now, ctx.calendar):
            continue
        probes = (
            [_Probe(action, r["id"]) for r in case.get("cohandling", []) if r["status"] == "open"]
            if t.by == "cohandler"
            else [_Probe(action, "")]
        )
        for probe in probes:
            try:
                _check_actor(case, actor, probe, t)
            except (Forbidden, ValidationFailed, Conflict):
                continue
            out.append(action)
            break
    return out


@dataclass
class _Probe:
    """A stand-in command for checking who may act."""

    action: str
    request_id: str
