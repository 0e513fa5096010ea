"""The portal's pages. Each calls the same RPCs as the REST API (gateway/service.py), so the rules
are the services' own; this module only turns them into HTML forms and pages."""
from __future__ import annotations

import base64
import dataclasses
import json
import mimetypes
from urllib.parse import urlparse

from werkzeug.wrappers import Request, Response

from contracts.processing import CaseCommand
from services.common import error_catalogue as catalogue
from services.common.errors import NotFound, PortalError, Unauthorized, ValidationFailed
from services.common.roles import CITIZEN, OFFICIALS, WORKFLOW_ROLES, actor_from_claims
from services.common.workflows import ROLE_VI, STAGE_KINDS, default_workflow
from services.intake.exceptions import IDENTIFIERS_VI

from ..api import file_response
from .forms import (
    COMMAND_LABELS, FormField, field_errors, fields_of, sent, shown, summary, values_of, with_choices,
)
from .render import ENV, HERE, SESSION_COOKIE, html, page, page_number, pager, redirect

DELIVERY_VI = {"online": "Nhận kết quả trực tuyến", "in_person": "Nhận trực tiếp tại bộ phận một cửa",
               "post": "Nhận qua bưu chính công ích"}
ACTION_VI = {"receive": "Tiếp nhận", "request_supplement": "Yêu cầu bổ sung", "reject_at_reception": "Từ chối tiếp nhận",
             "assign": "Chuyển phòng chuyên môn", "request_cohandling": "Xin ý kiến phối hợp",
             "answer_cohandling": "Trả lời phối hợp", "propose": "Đề xuất", "approve": "Phê duyệt, ký",
             "send_back": "Trả lại để xử lý lại", "mark_result_ready": "Có kết quả tại một cửa",
             "deliver": "Trả kết quả", "draft_refusal": "Dự thảo từ chối", "sign_refusal": "Ký văn bản từ chối",
             "return_with_reasons": "Trả hồ sơ kèm lý do", "issue_apology": "Gửi thư xin lỗi, hẹn lại"}
_COMMANDS = CaseCommand.model_json_schema()
COMMAND_SCHEMAS = {s["properties"]["action"]["const"]: {**s, "$defs": _COMMANDS.get("$defs", {})}
                   for s in (_COMMANDS["$defs"][ref["$ref"].rsplit("/", 1)[-1]] for ref in _COMMANDS["oneOf"])}
COMMAND_FIELDS = {action: fields_of(schema, skip=("action", "expected_version"), labels=COMMAND_LABELS)
                  for action, schema in COMMAND_SCHEMAS.items()}


AMEND = "sua-"  # the supplement page's corrected eForm fields, kept apart from its own inputs


def _prefixed(fields: list) -> list:
    return [dataclasses.replace(f, name=f"{AMEND}{f.name}") for f in fields]


def _uploads(procedure: dict, request: Request) -> list[dict]:
    """The files chosen for a procedure's documents (inputs named doc-<document code>)."""
    out = []
    for doc in procedure.get("required_documents", []):
        upload = request.files.get(f"doc-{doc['code']}")
        if upload and upload.filename:
            out.append({"document_code": doc["code"], "filename": upload.filename,
                        "content_type": upload.mimetype or "application/octet-stream",
                        "content_b64": base64.b64encode(upload.read()).decode()})
    return out


def default_stage(kind: str) -> dict:
    return next(s for s in default_workflow()["stages"] if s["kind"] == kind)


