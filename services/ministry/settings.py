"""Ministry's settings (services/ministry/config.yaml; defaults there and here agree,
tests/unit/test_settings.py)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import ServiceSettings


class MinistrySettings(ServiceSettings):
    ministry_systems: str = Field(
        "dev-moj-hotich:dev-only-moj-secret:rw:TP-HT-01|TP-HT-02",
        description="id:secret:r|w|rw:procedures, comma-separated (procedures * or A|B); set it in production",
    )
