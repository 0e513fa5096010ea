"""Postal's settings (services/postal/config.yaml; defaults there and here agree, tests/unit/test_settings.py)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import ServiceSettings


class PostalSettings(ServiceSettings):
    province_code: str = Field("52", description="returns to an address in this province are due in 24 hours")
    postal_default_operator: str = Field("vnpost", description="the operator shipments are assigned to")
    out_of_province_return_hours: int = Field(72, ge=0, description="return norm outside the province (R29)")
