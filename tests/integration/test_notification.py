"""Notification deliveries: one message per event and channel, retries with backoff, then give up."""

import uuid
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from services.common.event_contracts import CaseStatusChanged
from services.common.events import new_event
from services.common.mongo import make_client
from services.notification.dependencies import NotificationStore
from services.notification.service import NotificationService
from services.notification.settings import NotificationSettings


@pytest.fixture
def svc(infra):
    client = make_client(infra["mongo_uri"])
    db = client[f"{infra['db_prefix']}_notification_it_{uuid.uuid4().hex[:6]}"]
    intake = MagicMock()
    intake.get_account.return_value = {"name": "An", "email": "an@example.vn", "phone": "0905123456"}
    # Nothing listens on this port: every email attempt fails.
    service = worker_factory(
        NotificationService,
        store=NotificationStore(db),
        intake=intake,
        settings=NotificationSettings(
            smtp_host="127.0.0.1", smtp_port=9, delivery_max_attempts=3, delivery_backoff_seconds=0, sms_adapter="log"
        ),
    )
    yield service
    client.close()


def changed(code: str, action: str, **fields) -> CaseStatusChanged:
    return CaseStatusChanged(
        code=code,
        action=action,
        applicant_id="c1",
        procedure_code="TP-KS-01",
        procedure_name="Khai sinh",
        agency_id="STP",
        level=3,
        delivery_method="in_person",
        **fields,
    )


def received(code="52-N-1"):
    return new_event(
        changed(
            code,
            "receive",
            from_="submitted",
            to="received",
            due_at="2026-12-01T17:00:00+00:00",
            due_date="2026-12-01",
            case_version=2,
        ),
        {"id": "r", "role": "reception"},
        dossier_code=code,
    )


def test_one_message_per_event_and_channel_with_retries(svc):
    event = received()
    svc.notify_applicant(event)
    svc.notify_applicant(event)  # redelivered: nothing new
    db = svc.store.db
    assert db.inbox.count_documents({}) == 1
    assert db.deliveries.count_documents({}) == 2
    assert db.deliveries.find_one({"_id": f"{event['event_id']}:sms"})["status"] == "sent"
    email = db.deliveries.find_one({"_id": f"{event['event_id']}:email"})
    assert email["status"] == "retrying" and email["attempts"] == 1 and "refused" in email["last_error"].lower()
    svc.retry_deliveries()
    svc.retry_deliveries()
    email = db.deliveries.find_one({"_id": f"{event['event_id']}:email"})
    assert email["status"] == "failed" and email["attempts"] == 3
    assert db.delivery_queue.count_documents({}) == 0
    svc.retry_deliveries()
    assert db.deliveries.find_one({"_id": f"{event['event_id']}:email"})["attempts"] == 3  # gave up


def test_actions_citizens_need_not_hear_about_send_nothing(svc):
    event = new_event(
        changed("52-N-2", "propose", from_="in_review", to="proposed", case_version=5),
        {"id": "s", "role": "specialist"},
        dossier_code="52-N-2",
    )
    svc.notify_applicant(event)
    assert svc.store.db.inbox.count_documents({}) == 0


def test_inbox_is_private(svc):
    svc.notify_applicant(received("52-N-3"))
    page = svc.inbox({"id": "c1", "role": "citizen"})
    assert page["total"] == 1 and "Ngày hẹn trả kết quả: 01/12/2026" in page["items"][0]["body"]
    assert svc.inbox({"id": "c2", "role": "citizen"})["total"] == 0
    with pytest.raises(Exception) as info:
        svc.mark_read({"id": "c2", "role": "citizen"}, page["items"][0]["id"])
    assert getattr(info.value, "code", "") == "message_not_found"
