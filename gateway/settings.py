"""The gateway's settings (gateway/config.yaml; defaults there and here agree, tests/unit/test_settings.py)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from services.common.settings import ServiceSettings


def _names(value: Any) -> Any:
    """``intake,processing`` → ("intake", "processing"); blanks dropped (an empty list asks nobody)."""
    if value is None or isinstance(value, str):
        return tuple(s.strip() for s in (value or "").split(",") if s.strip())
    return value


class GatewaySettings(ServiceSettings):
    token_secret: str = Field(
        "dev-only-token-secret-change-me-0123456789",
        description="HMAC key of bearer tokens (set it in production, 32+ random bytes)",
    )
    token_ttl_seconds: int = Field(3600, ge=1, description="token lifetime")
    max_body_bytes: int = Field(31457280, ge=1, description="request body limit, chunked bodies included")
    login_max_attempts: int = Field(5, ge=1, description="failed sign-ins per account per window")
    login_max_attempts_per_ip: int = Field(100, ge=1, description="failed sign-ins per client address per window")
    login_window_seconds: int = Field(300, ge=1, description="the sign-in rate-limit window")
    rpc_timeout: float = Field(20, gt=0, description="seconds before a silent service becomes a 503")
    health_timeout: float = Field(3, gt=0, description="seconds a service has to answer its health RPC")
    web_secure_cookies: bool = Field(False, description="the portal's cookies are Secure (behind TLS)")
    incident_after_seconds: float = Field(120, ge=0, description="a service down this long opens an incident (R24)")
    postal_operators: str = Field(
        "vnpost:dev-only-vnpost-key:dev-only-vnpost-secret",
        description="operator_id:api_key:hmac_secret, comma-separated (set it in production)",
    )
    postal_clock_skew_seconds: int = Field(
        300, ge=0, description="how far a postal request's timestamp may be from now"
    )
    health_services: Annotated[tuple[str, ...], BeforeValidator(_names)] = Field(
        ("intake", "processing", "notification", "payment", "feedback", "postal", "reporting", "ministry"),
        description="services /health and /metrics ask, comma-separated",
    )
    filing_max_in_flight: int = Field(4, ge=1, description="filings one gateway process has at intake at once")
    filing_max_waiting: int = Field(32, ge=0, description="filings that may wait for one of those")
    filing_max_wait_seconds: float = Field(5, gt=0, description="how long a filing may wait before a 503")
