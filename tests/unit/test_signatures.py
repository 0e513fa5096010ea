"""Digital-signature checks on level-4 dossiers (R10), with a PKI made by the test."""

from datetime import timedelta

import pytest

from services.common.errors import ValidationFailed
from services.intake.signatures import canonical_payload, verify
from tests.pki import NOW, Pki, _name, issue

NID = "079090001234"
PAYLOAD = canonical_payload(
    "TP-LLTP-01",
    1,
    {"full_name": "An", "copies": 1},
    [{"document_code": "CCCD", "sha256": "ab" * 32}, {"document_code": "TK", "sha256": "cd" * 32}],
)


@pytest.fixture(scope="module")
def pki():
    return Pki()


@pytest.fixture
def trust(tmp_path, pki):
    f = tmp_path / "trusted.pem"
    f.write_text(pki.trust_pem)
    return str(f)


def sig(signer, payload=PAYLOAD, chain=None):
    return {"certificate_pem": signer.pem, "signature_b64": signer.sign(payload), "chain_pem": chain}


def test_valid_rsa_signature_through_an_intermediate(pki, trust):
    signer = pki.citizen(NID)
    result = verify(sig(signer, chain=pki.intermediate.pem), PAYLOAD, NID, trust, NOW)
    assert result["valid"] and "CCCD:079090001234" in result["subject"]


def test_valid_ecdsa_signature(pki, trust):
    signer = pki.ec_citizen(NID)
    assert verify(sig(signer, chain=pki.intermediate.pem), PAYLOAD, NID, trust, NOW)["valid"]


def test_canonical_payload_ignores_attachment_order():
    a = [{"document_code": "B", "sha256": "1"}, {"document_code": "A", "sha256": "2"}]
    assert canonical_payload("X", 1, {"b": 1, "a": 2}, a) == canonical_payload("X", 1, {"a": 2, "b": 1}, a[::-1])


@pytest.mark.parametrize(
    "case,code",
    [
        ("tampered", "invalid_signature"),
        ("expired", "certificate_expired"),
        ("not_yet_valid", "certificate_expired"),
        ("wrong_ca", "untrusted_certificate"),
        ("missing_intermediate", "untrusted_certificate"),
        ("wrong_subject", "certificate_subject_mismatch"),
        ("no_signing_usage", "certificate_usage"),
        ("garbage_pem", "invalid_certificate"),
    ],
)
def test_rejections(pki, trust, case, code):
    chain = pki.intermediate.pem
    if case == "tampered":
        s = sig(pki.citizen(NID), payload=PAYLOAD.replace(b"An", b"Ba"), chain=chain)
    elif case == "expired":
        s = sig(pki.citizen(NID, not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1)), chain=chain)
    elif case == "not_yet_valid":
        s = sig(pki.citizen(NID, not_before=NOW + timedelta(days=1)), chain=chain)
    elif case == "wrong_ca":
        s = sig(pki.citizen(NID, issuer=pki.rogue_root))
    elif case == "missing_intermediate":
        s = sig(pki.citizen(NID))
    elif case == "wrong_subject":
        s = sig(pki.citizen("079090009999"), chain=chain)
    elif case == "no_signing_usage":
        s = sig(issue(_name("AN", f"CCCD:{NID}"), pki.intermediate, digital_signature=False), chain=chain)
    else:
        s = {
            "certificate_pem": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
            "signature_b64": "AAAA",
        }
    with pytest.raises(ValidationFailed) as info:
        verify(s, PAYLOAD, NID, trust, NOW)
    assert info.value.code == code


def test_no_trust_configured(pki, tmp_path):
    with pytest.raises(ValidationFailed) as info:
        verify(sig(pki.citizen(NID), chain=pki.intermediate.pem), PAYLOAD, NID, str(tmp_path / "none.pem"), NOW)
    assert info.value.code == "no_trusted_ca"
