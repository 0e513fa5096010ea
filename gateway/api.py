"""Route declarations: one decorator gives a nameko HTTP entrypoint, request
validation, authorisation, the error envelope and the OpenAPI description.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import time
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable
from urllib.parse import quote

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from services.common.errors import BadRequest, Forbidden, PayloadTooLarge, UnsupportedMediaType
from services.common.observability import bind, request_id_from
from services.common.schemas import parse

from . import metrics
from .exceptions import error_response

DEFAULT_MAX_BODY = 30 * 1024 * 1024
log = logging.getLogger("gateway.access")


class ApiWsgiApp(WsgiApp):
    """As nameko's, but unknown routes and wrong methods answer with the envelope too."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            rv = provider.handle_request(request)
        except HTTPException as exc:
            rv = error_response(exc) if wants_json(request) else self._error_page(request, exc)
        return rv(environ, start_response)

    def _error_page(self, request: Request, exc: HTTPException) -> Response:
        from .web.render import error_page  # the pages build on this module

        secure = str(self.server.container.config.get("WEB_SECURE_COOKIES", "false")).lower() == "true"
        return error_page(request, exc, None, secure)


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
        limit = int(self.container.config.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY))
        if request.content_length is not None and request.content_length > limit:
            return error_response(PayloadTooLarge(
                f"Yêu cầu vượt quá dung lượng cho phép ({limit} byte)", {"max_bytes": limit}, "request_too_large"))
        request.max_content_length = limit
        request.max_form_memory_size = limit
        return super().handle_request(request)

    def response_from_exception(self, exc: Exception) -> Response:
        return error_response(exc)


@dataclass
class RouteSpec:
    method: str
    path: str
    summary: str
    tag: str
    auth: str | tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    multipart: dict | None = None
    binary: str | None = None
    list_response: bool = False
    headers: tuple[str, ...] = ()


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
        raise UnsupportedMediaType("Content-Type phải là application/json", {"got": request.mimetype},
                                   "unsupported_media_type")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest("JSON không hợp lệ", {"reason": str(exc)}, "malformed_json") from None


def file_response(f: dict) -> Response:
    """A stored file as a download: ASCII fallback plus the UTF-8 name (RFC 6266/5987) for
    Vietnamese file names, and its SHA-256 for the receiver to check."""
    fallback = f["filename"].encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(f['filename'])}"
    return Response(base64.b64decode(f["content_b64"]), mimetype=f["content_type"], headers={
        "Content-Disposition": disposition, "X-Content-SHA256": f["sha256"]})


def render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return Response(json.dumps(result, ensure_ascii=False), status=status, mimetype="application/json")


def route(method: str, path: str, *, summary: str, tag: str, auth: str | tuple[str, ...] = "public",
          body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
          response: type[BaseModel] | None = None, status: int = 200, errors: tuple[int, ...] = (),
          multipart: dict | None = None, binary: str | None = None, list_response: bool = False,
          headers: tuple[str, ...] = ()) -> Callable:
    """Declare a route. ``auth`` is "public", "user" (any signed-in account), "postal" (the postal
    operator's key + HMAC-signed request) or a tuple of roles."""
    spec = RouteSpec(method, path, summary, tag, auth, body, query, response, status, errors, multipart, binary,
                     list_response, headers)
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
                    ctx.actor = {"id": ctx.claims["sub"], "role": ctx.claims["role"],
                                 "agency_id": ctx.claims.get("agency_id"),
                                 "department_id": ctx.claims.get("department_id")}
                    if auth != "user" and ctx.actor["role"] not in auth:
                        raise Forbidden("Tài khoản không có quyền thực hiện thao tác này",
                                        {"required_roles": list(auth)}, "forbidden_role")
                if query is not None:
                    ctx.query = parse(query, request.args.to_dict(), "query parameters")
                if body is not None and multipart is None:
                    ctx.body = parse(body, read_json(request), "request body")
                return render(fn(self, ctx), status)
            except Exception as exc:  # every failure leaves as the one envelope
                return error_response(exc)

        return ApiHandler.decorator(method, nameko_path)(handler)

    return decorate
