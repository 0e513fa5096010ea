"""Level-4 filing with a digital signature (R10): verified, recorded, shown; an invalid
signature is refused with nothing stored; without one the dossier is handled as level 3."""
import base64
import hashlib
import uuid

import requests

from tests.helpers import PDF, PNG, EventTap, b64
from tests.pki import NOW, issue, _name

FORM = {"full_name": "Nguyễn Văn An", "national_id": "079090001234", "date_of_birth": "1990-05-17",
        "place_of_birth": "Quy Nhơn", "permanent_address": "Quy Nhơn, Bình Định", "record_type": 1, "copies": 1,
        "purpose": "Bổ sung hồ sơ xin việc"}
FILES = [("TK-LLTP", "to-khai.pdf", "application/pdf", PDF), ("CCCD", "cccd.png", "image/png", PNG)]


def signed_filing(api, auth, signer, chain, tamper=False):
    metas = [{"document_code": c, "sha256": hashlib.sha256(data).hexdigest()} for c, _, _, data in FILES]
    r = requests.post(f"{api}/dossiers/signing-payload", headers=auth, timeout=10,
                      json={"procedure_code": "TP-LLTP-01", "form_data": FORM, "attachments": metas})
    assert r.status_code == 200, r.text
    payload = base64.b64decode(r.json()["payload_b64"])
    form = dict(FORM, copies=2) if tamper else FORM
    return {"procedure_code": "TP-LLTP-01", "form_data": form, "delivery_method": "online",
            "attachments": [{"document_code": c, "filename": n, "content_type": t, "content_b64": b64(d)}
                            for c, n, t, d in FILES],
            "signature": {"certificate_pem": signer.pem, "chain_pem": chain, "signature_b64": signer.sign(payload)}}


def test_signed_level4_is_handled_as_level4(suite, citizen):
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    body = signed_filing(api, auth, pki.citizen(profile["national_id"]), pki.intermediate.pem)
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    d = r.json()["dossier"]
    assert d["level"] == 4 and d["handled_as_level"] == 4
    assert d["signature"]["valid"] and profile["national_id"] in d["signature"]["subject"]


def test_unsigned_level4_is_handled_as_level3(suite, citizen):
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    body = signed_filing(api, auth, pki.citizen(profile["national_id"]), pki.intermediate.pem)
    body.pop("signature")
    d = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30).json()["dossier"]
    assert (d["level"], d["handled_as_level"], d["signature"]) == (4, 3, None)


def test_invalid_signatures_are_refused_and_nothing_is_stored(suite, citizen, mongo):
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    intake = mongo[suite["env"]["DB_PREFIX"] + "_intake"]
    tap = EventTap(suite["env"]["AMQP_URI"], "intake", "dossier_submitted")
    try:
        before = (intake.dossiers.count_documents({}), intake.attachment_chunks.count_documents({}))
        cases = {
            "invalid_signature": signed_filing(api, auth, pki.citizen(profile["national_id"]), pki.intermediate.pem,
                                               tamper=True),
            "certificate_subject_mismatch": signed_filing(api, auth, pki.citizen("079000000001"),
                                                          pki.intermediate.pem),
            "untrusted_certificate": signed_filing(api, auth, pki.citizen(profile["national_id"],
                                                                          issuer=pki.rogue_root), None),
            "certificate_expired": signed_filing(api, auth, pki.citizen(
                profile["national_id"], not_before=NOW.replace(year=NOW.year - 2),
                not_after=NOW.replace(year=NOW.year - 1)), pki.intermediate.pem),
        }
        for code, body in cases.items():
            r = requests.post(f"{api}/dossiers", json=body, headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
                              timeout=30)
            assert r.status_code == 422 and r.json()["error"]["code"] == code, (code, r.text)
        assert (intake.dossiers.count_documents({}), intake.attachment_chunks.count_documents({})) == before
        assert tap.drain(wait=0.5) == []
    finally:
        tap.close()
