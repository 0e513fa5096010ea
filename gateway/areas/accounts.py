"""Accounts, everyone's: a citizen's or an organisation's registration, signing in and out (API
tokens and the web session), and the account signed in."""

from __future__ import annotations

from urllib.parse import urlparse

from werkzeug.wrappers import Request, Response

from contracts.intake import Account, Credentials
from services.common.errors import PortalError, Unauthorized
from services.intake.exceptions import IDENTIFIERS_VI

from ..api import Ctx, route
from ..core import GatewayCore
from ..schemas import RegisterRequest, TokenResponse
from ..web.forms import FormField, refused, sent, values_of
from ..web.render import SESSION_COOKIE, html, page, redirect

_EMAIL = FormField("email", "Thư điện tử", "text", True, max_length=254, input_type="email", autocomplete="email")
_PHONE = FormField(
    "phone",
    "Số điện thoại",
    "text",
    True,
    pattern=r"^(\+84|0)\d{9,10}$",
    input_type="tel",
    autocomplete="tel",
    hint="Ví dụ 0912345678",
)
_PASSWORD = FormField(
    "password", "Mật khẩu", "text", True, hint="Ít nhất 10 ký tự", input_type="password", autocomplete="new-password"
)
REGISTER_FIELDS = {
    "individual": [
        FormField("full_name", "Họ, chữ đệm và tên", "text", True, max_length=200, autocomplete="name"),
        FormField(
            "national_id",
            "Số định danh cá nhân",
            "text",
            True,
            pattern=r"^\d{12}$",
            hint="12 chữ số, in trên thẻ Căn cước",
        ),
        FormField("date_of_birth", "Ngày sinh", "date", True, autocomplete="bday"),
        _EMAIL,
        _PHONE,
        _PASSWORD,
    ],
    "organisation": [
        FormField("name", "Tên tổ chức, doanh nghiệp", "text", True, max_length=300, autocomplete="organization"),
        FormField(
            "tax_code",
            "Mã số thuế",
            "text",
            True,
            pattern=r"^\d{10}(-\d{3})?$",
            hint="10 chữ số; chi nhánh: 10 chữ số-3 chữ số",
        ),
        FormField("representative", "Người đại diện theo pháp luật", "text", True, max_length=200),
        _EMAIL,
        _PHONE,
        _PASSWORD,
    ],
}


def _kind_of(request: Request) -> str:
    return "organisation" if request.args.get("loai") == "to-chuc" else "individual"


def _safe_next(target: str | None, default: str) -> str:
    """Only local paths: a login link must not send people to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return default


class AccountsArea(GatewayCore):
    """Routes and pages of one's own account."""

    # --------------------------------------------------------- registration
    @route(
        "POST",
        "/api/v1/auth/register",
        summary="Đăng ký tài khoản (công dân / tổ chức)",
        tag="auth",
        body=RegisterRequest,
        response=Account,
        status=201,
        errors=(409,),
        auth="public",
        scope=(),
    )
    def register(self, ctx: Ctx):
        return self.intake.register(ctx.body.model_dump(mode="json"))

    @page("GET", "/dang-ky")
    def web_register_form(self, request, session):
        return self._register_page(request, session, _kind_of(request))

    def _register_page(self, request, session, kind, status=200, values=None, refused=None):
        return html(
            request,
            "register.html",
            status,
            session=session,
            kind=kind,
            fields=REGISTER_FIELDS[kind],
            values=values or {},
            **(refused or {}),
        )

    @page("POST", "/dang-ky")
    def web_register(self, request, session):
        kind = "organisation" if request.form.get("kind") == "organisation" else "individual"
        fields = REGISTER_FIELDS[kind]
        body = {"kind": kind, **values_of(fields, request.form, {})}
        body["password"] = request.form.get("password", "")
        try:
            self.intake.register(body)
        except PortalError as exc:
            values = {k: v for k, v in sent(fields, request.form).items() if k != "password"}
            taken = exc.details.get("fields", []) if exc.code == "account_exists" else []
            extra = {f: f"Đã có tài khoản đăng ký với {IDENTIFIERS_VI.get(f, f)} này." for f in taken}
            return self._register_page(request, session, kind, exc.status, values, refused(exc, fields, extra=extra))
        return html(
            request,
            "login.html",
            session=None,
            next="",
            error=None,
            notice="Đăng ký thành công. Mời Ông/Bà đăng nhập.",
            login=body.get("email", ""),
        )

    # --------------------------------------------------- signing in and out
    @route(
        "POST",
        "/api/v1/auth/login",
        summary="Đăng nhập: nhận bearer token",
        tag="auth",
        body=Credentials,
        response=TokenResponse,
        errors=(401, 429),
        auth="public",
        scope=(),
    )
    def login(self, ctx: Ctx):
        return self.sign_in(ctx.body.login, ctx.body.password, ctx.request.remote_addr)

    def sign_in(self, login: str, password: str, ip: str | None) -> dict:
        """Rate-limited sign-in (API and web): a token and the account, or Unauthorized."""
        ip, login = ip or "unknown", login.strip().lower()
        # Counted per account, so that its e-mail, national ID and tax code share one limit.
        account_id = self.intake.account_for_login(login)
        subject = f"account:{account_id}" if account_id else f"name:{login}"
        self.auth.check_login_allowed(subject, ip)
        try:
            account = self.intake.authenticate({"login": login, "password": password})
        except Unauthorized:
            self.auth.record_failed_login(subject, ip)
            raise
        return {**self.auth.issue(account), "account": account}

    @page("GET", "/dang-nhap")
    def web_login_form(self, request, session):
        return html(request, "login.html", session=session, next=request.args.get("next", ""), error=None)

    @page("POST", "/dang-nhap")
    def web_login(self, request, session):
        try:
            token = self.sign_in(request.form.get("login", ""), request.form.get("password", ""), request.remote_addr)
        except Unauthorized:
            return html(
                request,
                "login.html",
                401,
                session=None,
                next=request.form.get("next", ""),
                error="Tên đăng nhập hoặc mật khẩu không đúng.",
            )
        except PortalError as exc:
            return html(
                request, "login.html", exc.status, session=None, next=request.form.get("next", ""), error=exc.message
            )
        default = "/ho-so-cua-toi" if token["account"]["role"] == "citizen" else "/can-bo"
        response = redirect(_safe_next(request.form.get("next"), default))
        response.set_cookie(
            SESSION_COOKIE,
            token["access_token"],
            max_age=token["expires_in"],
            httponly=True,
            samesite="Lax",
            secure=self.secure_cookies,
            path="/",
        )
        return response

    @route(
        "POST", "/api/v1/auth/logout", summary="Đăng xuất: thu hồi token", tag="auth", auth="user", status=204, scope=()
    )
    def logout(self, ctx: Ctx):
        self.auth.revoke(ctx.claims)
        return Response(status=204)

    @page("POST", "/dang-xuat")
    def web_logout(self, request, session):
        if session:
            self.auth.revoke(session["claims"])
        response = redirect("/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @route("GET", "/api/v1/me", summary="Tài khoản đang đăng nhập", tag="auth", auth="user", response=Account, scope=())
    def me(self, ctx: Ctx):
        return self.intake.get_account(ctx.actor["id"])
