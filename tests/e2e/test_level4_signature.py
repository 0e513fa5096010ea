"""Level-4 filing with a digital signature (R10): verified, recorded, shown; an invalid
signature is refused with nothing stored; without one the dossier is handled as level 3."""

import uuid

import requests

from tests.e2e.signing import sign_filing
from tests.helpers import PDF, PNG, EventTap, b64
from tests.pki import NOW

FORM = {
    "full_name": "Nguyễn Văn An",
    "national_id": "079090001234",
    "date_of_birth": "1990-05-17",
    "place_of_birth": "Quy Nhơn",
    "permanent_address": "Quy Nhơn, Bình Định",
    "record_type": 1,
    "copies": 1,
    "purpose": "Bổ sung hồ sơ xin việc",
}
FILES = [("TK-LLTP", "to-khai.pdf", "application/pdf", PDF), ("CCCD", "cccd.png", "image/png", PNG)]


def signed_filing(api, auth, signer, chain, tamper=False):
    body = {
        "procedure_code": "TP-LLTP-01",
        "form_data": FORM,
        "delivery_method": "online",
        "attachments": [
            {"document_code": c, "filename": n, "content_type": t, "content_b64": b64(d)} for c, n, t, d in FILES
        ],
    }
    signed = sign_filing(api, auth, signer, chain, body)
    return {**signed, "form_data": dict(FORM, copies=2)} if tamper else signed


def test_signed_level4_is_handled_as_level4(suite, citizen):
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    body = signed_filing(api, auth, pki.citizen(profile["national_id"]), pki.intermediate.pem)
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    d = r.json()["dossier"]
    assert d["level"] == 4 and d["handled_as_level"] == 4
    assert d["signature"]["valid"] and profile["national_id"] in d["signature"]["subject"]


def test_unsigned_level4_is_handled_as_level3(suite, citizen):
    """R35 / Art. 7.2a: no online return without a signature (the reason is said), and the fee is
    paid at the desk or by post, not online."""
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    body = signed_filing(api, auth, pki.citizen(profile["national_id"]), pki.intermediate.pem)
    body.pop("signature")
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 422 and r.json()["error"]["code"] == "online_return_needs_signature"
    assert "mức độ 3" in r.json()["error"]["message"]
    r = requests.post(f"{api}/dossiers", json={**body, "delivery_method": "in_person"}, headers=auth, timeout=30)
    d = r.json()["dossier"]
    assert (d["level"], d["handled_as_level"], d["signature"]) == (4, 3, None)
    r = requests.post(f"{api}/dossiers/{d['code']}/payments", headers=auth, timeout=30)
    assert r.status_code in (404, 409) and r.json()["error"]["code"] != "internal_error"


def test_invalid_signatures_are_refused_and_nothing_is_stored(suite, citizen, mongo):
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    intake = mongo[suite["env"]["DB_PREFIX"] + "_intake"]
    tap = EventTap(suite["env"]["AMQP_URI"], "intake", "dossier_submitted")
    try:
        before = (intake.dossiers.count_documents({}), intake.attachment_chunks.count_documents({}))
        cases = {
            "invalid_signature": signed_filing(
                api, auth, pki.citizen(profile["national_id"]), pki.intermediate.pem, tamper=True
            ),
            "certificate_subject_mismatch": signed_filing(api, auth, pki.citizen("079000000001"), pki.intermediate.pem),
            "untrusted_certificate": signed_filing(
                api, auth, pki.citizen(profile["national_id"], issuer=pki.rogue_root), None
            ),
            "certificate_expired": signed_filing(
                api,
                auth,
                pki.citizen(
                    profile["national_id"],
                    not_before=NOW.replace(year=NOW.year - 2),
                    not_after=NOW.replace(year=NOW.year - 1),
                ),
                pki.intermediate.pem,
            ),
        }
        for code, body in cases.items():
            r = requests.post(
                f"{api}/dossiers", json=body, headers={**auth, "Idempotency-Key": str(uuid.uuid4())}, timeout=30
            )
            assert r.status_code == 422 and r.json()["error"]["code"] == code, (code, r.text)
        assert (intake.dossiers.count_documents({}), intake.attachment_chunks.count_documents({})) == before
        assert tap.drain(wait=0.5) == []
    finally:
        tap.close()
