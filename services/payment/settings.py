"""Payment's settings (services/payment/config.yaml; defaults there and here agree,
tests/unit/test_settings.py)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    provider_url: str = Field("http://127.0.0.1:8090", description="the payment provider")
    provider_merchant: str = Field("BDI-PORTAL", description="the portal's merchant id at the provider")
    provider_secret: str = Field(
        "dev-only-provider-secret", description="HMAC-SHA256 key shared with the provider (set it in production)"
    )
    payment_callback_url: str = Field(
        "http://127.0.0.1:8000/api/v1/payments/callback", description="where the provider calls back"
    )
    payment_return_url: str = Field(
        "http://127.0.0.1:8000/ho-so-cua-toi/DOSSIER_CODE",
        description="where the provider sends the citizen back; DOSSIER_CODE becomes the dossier's code",
    )
    payment_expiry_seconds: int = Field(900, ge=1, description="an unpaid payment expires after this")
