"""Intake service logic with its dependencies replaced (nameko worker_factory)."""

from datetime import UTC
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from services.common import files as att
from services.common.errors import (
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from services.intake.service import IntakeService
from services.intake.settings import IntakeSettings
from tests.helpers import JPEG, PDF, PNG, b64

CITIZEN = {"id": "c1", "role": "citizen"}
LEVEL1 = {
    "code": "TP-CT-01",
    "name": "Chứng thực bản sao",
    "level": 1,
    "agency_id": "UBND-GR",
    "delivery_methods": ["in_person"],
    "version": 1,
}
LEVEL3 = {
    "code": "TP-HT-02",
    "name": "Xác nhận tình trạng hôn nhân",
    "level": 3,
    "agency_id": "UBND-GR",
    "version": 2,
    "sector": "Tư pháp",
    "field": "Hộ tịch",
    "processing_days": 3,
    "delivery_methods": ["in_person"],
    "fees": [{"name": "Lệ phí", "amount_vnd": 15000}],
    "required_documents": [{"code": "TK", "name": "Tờ khai", "mandatory": True}],
    "eform_schema": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {"name": {"type": "string"}},
    },
}


def service():
    svc = worker_factory(
        IntakeService,
        settings=IntakeSettings(
            tracking_secret_key="k", max_attachment_bytes=1000, max_attachments=3, province_code="52"
        ),
    )
    svc.store = MagicMock()
    return svc


def test_level_1_procedure_says_how_to_file_and_writes_nothing():
    svc = service()
    svc.store.current_procedure.return_value = LEVEL1
    svc.store.agency.return_value = {"name": "UBND phường Ghềnh Ráng", "address": "Khu vực 3"}
    with pytest.raises(ValidationFailed) as info:
        svc.file_dossier(CITIZEN, {"procedure_code": "TP-CT-01", "form_data": {}, "delivery_method": "in_person"})
    assert info.value.code == "procedure_not_online" and "Khu vực 3" in info.value.message
    svc.store.dossiers.create.assert_not_called()
    svc.store.claim_idempotency.assert_not_called()
    svc.dispatch.assert_not_called()


def test_officials_cannot_file():
    with pytest.raises(Forbidden):
        service().file_dossier({"id": "o", "role": "reception", "agency_id": "UBND-GR"}, {})


def test_valid_filing_writes_dossier_with_event_in_outbox():
    svc = service()
    svc.store.current_procedure.return_value = LEVEL3
    svc.store.dossiers.create.side_effect = lambda code, doc, events, dispatch: ({**doc, "version": 1}, True)
    out = svc.file_dossier(
        CITIZEN,
        {"procedure_code": "TP-HT-02", "form_data": {"name": "An"}, "delivery_method": "in_person"},
        [{"document_code": "TK", "filename": "a.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)}],
    )
    code, stored, events = svc.store.dossiers.create.call_args[0]
    assert stored["procedure_version"] == 2 and stored["fee_vnd"] == 15000
    assert [e["type"] for e in events] == ["dossier_submitted"] and events[0]["dossier_code"] == code
    assert svc.store.dossiers.create.call_args.kwargs["dispatch"] is svc.dispatch  # published with the commit
    assert out["dossier"]["code"].startswith("52-") and len(out["tracking_secret"]) == 12
    assert "request_hash" not in out["dossier"] and "version" not in out["dossier"]


def test_too_many_attachments():
    svc = service()
    svc.store.current_procedure.return_value = LEVEL3
    files = [
        {"document_code": "TK", "filename": f"{i}.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)}
        for i in range(4)
    ]
    with pytest.raises(ValidationFailed) as info:
        svc.file_dossier(
            CITIZEN, {"procedure_code": "TP-HT-02", "form_data": {"name": "An"}, "delivery_method": "in_person"}, files
        )
    assert info.value.code == "too_many_attachments"


def test_authenticate_unknown_account():
    svc = service()
    svc.store.account_by_key.return_value = None
    with pytest.raises(Unauthorized) as info:
        svc.authenticate({"login": "nobody@example.vn", "password": "x"})
    assert info.value.code == "invalid_credentials"
    svc.store.account_by_key.assert_called_once_with("email:nobody@example.vn")


@pytest.mark.parametrize(
    "content,claimed,expected",
    [
        (PDF, "application/pdf", "application/pdf"),
        (PNG, "image/png", "image/png"),
        (JPEG, "image/jpeg", "image/jpeg"),
        (PDF, "application/octet-stream", "application/pdf"),
    ],
)
def test_sniffed_types(content, claimed, expected):
    assert att.check(content, "f", claimed, 10_000) == expected


@pytest.mark.parametrize(
    "content,claimed,exc",
    [
        (b"MZ\x90\x00 executable", "application/pdf", UnsupportedMediaType),
        (PNG, "application/pdf", UnsupportedMediaType),
        (b"<svg/>", "image/svg+xml", UnsupportedMediaType),
        (PDF + b"x" * 20_000, "application/pdf", PayloadTooLarge),
        (b"", "application/pdf", ValidationFailed),
    ],
)
def test_rejected_files(content, claimed, exc):
    with pytest.raises(exc):
        att.check(content, "f", claimed, 10_000)


def test_chunks_reassemble():
    data = bytes(range(256)) * 3000
    assert b"".join(att.chunks(data)) == data and len(att.chunks(data)) == 3


def test_date_of_birth_is_checked_against_the_portal_clock_in_province_time():
    """A birth 'today' is refused, yesterday accepted, by the province's date on the portal's clock
    (at 23:30 UTC it is already tomorrow in Vietnam), not the machine's date."""
    from datetime import date, datetime

    from pydantic import ValidationError

    from contracts.intake import RegisterIndividual
    from services.common import clock

    base = {
        "kind": "individual",
        "email": "a@example.vn",
        "phone": "0912345678",
        "password": "mat-khau-dai-1",
        "full_name": "Lê Văn A",
        "national_id": "052090001234",
    }
    clock.set_source(lambda: datetime(2031, 3, 4, 23, 30, tzinfo=UTC))  # 5 March 06:30 in Vietnam
    try:
        assert RegisterIndividual(**base, date_of_birth=date(2031, 3, 4)).date_of_birth == date(2031, 3, 4)
        with pytest.raises(ValidationError):
            RegisterIndividual(**base, date_of_birth=date(2031, 3, 5))
    finally:
        clock.set_source(None)
