"""Notification's settings (services/notification/config.yaml; defaults there and here agree,
tests/unit/test_settings.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.common.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    smtp_host: str = Field("127.0.0.1", description="mail relay")
    smtp_port: int = Field(8025, ge=1, le=65535, description="mail relay's port")
    smtp_from: str = Field("cong-dvc@binhdinh.gov.vn", description="sender of the portal's e-mails")
    # None (not empty text) for "none", as every contact's missing e-mail or phone is.
    smtp_user: str | None = Field(None, description="relay login; empty: none")
    smtp_password: str | None = Field(None, description="relay password; empty: none")
    smtp_starttls: bool = Field(False, description="STARTTLS to the relay")
    sms_adapter: Literal["log"] = Field("log", description="SMS provider adapter (log: the log only)")
    delivery_max_attempts: int = Field(6, ge=1, description="tries of an e-mail or SMS before it is given up")
    delivery_backoff_seconds: float = Field(5, ge=0, description="wait before the first retry, doubling each time")
    operations_email: str | None = Field(
        "van-hanh@cong-dvc.binhdinh.gov.vn", description="where incident notices go (R24); empty: no e-mail"
    )
    operations_phone: str | None = Field(
        None, description="the operations team's phone for incident texts; empty: no text"
    )
