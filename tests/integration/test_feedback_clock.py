"""Feedback answer clock (R19) on the real server with the time set by the test: 3 working days
across a weekend and holidays, at-risk and overdue flags, escalation, publication without personal data."""

import uuid
from datetime import datetime
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from services.common.calendar import VN_TZ
from services.common.mongo import make_client
from services.feedback.dependencies import FeedbackStore
from services.feedback.redact import redact
from services.feedback.service import FeedbackService
from services.feedback.settings import FeedbackSettings

OFFICIAL = {"id": "o1", "role": "specialist", "agency_id": "STP", "department_id": "STP-HCTP"}


def vn(*a):
    return datetime(*a, tzinfo=VN_TZ)


@pytest.fixture
def svc(infra):
    client = make_client(infra["mongo_uri"])
    db = client[f"{infra['db_prefix']}_feedback_it_{uuid.uuid4().hex[:6]}"]
    FeedbackStore.ensure_indexes(db)
    intake = MagicMock()
    intake.get_procedure.return_value = {"agency_id": "STP"}
    intake.get_agency.side_effect = lambda a: {"id": a}
    intake.get_account.return_value = {"name": "Nguyễn Văn An", "email": "an@example.vn", "phone": "0905123456"}
    service = worker_factory(
        FeedbackService,
        store=FeedbackStore(db),
        intake=intake,
        settings=FeedbackSettings(feedback_at_risk_working_days=1),
    )
    now = [vn(2026, 4, 24, 10)]
    service._now = lambda: now[0]
    service.clock = now
    yield service
    client.close()


QUESTION = {
    "kind": "question",
    "subject": "Thời gian cấp phiếu lý lịch tư pháp",
    "body": "Tôi là Nguyễn Văn An, CCCD 079090001234, điện thoại 0905 123 456, email an@example.vn. "
    "Hồ sơ 52-261129-ABCD1234 của tôi bao lâu thì có kết quả?",
    "procedure_code": "TP-LLTP-01",
    "publish_consent": True,
}


def test_three_working_days_across_weekend_and_holidays(svc):
    item = svc.submit({"id": "c1", "role": "citizen"}, QUESTION)
    # Fri 24/4/2026 10:00 → (25–26 weekend, 27 Hùng Kings observed) 28, 29, (30/4, 1/5, weekend) 4/5,
    # until 24:00 local that day
    assert item["due_date"] == "2026-05-04" and datetime.fromisoformat(item["due_at"]) == vn(2026, 5, 5)
    assert item["agency_id"] == "STP" and item["channel"] == "portal"
    svc.clock[0] = vn(2026, 4, 29, 12)  # 29/4 and 4/5 left
    svc.sweep()
    assert svc.get(OFFICIAL, item["id"])["flags"] == {"overdue": False, "at_risk": False}
    svc.clock[0] = vn(2026, 5, 2, 12)  # Saturday: only 4/5 is left
    svc.sweep()
    assert svc.get(OFFICIAL, item["id"])["flags"] == {"overdue": False, "at_risk": True}
    svc.clock[0] = vn(2026, 5, 4, 23, 59)  # the last minute of the due day is still on time
    answered = svc.answer(OFFICIAL, item["id"], {"answer": "Phiếu được cấp trong 10 ngày làm việc."})
    assert answered["on_time"] is True and answered["status"] == "answered"


def test_overdue_escalates_to_the_province_office_once(svc):
    item = svc.record(
        OFFICIAL,
        {
            **QUESTION,
            "channel": "phone",
            "publish_consent": False,
            "contact": {"name": "Trần Thị Bình", "phone": "0912345678"},
        },
    )
    assert item["channel"] == "phone"
    svc.clock[0] = vn(2026, 5, 4, 23, 59)  # due 4/5: not yet overdue
    assert svc.sweep()["escalated"] == 0
    svc.clock[0] = vn(2026, 5, 5, 0, 1)
    assert svc.sweep()["escalated"] == 1
    assert svc.sweep()["escalated"] == 0
    operator_view = svc.queue({"id": "op", "role": "operator"})
    assert [i["id"] for i in operator_view["items"]] == [item["id"]]
    late = svc.answer(OFFICIAL, item["id"], {"answer": "Xin lỗi vì trả lời chậm; hồ sơ đã có kết quả."})
    assert late["on_time"] is False
    events = [c.args[0] for c in svc.dispatch.call_args_list]
    assert events.count("feedback_escalated") == 1 and "feedback_answered" in events


def test_publication_removes_personal_data(svc):
    item = svc.submit({"id": "c1", "role": "citizen"}, QUESTION)
    svc.answer(OFFICIAL, item["id"], {"answer": "Ông Nguyễn Văn An vui lòng chờ; liên hệ 0256 3822 245 nếu cần."})
    page = svc.public_questions({"procedure_code": "TP-LLTP-01"})
    text = str(page["items"][0])
    for personal in ("Nguyễn Văn An", "079090001234", "0905 123 456", "an@example.vn", "52-261129-ABCD1234"):
        assert personal not in text
    assert "[họ tên]" in text and "[số định danh]" in text and "[email]" in text
    assert svc.public_questions({"agency_id": "SXD"})["total"] == 0
    assert svc.public_questions({"q": "lý lịch"})["total"] == 1
    private = svc.submit({"id": "c2", "role": "citizen"}, {**QUESTION, "publish_consent": False})
    svc.answer(OFFICIAL, private["id"], {"answer": "Trả lời riêng cho người hỏi."})
    assert svc.public_questions({})["total"] == 1


def test_anonymous_needs_a_contact_and_others_cannot_answer(svc):
    with pytest.raises(Exception) as info:
        svc.submit(None, QUESTION)
    assert info.value.code == "contact_required"
    item = svc.submit(None, {**QUESTION, "contact": {"name": "Khách", "email": "khach@example.vn"}})
    with pytest.raises(Exception) as info:
        svc.answer(
            {"id": "x", "role": "specialist", "agency_id": "SXD"}, item["id"], {"answer": "Không phải việc của tôi"}
        )
    assert info.value.code == "feedback_not_found"


def test_redact_keeps_ordinary_text():
    assert redact("Thủ tục cần 10 ngày làm việc.") == "Thủ tục cần 10 ngày làm việc."
