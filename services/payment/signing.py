"""HMAC-SHA256 over canonical parameters, as Vietnamese payment gateways (VNPay and alike) sign.

Canonical form: every parameter except the signature, sorted by name, ``name=value`` joined by
``&`` with values URL-encoded. Shared by the portal and the simulated provider."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

SIGNATURE = "signature"


def canonical(params: dict) -> str:
    return "&".join(f"{k}={quote(str(params[k]), safe='')}" for k in sorted(params) if k != SIGNATURE)


def sign(params: dict, secret: str) -> str:
    return hmac.new(secret.encode(), canonical(params).encode(), hashlib.sha256).hexdigest()


def signed(params: dict, secret: str) -> dict:
    return {**params, SIGNATURE: sign(params, secret)}


def valid(params: dict, secret: str) -> bool:
    given = str(params.get(SIGNATURE, ""))
    return bool(given) and hmac.compare_digest(given, sign(params, secret))
