"""Level-4 filings signed the way a citizen's signing tool does it (R10): ask the portal for the
exact payload, sign it with the citizen's certificate from the test PKI, file with the signature."""

from __future__ import annotations

import base64
import hashlib

import requests


def sign_filing(api: str, auth: dict, signer, chain_pem: str, body: dict, sign_form: dict | None = None) -> dict:
    """``body`` (a FileDossierJson) with a signature over its form and files; ``sign_form`` signs
    another form than the one filed (a tampered filing)."""
    metas = [
        {"document_code": a["document_code"], "sha256": hashlib.sha256(base64.b64decode(a["content_b64"])).hexdigest()}
        for a in body.get("attachments", [])
    ]
    r = requests.post(
        f"{api}/dossiers/signing-payload",
        headers=auth,
        timeout=10,
        json={
            "procedure_code": body["procedure_code"],
            "form_data": sign_form or body["form_data"],
            "attachments": metas,
        },
    )
    assert r.status_code == 200, r.text
    payload = base64.b64decode(r.json()["payload_b64"])
    return {
        **body,
        "signature": {"certificate_pem": signer.pem, "chain_pem": chain_pem, "signature_b64": signer.sign(payload)},
    }


def file_signed(suite: dict, citizen: tuple, body: dict) -> str:
    """File ``body`` signed by the citizen; the dossier code."""
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    signed = sign_filing(api, auth, pki.citizen(profile["national_id"]), pki.intermediate.pem, body)
    r = requests.post(f"{api}/dossiers", json=signed, headers=auth, timeout=30)
    assert r.status_code == 201 and r.json()["dossier"]["handled_as_level"] == 4, r.text
    return r.json()["dossier"]["code"]
