"""Reporting's settings (services/reporting/config.yaml; defaults there and here agree,
tests/unit/test_settings.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from services.common.settings import ServiceSettings

from .figures import online_targets


class ReportingSettings(ServiceSettings):
    online_filing_targets: dict[int, float] = Field(
        default_factory=dict,
        description="the online-filing target of each listed year (R27), from YEAR:PERCENT comma-separated",
    )
    online_filing_target_percent: float = Field(50, ge=0, le=100, description="the target of a year not listed")
    orphan_event_seconds: float = Field(
        3600, ge=0, description="an event whose filing has not come this long after it is folded with its own fields"
    )
    reporting_writer_lease_seconds: float = Field(
        30, gt=0, description="one process at a time is the writer; another takes over this long after it died"
    )

    @field_validator("online_filing_targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        # Parsed here, so a malformed list stops the start instead of failing every statistics page.
        return value if isinstance(value, dict) else online_targets(str(value or ""))

    def online_target(self, year: int) -> float:
        """The share of dossiers to be filed online that year (R27): its entry in ONLINE_FILING_TARGETS,
        else ONLINE_FILING_TARGET_PERCENT."""
        return self.online_filing_targets.get(year, self.online_filing_target_percent)
