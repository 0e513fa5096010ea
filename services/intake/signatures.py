"""Digital signatures on level-4 dossiers (chữ ký số, R10).

The citizen signs a canonical digest of what they file: the eForm data as
canonical JSON, the sha256 of every attachment, and the procedure code and
version. The portal checks the signature and the signer's X.509 certificate:
it chains to a configured trusted CA (intermediates may be supplied), was
valid at signing time, allows digital signatures, and names the account's
national ID (CCCD/CMND) or tax code (MST) in its subject.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from services.common import error_catalogue as catalogue
from services.common.errors import ValidationFailed

MAX_CHAIN = 4


def canonical_payload(procedure_code: str, procedure_version: int, form_data: dict, attachments: list[dict]) -> bytes:
    """The exact bytes a citizen's signing tool signs."""
    files = sorted(
        ({"document_code": a["document_code"], "sha256": a["sha256"]} for a in attachments),
        key=lambda a: (a["document_code"], a["sha256"]),
    )
    body = {
        "procedure_code": procedure_code,
        "procedure_version": procedure_version,
        "form_data": form_data,
        "attachments": files,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _fail(reason: str, code: str = "invalid_signature", **details: Any) -> ValidationFailed:
    return catalogue.error(code, {"reason": reason, **details}, f"Chữ ký số không hợp lệ: {reason}")


@lru_cache(maxsize=8)
def trusted_cas(path: str) -> tuple[x509.Certificate, ...]:
    if not path or not Path(path).is_file():
        return ()
    return tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))


def _load(pem: str, what: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise _fail(f"{what} không đọc được (PEM)", "invalid_certificate") from None


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _chain_to_trust(
    leaf: x509.Certificate, intermediates: list[x509.Certificate], roots: tuple[x509.Certificate, ...], at: datetime
) -> None:
    current, pool = leaf, list(intermediates)
    for _ in range(MAX_CHAIN):
        for root in roots:
            if current.issuer == root.subject:
                try:
                    current.verify_directly_issued_by(root)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                if not _valid_at(root, at):
                    raise _fail("chứng thư số của CA đã hết hạn", "certificate_expired")
                return
        parent = next((c for c in pool if c.subject == current.issuer), None)
        if parent is None:
            break
        try:
            current.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            break
        if not _valid_at(parent, at):
            raise _fail("chứng thư số trung gian đã hết hạn", "certificate_expired")
        pool.remove(parent)
        current = parent
    raise _fail("chứng thư số không do tổ chức chứng thực tin cậy cấp", "untrusted_certificate")


def _identifiers(cert: x509.Certificate) -> set[str]:
    values = []
    for oid in (NameOID.SERIAL_NUMBER, NameOID.USER_ID, NameOID.COMMON_NAME):
        values += [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]
    out = set()
    for v in values:
        for part in v.replace(",", " ").split():
            out.add(part.split(":", 1)[-1].strip())
    return out


def verify(signature: dict, payload: bytes, identity: str, trust_file: str, at: datetime) -> dict:
    """Check everything; return what is recorded on the dossier, or raise ValidationFailed."""
    certs = _load(signature["certificate_pem"], "chứng thư số")
    leaf = certs[0]
    intermediates = certs[1:] + (_load(signature["chain_pem"], "chuỗi chứng thư") if signature.get("chain_pem") else [])
    if not _valid_at(leaf, at):
        raise _fail("chứng thư số không còn hiệu lực tại thời điểm ký", "certificate_expired")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        allowed = usage.digital_signature or usage.content_commitment
    except x509.ExtensionNotFound:
        allowed = False
    if not allowed:
        raise _fail("chứng thư số không được phép dùng để ký", "certificate_usage")
    roots = trusted_cas(trust_file)
    if not roots:
        raise _fail("cổng chưa cấu hình tổ chức chứng thực tin cậy", "no_trusted_ca")
    _chain_to_trust(leaf, intermediates, roots, at)
    if identity not in _identifiers(leaf):
        raise _fail("chứng thư số không phải của chủ tài khoản", "certificate_subject_mismatch")
    try:
        sig = base64.b64decode(signature["signature_b64"], validate=True)
    except (ValueError, TypeError):
        raise _fail("chữ ký không đọc được (base64)") from None
    key = leaf.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, payload, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, payload, ec.ECDSA(hashes.SHA256()))
        else:
            raise _fail("loại khoá không hỗ trợ", "unsupported_key")
    except InvalidSignature:
        raise _fail("chữ ký không khớp nội dung hồ sơ") from None
    return {
        "valid": True,
        "signed_at": at.isoformat(),
        "digest_sha256": digest(payload),
        "subject": leaf.subject.rfc4514_string(),
        "issuer": leaf.issuer.rfc4514_string(),
        "serial_number": format(leaf.serial_number, "x"),
    }
