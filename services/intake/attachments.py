"""Attachment checks and chunked storage helpers (tệp đính kèm).

The type is decided from the file's first bytes, not from what the client
claims, and the claimed type must agree with it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib

from services.common.errors import ValidationFailed

from . import exceptions

SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
ALLOWED_TYPES = sorted(SIGNATURES)
CHUNK_BYTES = 255 * 1024


def sniff(content: bytes) -> str | None:
    for content_type, magics in SIGNATURES.items():
        if any(content.startswith(m) for m in magics):
            return content_type
    return None


def decode(content_b64: str, filename: str) -> bytes:
    try:
        return base64.b64decode(content_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(f"Tệp {filename}: nội dung base64 không hợp lệ", {"filename": filename},
                               "attachment_encoding") from None


def check(content: bytes, filename: str, claimed_type: str, max_bytes: int) -> str:
    """Return the verified content type or raise 413/415."""
    if len(content) > max_bytes:
        raise exceptions.attachment_too_large(filename, max_bytes)
    if len(content) == 0:
        raise ValidationFailed(f"Tệp {filename} rỗng", {"filename": filename}, "attachment_empty")
    actual = sniff(content)
    claimed = claimed_type.split(";")[0].strip().lower()
    if actual is None or (claimed not in ("", "application/octet-stream") and claimed != actual):
        raise exceptions.attachment_type(filename, ALLOWED_TYPES)
    return actual


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def chunks(content: bytes) -> list[bytes]:
    return [content[i:i + CHUNK_BYTES] for i in range(0, len(content), CHUNK_BYTES)] or [b""]
