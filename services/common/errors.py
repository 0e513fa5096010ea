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

    def to_envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# The kinds of error, one class each (a class statement, not a ``type()`` call, so that mypy
# knows them as classes: ``-> NotFound`` and ``except Conflict`` are typed).


@deserialize_to_instance
class BadRequest(PortalError):
    status = 400
    code = "bad_request"


@deserialize_to_instance
class Unauthorized(PortalError):
    status = 401
    code = "unauthorized"


@deserialize_to_instance
class Forbidden(PortalError):
    status = 403
    code = "forbidden"


@deserialize_to_instance
class NotFound(PortalError):
    status = 404
    code = "not_found"


@deserialize_to_instance
class Conflict(PortalError):
    status = 409
    code = "conflict"


@deserialize_to_instance
class PayloadTooLarge(PortalError):
    status = 413
    code = "payload_too_large"


@deserialize_to_instance
class UnsupportedMediaType(PortalError):
    status = 415
    code = "unsupported_media_type"


@deserialize_to_instance
class ValidationFailed(PortalError):
    status = 422
    code = "validation_failed"


@deserialize_to_instance
class RateLimited(PortalError):
    status = 429
    code = "rate_limited"


@deserialize_to_instance
class ServiceUnavailable(PortalError):
    status = 503
    code = "service_unavailable"


# RabbitMQ did not take a message within the publish retries (services.common.messaging).
@deserialize_to_instance
class BrokerUnavailable(PortalError):
    status = 503
    code = "service_unavailable"


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


def pydantic_details(exc: Any) -> list[dict[str, Any]]:
    """Turn a pydantic ValidationError into JSON-safe details (field path, type, Vietnamese message)."""
    from .error_catalogue import pydantic_message  # the catalogue builds on this module's classes

    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": pydantic_message(err), "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
