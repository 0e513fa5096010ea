"""Intake's settings (services/intake/config.yaml; defaults there and here agree, tests/unit/test_settings.py)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    province_code: str = Field("52", description="prefix of dossier codes (52 = Bình Định)")
    tracking_secret_key: str = Field(
        "dev-only-tracking-key-change-me",
        description="key deriving each dossier's tracking secret (set it in production)",
    )
    max_attachment_bytes: int = Field(5242880, ge=1, description="per-file limit of attachments and form templates")
    max_attachments: int = Field(20, ge=0, description="files per dossier")
    trusted_ca_file: str = Field(
        "", description="PEM bundle of the CAs trusted for level-4 signatures; empty: no signature is accepted"
    )
