"""Maps whatever a route raised onto the one error envelope.

PortalError subclasses come back from RPC as themselves (nameko's
deserialisation registry, see services.common.errors); anything else is
turned into a stable code here, and internals are never shown to a person.
"""

from __future__ import annotations

import json
import logging

from eventlet import Timeout
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from services.common import error_catalogue as catalogue
from services.common.errors import PortalError
from services.common.messaging import BROKER_ERRORS

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def to_portal_error(exc: BaseException) -> PortalError:
    if isinstance(exc, PortalError):
        return exc
    if isinstance(exc, RequestEntityTooLarge):
        return catalogue.error("request_too_large")
    if isinstance(exc, HTTPException):
        # werkzeug's descriptions are English: a person reads the catalogue's message.
        err = catalogue.error(HTTP_CODES.get(exc.code, "http_error"))
        err.status = exc.code or 500
        return err
    if isinstance(exc, (Timeout, UnknownService, *BROKER_ERRORS)):  # broker errors: RabbitMQ is down
        return catalogue.error("service_unavailable")
    if isinstance(exc, (RemoteError, MethodNotFound)):
        log.error("remote error: %s", exc)
    else:
        log.exception("unhandled error in gateway")
    return catalogue.error("internal_error")


def error_response(exc: BaseException, headers: dict | None = None) -> Response:
    err = to_portal_error(exc)
    extra = dict(headers or {})
    if isinstance(exc, HTTPException):  # a 405 names the methods the route has (Allow)
        extra.update((k, v) for k, v in exc.get_headers() if k.lower() == "allow")
    retry_after = err.details.get("retry_after_seconds") if isinstance(err.details, dict) else None
    if retry_after:
        extra["Retry-After"] = str(retry_after)
    return Response(
        json.dumps(err.to_envelope(), ensure_ascii=False), status=err.status, mimetype="application/json", headers=extra
    )
