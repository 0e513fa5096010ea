"""One error hierarchy for the whole portal.

Every error that reaches a person has a stable English ``code``, a human
``message`` (Vietnamese is welcome) and optional ``details``. Services raise
these; nameko serialises them over RPC and, because each class is registered
with :func:`nameko.exceptions.deserialize_to_instance`, the gateway receives
the same class back and renders it as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class PortalError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Any = None, code: str | None = None):
        if code:
            self.code = code
        # nameko serialises exc.args and rebuilds the instance from them at the
        # caller; None would arrive as the string "None", so send [] instead.
        super().__init__(message, details if details is not None else [], self.code)
        self.message = message
        self.details = details or None

    def to_envelope(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _kind(name: str, status: int, code: str) -> type[PortalError]:
    cls = type(name, (PortalError,), {"status": status, "code": code, "__module__": __name__})
    return deserialize_to_instance(cls)


BadRequest = _kind("BadRequest", 400, "bad_request")
Unauthorized = _kind("Unauthorized", 401, "unauthorized")
Forbidden = _kind("Forbidden", 403, "forbidden")
NotFound = _kind("NotFound", 404, "not_found")
Conflict = _kind("Conflict", 409, "conflict")
PayloadTooLarge = _kind("PayloadTooLarge", 413, "payload_too_large")
UnsupportedMediaType = _kind("UnsupportedMediaType", 415, "unsupported_media_type")
ValidationFailed = _kind("ValidationFailed", 422, "validation_failed")
RateLimited = _kind("RateLimited", 429, "rate_limited")
ServiceUnavailable = _kind("ServiceUnavailable", 503, "service_unavailable")
# RabbitMQ did not take a message within the publish retries (services.common.messaging).
BrokerUnavailable = _kind("BrokerUnavailable", 503, "service_unavailable")

ALL_ERRORS: tuple[type[PortalError], ...] = (
    PortalError,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    RateLimited,
    ServiceUnavailable,
    BrokerUnavailable,
)


def pydantic_details(exc: Any) -> list[dict]:
    """Turn a pydantic ValidationError into JSON-safe details (field path, type, Vietnamese message)."""
    from .error_catalogue import pydantic_message  # the catalogue builds on this module's classes

    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": pydantic_message(err), "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
