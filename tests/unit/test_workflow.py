"""The case lifecycle table (services/processing/workflow.py) without a database: guards, stages
and deadlines at fixed instants — Sunday 23:59, Monday 00:01, Friday 16:59, the eve of Tết, 31/12,
a swap working Saturday — so nothing here depends on when the tests run (R12–R15, R23, R32–R33, R36)."""

from datetime import date, datetime
from typing import get_args

import pytest

from contracts.processing import CaseCommandUnion
from services.common.calendar import VN_TZ, default_calendar
from services.common.errors import Conflict, Forbidden, ValidationFailed
from services.common.event_contracts import CaseDeadlineFlagged, DossierSubmitted
from services.common.workflows import Workflow, default_workflow, problems
from services.processing import schemas
from services.processing.workflow import (
    LIFECYCLE,
    OFFICIAL_ACTIONS,
    OPEN_STATUSES,
    Context,
    available_actions,
    case_event,
    decide,
    initial_case,
)
from tests.helpers import PDF, b64

CAL = default_calendar()
RECEPTION = {"id": "r1", "role": "reception", "agency_id": "STP", "department_id": "STP-TN"}
SPECIALIST = {"id": "s1", "role": "specialist", "agency_id": "STP", "department_id": "STP-LLTP"}
LEADER = {"id": "l1", "role": "leader", "agency_id": "STP", "department_id": "STP-LD"}
CITIZEN = {"id": "c1", "role": "citizen"}
SYSTEM = {"id": "processing", "role": "system"}
DOC = {"filename": "kq.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)}


def vn(*a):
    return datetime(*a, tzinfo=VN_TZ)


def ctx(now):
    return Context(
        now=now,
        calendar=CAL,
        at_risk_days=1,
        departments=lambda a: {"STP-TN", "STP-LLTP", "STP-HCTP"},
        agency_exists=lambda a: a in ("STP", "SXD"),
        pay_at_desk=True,
        reception_days=1,
        store_document=lambda kind, d: {
            "id": f"{kind}-1",
            "filename": d.filename,
            "size": 1,
            "content_type": d.content_type,
            "sha256": "x",
            "chunks": 1,
        },
    )


def open_case(at, days=3, workflow=None, level=3, fee=0, signed=False, rule="restart"):
    payload = {
        "code": "52-T-1",
        "procedure_code": "TP-LLTP-01",
        "procedure_version": 1,
        "procedure_name": "LLTP",
        "agency_id": "STP",
        "level": level,
        "handled_as_level": 4 if signed else min(level, 3),
        "applicant_id": "c1",
        "delivery_method": "in_person",
        "fee_vnd": fee,
        "processing_days": days,
        "supplement_clock": rule,
        "submitted_at": at.isoformat(),
        "workflow": workflow,
    }
    return {**initial_case(DossierSubmitted(**payload), at, ctx(at)), "version": 1}


def step(case, actor, action, at, **fields):
    """Decide and apply in memory, as the service commits."""
    model = next(
        m
        for m in (
            *get_args(get_args(CaseCommandUnion)[0]),
            schemas.Withdraw,
            schemas.SupplementCommand,
            schemas.CollectResult,
            schemas.FeePaid,
            schemas.RedoAfterLoss,
            schemas.DeadlineFlag,
            schemas.ExternalRead,
        )
        if get_args(m.model_fields["action"].annotation)[0] == action
    )
    cmd = model.model_validate({"action": action, "expected_version": case["version"], **fields})
    decision = decide(case, actor, cmd, ctx(at))
    case_event(case, action, decision, case["version"] + 1)  # every field it sets is in the event's contract
    return {**case, **decision.changes, "version": case["version"] + 1}, decision


def through_review(at, **kw):
    case = open_case(at, **kw)
    case, _ = step(case, RECEPTION, "receive", at)
    case, _ = step(case, RECEPTION, "assign", at, department_id="STP-LLTP")
    return case


# ------------------------------------------------------------------ the table
def test_every_action_has_one_row_and_official_commands_match_the_api():
    api_actions = {get_args(m.model_fields["action"].annotation)[0] for m in get_args(get_args(CaseCommandUnion)[0])}
    assert api_actions == set(OFFICIAL_ACTIONS)
    assert {
        "withdraw",
        "supplement",
        "fee_paid",
        "collect_result",
        "redo_after_loss",
        "deadline_flag",
        "external_read",
    } <= set(LIFECYCLE)
    for action, t in LIFECYCLE.items():
        assert t.sources and set(t.sources) <= set(OPEN_STATUSES) | {
            "delivered",
            "rejected_at_reception",
            "returned_with_reasons",
            "withdrawn",
        }, action
        assert t.label and t.by in ("stage", "roles", "cohandler", "applicant", "system", "ministry_system")
        assert (t.by == "stage") == bool(t.stage), action


# ------------------------------------------------------------------ deadlines
@pytest.mark.parametrize(
    "received,days,due",
    [
        (vn(2026, 3, 6, 16, 59), 1, date(2026, 3, 9)),  # Friday 16:59 → Monday
        (vn(2026, 3, 1, 23, 59), 1, date(2026, 3, 3)),  # Sunday 23:59 counts as Monday → Tuesday
        (vn(2026, 3, 2, 0, 1), 1, date(2026, 3, 3)),  # Monday 00:01 → Tuesday
        (vn(2026, 2, 13, 16, 0), 5, date(2026, 2, 27)),  # the eve of Tết → after Tết
        (vn(2026, 12, 31, 10), 1, date(2027, 1, 4)),  # 31/12 → Monday 4/1
        (vn(2026, 8, 22, 9), 2, date(2026, 8, 25)),  # received on the swap working Saturday
    ],
)
def test_received_at_any_time_of_day_is_due_at_the_end_of_the_nth_working_day(received, days, due):
    case, decision = step(open_case(received, days=days), RECEPTION, "receive", received)
    assert case["due_date"] == due.isoformat() == case["statutory_due_date"]
    assert case["due_at"] == CAL.end_of_day(due)
    assert decision.event["reception_late"] is False


def test_never_late_before_the_due_day_ends():
    case = through_review(vn(2026, 3, 2, 10), days=3)  # due Thu 5/3
    case, _ = step(case, SPECIALIST, "propose", vn(2026, 3, 5, 23, 0), summary="Đủ điều kiện")
    case, _ = step(case, LEADER, "approve", vn(2026, 3, 5, 23, 30), result_document=DOC)
    on_time, _ = step(case, RECEPTION, "mark_result_ready", vn(2026, 3, 5, 23, 59))
    assert on_time["timing_class"] == "on_time"
    with pytest.raises(Conflict) as info:  # 00:01 the next day: late, and an apology comes first
        step(case, RECEPTION, "mark_result_ready", vn(2026, 3, 6, 0, 1))
    assert info.value.code == "apology_required"


def test_early_on_an_earlier_day():
    case = through_review(vn(2026, 3, 2, 10), days=3)
    case, _ = step(case, SPECIALIST, "propose", vn(2026, 3, 4, 9), summary="Đủ điều kiện")
    case, _ = step(case, LEADER, "approve", vn(2026, 3, 4, 10), result_document=DOC)
    case, decision = step(case, RECEPTION, "mark_result_ready", vn(2026, 3, 4, 16, 59))
    assert case["timing_class"] == decision.event["timing_class"] == "early"


def test_apology_sets_a_working_day_and_the_case_still_counts_late():
    case = through_review(vn(2026, 3, 2, 10), days=3)  # due Thu 5/3
    late = vn(2026, 3, 9, 10)
    with pytest.raises(Forbidden):
        step(case, SPECIALIST, "issue_apology", late, letter="Xin lỗi vì chậm trễ.", new_due_date="2026-03-11")
    with pytest.raises(ValidationFailed) as info:  # Saturday is not a working day
        step(case, LEADER, "issue_apology", late, letter="Xin lỗi vì chậm trễ.", new_due_date="2026-03-14")
    assert info.value.code == "new_due_date_not_working_day" and info.value.details["next_working_day"] == "2026-03-16"
    case, _ = step(case, LEADER, "issue_apology", late, letter="Xin lỗi vì chậm trễ.", new_due_date="2026-03-11")
    assert case["due_date"] == "2026-03-11" and case["statutory_due_date"] == "2026-03-05"
    case, _ = step(case, SPECIALIST, "propose", late, summary="Đủ điều kiện")
    case, _ = step(case, LEADER, "approve", late, result_document=DOC)
    case, _ = step(case, RECEPTION, "mark_result_ready", vn(2026, 3, 10, 9))
    assert case["timing_class"] == "late"  # R15: against the published time


def test_cohandling_up_to_the_case_due_day_even_across_midnight():
    """The co-handling sub-deadline is a day, not an instant: requested at 23:59 on the receiving
    day with every remaining day, or at 00:01 the next day with one day less, both fit."""
    case = through_review(vn(2026, 3, 2, 23, 58), days=3)  # due Thu 5/3
    ok, _ = step(
        case, SPECIALIST, "request_cohandling", vn(2026, 3, 2, 23, 59), agency_id="SXD", task="Xác minh", days=3
    )
    assert ok["cohandling"][0]["sub_due_date"] == "2026-03-05"
    ok, _ = step(case, SPECIALIST, "request_cohandling", vn(2026, 3, 3, 0, 1), agency_id="SXD", task="Xác minh", days=2)
    assert ok["cohandling"][0]["sub_due_date"] == "2026-03-05"
    with pytest.raises(ValidationFailed) as info:
        step(case, SPECIALIST, "request_cohandling", vn(2026, 3, 3, 0, 1), agency_id="SXD", task="Xác minh", days=3)
    assert info.value.code == "cohandling_beyond_deadline"


def test_supplement_pause_carries_whole_days_over_with_the_resume_rule():
    case = through_review(vn(2026, 2, 10, 9), days=10, rule="resume")  # due Tue 3/3 (Tết in between)
    case, _ = step(
        case, SPECIALIST, "request_supplement", vn(2026, 2, 12, 10), missing=[{"description": "Bản chụp CCCD rõ nét"}]
    )
    assert case["paused"] and case["status"] == "returned_for_supplement"
    case, decision = step(
        case,
        CITIZEN,
        "supplement",
        vn(2026, 2, 24, 15),
        attachment_ids=["a"],
        amendments=[{"field": "purpose", "old": "Xin việc", "new": "Du học"}],
    )
    assert case["status"] == "in_review" and not case["paused"] and case["due_date"] == "2026-03-06"
    assert decision.event["amendments"][0]["new"] == "Du học"


# ------------------------------------------------------------------ reception
def test_reception_deadline_and_late_reception():
    case = open_case(vn(2026, 3, 6, 16, 59))  # Friday → reception due Monday
    assert case["reception_due_date"] == "2026-03-09" and case["stage"]["kind"] == "reception"
    case2, decision = step(case, RECEPTION, "receive", vn(2026, 3, 10, 8))
    assert decision.event["reception_late"] is True and case2["reception_late"]
    assert decision.event["stage_completed"]["late"] is True
    ok, decision = step(case, RECEPTION, "receive", vn(2026, 3, 9, 23, 59))
    assert decision.event["reception_late"] is False


def test_a_level_4_dossier_waiting_for_its_fee_is_not_late_for_reception():
    case = open_case(vn(2026, 3, 2, 9), level=4, fee=100_000, signed=True)
    assert case["fee_status"] == "unpaid" and case["reception_due_date"] is None
    with pytest.raises(Conflict) as info:
        step(case, SYSTEM, "deadline_flag", vn(2026, 3, 20, 9))
    assert info.value.code == "flags_unchanged"  # no reception flag while the fee is awaited
    case, _ = step(case, SYSTEM, "fee_paid", vn(2026, 3, 20, 9), payment_id="p1")
    assert case["fee_status"] == "paid_online" and case["reception_due_date"] == "2026-03-23"


def test_sweep_flags_reception_then_the_processing_clock():
    case = open_case(vn(2026, 3, 2, 9))  # reception due Tue 3/3
    flagged, decision = step(case, SYSTEM, "deadline_flag", vn(2026, 3, 3, 8))
    assert decision.event_model is CaseDeadlineFlagged and decision.event["newly"] == ["reception_at_risk"]
    flagged, decision = step(flagged, SYSTEM, "deadline_flag", vn(2026, 3, 4, 8))
    assert decision.event["newly"] == ["reception_overdue"]
    received, _ = step(flagged, RECEPTION, "receive", vn(2026, 3, 4, 9))
    assert not any(received["flags"].values())  # transitions lower flags, never raise them


# ------------------------------------------------------------------ declared workflows
def wf(*stages):
    return {"stages": [dict(zip(("code", "name", "kind", "roles", "days"), s)) | {"cohandling": True} for s in stages]}


COMMUNE = wf(
    ("tn", "Tiếp nhận", "reception", ["reception"], 1),
    ("td", "Thẩm định", "review", ["specialist"], 2),
    ("pd", "Phê duyệt", "approval", ["leader"], 1),
    ("tkq", "Trả kết quả", "result", ["reception", "leader"], 1),
)


def test_stages_with_budgets_roles_and_late_stages():
    at = vn(2026, 3, 2, 9)  # Monday
    case = open_case(at, days=5, workflow=COMMUNE)
    with pytest.raises(ValidationFailed) as info:  # no assignment stage: reception names the department
        step(case, RECEPTION, "receive", at)
    assert info.value.code == "department_required"
    case, decision = step(case, RECEPTION, "receive", at, department_id="STP-LLTP")
    assert case["status"] == "in_review" and case["due_date"] == "2026-03-09"
    assert case["stage"]["code"] == "td" and case["stage"]["due_date"] == "2026-03-04"  # 2 days
    case, decision = step(case, SPECIALIST, "propose", vn(2026, 3, 5, 9), summary="Đủ điều kiện")  # a day late
    assert decision.event["stage_completed"] == {
        "code": "td",
        "name": "Thẩm định",
        "kind": "review",
        "department_id": "STP-LLTP",
        "due_date": "2026-03-04",
        "late": True,
    }
    assert case["stage"]["code"] == "pd" and case["stage"]["due_date"] == "2026-03-06"
    case, _ = step(case, LEADER, "approve", vn(2026, 3, 5, 10), result_document=DOC)
    # the result stage may be acted on by a leader in this workflow
    case, decision = step(case, LEADER, "mark_result_ready", vn(2026, 3, 5, 11))
    assert [s["code"] for s in case["stages"]] == ["tn", "td", "pd"] and case["stage"]["code"] == "tkq"
    case, decision = step(case, LEADER, "deliver", vn(2026, 3, 5, 15), method="in_person")
    assert case["stage"] is None and decision.event["stage_completed"]["late"] is False


def test_roles_come_from_the_stage_not_a_fixed_list():
    leader_reviews = wf(
        ("tn", "Tiếp nhận", "reception", ["reception"], None),
        ("pc", "Phân công", "assignment", ["leader"], None),
        ("td", "Thẩm định", "review", ["leader"], None),
        ("pd", "Phê duyệt", "approval", ["leader"], None),
        ("tkq", "Trả kết quả", "result", ["reception"], None),
    )
    at = vn(2026, 3, 2, 9)
    case, _ = step(open_case(at, workflow=leader_reviews), RECEPTION, "receive", at)
    with pytest.raises(Forbidden) as info:  # reception may not assign in this workflow
        step(case, RECEPTION, "assign", at, department_id="STP-LLTP")
    assert info.value.code == "forbidden_role" and info.value.details["stage"] == "pc"
    case, _ = step(case, LEADER, "assign", at, department_id="STP-LLTP")
    with pytest.raises(Forbidden):
        step(case, SPECIALIST, "propose", at, summary="Đủ điều kiện")
    case, _ = step(case, LEADER, "propose", at, summary="Đủ điều kiện")
    assert case["status"] == "proposed"


def test_available_actions_follow_role_and_stage():
    at = vn(2026, 3, 2, 9)
    case = open_case(at)
    assert set(available_actions(case, RECEPTION, ctx(at))) == {"receive", "request_supplement", "reject_at_reception"}
    assert available_actions(case, LEADER, ctx(at)) == []
    case = through_review(at)
    assert set(available_actions(case, SPECIALIST, ctx(at))) == {
        "request_supplement",
        "request_cohandling",
        "propose",
        "draft_refusal",
    }
    assert available_actions(case, {**SPECIALIST, "department_id": "STP-HCTP"}, ctx(at)) == []
    assert available_actions(case, RECEPTION, ctx(at)) == []
    assert available_actions(case, SPECIALIST, ctx(vn(2026, 3, 20, 9))) == []  # past due: apology first
    assert available_actions(case, LEADER, ctx(vn(2026, 3, 20, 9))) == ["issue_apology"]


def test_bad_workflow_definitions_are_named():
    def codes(definition, days=5):
        return [p["problem"] for p in problems(Workflow.model_validate(definition), days)]

    assert codes(COMMUNE) == []
    assert codes(default_workflow()) == []
    assert "workflow_unknown_role" in codes(
        wf(
            ("tn", "Tiếp nhận", "reception", ["janitor"], 1),
            ("td", "Thẩm định", "review", ["specialist"], 2),
            ("pd", "Phê duyệt", "approval", ["leader"], 1),
            ("tkq", "Trả kết quả", "result", ["reception"], 1),
        )
    )
    assert "workflow_budget_exceeds_processing_time" in codes(COMMUNE, days=3)  # 2 + 1 + 1 > 3
    assert "workflow_no_final_stage" in codes(
        wf(
            ("tn", "Tiếp nhận", "reception", ["reception"], 1),
            ("td", "Thẩm định", "review", ["specialist"], 2),
            ("pd", "Phê duyệt", "approval", ["leader"], 1),
        )
    )
    assert "workflow_stage_order" in codes(
        wf(
            ("tn", "Tiếp nhận", "reception", ["reception"], 1),
            ("pd", "Phê duyệt", "approval", ["leader"], 1),
            ("td", "Thẩm định", "review", ["specialist"], 2),
            ("tkq", "Trả kết quả", "result", ["reception"], 1),
        )
    )


# ------------------------------------------------------------------ the applicant and the system
def test_withdraw_only_before_reception():
    at = vn(2026, 3, 2, 9)
    case = open_case(at)
    with pytest.raises(Forbidden):
        step(case, {"id": "someone-else", "role": "citizen"}, "withdraw", at)
    withdrawn, _ = step(case, CITIZEN, "withdraw", at)
    assert withdrawn["status"] == "withdrawn" and withdrawn["stage"] is None
    received, _ = step(case, RECEPTION, "receive", at)
    with pytest.raises(Conflict) as info:
        step(received, CITIZEN, "withdraw", at)
    assert info.value.code == "invalid_transition"


def test_redo_after_loss_and_online_collection():
    at = vn(2026, 3, 2, 9)
    case = through_review(at)
    case, _ = step(case, SPECIALIST, "propose", at, summary="Đủ điều kiện")
    case, _ = step(case, LEADER, "approve", at, result_document=DOC)
    case, _ = step(case, RECEPTION, "mark_result_ready", at)
    with pytest.raises(Conflict) as info:  # delivered in person, not online
        step(case, CITIZEN, "collect_result", at)
    assert info.value.code == "result_not_available"
    redo, _ = step(case, SYSTEM, "redo_after_loss", at, shipment_id="S1")
    assert redo["status"] == "in_review" and redo["stage"]["kind"] == "review"
    online, _ = step({**case, "delivery_method": "online"}, CITIZEN, "collect_result", at)
    assert online["status"] == "delivered" and online["delivered"]["method"] == "online"