def _safe_next(target: str | None, default: str) -> str:
    """Only local paths: a login link must not send people to another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return default


_EMAIL = FormField("email", "Thư điện tử", "text", True, max_length=254, input_type="email", autocomplete="email")
_PHONE = FormField("phone", "Số điện thoại", "text", True, pattern=r"^(\+84|0)\d{9,10}$", input_type="tel",
                   autocomplete="tel", hint="Ví dụ 0912345678")
_PASSWORD = FormField("password", "Mật khẩu", "text", True, hint="Ít nhất 10 ký tự", input_type="password",
                      autocomplete="new-password")
REGISTER_FIELDS = {
    "individual": [
        FormField("full_name", "Họ, chữ đệm và tên", "text", True, max_length=200, autocomplete="name"),
        FormField("national_id", "Số định danh cá nhân", "text", True, pattern=r"^\d{12}$",
                  hint="12 chữ số, in trên thẻ Căn cước"),
        FormField("date_of_birth", "Ngày sinh", "date", True, autocomplete="bday"),
        _EMAIL, _PHONE, _PASSWORD],
    "organisation": [
        FormField("name", "Tên tổ chức, doanh nghiệp", "text", True, max_length=300, autocomplete="organization"),
        FormField("tax_code", "Mã số thuế", "text", True, pattern=r"^\d{10}(-\d{3})?$",
                  hint="10 chữ số; chi nhánh: 10 chữ số-3 chữ số"),
        FormField("representative", "Người đại diện theo pháp luật", "text", True, max_length=200),
        _EMAIL, _PHONE, _PASSWORD],
}


def _whole(text: str | None) -> int:
    """A whole number typed in a form or link, 0 when it is none (never an error: "²" is a digit to
    str.isdigit but not to int)."""
    return int(text) if text and text.isascii() and text.isdigit() else 0


def _kind_of(request: Request) -> str:
    return "organisation" if request.args.get("loai") == "to-chuc" else "individual"


def refused(exc: PortalError, fields: list[FormField], prefix: str = "", extra: dict | None = None,
            labels: dict | None = None) -> dict:
    """A refused form's template values: the message, each field's error next to it, and the summary
    linking to them. ``extra`` adds errors the services report in their own terms (documents)."""
    details = exc.details
    if isinstance(details, dict) and details.get("field"):
        details = [{"field": details["field"], "message": exc.message}]
    errors = {**field_errors(details), **(extra or {})}
    names = {f.name: (prefix + f.name, f.label) for f in fields} | (labels or {})
    message = catalogue.message_of("validation_failed") if errors and exc.status == 422 else exc.message
    return {"message": message, "errors": errors, "problems": summary(errors, names)}


QA_FIELDS = [FormField("subject", "Tiêu đề", "text"), FormField("body", "Nội dung câu hỏi", "textarea"),
             FormField("procedure_code", "Thủ tục liên quan", "select"), FormField("agency_id", "Cơ quan", "select"),
             FormField("name", "Họ và tên", "text"), FormField("email", "Thư điện tử", "text")]
DESK_LABELS = {"applicant_name": ("nn-name", "Họ và tên người nộp"),
               "applicant_national_id": ("nn-nid", "Số định danh cá nhân của người nộp"),
               "applicant_phone": ("nn-phone", "Số điện thoại"), "applicant_email": ("nn-email", "Thư điện tử"),
               "applicant": ("nn-nid", "Người nộp hồ sơ")}
# Filled in when the result goes by post (the services check that: the browser cannot know).
DELIVERY_FIELDS = [
    FormField("delivery_address", "Địa chỉ nhận kết quả qua bưu chính", "text", max_length=500,
              autocomplete="street-address", hint="Chỉ cần khi nhận kết quả qua bưu chính"),
    FormField("delivery_province_code", "Mã tỉnh của địa chỉ nhận", "text", pattern=r"^\d{2}$", max_length=2,
              hint="2 chữ số, ví dụ 52 là Bình Định"),
]
ENV.globals.update(delivery_fields=DELIVERY_FIELDS, delivery_vi=DELIVERY_VI)
FILING_LABELS = {"delivery_method": ("delivery_method-o", "Hình thức nhận kết quả"),
                 "delivery_address": ("delivery_address", "Địa chỉ nhận qua bưu chính"),
                 "delivery_province_code": ("delivery_province_code", "Mã tỉnh của địa chỉ"),
                 "note": ("note", "Ghi chú")}


def _filing_refusal(exc: PortalError, procedure: dict, fields: list[FormField], chosen: dict[str, str],
                    prefix: str, more_labels: dict | None = None) -> dict:
    """A refused filing: the eForm's and delivery's errors by field, and the documents' (missing ones,
    a file of the wrong type or size) by their file input."""
    extra = {}
    if exc.code == "missing_documents":
        extra = {f"doc-{d['code']}": "Chưa chọn tệp cho giấy tờ bắt buộc này." for d in exc.details or []}
    elif isinstance(exc.details, dict) and exc.details.get("filename"):
        extra = {name: exc.message for name, filename in chosen.items() if filename == exc.details["filename"]}
    labels = {**FILING_LABELS, **(more_labels or {}),
              **{f"doc-{d['code']}": (f"doc-{d['code']}", d["name"]) for d in procedure.get("required_documents", [])}}
    return refused(exc, fields, prefix, extra, labels)


ACTION_SENTENCE = {
    "open": "nộp hồ sơ", "receive": "tiếp nhận hồ sơ", "request_supplement": "yêu cầu bổ sung hồ sơ",
    "supplement": "bổ sung hồ sơ", "reject_at_reception": "từ chối tiếp nhận hồ sơ",
    "assign": "chuyển hồ sơ đến phòng chuyên môn", "request_cohandling": "xin ý kiến phối hợp",
    "answer_cohandling": "trả lời ý kiến phối hợp", "propose": "đề xuất kết quả giải quyết",
    "approve": "phê duyệt, ký kết quả", "send_back": "trả lại hồ sơ để xử lý lại",
    "mark_result_ready": "chuyển kết quả về bộ phận một cửa", "deliver": "trả kết quả",
    "draft_refusal": "dự thảo văn bản từ chối", "sign_refusal": "ký văn bản từ chối",
    "return_with_reasons": "trả hồ sơ kèm văn bản nêu lý do", "issue_apology": "gửi thư xin lỗi và hẹn lại",
    "withdraw": "rút hồ sơ", "collect_result": "nhận kết quả trực tuyến", "fee_paid": "ghi nhận phí đã nộp trực tuyến",
    "redo_after_loss": "đưa hồ sơ về xử lý lại vì bưu chính làm thất lạc kết quả",
    "deadline_flag": "cập nhật cảnh báo thời hạn", "external_read": "tra cứu hồ sơ",
}


def history_rows(entries: list[dict], names: dict[str, dict]) -> list[dict]:
    """A case history as sentences: when, who (the official's name and role, the applicant, the
    system), what they did and the status it led to."""
    rows = []
    for e in entries:
        actor = e.get("actor") or {}
        role = actor.get("role", "")
        if role == "citizen":
            who = "Người nộp hồ sơ"
        elif actor.get("id") in names:
            who = f"{names[actor['id']]['name']} ({ROLE_VI.get(role, role)})"
        else:
            who = ROLE_VI.get(role, "Hệ thống")
        what = ACTION_SENTENCE.get(e["action"], "cập nhật hồ sơ")
        moved = e.get("from_status") != e["to_status"]
        rows.append({"at": e["at"], "who": who, "what": what, "to": e["to_status"] if moved else None,
                     "reason": e.get("reason"), "amendments": e.get("amendments"), "action": e["action"]})
    return rows


class WebPortal:
    """Mixed into GatewayService: the pages of the portal."""

    @property
    def secure_cookies(self) -> bool:
        return str(self.config.get("WEB_SECURE_COOKIES", "false")).lower() == "true"

    def web_session(self, request: Request) -> dict | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            claims = self.auth.verify_token(token)
        except Unauthorized:
            return None
        return {**actor_from_claims(claims), "claims": claims}

    @staticmethod
    def _actor(session: dict) -> dict:
        return actor_from_claims(session["claims"])

    # ------------------------------------------------------------ static
    @page("GET", "/static/{name}")
    def web_static(self, request, session, name):
        path = HERE / "static" / name
        if "/" in name or not path.is_file():
            raise catalogue.error("not_found")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = Response(path.read_bytes(), mimetype=kind)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    # ------------------------------------------------------------ public
    @page("GET", "/")
    def web_home(self, request, session):
        query = {k: v for k in ("q", "sector", "field", "agency", "level") if (v := request.args.get(k, "").strip())}
        if query.get("level") not in ("1", "2", "3", "4"):
            query.pop("level", None)
        catalog_query = {**query, **({"level": _whole(query["level"])} if "level" in query else {})}
        found = self.intake.list_procedures({**catalog_query, "page": page_number(request),
                                                                          "page_size": 20})
        facets = self.intake.catalog_facets()
        return html(request, "home.html", session=session, found=found, query=query, pg=pager(request, found),
                    agencies=self.intake.list_agencies(), sectors=facets["sectors"], fields=facets["fields"])

    @page("GET", "/thu-tuc/{code}")
    def web_procedure(self, request, session, code):
        procedure = self.intake.get_procedure(code, None)
        agency = self.intake.get_agency(procedure["agency_id"])
        stats = None
        try:
            rows = self.reporting.public_statistics(None)["procedures"]
            stats = next((r for r in rows if r["procedure_code"] == code), None)
        except PortalError:
            pass  # statistics are a courtesy on this page
        return html(request, "procedure.html", session=session, p=procedure, agency=agency, stats=stats,
                    preview=self.intake.due_date_preview(code, None))

    @page("GET", "/tra-cuu")
    def web_lookup_form(self, request, session):
        """The lookup form; with ``ma`` and ``bi-mat`` (the receipt's QR code) the lookup itself."""
        if request.args.get("ma") and request.args.get("bi-mat"):
            return self._lookup(request, session, request.args["ma"], request.args["bi-mat"])
        return html(request, "lookup.html", session=session, result=None, form={})

    @page("POST", "/tra-cuu")
    def web_lookup(self, request, session):
        return self._lookup(request, session, request.form.get("code", ""), request.form.get("secret", ""))

    def _lookup(self, request, session, code: str, secret: str):
        form = {"code": code.strip(), "secret": secret.strip()}
        try:
            status = self.public_status(form)
        except (NotFound, ValidationFailed) as exc:
            return html(request, "lookup.html", 404 if isinstance(exc, NotFound) else 422, session=session,
                        result=None, form=form, error="Không tìm thấy hồ sơ với mã và mã bí mật này.")
        return html(request, "lookup.html", session=session, result=status, form=form)

    @page("GET", "/co-quan")
    def web_agencies(self, request, session):
        """Danh bạ cơ quan (Art. 10.1, R17, R37): where to reach each agency."""
        return html(request, "agencies.html", session=session, agencies=self.intake.list_agencies())

    @page("GET", "/thong-ke")
    def web_statistics(self, request, session):
        stats = self.reporting.public_statistics(request.args.get("period") or None)
        peak = max([r["usage"] for r in stats["procedures"]] + [1])
        return html(request, "statistics.html", session=session, stats=stats, peak=peak)

    # -------------------------------------------------------------- auth
    @page("GET", "/dang-nhap")
    def web_login_form(self, request, session):
        return html(request, "login.html", session=session, next=request.args.get("next", ""), error=None)

    @page("POST", "/dang-nhap")
    def web_login(self, request, session):
        try:
            token = self.sign_in(request.form.get("login", ""), request.form.get("password", ""),
                                 request.remote_addr)
        except Unauthorized:
            return html(request, "login.html", 401, session=None, next=request.form.get("next", ""),
                        error="Tên đăng nhập hoặc mật khẩu không đúng.")
        except PortalError as exc:
            return html(request, "login.html", exc.status, session=None, next=request.form.get("next", ""),
                        error=exc.message)
        default = "/ho-so-cua-toi" if token["account"]["role"] == "citizen" else "/can-bo"
        response = redirect(_safe_next(request.form.get("next"), default))
        response.set_cookie(SESSION_COOKIE, token["access_token"], max_age=token["expires_in"], httponly=True,
                            samesite="Lax", secure=self.secure_cookies, path="/")
        return response

    @page("POST", "/dang-xuat")
    def web_logout(self, request, session):
        if session:
            self.auth.revoke(session["claims"])
        response = redirect("/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @page("GET", "/dang-ky")
    def web_register_form(self, request, session):
        return self._register_page(request, session, _kind_of(request))

    def _register_page(self, request, session, kind, status=200, values=None, refused=None):
        return html(request, "register.html", status, session=session, kind=kind, fields=REGISTER_FIELDS[kind],
                    values=values or {}, **(refused or {}))

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
        return html(request, "login.html", session=None, next="", error=None,
                    notice="Đăng ký thành công. Mời Ông/Bà đăng nhập.", login=body.get("email", ""))

    # ----------------------------------------------------------- citizens
    def _filing_page(self, request, session, procedure, status=200, values=None, refusal=None, chosen=None):
        # Filings from the web are not signed: handled as level 3, no online return (Art. 7.2a).
        methods = [m for m in procedure["delivery_methods"] if m != "online"]
        return html(request, "file.html", status, session=session, p=procedure,
                    fields=fields_of(procedure.get("eform_schema") or {}), values=values or {},
                    delivery_methods=methods, chosen=chosen or {},
                    preview=self.intake.due_date_preview(procedure["code"], None),
                    **(refusal or {"errors": {}}))

    @page("GET", "/nop-ho-so/{code}", auth=CITIZEN)
    def web_file_form(self, request, session, code):
        return self._filing_page(request, session, self.intake.get_procedure(code, None))

    @page("POST", "/nop-ho-so/{code}", auth=CITIZEN)
    def web_file(self, request, session, code):
        """Nộp hồ sơ: on success POST → redirect → GET of the dossier's page (a refresh files nothing
        twice); refused, the form comes back with what was typed and each error next to its field."""
        procedure = self.intake.get_procedure(code, None)
        fields = fields_of(procedure.get("eform_schema") or {})
        filing = {"procedure_code": code, "form_data": values_of(fields, request.form, request.files),
                  "delivery_method": request.form.get("delivery_method", "")}
        for key in ("delivery_address", "delivery_province_code", "note"):
            if request.form.get(key, "").strip():
                filing[key] = request.form[key].strip()
        uploads = _uploads(procedure, request)
        try:
            filed = self.intake.file_dossier(self._actor(session), filing, uploads,
                                             request.form.get("idempotency_key") or None)
        except PortalError as exc:
            chosen = {f"doc-{u['document_code']}": u["filename"] for u in uploads}
            return self._filing_page(request, session, procedure, exc.status, sent(fields, request.form),
                                     _filing_refusal(exc, procedure, fields, chosen, "tk-"), chosen)
        return redirect(f"/ho-so-cua-toi/{filed['dossier']['code']}?da-nop=1")

    @page("GET", "/ho-so-cua-toi", auth=CITIZEN)
    def web_my_dossiers(self, request, session):
        listing = self.intake.list_my_dossiers(self._actor(session), page_number(request), 20)
        inbox = self.notification.inbox(self._actor(session), 1, 5, False)
        return html(request, "my_dossiers.html", session=session, listing=listing, inbox=inbox,
                    pg=pager(request, listing))

    @page("GET", "/ho-so-cua-toi/{code}", auth=CITIZEN)
    def web_my_dossier(self, request, session, code):
        actor = self._actor(session)
        dossier = self.intake.get_dossier(actor, code)
        try:
            case = self.processing.timeline(actor, code)
        except PortalError:
            case = None  # filed a moment ago: the case is being opened
        procedure = self.intake.get_procedure(dossier["procedure_code"], dossier["procedure_version"])
        fields = fields_of(procedure.get("eform_schema") or {})
        receipt = self.intake.filing_receipt(actor, code)
        rating = self.feedback.get_rating(actor, code) if case and case["status"] == "delivered" else None
        return html(request, "dossier.html", session=session, d=dossier, case=case, fields=_prefixed(fields),
                    labels={f.name: f.label for f in fields}, form_rows=shown(fields, dossier["form_data"]),
                    receipt=receipt, rating=rating, just_filed="da-nop" in request.args,
                    just_rated="da-danh-gia" in request.args,
                    p={**procedure, "doc_names": {x["code"]: x["name"] for x in procedure["required_documents"]}},
                    amend_values={f"{AMEND}{k}": v for k, v in dossier["form_data"].items()})

    @page("GET", "/ho-so-cua-toi/{code}/giay-tiep-nhan", auth=CITIZEN)
    def web_receipt(self, request, session, code):
        """Giấy tiếp nhận hồ sơ và hẹn trả kết quả (PDF) with the QR code of the public lookup."""
        return file_response(self._receipt(session, code, request))

    @page("GET", "/ho-so-cua-toi/{code}/tep/{attachment_id}", auth=CITIZEN)
    def web_my_attachment(self, request, session, code, attachment_id):
        """The applicant's own files, as filed (or added with a supplement)."""
        return file_response(self.intake.get_attachment(self._actor(session), code, attachment_id))

    def _receipt(self, session, code, request) -> dict:
        actor = self._actor(session)
        try:
            due = self.processing.timeline(actor, code).get("due_date") if session["role"] == "citizen" \
                else self.processing.get_case(actor, code).get("due_date")
        except PortalError:
            due = None  # not received yet: the receipt gives the day it would be due
        return self.intake.receipt_pdf(actor, code, f"{request.host_url}tra-cuu", due)

    @page("POST", "/ho-so-cua-toi/{code}/bo-sung", auth=CITIZEN)
    def web_supplement(self, request, session, code):
        """Bổ sung hồ sơ: the files asked for and a note, as the API's supplement route does."""
        attachments = []
        for name, upload in request.files.items(multi=True):
            if name.startswith("doc-") and upload and upload.filename:
                attachments.append({"document_code": name[4:], "filename": upload.filename,
                                    "content_type": upload.mimetype or "application/octet-stream",
                                    "content_b64": base64.b64encode(upload.read()).decode()})
        dossier = self.intake.get_dossier(self._actor(session), code)
        procedure = self.intake.get_procedure(dossier["procedure_code"], dossier["procedure_version"])
        fields = _prefixed(fields_of(procedure.get("eform_schema") or {}))
        sent = {k.removeprefix(AMEND): v for k, v in values_of(
            [f for f in fields if f.name in request.form or f.kind == "checkbox"], request.form, {}).items()}
        changes = {k: v for k, v in sent.items() if v != dossier["form_data"].get(k)
                   and not (v is False and k not in dossier["form_data"])}
        self.processing.supplement(self._actor(session), code,
                                   {"attachments": attachments, "form_changes": changes,
                                    "note": request.form.get("note", "").strip() or None})
        return redirect(f"/ho-so-cua-toi/{code}")

    @page("POST", "/ho-so-cua-toi/{code}/thanh-toan", auth=CITIZEN)
    def web_pay(self, request, session, code):
        """Level 4: pay the fee at the payment provider, then come back to the dossier."""
        payment = self.payment.create_payment(self._actor(session), code,
                                              request.form.get("idempotency_key") or None)
        if not payment.get("redirect_url"):
            return redirect(f"/ho-so-cua-toi/{code}")
        # A page that navigates on, not a redirect: the CSP's form-action 'self' forbids a form
        # whose answer redirects to another site (the provider).
        return html(request, "pay.html", session=session, payment=payment)

    @page("GET", "/thong-bao", auth="user")
    def web_inbox(self, request, session):
        inbox = self.notification.inbox(self._actor(session), page_number(request), 20, False)
        return html(request, "inbox.html", session=session, inbox=inbox, pg=pager(request, inbox))

    def _qa_page(self, request, session, status=200, form=None, sent_item=None, refusal=None):
        query = {k: v for k in ("q", "procedure_code") if (v := request.args.get(k, "").strip())}
        found = self.feedback.public_questions({**query, "page": page_number(request), "page_size": 10})
        facets = self.intake.catalog_facets()
        names = {p["code"]: p["name"] for p in facets["procedures"]}
        form = form if form is not None else {"procedure_code": request.args.get("thu-tuc", "")}
        return html(request, "qa.html", status, session=session, found=found, query=query, form=form, sent=sent_item,
                    pg=pager(request, found), procedures=facets["procedures"], names=names,
                    agencies=self.intake.list_agencies(), **(refusal or {"errors": {}}))

    @page("GET", "/hoi-dap")
    def web_questions(self, request, session):
        return self._qa_page(request, session)

    @page("POST", "/hoi-dap")
    def web_ask(self, request, session):
        form = {k: request.form.get(k, "").strip() for k in ("subject", "body", "procedure_code", "agency_id",
                                                             "name", "email")}
        question = {"kind": "question", "subject": form["subject"], "body": form["body"],
                    "procedure_code": form["procedure_code"] or None, "agency_id": form["agency_id"] or None,
                    "publish_consent": request.form.get("publish_consent") == "on"}
        if session is None:
            question["contact"] = {"name": form["name"], "email": form["email"] or None}
        try:
            sent_item = self.feedback.submit(self._actor(session) if session else None, question)
        except ValidationFailed as exc:
            details = [{**d, "field": d["field"].removeprefix("contact.")} if isinstance(d, dict) else d
                       for d in exc.details or []]
            if exc.code == "contact_required" or any(d.get("field") == "contact" for d in details):
                details.append({"field": "email", "message": catalogue.message_of("contact_required")})
            if any(d.get("field") == "" for d in details):  # about nothing: neither procedure nor agency
                details.append({"field": "procedure_code", "message": next(d["message"] for d in details
                                                                           if d.get("field") == "")})
            exc.details = details
            return self._qa_page(request, session, 422, form, None, refused(exc, QA_FIELDS))
        return self._qa_page(request, session, 201, {}, sent_item)

    @page("GET", "/ho-so-cua-toi/{code}/ket-qua", auth=CITIZEN)
    def web_result(self, request, session, code):
        return file_response(self.processing.collect_result(self._actor(session), code))

    @page("GET", "/ho-so-cua-toi/{code}/van-ban/{file_id}", auth=CITIZEN)
    def web_document(self, request, session, code, file_id):
        """The agency's documents of one's own dossier: the result (once ready), the refusal."""
        return file_response(self.processing.get_file(self._actor(session), code, file_id))

    @page("POST", "/ho-so-cua-toi/{code}/danh-gia", auth=CITIZEN)
    def web_rate(self, request, session, code):
        score = request.form.get("score", "")
        try:
            self.feedback.rate(self._actor(session), code,
                               {"score": _whole(score) or score,
                                **({"comment": c} if (c := request.form.get("comment", "").strip()) else {})})
        except PortalError as exc:
            if exc.code != "already_rated":  # rated before (a second tab, a resent form): the page says so
                raise
        return redirect(f"/ho-so-cua-toi/{code}?da-danh-gia=1")

    # ----------------------------------------------------------- officials
    @page("GET", "/can-bo", auth=OFFICIALS)
    def web_queue(self, request, session):
        query = {"page_size": 30, "page": page_number(request)}
        if request.args.get("flag") in ("at_risk", "overdue", "reception_overdue"):
            query["flag"] = request.args["flag"]
        queue = self.processing.queue(self._actor(session), query)
        return html(request, "queue.html", session=session, queue=queue, flag=query.get("flag"),
                    pg=pager(request, queue))

    @page("GET", "/can-bo/ho-so/{code}", auth=OFFICIALS)
    def web_case(self, request, session, code, message=None, status=200):
        actor = self._actor(session)
        case = self.processing.get_case(actor, code)
        history = self.processing.history(actor, code)["entries"]
        dossier = self.intake.get_dossier(actor, code)
        procedure = self.intake.get_procedure(dossier["procedure_code"], dossier["procedure_version"])
        agencies = self.intake.list_agencies()
        names = self.intake.account_names(sorted({e["actor"]["id"] for e in history}))
        own = next((a for a in agencies if a["id"] == case["agency_id"]), {"departments": []})
        departments = {d["id"]: d["name"] for d in own.get("departments", [])}
        choices = {"department_id": list(departments.items()),
                   "agency_id": [(a["id"], a["name"]) for a in agencies if a["id"] != case["agency_id"]],
                   "request_id": [(r["id"], r.get("task") or r["id"]) for r in case.get("cohandling", [])
                                  if r.get("status") == "open"]}
        commands = {action: with_choices(fields, choices) for action, fields in COMMAND_FIELDS.items()
                    if action in case["available_actions"]}
        eform = fields_of(procedure.get("eform_schema") or {})
        return html(request, "case.html", status, session=session, case=case, dossier=dossier,
                    history=history_rows(history, names), commands=commands, action_vi=ACTION_VI,
                    message=message, workflow=session["role"] in WORKFLOW_ROLES, form_rows=shown(eform, dossier["form_data"]),
                    labels={f.name: f.label for f in eform}, department=departments.get(case.get("department_id")),
                    doc_names={x["code"]: x["name"] for x in procedure["required_documents"]})

    @page("GET", "/can-bo/ho-so/{code}/giay-tiep-nhan", auth=("reception",))
    def web_desk_receipt(self, request, session, code):
        """The receipt reception prints for a paper dossier taken at the desk."""
        return file_response(self._receipt(session, code, request))

    @page("GET", "/can-bo/ho-so/{code}/tep/{attachment_id}", auth=OFFICIALS)
    def web_case_attachment(self, request, session, code, attachment_id):
        return file_response(self.intake.get_attachment(self._actor(session), code, attachment_id))

    @page("POST", "/can-bo/ho-so/{code}/thao-tac", auth=WORKFLOW_ROLES)
    def web_case_command(self, request, session, code):
        action = request.form.get("action", "")
        if action not in COMMAND_FIELDS:
            raise catalogue.error("invalid_action", {"action": action})
        command = {"action": action, "expected_version": _whole(request.form.get("expected_version")),
                   **values_of(COMMAND_FIELDS[action], request.form, request.files)}
        try:
            self.processing.command(self._actor(session), code, command)
        except PortalError as exc:
            labels = {f.name: f.label for f in COMMAND_FIELDS[action]}
            detail = "; ".join(f"{labels.get(name, 'Thông tin')}: {text}"
                               for name, text in field_errors(exc.details).items())
            return self.web_case.__wrapped__(self, request, session, code,
                                             message=f"{exc.message}{' — ' + detail if detail else ''}",
                                             status=exc.status)
        return redirect(f"/can-bo/ho-so/{code}")

    # ------------------------------------------------ desk filing (reception)
    def _agency_procedures(self, session) -> list[dict]:
        return self.intake.list_procedures({"agency": session["agency_id"], "page_size": 100})["items"]

    @page("GET", "/can-bo/tiep-nhan", auth=("reception",))
    def web_desk(self, request, session):
        return html(request, "desk.html", session=session, p=None, procedures=self._agency_procedures(session))

    def _desk_page(self, request, session, procedure, status=200, values=None, refusal=None, chosen=None):
        return html(request, "desk.html", status, session=session, p=procedure,
                    fields=fields_of(procedure.get("eform_schema") or {}), values=values or {}, chosen=chosen or {},
                    delivery_methods=[m for m in procedure["delivery_methods"] if m != "online"],
                    **(refusal or {"errors": {}}))

    @page("GET", "/can-bo/tiep-nhan/{code}", auth=("reception",))
    def web_desk_form(self, request, session, code):
        return self._desk_page(request, session, self.intake.get_procedure(code, None))

    @page("POST", "/can-bo/tiep-nhan/{code}", auth=("reception",))
    def web_desk_file(self, request, session, code):
        """A paper dossier brought to the desk, filed by reception (channel in_person)."""
        procedure = self.intake.get_procedure(code, None)
        fields = fields_of(procedure.get("eform_schema") or {})
        applicant = {k: v for k in ("name", "national_id", "phone", "email")
                     if (v := request.form.get(f"applicant_{k}", "").strip())}
        filing = {"procedure_code": code, "form_data": values_of(fields, request.form, request.files),
                  "delivery_method": request.form.get("delivery_method", ""), "applicant": applicant}
        for key in ("delivery_address", "delivery_province_code"):
            if request.form.get(key, "").strip():
                filing[key] = request.form[key].strip()
        uploads = _uploads(procedure, request)
        try:
            filed = self.intake.file_at_desk(self._actor(session), filing, uploads,
                                             request.form.get("idempotency_key") or None)
        except PortalError as exc:
            chosen = {f"doc-{u['document_code']}": u["filename"] for u in uploads}
            if isinstance(exc.details, list):  # the applicant's fields are named applicant.<name> here
                exc.details = [{**d, "field": d["field"].replace("applicant.", "applicant_")}
                               if isinstance(d, dict) and d.get("field") else d for d in exc.details]
            return self._desk_page(request, session, procedure, exc.status, sent(fields, request.form),
                                   _filing_refusal(exc, procedure, fields, chosen, "tk-", DESK_LABELS), chosen)
        preview = self.intake.due_date_preview(code, filed["dossier"]["submitted_at"])
        return html(request, "desk_filed.html", 201, session=session, filed=filed, preview=preview)

    # ------------------------------------------------ workflows (agency admin)
    @page("GET", "/can-bo/quy-trinh", auth=("agency_admin",))
    def web_workflows(self, request, session):
        return html(request, "workflow.html", session=session, p=None, procedures=self._agency_procedures(session))

    def _workflow_page(self, request, session, procedure, status=200, stages=None, message=None, saved=False):
        declared = {s["kind"]: s for s in (procedure.get("workflow") or default_workflow())["stages"]}
        rows = stages or [{"kind": k, "on": k in declared, **(declared.get(k) or default_stage(k))}
                          for k in STAGE_KINDS]
        return html(request, "workflow.html", status, session=session, p=procedure, stages=rows, roles=WORKFLOW_ROLES,
                    message=message, saved=saved)

    @page("GET", "/can-bo/quy-trinh/{code}", auth=("agency_admin",))
    def web_workflow(self, request, session, code):
        return self._workflow_page(request, session, self.intake.get_procedure(code, None))

    @page("POST", "/can-bo/quy-trinh/{code}", auth=("agency_admin",))
    def web_workflow_save(self, request, session, code):
        procedure = self.intake.get_procedure(code, None)
        rows = []
        for kind in STAGE_KINDS:
            days = request.form.get(f"{kind}-days", "").strip()
            rows.append({"kind": kind, "on": kind != "assignment" or request.form.get(f"{kind}-on") == "on",
                         "code": default_stage(kind)["code"],
                         "name": request.form.get(f"{kind}-name", "").strip() or default_stage(kind)["name"],
                         "roles": request.form.getlist(f"{kind}-roles"),
                         "days": _whole(days) if days else None,
                         "cohandling": kind != "review" or request.form.get("review-cohandling") == "on"})
        stages = [{k: r[k] for k in ("code", "name", "kind", "roles", "days", "cohandling")} for r in rows if r["on"]]
        try:
            saved = self.intake.declare_workflow(self._actor(session), code, {"workflow": {"stages": stages}})
        except PortalError as exc:
            return self._workflow_page(request, session, procedure, exc.status, rows, exc.message)
        return self._workflow_page(request, session, saved, saved=True)

    @page("GET", "/can-bo/bao-cao", auth=OFFICIALS)
    def web_reports(self, request, session):
        return html(request, "reports.html", session=session,
                    scope="province" if session["role"] == "operator" else session["agency_id"])

    @page("GET", "/can-bo/bao-cao/tai", auth=OFFICIALS)
    def web_report_download(self, request, session):
        scope = "province" if session["role"] == "operator" else session["agency_id"]
        period, fmt = request.args.get("period", ""), request.args.get("format", "html")
        result = self.reporting.report(self._actor(session), request.args.get("scope") or scope,
                                       period, fmt)
        if fmt == "json":
            return Response(json.dumps(result, ensure_ascii=False), mimetype="application/json")
        return file_response(result)
