"""The processing workflow on the real Mongo-wire server, with the clock set by the test
(nameko worker_factory: real store, captured events, intake replaced)."""

import uuid
from datetime import datetime
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from services.common.calendar import VN_TZ
from services.common.clock import set_source
from services.common.errors import Conflict, Forbidden, ValidationFailed
from services.common.event_contracts import DossierSubmitted, PaymentSucceeded
from services.common.events import new_event
from services.common.mongo import make_client
from services.processing.dependencies import ProcessingStore
from services.processing.service import ProcessingService
from services.processing.settings import ProcessingSettings
from tests.helpers import PDF, b64

RECEPTION = {"id": "r1", "role": "reception", "agency_id": "STP", "department_id": "STP-TN"}
SPECIALIST = {"id": "s1", "role": "specialist", "agency_id": "STP", "department_id": "STP-LLTP"}
LEADER = {"id": "l1", "role": "leader", "agency_id": "STP", "department_id": "STP-LD"}
OTHER_RECEPTION = {"id": "r2", "role": "reception", "agency_id": "SXD", "department_id": "SXD-TN"}
CITIZEN = {"id": "c1", "role": "citizen"}
AGENCY = {"id": "STP", "departments": [{"id": "STP-TN"}, {"id": "STP-LLTP"}, {"id": "STP-HCTP"}, {"id": "STP-LD"}]}
PDF_DOC = {"filename": "ket-qua.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)}


def vn(*a):
    return datetime(*a, tzinfo=VN_TZ)


@pytest.fixture
def clock():
    now = [vn(2026, 2, 9, 8)]
    set_source(lambda: now[0])  # the one clock every part of the service reads
    yield now
    set_source(None)


@pytest.fixture
def svc(infra, clock):
    client = make_client(infra["mongo_uri"])
    db = client[f"{infra['db_prefix']}_processing_wf"]
    ProcessingStore.ensure_indexes(db)
    intake = MagicMock()
    intake.get_agency.side_effect = lambda agency_id: (
        AGENCY if agency_id == "STP" else {"id": agency_id, "departments": []}
    )
    service = worker_factory(
        ProcessingService,
        store=ProcessingStore(db),
        intake=intake,
        settings=ProcessingSettings(at_risk_working_days=1, max_document_bytes=1_000_000),
    )
    yield service
    client.close()


def open_case(svc, days=10, rule="restart", delivery="in_person"):
    code = f"52-TEST-{uuid.uuid4().hex[:8].upper()}"
    envelope = new_event(
        DossierSubmitted(
            code=code,
            procedure_code="TP-LLTP-01",
            procedure_version=1,
            procedure_name="Cấp Phiếu lý lịch tư pháp",
            agency_id="STP",
            sector="Tư pháp",
            field="Lý lịch tư pháp",
            level=4,
            handled_as_level=3,
            channel="online",
            processing_days=days,
            supplement_clock=rule,
            applicant_id=CITIZEN["id"],
            delivery_method=delivery,
            fee_vnd=200000,
            submitted_at=vn(2026, 2, 9, 8),
        ),
        CITIZEN,
        dossier_code=code,
    )
    svc.open_case(envelope)
    return code, envelope


def act(svc, actor, code, action, **fields):
    version = svc.store.case(code)["version"]
    return svc.command(actor, code, {"action": action, "expected_version": version, **fields})


@pytest.mark.parametrize("rule,due", [("restart", "2026-03-10"), ("resume", "2026-03-06")])
def test_supplement_across_tet_2026(svc, clock, rule, due):
    code, _ = open_case(svc, days=10, rule=rule)
    clock[0] = vn(2026, 2, 10, 9)
    received = act(svc, RECEPTION, code, "receive")
    assert received["due_date"] == "2026-03-03" and datetime.fromisoformat(received["due_at"]) == vn(2026, 3, 4)
    act(svc, RECEPTION, code, "assign", department_id="STP-LLTP")
    clock[0] = vn(2026, 2, 12, 10)
    case = act(
        svc,
        SPECIALIST,
        code,
        "request_supplement",
        missing=[{"document_code": "CCCD", "description": "Bản chụp CCCD rõ nét, đủ hai mặt"}],
    )
    assert case["status"] == "returned_for_supplement" and case["paused"]
    clock[0] = vn(2026, 2, 24, 15)
    timeline = svc.supplement(CITIZEN, code, {"note": "Đã bổ sung bản chụp CCCD"})
    assert timeline["status"] == "in_review" and not timeline["paused"]
    assert timeline["due_date"] == due
    statuses = [e["status"] for e in timeline["entries"]]
    # the assignment to a department is the agency's internal work: not in the citizen's timeline
    assert statuses == ["submitted", "received", "returned_for_supplement", "in_review"]


def test_supplement_at_reception_does_not_start_the_clock(svc, clock):
    code, _ = open_case(svc)
    case = act(svc, RECEPTION, code, "request_supplement", missing=[{"description": "Thiếu tờ khai có chữ ký"}])
    assert case["due_at"] is None
    timeline = svc.supplement(CITIZEN, code, {"note": "Đã ký tờ khai"})
    assert timeline["status"] == "submitted" and timeline["due_at"] is None
    with pytest.raises(Conflict) as info:
        svc.supplement(CITIZEN, code, {"note": "lần nữa"})
    assert info.value.code == "not_awaiting_supplement"


def test_late_case_needs_an_apology_before_it_continues(svc, clock):
    code, _ = open_case(svc, days=3)
    clock[0] = vn(2026, 3, 2, 9)
    act(svc, RECEPTION, code, "receive")  # due Thu 5/3 (until 24:00)
    act(svc, RECEPTION, code, "assign", department_id="STP-LLTP")
    clock[0] = vn(2026, 3, 9, 10)  # two working days late
    before = svc.store.case(code)["version"]
    with pytest.raises(Conflict) as info:
        act(svc, SPECIALIST, code, "propose", summary="Đủ điều kiện cấp phiếu")
    assert info.value.code == "apology_required" and svc.store.case(code)["version"] == before
    with pytest.raises(Forbidden):
        act(svc, SPECIALIST, code, "issue_apology", letter="Xin lỗi vì chậm trễ ...", new_due_date="2026-03-11")
    case = act(
        svc,
        LEADER,
        code,
        "issue_apology",
        letter="Sở Tư pháp xin lỗi Ông/Bà vì hồ sơ chậm trả kết quả.",
        new_due_date="2026-03-11",
    )
    assert case["due_date"] == "2026-03-11" and case["statutory_due_date"] == "2026-03-05"
    act(svc, SPECIALIST, code, "propose", summary="Đủ điều kiện cấp phiếu")
    act(svc, LEADER, code, "approve", result_document=PDF_DOC)
    case = act(svc, RECEPTION, code, "mark_result_ready")
    assert case["timing_class"] == "late"  # R15: counted against the published time
    events = [c.args[1]["payload"]["action"] for c in svc.dispatch.call_args_list if c.args[0] == "case_status_changed"]
    assert "issue_apology" in events


def test_early_and_on_time(svc, clock):
    code, _ = open_case(svc, days=10)
    clock[0] = vn(2026, 3, 2, 9)
    act(svc, RECEPTION, code, "receive")  # due 16/3
    act(svc, RECEPTION, code, "assign", department_id="STP-LLTP")
    act(svc, SPECIALIST, code, "propose", summary="Đủ điều kiện")
    act(svc, LEADER, code, "approve", result_document=PDF_DOC)
    clock[0] = vn(2026, 3, 4, 9)
    assert act(svc, RECEPTION, code, "mark_result_ready")["timing_class"] == "early"


@pytest.mark.parametrize(
    "actor,action,fields,code_",
    [
        (SPECIALIST, "receive", {}, "forbidden_role"),
        (OTHER_RECEPTION, "receive", {}, "dossier_not_found"),
        (RECEPTION, "approve", {"result_document": PDF_DOC}, "forbidden_role"),
        (LEADER, "approve", {"result_document": PDF_DOC}, "invalid_transition"),
        (RECEPTION, "assign", {"department_id": "STP-LLTP"}, "invalid_transition"),
        (RECEPTION, "receive", {"expected_version": 99}, "stale_version"),
    ],
)
def test_forbidden_transitions_change_nothing(svc, clock, actor, action, fields, code_):
    code, _ = open_case(svc)
    before = svc.store.case(code)
    history = len(svc.store.history(code))
    command = {"action": action, "expected_version": before["version"], **fields}
    with pytest.raises((Forbidden, Conflict, Exception)) as info:
        svc.command(actor, code, command)
    assert getattr(info.value, "code", None) == code_
    after = svc.store.case(code)
    assert after == before and len(svc.store.history(code)) == history


def test_other_agency_cannot_act_even_when_it_can_see(svc, clock):
    code, _ = open_case(svc)
    act(svc, RECEPTION, code, "receive")
    act(svc, RECEPTION, code, "assign", department_id="STP-LLTP")
    act(svc, SPECIALIST, code, "request_cohandling", agency_id="SXD", task="Xác minh thông tin", days=2)
    outsider = {"id": "s9", "role": "specialist", "agency_id": "SXD", "department_id": "SXD-QLXD"}
    assert svc.get_case(outsider, code)["code"] == code  # the co-handling agency sees the case
    with pytest.raises(Forbidden) as info:
        act(svc, outsider, code, "propose", summary="x" * 10)
    assert info.value.code == "other_agency"
    with pytest.raises(Forbidden):  # another specialist department of the lead agency cannot answer
        act(
            svc,
            {**SPECIALIST, "department_id": "STP-HCTP"},
            code,
            "answer_cohandling",
            request_id=svc.store.case(code)["cohandling"][0]["id"],
            answer="Ý kiến",
        )
    with pytest.raises(Conflict) as info:
        act(svc, SPECIALIST, code, "propose", summary="Chưa có ý kiến phối hợp")
    assert info.value.code == "cohandling_pending"
    request_id = svc.store.case(code)["cohandling"][0]["id"]
    case = act(svc, outsider, code, "answer_cohandling", request_id=request_id, answer="Thông tin xác minh khớp")
    assert case["cohandling"][0]["status"] == "answered" and case["cohandling"][0]["on_time"]
    with pytest.raises(ValidationFailed) as info:  # R13: sub-deadline within the case deadline
        act(svc, SPECIALIST, code, "request_cohandling", department_id="STP-HCTP", task="Ý kiến", days=30)
    assert info.value.code == "cohandling_beyond_deadline"


def test_duplicate_submission_event_opens_one_case(svc, clock):
    code, envelope = open_case(svc)
    svc.open_case(envelope)
    opened = [c for c in svc.dispatch.call_args_list if c.args[0] == "case_opened"]
    assert len(opened) == 1 and len(svc.store.history(code)) == 1


def test_sweep_flags_once(svc, clock):
    code, _ = open_case(svc, days=2)
    clock[0] = vn(2026, 3, 2, 9)
    act(svc, RECEPTION, code, "receive")  # due Wed 4/3
    clock[0] = vn(2026, 3, 3, 23, 59)  # Tue: Tue and Wed left
    svc.sweep()
    assert not svc.store.case(code)["flags"]["at_risk"]
    clock[0] = vn(2026, 3, 4, 0, 1)  # the due day
    svc.sweep()
    assert svc.store.case(code)["flags"] == {
        "overdue": False,
        "at_risk": True,
        "reception_at_risk": False,
        "reception_overdue": False,
    }
    clock[0] = vn(2026, 3, 5, 0, 1)
    svc.sweep()
    svc.sweep()
    flagged = [
        c.args[1]["payload"]
        for c in svc.dispatch.call_args_list
        if c.args[0] == "case_deadline_flagged" and c.args[1]["payload"]["code"] == code
    ]
    assert [f["newly"] for f in flagged] == [["at_risk"], ["overdue"]]
    assert svc.verify_history(RECEPTION, code)["valid"]


def test_sweep_in_chunks_flags_each_case_once(svc, clock, monkeypatch):
    """Cases read a chunk ahead of the one being flagged: every due case flagged once, with its
    event, its projection and its entry in the set of raised flags."""
    monkeypatch.setattr("services.processing.service.SWEEP_CHUNK", 2)
    codes = [open_case(svc, days=2)[0] for _ in range(5)]
    clock[0] = vn(2026, 3, 2, 9)
    for code in codes:
        act(svc, RECEPTION, code, "receive")  # due Wed 4/3
    for day, flag in ((4, "at_risk"), (5, "overdue")):
        clock[0] = vn(2026, 3, day, 0, 1)
        svc.sweep()
        svc.sweep()
        for code in codes:
            case = svc.store.case(code)
            assert case["flags"][flag] and case["version"] == (3 if flag == "at_risk" else 4)
            raised = {
                d["_id"]
                for d in svc.store.db.flagged_cases.find({"_id": {"$in": [f"{code}|at_risk", f"{code}|overdue"]}})
            }
            assert raised == {f"{code}|{flag}"}
    flagged = [
        c.args[1]["payload"]
        for c in svc.dispatch.call_args_list
        if c.args[0] == "case_deadline_flagged" and c.args[1]["payload"]["code"] in codes
    ]
    assert sorted((f["code"], f["newly"][0]) for f in flagged) == sorted(
        (code, flag) for code in codes for flag in ("at_risk", "overdue")
    )
    assert svc.store.cases.pending.count_documents({"doc_id": {"$in": codes}}) == 0


def test_history_verification_reports_a_direct_database_edit(svc, clock):
    code, _ = open_case(svc)
    act(svc, RECEPTION, code, "receive")
    act(svc, RECEPTION, code, "assign", department_id="STP-LLTP")
    assert svc.verify_history(RECEPTION, code) == {
        "code": code,
        "valid": True,
        "checked": 3,
        "broken_at": None,
        "reason": None,
    }
    svc.store.cases.log.update_one({"_id": f"{code}#2"}, {"$set": {"history.actor.id": "someone-else"}})
    report = svc.verify_history(RECEPTION, code)
    assert report["valid"] is False and report["broken_at"] == 2


def test_a_fee_paid_before_the_case_opened_is_not_lost(svc, clock):
    """The payment's event may overtake the filing's: the opening then finds the fee paid (R10)."""
    code = f"52-TEST-{uuid.uuid4().hex[:8].upper()}"
    paid = new_event(
        PaymentSucceeded(payment_id="PAY1", code=code, amount_vnd=200000),
        {"id": "payment", "role": "system"},
        dossier_code=code,
    )
    svc.fee_paid(paid)  # no case yet
    envelope = new_event(
        DossierSubmitted(
            code=code,
            procedure_code="TP-LLTP-01",
            procedure_version=1,
            procedure_name="LLTP",
            agency_id="STP",
            level=4,
            handled_as_level=4,
            channel="online",
            processing_days=10,
            applicant_id=CITIZEN["id"],
            delivery_method="online",
            fee_vnd=200000,
            submitted_at=vn(2026, 2, 9, 8),
        ),
        CITIZEN,
        dossier_code=code,
    )
    svc.open_case(envelope)
    case = svc.store.case(code)
    assert case["fee_status"] == "paid_online" and case["payment_id"] == "PAY1"
    assert case["reception_due_date"] == "2026-02-10"  # the wait for reception starts with the payment
    svc.fee_paid(paid)  # the redelivery changes nothing
    assert svc.store.case(code)["version"] == case["version"]
