"""Files: type checks, hashing and chunked storage (tệp đính kèm, văn bản kết quả).

The type is decided from the file's first bytes, not from what the client
claims, and the claimed type must agree with it. Files are stored as chunks
keyed ``<blob id>:<n>`` (fast ``_id`` lookups on every server) and their
sha256 is checked on every read, so bytes changed in the database are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata

from bson.binary import Binary
from pymongo.collection import Collection

from . import error_catalogue as catalogue
from .mongo import insert_new

SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
ALLOWED_TYPES = sorted(SIGNATURES)
# Form templates (biểu mẫu) that agencies publish may also be Word documents.
TEMPLATE_SIGNATURES = {
    **SIGNATURES,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/msword": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}
CHUNK_BYTES = 255 * 1024
# Chunks go to the database in insert_many batches of about this many bytes: one round trip for an
# ordinary filing, never one enormous statement for twenty 5 MB files.
BATCH_BYTES = 8 * 1024 * 1024


def safe_filename(name: str, default: str = "tep") -> str:
    """The name a file is stored and offered under: no control or format characters (a CR/LF
    would split the download's headers), no directory parts (a name is never a path), NFC."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split()).strip(" .")
    return name[:255] or default


def sniff(content: bytes, signatures: dict = SIGNATURES) -> str | None:
    for content_type, magics in signatures.items():
        if any(content.startswith(m) for m in magics):
            return content_type
    return None


def decode(content_b64: str, filename: str) -> bytes:
    try:
        return base64.b64decode(content_b64, validate=True)
    except (binascii.Error, ValueError):
        raise catalogue.error(
            "attachment_encoding", {"filename": filename}, f"Tệp {filename}: nội dung base64 không hợp lệ"
        ) from None


def check(content: bytes, filename: str, claimed_type: str, max_bytes: int, signatures: dict = SIGNATURES) -> str:
    """Return the verified content type or raise 413/415."""
    if len(content) > max_bytes:
        raise catalogue.error(
            "attachment_too_large",
            {"filename": filename, "max_bytes": max_bytes},
            f"Tệp {filename} vượt quá dung lượng cho phép ({max_bytes // (1024 * 1024)} MB)",
        )
    if len(content) == 0:
        raise catalogue.error("attachment_empty", {"filename": filename}, f"Tệp {filename} rỗng")
    actual = sniff(content, signatures)
    claimed = claimed_type.split(";")[0].strip().lower()
    if actual is None or (claimed not in ("", "application/octet-stream") and claimed != actual):
        raise catalogue.error(
            "attachment_type_not_allowed",
            {"filename": filename, "allowed": sorted(signatures)},
            f"Tệp {filename} không đúng định dạng cho phép",
        )
    return actual


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def download(filename: str, content_type: str, content: bytes, digest: str | None = None) -> dict:
    """A file as an RPC hands it out (the gateway's ``file_response`` serves it): its name, type,
    sha256 for the receiver to check, and the bytes in base64. ``digest`` when it is already known
    (a stored file, whose hash ChunkStore.get has just checked), else it is computed."""
    return {
        "filename": filename,
        "content_type": content_type,
        "sha256": digest or sha256(content),
        "content_b64": base64.b64encode(content).decode(),
    }


def chunks(content: bytes) -> list[bytes]:
    return [content[i : i + CHUNK_BYTES] for i in range(0, len(content), CHUNK_BYTES)] or [b""]


class ChunkStore:
    """Content stored as chunks in one collection, read back only if its hash still matches."""

    def __init__(self, collection: Collection):
        self.collection = collection

    def put(self, blob_id: str, content: bytes) -> int:
        """Insert the chunks; how many there are."""
        return self.put_many([(blob_id, content)])[0]

    def put_many(self, blobs: list[tuple[str, bytes]]) -> list[int]:
        """Insert the chunks of several blobs in as few round trips as the store allows (FerretDB
        serialises writes, so each round trip is a turn at its one write lock); each blob's chunk
        count. A chunk already there belongs to an interrupted attempt at the same content (ids are
        derived from the request), so it is kept."""
        counts, batch, size = [], [], 0
        for blob_id, content in blobs:
            parts = chunks(content)
            counts.append(len(parts))
            for n, part in enumerate(parts):
                batch.append({"_id": f"{blob_id}:{n}", "data": Binary(part)})
                size += len(part)
                if size >= BATCH_BYTES:
                    insert_new(self.collection, batch)
                    batch, size = [], 0
        insert_new(self.collection, batch)
        return counts

    def get(self, blob_id: str, count: int, expected_sha256: str) -> bytes:
        # One _id lookup per chunk: FerretDB uses its index for a lone _id equality only.
        parts = []
        for n in range(count):
            doc = self.collection.find_one({"_id": f"{blob_id}:{n}"})
            parts.append(bytes(doc["data"]) if doc else b"")
        content = b"".join(parts)
        if sha256(content) != expected_sha256:
            # Stored bytes no longer match what was filed: never serve them silently (R21).
            raise catalogue.error("attachment_integrity", {"blob_id": blob_id})
        return content
