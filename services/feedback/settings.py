"""Feedback's settings (services/feedback/config.yaml; defaults there and here agree,
tests/unit/test_settings.py)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    feedback_at_risk_working_days: int = Field(
        1, ge=0, description="feedback is at risk with this many working days or fewer left to answer"
    )
