"""Tamper-evident history (R21): each transition's record carries a hash over
its content and the previous record's hash; verification replays the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        # As stored by BSON: UTC, millisecond precision.
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


HEAD = "history_head"  # the document's copy of the latest hash: not part of what is hashed


def entry_hash(doc_id: str, version: int, entry: dict, changes: dict) -> str:
    body = {
        "doc_id": doc_id,
        "version": version,
        "entry": {k: v for k, v in entry.items() if k != "hash"},
        "changes": {k: v for k, v in changes.items() if k != HEAD},
    }
    text = json.dumps(_canonical(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def make_entry(doc_id: str, version: int, prev_hash: str, changes: dict, **fields: Any) -> dict:
    entry = {**fields, "prev_hash": prev_hash}
    entry["hash"] = entry_hash(doc_id, version, entry, changes)
    return entry


def verify(records: Iterable[dict]) -> dict:
    """Walk the transition records in version order; report the first broken link."""
    prev, count = GENESIS, 0
    for record in records:
        count += 1
        entry = record.get("history") or {}
        version = record.get("version")
        if version != count:
            return {"valid": False, "checked": count - 1, "broken_at": count, "reason": "missing or reordered entry"}
        if entry.get("prev_hash") != prev:
            return {"valid": False, "checked": count - 1, "broken_at": version, "reason": "link to previous broken"}
        if entry_hash(record["doc_id"], version, entry, record.get("set", {})) != entry.get("hash"):
            return {"valid": False, "checked": count - 1, "broken_at": version, "reason": "entry content altered"}
        prev = entry["hash"]
    return {"valid": True, "checked": count, "broken_at": None, "reason": None, "head": prev}


def external_reference(origin: dict | None) -> str | None:
    """How a ministry system's call is written into the history: its id and its issue reference."""
    if not origin:
        return None
    system = str(origin.get("system_id", "")).removeprefix("ministry:")
    return f"hệ thống {system}, vụ việc (X-Road issue) {origin.get('issue')}"
