"""R31: ministry systems over RPC, through the pika client a ministry developer would use."""

import uuid

import pytest
import requests

from clients.portal_ministry_client import MinistryClient, MinistryError
from tests.e2e.test_processing_journey import BIRTH_FORM, command, official, wait_for
from tests.helpers import PDF, PNG, b64

ATTACHMENTS = [
    {"document_code": "TK-KS", "filename": "to-khai.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    {"document_code": "GCS", "filename": "giay-chung-sinh.png", "content_type": "image/png", "content_b64": b64(PNG)},
]
BIRTH = {"procedure_code": "TP-HT-01", "form_data": BIRTH_FORM, "delivery_method": "in_person"}


@pytest.fixture
def connect(suite):
    clients = []

    def make(system, secret, **kw):
        client = MinistryClient(suite["env"]["AMQP_URI"], system, secret, timeout=20, **kw)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def refused(call, *args):
    with pytest.raises(MinistryError) as info:
        call(*args)
    return info.value.code


def test_ministry_files_reads_and_hears_status_changes(suite, connect):
    api = suite["api"]
    moj = connect("moj-hotich", "moj-test-secret")
    moj.subscribe()
    list(moj.status_changes(timeout=0.5))  # start from an empty queue
    issue = f"HT-2026-{uuid.uuid4().hex[:8]}"

    filed = moj.file_dossier(issue, BIRTH, ATTACHMENTS)
    code = filed["dossier_code"]
    assert filed["issue"] == issue and filed["replayed"] is False and filed["status"] == "submitted"
    # A retry with the same issue returns the same dossier; the same issue for another request is refused.
    again = moj.file_dossier(issue, BIRTH, ATTACHMENTS)
    assert again["dossier_code"] == code and again["replayed"] is True
    other = {**BIRTH, "form_data": {**BIRTH_FORM, "child_full_name": "Người Khác"}}
    assert refused(moj.file_dossier, issue, other, ATTACHMENTS) == "issue_reused"

    reception = official(api, "off-gr-reception")
    history = wait_for(
        lambda: requests.get(f"{api}/cases/{code}/history", headers=reception, timeout=10).json().get("entries")
    )
    opened = history[0]
    assert opened["action"] == "open" and opened["actor"] == {
        "id": "ministry:moj-hotich",
        "role": "ministry_system",
        "agency_id": None,
        "department_id": None,
    }
    assert "moj-hotich" in opened["reason"] and issue in opened["reason"]

    command(api, reception, code, "receive")
    status = moj.dossier_status(code)
    assert status["code"] == code and status["status"] == "received"
    assert [e["action"] for e in status["entries"]] == ["open", "receive"]

    changes = list(moj.status_changes(timeout=10, max_messages=1))
    assert changes and changes[0]["dossier_code"] == code and changes[0]["issue"] == issue
    assert (changes[0]["action"], changes[0]["from_status"], changes[0]["to_status"]) == (
        "receive",
        "submitted",
        "received",
    )

    # Both reads are in the case history with the system and the issue reference (the dossier code).
    bca = connect("bca-readall", "bca-test-secret")
    assert bca.dossier_status(code)["status"] == "received"
    entries = requests.get(f"{api}/cases/{code}/history", headers=reception, timeout=10).json()["entries"]
    reads = [e for e in entries if e["action"] == "external_read"]
    assert [r["actor"]["id"] for r in reads] == ["ministry:moj-hotich", "ministry:bca-readall"]
    assert all(code in r["reason"] for r in reads)
    assert requests.get(f"{api}/cases/{code}/history/verify", headers=reception, timeout=10).json()["valid"]

    # The dossier counts under the ministry-system channel.
    operator = official(api, "off-province-operator")
    figures = wait_for(
        lambda: (lambda f: f if f["received_ministry_system"] >= 1 else None)(
            requests.get(
                f"{api}/dashboard", params={"dim": "procedure", "value": "TP-HT-01"}, headers=operator, timeout=10
            ).json()["figures"]
        ),
        timeout=20,
    )
    assert figures and figures["received_ministry_system"] >= 1


def test_every_scope_violation_is_refused_with_its_code(suite, connect):
    moj = connect("moj-hotich", "moj-test-secret")
    code = moj.file_dossier(f"HT-{uuid.uuid4().hex[:8]}", BIRTH, ATTACHMENTS)["dossier_code"]

    assert refused(connect("moj-hotich", "wrong-secret").dossier_status, code) == "invalid_credentials"
    assert refused(connect("no-such-system", "x").dossier_status, code) == "invalid_credentials"
    # Read-only systems cannot file; write-only systems cannot read or subscribe.
    assert (
        refused(connect("bca-readall", "bca-test-secret").file_dossier, "X-1", BIRTH, ATTACHMENTS)
        == "write_not_allowed"
    )
    mof = connect("mof-writeonly", "mof-test-secret")
    assert refused(mof.dossier_status, code) == "read_not_allowed"
    assert refused(mof.subscribe) == "read_not_allowed"
    # Procedures outside the system's scope, for filing and for reading.
    assert refused(moj.file_dossier, "X-2", {**BIRTH, "procedure_code": "KH-HKD-01"}, []) == "procedure_out_of_scope"
    assert refused(connect("moj-read-kethon", "moj-kh-test-secret").dossier_status, code) == "procedure_out_of_scope"
    # Bad input: no issue reference, an unknown dossier, a form that fails the procedure's schema.
    assert refused(moj.file_dossier, "", BIRTH, ATTACHMENTS) == "validation_failed"
    assert refused(moj.dossier_status, "52-000000-0000") == "dossier_not_found"
    bad = {**BIRTH, "form_data": {"child_full_name": "Thiếu trường"}}
    assert refused(moj.file_dossier, "X-3", bad, ATTACHMENTS) == "invalid_form_data"


def test_client_reports_an_absent_interface_at_once(suite, connect):
    client = connect("moj-hotich", "moj-test-secret", service="no-such-service")
    assert refused(client.dossier_status, "52-000000-0000") == "service_unavailable"
