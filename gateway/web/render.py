"""Rendering, sessions and the protections every page has: CSRF tokens (double submit), security
headers, errors as pages in Vietnamese, and the ``page`` decorator that makes a nameko HTTP
entrypoint of a page method (as ``gateway.api.route`` does for the API)."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import Any, Concatenate
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Request, Response

from services.common import error_catalogue as catalogue
from services.common.calendar import VN_TZ
from services.common.errors import Unauthorized
from services.common.schemas import page_bounds
from services.common.workflows import KIND_VI, ROLE_VI

from ..api import RESPONSE_HEADERS, ApiHandler, GatewayT, kept, request_id
from ..exceptions import to_portal_error
from ..rpc import JsonDict
from .forms import DELIVERY_FIELDS, DELIVERY_VI

HERE = Path(__file__).parent
SESSION_COOKIE, CSRF_COOKIE = "cdvc_session", "cdvc_csrf"
#: a signed-in browser: the actor of its token, and the token's claims (to revoke it on sign-out)
Session = dict[str, Any]
SECURITY_HEADERS = {
    **RESPONSE_HEADERS,
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STATUS_VI = {
    "submitted": "Đã nộp, chờ tiếp nhận",
    "returned_for_supplement": "Cần bổ sung",
    "received": "Đã tiếp nhận",
    "in_review": "Đang xử lý",
    "proposed": "Chờ lãnh đạo duyệt",
    "approved": "Đã duyệt",
    "result_ready": "Có kết quả",
    "refusal_drafted": "Đang dự thảo từ chối",
    "refusal_signed": "Đã ký từ chối",
    "delivered": "Đã trả kết quả",
    "rejected_at_reception": "Từ chối tiếp nhận",
    "returned_with_reasons": "Trả lại kèm lý do",
    "withdrawn": "Đã rút",
}


def _when(value: Any) -> str:
    if not value:
        return "—"
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def _day(value: Any) -> str:
    """A day (a due day is a date: its period runs until 24:00 local time of it) as dd/mm/yyyy."""
    if not value:
        return "—"
    return date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")


def _filesize(value: Any) -> str:
    size = int(value or 0)
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",") if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def _money(value: Any) -> str:
    return f"{int(value or 0):,}".replace(",", ".") + " đ"


ENV = Environment(
    loader=FileSystemLoader(str(HERE / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    when=_when,
    day=_day,
    money=_money,
    filesize=_filesize,
    status_vi=lambda s: STATUS_VI.get(s, s),
    role_vi=lambda r: ROLE_VI.get(r, r),
    kind_vi=lambda k: KIND_VI.get(k, k),
)
ENV.globals.update(delivery_fields=DELIVERY_FIELDS, delivery_vi=DELIVERY_VI)


def csrf_token(request: Request) -> str:
    def make() -> str:
        token = request.cookies.get(CSRF_COOKIE, "")
        return token if re.fullmatch(r"[\w-]{32,64}", token) else secrets.token_urlsafe(32)

    return kept(request, "csrf_token", make)


def check_csrf(request: Request) -> None:
    cookie, sent = request.cookies.get(CSRF_COOKIE, ""), request.form.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise catalogue.error("csrf_failed")


def finish(request: Request, response: Response, secure: bool) -> Response:
    for k, v in SECURITY_HEADERS.items():
        response.headers.setdefault(k, v)
    if request.cookies.get(CSRF_COOKIE) != csrf_token(request):
        response.set_cookie(CSRF_COOKIE, csrf_token(request), httponly=True, samesite="Strict", secure=secure, path="/")
    return response


def page_number(request: Request) -> int:
    raw = request.args.get("trang", "") or request.args.get("page", "")
    return page_bounds(int(raw) if raw.isascii() and raw.isdigit() else 1, 20)[0]


def pager(request: Request, listing: JsonDict) -> JsonDict:
    """Links to the previous and next page of a list (``trang`` in the query, other filters kept)."""
    pages = max(1, -(-int(listing["total"]) // int(listing["page_size"])))
    current = int(listing["page"])

    def link(n: int) -> str:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "trang"] + [("trang", str(n))]
        return f"{request.path}?{urlencode(args)}"

    return {
        "page": current,
        "pages": pages,
        "total": listing["total"],
        "prev": link(current - 1) if current > 1 else None,
        "next": link(current + 1) if current < pages else None,
    }


def html(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    body = ENV.get_template(template).render(csrf=csrf_token(request), request=request, **ctx)
    return Response(body, status=status, mimetype="text/html")


def redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location})


TITLES = {
    401: "Cần đăng nhập",
    403: "Không có quyền truy cập",
    404: "Không tìm thấy trang",
    500: "Lỗi hệ thống",
    503: "Dịch vụ tạm thời gián đoạn",
}


def error_page(request: Request, exc: BaseException, session: Session | None, secure: bool) -> Response:
    """An error as a page in Vietnamese: its message (never its code) and the request id to quote
    to the help desk."""
    err = to_portal_error(exc)
    title = TITLES.get(err.status, "Không thực hiện được")
    response = html(
        request, "error.html", err.status, error=err, title=title, session=session, request_id=request_id(request)
    )
    return finish(request, response, secure)


#: a page method as written: (worker, request, the web session, **the path's values); the session is
#: ``Session | None`` on a public page and ``Session`` on one with ``auth`` (``page`` redirects first)
PageMethod = Callable[Concatenate[GatewayT, Request, Any, ...], Response]


#: a page as nameko calls it: (worker, request, **the path's values)
PageHandler = Callable[..., Response]


def page(
    method: str, path: str, auth: str | tuple[str, ...] | None = None
) -> Callable[[PageMethod[GatewayT]], PageHandler]:
    """A page: ``auth`` None (public), "user" (signed in) or a tuple of roles. The method gets
    (self, request, session, **path values) and returns a Response; a PortalError becomes an
    error page with its human message, never a traceback."""
    nameko_path = re.sub(r"\{(\w+)\}", r"<\1>", path)

    def decorate(fn: PageMethod[GatewayT]) -> PageHandler:
        @wraps(fn)
        def handler(self: GatewayT, request: Request, **path_values: Any) -> Response:
            session = self.web_session(request)
            try:
                if auth and session is None:
                    response = redirect(f"/dang-nhap?next={quote(request.full_path.rstrip('?'))}")
                # (no session here only with auth=(): nobody's role, refused like any other)
                elif isinstance(auth, tuple) and (session is None or session["role"] not in auth):
                    raise catalogue.error("forbidden_role")
                else:
                    if method == "POST":
                        check_csrf(request)
                    response = fn(self, request, session, **path_values)
            except BaseException as exc:  # eventlet.Timeout included: the person gets a page, not a hang
                if isinstance(exc, Unauthorized) and session is not None:
                    return finish(request, redirect("/dang-nhap"), self.secure_cookies)
                return error_page(request, exc, session, self.secure_cookies)
            return finish(request, response, self.secure_cookies)

        return ApiHandler.decorator(method, nameko_path)(handler)

    return decorate
