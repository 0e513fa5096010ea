"""Rendering, sessions and the protections every page has: CSRF tokens (double submit), security
headers, errors as pages in Vietnamese, and the ``page`` decorator that makes a nameko HTTP
entrypoint of a page method (as ``gateway.api.route`` does for the API)."""
from __future__ import annotations

import hmac
import re
import secrets
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Request, Response

from services.common.calendar import VN_TZ
from services.common.errors import Forbidden, PortalError, Unauthorized
from services.common.workflows import KIND_VI, ROLE_VI

from ..api import RESPONSE_HEADERS, ApiHandler
from ..exceptions import to_portal_error

HERE = Path(__file__).parent
SESSION_COOKIE, CSRF_COOKIE = "cdvc_session", "cdvc_csrf"
SECURITY_HEADERS = {
    **RESPONSE_HEADERS,
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STATUS_VI = {
    "submitted": "Đã nộp, chờ tiếp nhận", "returned_for_supplement": "Cần bổ sung", "received": "Đã tiếp nhận",
    "in_review": "Đang xử lý", "proposed": "Chờ lãnh đạo duyệt", "approved": "Đã duyệt",
    "result_ready": "Có kết quả", "refusal_drafted": "Đang dự thảo từ chối", "refusal_signed": "Đã ký từ chối",
    "delivered": "Đã trả kết quả", "rejected_at_reception": "Từ chối tiếp nhận",
    "returned_with_reasons": "Trả lại kèm lý do", "withdrawn": "Đã rút",
}


def _when(value: Any) -> str:
    if not value:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def _day(value: Any) -> str:
    """A day (a due day is a date: its period runs until 24:00 local time of it) as dd/mm/yyyy."""
    if not value:
        return "—"
    return date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")


def _money(value: Any) -> str:
    return f"{int(value or 0):,}".replace(",", ".") + " đ"


ENV = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(when=_when, day=_day, money=_money, status_vi=lambda s: STATUS_VI.get(s, s),
                   role_vi=lambda r: ROLE_VI.get(r, r), kind_vi=lambda k: KIND_VI.get(k, k))


def csrf_token(request: Request) -> str:
    if not hasattr(request, "csrf_token"):
        token = request.cookies.get(CSRF_COOKIE, "")
        request.csrf_token = token if re.fullmatch(r"[\w-]{32,64}", token) else secrets.token_urlsafe(32)
    return request.csrf_token


def check_csrf(request: Request) -> None:
    cookie, sent = request.cookies.get(CSRF_COOKIE, ""), request.form.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise Forbidden("Phiên biểu mẫu không hợp lệ hoặc đã hết hạn. Vui lòng tải lại trang và thử lại.", None,
                        "csrf_failed")


def finish(request: Request, response: Response, secure: bool) -> Response:
    for k, v in SECURITY_HEADERS.items():
        response.headers.setdefault(k, v)
    if request.cookies.get(CSRF_COOKIE) != csrf_token(request):
        response.set_cookie(CSRF_COOKIE, csrf_token(request), httponly=True, samesite="Strict", secure=secure,
                            path="/")
    return response


def html(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    body = ENV.get_template(template).render(csrf=csrf_token(request), request=request, **ctx)
    return Response(body, status=status, mimetype="text/html")


def redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location})


def page(method: str, path: str, auth: str | tuple[str, ...] | None = None) -> Callable:
    """A page: ``auth`` None (public), "user" (signed in) or a tuple of roles. The method gets
    (self, request, session, **path values) and returns a Response; a PortalError becomes an
    error page with its human message, never a traceback."""
    nameko_path = re.sub(r"\{(\w+)\}", r"<\1>", path)

    def decorate(fn: Callable) -> Callable:
        @wraps(fn)
        def handler(self, request: Request, **path_values: Any) -> Response:
            session = self.web_session(request)
            try:
                if auth and session is None:
                    response = redirect(f"/dang-nhap?next={quote(request.full_path.rstrip('?'))}")
                elif isinstance(auth, tuple) and session["role"] not in auth:
                    raise Forbidden("Tài khoản của Ông/Bà không có quyền xem trang này", None, "forbidden_role")
                else:
                    if method == "POST":
                        check_csrf(request)
                    response = fn(self, request, session, **path_values)
            except BaseException as exc:  # eventlet.Timeout included: the person gets a page, not a hang
                err = exc if isinstance(exc, PortalError) else to_portal_error(exc)
                if isinstance(err, Unauthorized) and session is not None:
                    response = redirect("/dang-nhap")
                else:
                    response = html(request, "error.html", err.status, error=err, session=session)
            return finish(request, response, self.secure_cookies)
        return ApiHandler.decorator(method, nameko_path)(handler)
    return decorate
