"""Route declarations: one decorator gives a nameko HTTP entrypoint, request
validation, authorisation, the error envelope and the OpenAPI description.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import quote

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from services.common import error_catalogue as catalogue
from services.common.files import safe_filename
from services.common.observability import bind, request_id_from
from services.common.roles import actor_from_claims
from services.common.schemas import parse
from services.common.settings import Settings

from . import metrics
from .exceptions import error_response
from .settings import GatewaySettings

log = logging.getLogger("gateway.access")
# On every response, API and pages alike: answers carry personal data and must be neither
# re-interpreted by a browser nor kept by a shared cache. A response that sets its own
# Cache-Control (the public static files) keeps it.
RESPONSE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class ApiWsgiApp(WsgiApp):
    """As nameko's, but unknown routes and wrong methods answer with the envelope too, every
    response has RESPONSE_HEADERS, and chunked request bodies are read."""

    def __call__(self, environ, start_response):
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" and not environ.get("CONTENT_LENGTH"):
            # eventlet's wsgi.input de-chunks and ends with the body, but does not say so; without
            # this werkzeug reads an empty body. The MAX_BODY_BYTES limit still applies while
            # reading (werkzeug's LimitedStream, a 413).
            environ["wsgi.input_terminated"] = True
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            rv = provider.handle_request(request)
        except HTTPException as exc:
            rv = error_response(exc) if wants_json(request) else self._error_page(request, exc)
        for name, value in RESPONSE_HEADERS.items():
            rv.headers.setdefault(name, value)
        return rv(environ, start_response)

    def _error_page(self, request: Request, exc: HTTPException) -> Response:
        from .web.render import error_page  # the pages build on this module

        return error_page(request, exc, None, Settings.of(self.server.container, GatewaySettings).web_secure_cookies)


def wants_json(request: Request) -> bool:
    """Content negotiation for errors outside a route: API clients get the JSON envelope, a
    browser (which asks for text/html first) gets a page in Vietnamese."""
    if request.path.startswith(("/api/", "/health", "/metrics")):
        return True
    accept = request.accept_mimetypes
    return accept.quality("application/json") > accept.quality("text/html")


class ApiWebServer(WebServer):
    def get_wsgi_app(self):
        return ApiWsgiApp(self)

    def context_data_from_headers(self, request: Request) -> dict:
        # nameko carries context data with every RPC and event the worker makes: the request id
        # thus reaches every service's log lines for this request.
        return {"request_id": request_id(request)}


def request_id(request: Request) -> str:
    if not hasattr(request, "request_id"):
        request.request_id = request_id_from(request.headers.get("X-Request-Id"))
    return request.request_id


class ApiHandler(HttpRequestHandler):
    server = ApiWebServer()
    max_body = 0  # MAX_BODY_BYTES, read at setup

    def setup(self) -> None:
        super().setup()
        self.max_body = Settings.of(self.container, GatewaySettings).max_body_bytes

    def handle_request(self, request: Request) -> Response:
        started = time.perf_counter()
        response = self._handle(request)
        response.headers["X-Request-Id"] = request_id(request)
        elapsed = time.perf_counter() - started
        response.headers["Server-Timing"] = f"app;dur={elapsed * 1000:.1f}"  # what bench/bench_pages.py reads
        metrics.observe_request(self.url, self.method, response.status_code, elapsed)
        # The route pattern, not the path: paths and query strings may carry lookup secrets.
        log.info("%s %s %d %.1f ms", self.method, self.url, response.status_code, elapsed * 1000)
        return response

    def _handle(self, request: Request) -> Response:
        limit = self.max_body
        too_large = catalogue.error(
            "request_too_large", {"max_bytes": limit}, f"Yêu cầu vượt quá dung lượng cho phép ({limit} byte)"
        )
        if request.content_length is not None and request.content_length > limit:
            return error_response(too_large)
        if request.content_length is None and "wsgi.input_terminated" in request.environ:
            # A chunked body has no length to check up front: read it now, one byte past the limit
            # at most (werkzeug's own limit would silently cut it), and keep it for the route.
            request.shallow, request.max_content_length = False, limit + 1
            if len(request.get_data(cache=True)) > limit:
                return error_response(too_large)
        request.max_content_length = limit
        request.max_form_memory_size = limit
        return super().handle_request(request)

    def response_from_exception(self, exc: Exception) -> Response:
        return error_response(exc)


# Whose object a route's path names, which decides who besides the roles may act on it:
# "applicant" — the citizen the dossier (payment, shipment, feedback, message) belongs to;
# "agency" — officials of the agency that handles it (the operator sees every agency).
# Others are answered 404 (existence hidden) or 403. An empty scope: nobody's object.
SCOPES = ("applicant", "agency")


@dataclass
class RouteSpec:
    method: str
    path: str
    summary: str
    tag: str
    auth: str | tuple[str, ...]
    scope: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    multipart: dict | None = None
    binary: str | None = None
    list_response: bool = False
    headers: tuple[str, ...] = ()
    example: Any = None
    busy: bool = False


ROUTES: list[RouteSpec] = []


@dataclass
class Ctx:
    request: Request
    path: dict[str, Any]
    actor: dict | None = None
    claims: dict | None = None
    body: Any = None
    query: Any = None
    extra: dict = field(default_factory=dict)


def read_json(request: Request) -> Any:
    if not request.mimetype or request.mimetype != "application/json":
        raise catalogue.error(
            "unsupported_media_type", {"got": request.mimetype}, "Content-Type phải là application/json"
        )
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise catalogue.error("malformed_json", {"reason": str(exc)}) from None


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name (RFC 5987) for Vietnamese file names. The name
    is made safe again here, so a name stored before safe_filename existed still downloads."""
    name = safe_filename(filename)
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(f: dict) -> Response:
    """A stored file as a download, with its SHA-256 for the receiver to check."""
    disposition = content_disposition(f["filename"])
    return Response(
        base64.b64decode(f["content_b64"]),
        mimetype=f["content_type"],
        headers={"Content-Disposition": disposition, "X-Content-SHA256": f["sha256"]},
    )


