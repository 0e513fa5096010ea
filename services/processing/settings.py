"""Processing's settings (services/processing/config.yaml; defaults there and here agree,
tests/unit/test_settings.py)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import ServiceSettings


class ProcessingSettings(ServiceSettings):
    at_risk_working_days: int = Field(
        1, ge=0, description="a case is at risk with this many working days or fewer left"
    )
    reception_working_days: int = Field(
        1,
        ge=0,
        description="reception's deadline in working days from submission "
        "where a procedure's workflow sets none (Art. 14.5)",
    )
    max_document_bytes: int = Field(10485760, ge=1, description="size limit of result and refusal documents")
    fee_payable_at_desk: bool = Field(True, description="reception may record a level-4 fee as paid at the desk")
