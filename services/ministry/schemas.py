"""Payloads of the ministry-systems interface (R31): every call names the calling system and
carries an X-Road-style issue reference (the ministry's own case number when filing, the
dossier code when reading)."""

from __future__ import annotations

from pydantic import Field

from services.common.schemas import Payload


class Credentials(Payload):
    system_id: str = Field(min_length=1, max_length=64)
    secret: str = Field(min_length=1, max_length=256)


class IssueReference(Payload):
    """What X-Road calls the ``issue``: which case of the caller this call belongs to."""

    issue: str = Field(min_length=1, max_length=128, pattern=r"^[\w\-./:]+$")
