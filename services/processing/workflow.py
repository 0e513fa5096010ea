"""The case lifecycle as explicit transitions: who may do what, from where, to where.

``decide`` is pure apart from the callables it is given: it checks the guards
and returns the changes to commit; the service commits them as one numbered
transition (services.common.versioned) with its history entry and events.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Callable

from services.common.calendar import WorkingCalendar, deadline_flags
from services.common.errors import Conflict, Forbidden, ValidationFailed

from .deadlines import classify, compute_due, is_paused
from .schemas import CLOCK_STATUSES

# action: (statuses it may start from, roles allowed, scope)
#   scope "agency": an official of the case's agency; "department": of its handling department too;
#   "cohandler": of the department/agency a co-handling request was sent to.
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "receive": (("submitted",), ("reception",), "agency"),
    "request_supplement": (("submitted", "in_review"), ("reception", "specialist"), "agency"),
    "reject_at_reception": (("submitted",), ("reception",), "agency"),
    "assign": (("received",), ("reception", "leader"), "agency"),
    "request_cohandling": (("in_review",), ("specialist",), "department"),
    "answer_cohandling": (("in_review",), ("specialist",), "cohandler"),
    "propose": (("in_review",), ("specialist",), "department"),
    "approve": (("proposed",), ("leader",), "agency"),
    "send_back": (("proposed",), ("leader",), "agency"),
    "mark_result_ready": (("approved",), ("reception",), "agency"),
    "deliver": (("result_ready",), ("reception",), "agency"),
    "draft_refusal": (("in_review",), ("specialist",), "department"),
    "sign_refusal": (("refusal_drafted",), ("leader",), "agency"),
    "return_with_reasons": (("refusal_signed",), ("reception",), "agency"),
    "issue_apology": (CLOCK_STATUSES, ("reception", "leader"), "agency"),
}
TARGET = {
    "receive": "received", "request_supplement": "returned_for_supplement",
    "reject_at_reception": "rejected_at_reception", "assign": "in_review", "request_cohandling": None,
    "answer_cohandling": None, "propose": "proposed", "approve": "approved", "send_back": "in_review",
    "mark_result_ready": "result_ready", "deliver": "delivered", "draft_refusal": "refusal_drafted",
    "sign_refusal": "refusal_signed", "return_with_reasons": "returned_with_reasons", "issue_apology": None,
}


@dataclass
class Decision:
    to: str
    changes: dict[str, Any]
    reason: str | None = None
    event: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    now: datetime
    calendar: WorkingCalendar
    at_risk_days: float
    departments: Callable[[str], set[str]]  # agency id → its department ids
    agency_exists: Callable[[str], bool]
    store_document: Callable[[str, dict], dict]  # (kind, Document) → file ref
    pay_at_desk: bool = False


def _err_role(action: str, roles: tuple[str, ...]) -> Forbidden:
    return Forbidden(f"Vai trò của bạn không được thực hiện bước '{action}'", {"required_roles": list(roles)},
                     "forbidden_role")


def _check_actor(case: dict, actor: dict, action: str, cmd: Any) -> None:
    _, roles, scope = RULES[action]
    if actor["role"] not in roles:
        raise _err_role(action, roles)
    if scope == "cohandler":
        request = _open_request(case, cmd.request_id)
        target_agency = request.get("agency_id") or case["agency_id"]
        ok = actor.get("agency_id") == target_agency and (
            request.get("agency_id") is not None or actor.get("department_id") == request.get("department_id"))
        if not ok:
            raise Forbidden("Yêu cầu phối hợp này không gửi đến đơn vị của bạn", {"request_id": cmd.request_id},
                            "not_cohandler")
        return
    if actor.get("agency_id") != case["agency_id"]:
        raise Forbidden("Hồ sơ thuộc cơ quan khác", {"agency_id": case["agency_id"]}, "other_agency")
    needs_department = scope == "department" or (action == "request_supplement" and case["status"] == "in_review")
    if needs_department and actor.get("department_id") != case.get("department_id"):
        raise Forbidden("Hồ sơ do phòng chuyên môn khác xử lý", {"department_id": case.get("department_id")},
                        "other_department")
    if action == "request_supplement" and case["status"] == "submitted" and actor["role"] != "reception":
        raise _err_role(action, ("reception",))


def _open_request(case: dict, request_id: str) -> dict:
    request = next((r for r in case.get("cohandling", []) if r["id"] == request_id), None)
    if request is None:
        raise ValidationFailed("Không có yêu cầu phối hợp này", {"request_id": request_id}, "unknown_request")
    if request["status"] != "open":
        raise Conflict("Yêu cầu phối hợp đã được trả lời", {"request_id": request_id}, "request_closed")
    return request


def clock_fields(case: dict, clock: list[dict], ctx: Context) -> dict:
    rule = case.get("supplement_clock", "restart")
    due = compute_due(ctx.calendar, case["processing_days"], clock, rule)
    return {"clock": clock, "due_at": due, "paused": is_paused(clock),
            "statutory_due_at": compute_due(ctx.calendar, case["processing_days"], clock, rule, with_extensions=False),
            "flags": deadline_flags(ctx.calendar, ctx.now, due, ctx.at_risk_days) if not is_paused(clock)
            else {"at_risk": False, "overdue": False}}


def needs_apology(case: dict, now: datetime) -> bool:
    return (case["status"] in CLOCK_STATUSES and not case.get("paused") and case.get("due_at") is not None
            and now > case["due_at"])


def decide(case: dict, actor: dict, cmd: Any, ctx: Context) -> Decision:
    action = cmd.action
    froms, _, _ = RULES[action]
    _check_actor(case, actor, action, cmd)
    if cmd.expected_version != case["version"]:
        raise Conflict("Hồ sơ vừa được người khác cập nhật; vui lòng tải lại và thử lại",
                       {"expected_version": cmd.expected_version, "current_version": case["version"]},
                       "stale_version")
    if case["status"] not in froms:
        raise Conflict(f"Không thể '{action}' khi hồ sơ ở trạng thái '{case['status']}'",
                       {"status": case["status"], "allowed_from": list(froms)}, "invalid_transition")
    if action != "issue_apology" and needs_apology(case, ctx.now):
        raise Conflict("Hồ sơ đã quá hạn: cần văn bản xin lỗi và hẹn lại ngày trả kết quả trước khi tiếp tục",
                       {"due_at": case["due_at"].isoformat()}, "apology_required")
    return globals()[f"_{action}"](case, actor, cmd, ctx)


# ------------------------------------------------------------ the steps
def _receive(case, actor, cmd, ctx):
    fee = {}
    if case.get("fee_status") == "unpaid":
        # Level 4: not received until the fee is paid online — or at the desk, where allowed.
        if not (cmd.fee_paid_at_desk and ctx.pay_at_desk):
            raise Conflict("Hồ sơ mức độ 4 chưa nộp phí, lệ phí", {"fee_vnd": case.get("fee_vnd"),
                                                                    "pay_at_desk_allowed": ctx.pay_at_desk},
                           "fee_unpaid")
        fee = {"fee_status": "paid_at_desk"}
    clock = [*case.get("clock", []), {"kind": "start", "at": ctx.now}]
    changes = {"status": "received", "received_at": ctx.now, "received_by": actor["id"], **fee,
               **clock_fields(case, clock, ctx)}
    return Decision("received", changes, cmd.note, {"due_at": changes["due_at"]})


def _request_supplement(case, actor, cmd, ctx):
    stage = "review" if case["status"] == "in_review" else "reception"
    missing = [m.model_dump() for m in cmd.missing]
    changes: dict[str, Any] = {"status": "returned_for_supplement", "supplement": {
        "missing": missing, "note": cmd.note, "stage": stage, "requested_at": ctx.now, "requested_by": actor["id"]}}
    if stage == "review":
        changes.update(clock_fields(case, [*case["clock"], {"kind": "pause", "at": ctx.now}], ctx))
    return Decision("returned_for_supplement", changes, cmd.note, {"missing": missing, "stage": stage})


def _reject_at_reception(case, actor, cmd, ctx):
    return Decision("rejected_at_reception", {"status": "rejected_at_reception", "reasons": cmd.reasons,
                                              "closed_at": ctx.now}, "; ".join(cmd.reasons), {"reasons": cmd.reasons})


def _assign(case, actor, cmd, ctx):
    if cmd.department_id not in ctx.departments(case["agency_id"]):
        raise ValidationFailed("Phòng chuyên môn không thuộc cơ quan", {"department_id": cmd.department_id},
                               "unknown_department")
    return Decision("in_review", {"status": "in_review", "department_id": cmd.department_id},
                    None, {"department_id": cmd.department_id})


def _request_cohandling(case, actor, cmd, ctx):
    if (cmd.department_id is None) == (cmd.agency_id is None):
        raise ValidationFailed("Chọn đúng một đơn vị phối hợp: department_id hoặc agency_id", None,
                               "cohandling_target")
    if cmd.department_id is not None:
        if cmd.department_id not in ctx.departments(case["agency_id"]) or cmd.department_id == case["department_id"]:
            raise ValidationFailed("Phòng phối hợp không hợp lệ", {"department_id": cmd.department_id},
                                   "unknown_department")
    elif cmd.agency_id == case["agency_id"] or not ctx.agency_exists(cmd.agency_id):
        raise ValidationFailed("Cơ quan phối hợp không hợp lệ", {"agency_id": cmd.agency_id}, "unknown_agency")
    sub_due = ctx.calendar.add_working_days(ctx.now, cmd.days)
    if case.get("due_at") and sub_due > case["due_at"]:
        # R13: the lead department still owes the published deadline.
        raise ValidationFailed("Thời hạn phối hợp vượt quá thời hạn giải quyết hồ sơ",
                               {"sub_due_at": sub_due.isoformat(), "due_at": case["due_at"].isoformat()},
                               "cohandling_beyond_deadline")
    request = {"id": uuid.uuid4().hex[:12], "department_id": cmd.department_id, "agency_id": cmd.agency_id,
               "task": cmd.task, "requested_at": ctx.now, "requested_by": actor["id"], "sub_due_at": sub_due,
               "status": "open"}
    return Decision(case["status"], {"cohandling": [*case.get("cohandling", []), request]}, cmd.task,
                    {"request": request})


def _answer_cohandling(case, actor, cmd, ctx):
    requests = []
    for r in case["cohandling"]:
        if r["id"] == cmd.request_id:
            r = {**r, "status": "answered", "answer": cmd.answer, "answered_at": ctx.now, "answered_by": actor["id"],
                 "on_time": ctx.now <= r["sub_due_at"]}
            answered = r
        requests.append(r)
    return Decision(case["status"], {"cohandling": requests}, None, {"request": answered})


def _propose(case, actor, cmd, ctx):
    pending = [r["id"] for r in case.get("cohandling", []) if r["status"] == "open"]
    if pending:
        raise Conflict("Còn yêu cầu phối hợp chưa có ý kiến", {"open_requests": pending}, "cohandling_pending")
    proposal = {"summary": cmd.summary, "by": actor["id"], "at": ctx.now}
    return Decision("proposed", {"status": "proposed", "proposal": proposal}, cmd.summary)


def _approve(case, actor, cmd, ctx):
    ref = ctx.store_document("result", cmd.result_document)
    return Decision("approved", {"status": "approved", "result_document": ref, "approved_by": actor["id"],
                                 "approved_at": ctx.now}, None, {"result_document": ref})


def _send_back(case, actor, cmd, ctx):
    proposal = {**(case.get("proposal") or {}), "sent_back": cmd.reason, "sent_back_at": ctx.now}
    return Decision("in_review", {"status": "in_review", "proposal": proposal}, cmd.reason)


def _mark_result_ready(case, actor, cmd, ctx):
    timing = classify(ctx.calendar, ctx.now, case["statutory_due_at"])
    return Decision("result_ready", {"status": "result_ready", "result_ready_at": ctx.now, "timing_class": timing,
                                     "flags": {"at_risk": False, "overdue": False}}, None,
                    {"timing_class": timing, "result_document": case.get("result_document")})


def _deliver(case, actor, cmd, ctx):
    delivered = {"method": cmd.method, "at": ctx.now, "by": actor["id"], "note": cmd.note}
    return Decision("delivered", {"status": "delivered", "delivered": delivered, "closed_at": ctx.now}, cmd.note,
                    {"method": cmd.method})


def _draft_refusal(case, actor, cmd, ctx):
    return Decision("refusal_drafted", {"status": "refusal_drafted", "reasons": cmd.reasons},
                    "; ".join(cmd.reasons), {"reasons": cmd.reasons})


def _sign_refusal(case, actor, cmd, ctx):
    ref = ctx.store_document("refusal", cmd.refusal_document)
    return Decision("refusal_signed", {"status": "refusal_signed", "refusal_document": ref,
                                       "signed_by": actor["id"]}, None, {"refusal_document": ref})


def _return_with_reasons(case, actor, cmd, ctx):
    timing = classify(ctx.calendar, ctx.now, case["statutory_due_at"])
    return Decision("returned_with_reasons", {"status": "returned_with_reasons", "closed_at": ctx.now,
                                              "timing_class": timing, "flags": {"at_risk": False, "overdue": False}},
                    cmd.note, {"reasons": case.get("reasons"), "refusal_document": case.get("refusal_document"),
                               "timing_class": timing})


def _issue_apology(case, actor, cmd, ctx):
    if not needs_apology(case, ctx.now):
        raise Conflict("Hồ sơ chưa quá hạn: chưa cần văn bản xin lỗi", None, "not_overdue")
    new_due = datetime.combine(cmd.new_due_date + timedelta(days=1), time(0, tzinfo=ctx.calendar.tz))
    if new_due <= ctx.now:
        raise ValidationFailed("Ngày hẹn mới phải sau hôm nay", {"new_due_date": cmd.new_due_date.isoformat()},
                               "new_due_date_in_past")
    clock = [*case["clock"], {"kind": "extend", "at": ctx.now, "new_due_at": new_due}]
    apology = {"letter": cmd.letter, "new_due_at": new_due, "at": ctx.now, "by": actor["id"]}
    changes = {**clock_fields(case, clock, ctx), "apologies": [*case.get("apologies", []), apology]}
    return Decision(case["status"], changes, cmd.letter, {"new_due_at": new_due, "letter": cmd.letter})