def render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return Response(json.dumps(result, ensure_ascii=False), status=status, mimetype="application/json")


def route(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    auth: str | tuple[str, ...],
    scope: tuple[str, ...],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    multipart: dict | None = None,
    binary: str | None = None,
    list_response: bool = False,
    headers: tuple[str, ...] = (),
    example: Any = None,
    busy: bool = False,
) -> Callable:
    """Declare a route. Who may call it is always said, never defaulted: ``auth`` is "public",
    "user" (any signed-in account), "postal" (the postal operator's key + HMAC-signed request) or a
    tuple of roles; ``scope`` whose object the path names (SCOPES). ``example`` is a valid body,
    published in the OpenAPI (and used by the authorisation test to get past validation). ``busy``: the
    route is admitted by an in-flight limit (gateway.admission) and may answer 503 service_busy with
    Retry-After."""
    if not (auth in ("public", "user", "postal") or (isinstance(auth, tuple) and auth)):
        raise ValueError(f"{method} {path}: auth must be public, user, postal or a tuple of roles")
    if not set(scope) <= set(SCOPES):
        raise ValueError(f"{method} {path}: scope must be within {SCOPES}")
    spec = RouteSpec(
        method,
        path,
        summary,
        tag,
        auth,
        tuple(scope),
        body,
        query,
        response,
        status,
        errors,
        multipart,
        binary,
        list_response,
        headers,
        example,
        busy,
    )
    ROUTES.append(spec)
    nameko_path = re.sub(r"\{(\w+)\}", r"<\1>", path)

    def decorate(fn: Callable) -> Callable:
        @wraps(fn)
        def handler(self, request: Request, **path_values: Any) -> Response:
            try:
                bind(dossier_code=path_values.get("code"))
                ctx = Ctx(request=request, path=path_values)
                if auth == "postal":
                    ctx.actor = {"id": self.postal_auth.verify(request), "role": "postal_operator"}
                elif auth != "public":
                    ctx.claims = self.auth.verify(request)
                    ctx.actor = actor_from_claims(ctx.claims)
                    if auth != "user" and ctx.actor["role"] not in auth:
                        raise catalogue.error("forbidden_role", {"required_roles": list(auth)})
                if query is not None:
                    # A repeated parameter arrives as a list and is refused, not silently cut to its first value.
                    args = {k: v[0] if len(v) == 1 else v for k, v in request.args.lists()}
                    ctx.query = parse(query, args, "query parameters")
                if body is not None and multipart is None:
                    ctx.body = parse(body, read_json(request), "request body")
                return render(fn(self, ctx), status)
            except Exception as exc:  # every failure leaves as the one envelope
                return error_response(exc)

        return ApiHandler.decorator(method, nameko_path)(handler)

    return decorate
