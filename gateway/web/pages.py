"""The portal's pages. Each calls the same RPCs as the REST API (gateway/service.py), so the rules
are the services' own; this module only turns them into HTML forms and pages."""
from __future__ import annotations

import base64
import dataclasses
import json
import mimetypes
from urllib.parse import urlparse

from werkzeug.wrappers import Request, Response

from services.common.errors import NotFound, PortalError, Unauthorized, ValidationFailed
from services.common.schemas import page_bounds
from services.common.workflows import STAGE_KINDS, STAGE_ROLES, default_workflow
from services.processing.schemas import CaseCommand

from ..api import file_response
from .forms import explain, fields_of, values_of
from .render import HERE, SESSION_COOKIE, html, page, redirect

CITIZEN = ("citizen",)
OFFICIALS = ("reception", "specialist", "leader", "agency_admin", "operator")
WORKFLOW = ("reception", "specialist", "leader")
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
COMMAND_FIELDS = {action: fields_of(schema, skip=("action", "expected_version"))
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


def _whole(text: str | None) -> int:
    """A whole number typed in a form or link, 0 when it is none."""
    return int(text) if text and text.isascii() and text.isdigit() else 0


def _page_no(request: Request) -> int:
    return page_bounds(_whole(request.args.get("page")), 20)[0]


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
        return {"id": claims["sub"], "role": claims["role"], "agency_id": claims.get("agency_id"),
                "department_id": claims.get("department_id"), "claims": claims}

    @staticmethod
    def _actor(session: dict) -> dict:
        return {k: session[k] for k in ("id", "role", "agency_id", "department_id")}

    # ------------------------------------------------------------ static
    @page("GET", "/static/{name}")
    def web_static(self, request, session, name):
        path = HERE / "static" / name
        if "/" in name or not path.is_file():
            raise NotFound("Không tìm thấy tệp", None, "not_found")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = Response(path.read_bytes(), mimetype=kind)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    # ------------------------------------------------------------ public
    @page("GET", "/")
    def web_home(self, request, session):
        query = {k: v for k in ("q", "sector", "field", "agency", "level") if (v := request.args.get(k, "").strip())}
        if not 1 <= _whole(query.get("level", "1")) <= 4:
            query.pop("level")
        catalog_query = {**query, **({"level": _whole(query["level"])} if "level" in query else {})}
        found = self.call("intake", "list_procedures", {**catalog_query, "page": _page_no(request), "page_size": 20})
        agencies = self.call("intake", "list_agencies")
        catalog = self.call("intake", "list_procedures", {"page_size": 100})["items"]
        sectors, fields = sorted({p["sector"] for p in catalog}), sorted({p["field"] for p in catalog})
        return html(request, "home.html", session=session, found=found, query=query, agencies=agencies,
                    sectors=sectors, fields=fields)

    @page("GET", "/thu-tuc/{code}")
    def web_procedure(self, request, session, code):
        procedure = self.call("intake", "get_procedure", code, None)
        agency = self.call("intake", "get_agency", procedure["agency_id"])
        stats = None
        try:
            rows = self.call("reporting", "public_statistics", None)["procedures"]
            stats = next((r for r in rows if r["procedure_code"] == code), None)
        except PortalError:
            pass  # statistics are a courtesy on this page
        return html(request, "procedure.html", session=session, p=procedure, agency=agency, stats=stats,
                    delivery_vi=DELIVERY_VI, preview=self.call("intake", "due_date_preview", code, None))

    @page("GET", "/tra-cuu")
    def web_lookup_form(self, request, session):
        return html(request, "lookup.html", session=session, result=None, form={})

    @page("POST", "/tra-cuu")
    def web_lookup(self, request, session):
        form = {"code": request.form.get("code", "").strip(), "secret": request.form.get("secret", "").strip()}
        try:
            status = self.public_status(form)
        except (NotFound, ValidationFailed) as exc:
            return html(request, "lookup.html", 404 if isinstance(exc, NotFound) else 422, session=session,
                        result=None, form=form, error="Không tìm thấy hồ sơ với mã và mã bí mật này.")
        return html(request, "lookup.html", session=session, result=status, form=form)

    @page("GET", "/co-quan")
    def web_agencies(self, request, session):
        """Danh bạ cơ quan (Art. 10.1, R17, R37): where to reach each agency."""
        return html(request, "agencies.html", session=session, agencies=self.call("intake", "list_agencies"))

    @page("GET", "/thong-ke")
    def web_statistics(self, request, session):
        stats = self.call("reporting", "public_statistics", request.args.get("period") or None)
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
        return html(request, "register.html", session=session, form={}, errors=[])

    @page("POST", "/dang-ky")
    def web_register(self, request, session):
        form = {k: request.form.get(k, "").strip() for k in ("kind", "full_name", "national_id", "tax_code",
                                                            "date_of_birth", "email", "phone")}
        body = {k: v for k, v in form.items() if v}
        body["password"] = request.form.get("password", "")
        try:
            self.call("intake", "register", body)
        except PortalError as exc:
            return html(request, "register.html", exc.status, session=None, form=form, message=exc.message,
                        errors=exc.details if isinstance(exc.details, list) else [])
        return html(request, "login.html", session=None, next="", error=None,
                    notice="Đăng ký thành công. Mời Ông/Bà đăng nhập.", login=form.get("email", ""))

    # ----------------------------------------------------------- citizens
    def _filing_page(self, request, session, procedure, status=200, values=None, message=None, errors=None):
        # Filings from the web are not signed: handled as level 3, no online return (Art. 7.2a).
        methods = [m for m in procedure["delivery_methods"] if m != "online"]
        return html(request, "file.html", status, session=session, p=procedure,
                    fields=fields_of(procedure.get("eform_schema") or {}), values=values or {},
                    message=message, errors=errors or [], delivery_vi=DELIVERY_VI, delivery_methods=methods,
                    preview=self.call("intake", "due_date_preview", procedure["code"], None))

    @page("GET", "/nop-ho-so/{code}", auth=CITIZEN)
    def web_file_form(self, request, session, code):
        return self._filing_page(request, session, self.call("intake", "get_procedure", code, None))

    @page("POST", "/nop-ho-so/{code}", auth=CITIZEN)
    def web_file(self, request, session, code):
        procedure = self.call("intake", "get_procedure", code, None)
        fields = fields_of(procedure.get("eform_schema") or {})
        form_data = values_of(fields, request.form, request.files)
        delivery = request.form.get("delivery_method", "")
        filing = {"procedure_code": code, "form_data": form_data, "delivery_method": delivery}
        for key in ("delivery_address", "delivery_province_code", "note"):
            if request.form.get(key, "").strip():
                filing[key] = request.form[key].strip()
        try:
            filed = self.call("intake", "file_dossier", self._actor(session), filing, _uploads(procedure, request),
                              request.form.get("idempotency_key") or None)
        except PortalError as exc:
            return self._filing_page(request, session, procedure, exc.status, {**request.form}, exc.message,
                                     explain(exc.details, fields))
        preview = self.call("intake", "due_date_preview", code, filed["dossier"]["submitted_at"])
        return html(request, "filed.html", 201, session=session, filed=filed, p=procedure, preview=preview)

    @page("GET", "/ho-so-cua-toi", auth=CITIZEN)
    def web_my_dossiers(self, request, session):
        listing = self.call("intake", "list_my_dossiers", self._actor(session), 1, 50)
        inbox = self.call("notification", "inbox", self._actor(session), 1, 5, False)
        return html(request, "my_dossiers.html", session=session, listing=listing, inbox=inbox)

    @page("GET", "/ho-so-cua-toi/{code}", auth=CITIZEN)
    def web_my_dossier(self, request, session, code):
        dossier = self.call("intake", "get_dossier", self._actor(session), code)
        try:
            case = self.call("processing", "timeline", self._actor(session), code)
        except PortalError:
            case = None  # filed a moment ago: the case is being opened
        procedure = self.call("intake", "get_procedure", dossier["procedure_code"], dossier["procedure_version"])
        fields = fields_of(procedure.get("eform_schema") or {})
        return html(request, "dossier.html", session=session, d=dossier, case=case, fields=_prefixed(fields),
                    labels={f.name: f.label for f in fields},
                    amend_values={f"{AMEND}{k}": v for k, v in dossier["form_data"].items()})

    @page("POST", "/ho-so-cua-toi/{code}/bo-sung", auth=CITIZEN)
    def web_supplement(self, request, session, code):
        """Bổ sung hồ sơ: the files asked for and a note, as the API's supplement route does."""
        attachments = []
        for name, upload in request.files.items(multi=True):
            if name.startswith("doc-") and upload and upload.filename:
                attachments.append({"document_code": name[4:], "filename": upload.filename,
                                    "content_type": upload.mimetype or "application/octet-stream",
                                    "content_b64": base64.b64encode(upload.read()).decode()})
        dossier = self.call("intake", "get_dossier", self._actor(session), code)
        procedure = self.call("intake", "get_procedure", dossier["procedure_code"], dossier["procedure_version"])
        fields = _prefixed(fields_of(procedure.get("eform_schema") or {}))
        sent = {k.removeprefix(AMEND): v for k, v in values_of(
            [f for f in fields if f.name in request.form or f.kind == "checkbox"], request.form, {}).items()}
        changes = {k: v for k, v in sent.items() if v != dossier["form_data"].get(k)
                   and not (v is False and k not in dossier["form_data"])}
        self.call("processing", "supplement", self._actor(session), code,
                  {"attachments": attachments, "form_changes": changes,
                   "note": request.form.get("note", "").strip() or None})
        return redirect(f"/ho-so-cua-toi/{code}")

    @page("POST", "/ho-so-cua-toi/{code}/thanh-toan", auth=CITIZEN)
    def web_pay(self, request, session, code):
        """Level 4: pay the fee at the payment provider, then come back to the dossier."""
        payment = self.call("payment", "create_payment", self._actor(session), code,
                            request.form.get("idempotency_key") or None)
        if not payment.get("redirect_url"):
            return redirect(f"/ho-so-cua-toi/{code}")
        # A page that navigates on, not a redirect: the CSP's form-action 'self' forbids a form
        # whose answer redirects to another site (the provider).
        return html(request, "pay.html", session=session, payment=payment)

    @page("GET", "/thong-bao", auth="user")
    def web_inbox(self, request, session):
        inbox = self.call("notification", "inbox", self._actor(session), _page_no(request), 20, False)
        return html(request, "inbox.html", session=session, inbox=inbox)

    @page("GET", "/hoi-dap")
    def web_questions(self, request, session):
        query = {k: v for k in ("q", "procedure_code") if (v := request.args.get(k, "").strip())}
        found = self.call("feedback", "public_questions", query)
        return html(request, "qa.html", session=session, found=found, query=query, form={}, sent=None)

    @page("POST", "/hoi-dap")
    def web_ask(self, request, session):
        form = {k: request.form.get(k, "").strip() for k in ("subject", "body", "procedure_code", "name", "email")}
        question = {"kind": "question", "subject": form["subject"], "body": form["body"],
                    "procedure_code": form["procedure_code"] or None,
                    "publish_consent": request.form.get("publish_consent") == "on"}
        if session is None:
            question["contact"] = {"name": form["name"], "email": form["email"] or None}
        try:
            sent = self.call("feedback", "submit", self._actor(session) if session else None, question)
        except ValidationFailed as exc:
            found = self.call("feedback", "public_questions", {})
            return html(request, "qa.html", 422, session=session, found=found, query={}, form=form, sent=None,
                        message=exc.message, errors=exc.details if isinstance(exc.details, list) else [])
        found = self.call("feedback", "public_questions", {})
        return html(request, "qa.html", 201, session=session, found=found, query={}, form={}, sent=sent)

    @page("GET", "/ho-so-cua-toi/{code}/ket-qua", auth=CITIZEN)
    def web_result(self, request, session, code):
        return file_response(self.call("processing", "collect_result", self._actor(session), code))

    @page("GET", "/ho-so-cua-toi/{code}/van-ban/{file_id}", auth=CITIZEN)
    def web_document(self, request, session, code, file_id):
        """The agency's documents of one's own dossier: the result (once ready), the refusal."""
        return file_response(self.call("processing", "get_file", self._actor(session), code, file_id))

    @page("POST", "/ho-so-cua-toi/{code}/danh-gia", auth=CITIZEN)
    def web_rate(self, request, session, code):
        score = request.form.get("score", "")
        self.call("feedback", "rate", self._actor(session), code,
                  {"score": _whole(score) or score,
                   **({"comment": c} if (c := request.form.get("comment", "").strip()) else {})})
        return redirect(f"/ho-so-cua-toi/{code}")

    # ----------------------------------------------------------- officials
    @page("GET", "/can-bo", auth=OFFICIALS)
    def web_queue(self, request, session):
        query = {"page_size": 50}
        if request.args.get("flag") in ("at_risk", "overdue"):
            query["flag"] = request.args["flag"]
        queue = self.call("processing", "queue", self._actor(session), query)
        return html(request, "queue.html", session=session, queue=queue, flag=query.get("flag"))

    @page("GET", "/can-bo/ho-so/{code}", auth=OFFICIALS)
    def web_case(self, request, session, code, message=None, status=200):
        actor = self._actor(session)
        case = self.call("processing", "get_case", actor, code)
        history = self.call("processing", "history", actor, code)
        dossier = self.call("intake", "get_dossier", actor, code)
        return html(request, "case.html", status, session=session, case=case, history=history["entries"],
                    dossier=dossier, commands=COMMAND_FIELDS, action_vi=ACTION_VI, message=message,
                    workflow=session["role"] in WORKFLOW)

    @page("GET", "/can-bo/ho-so/{code}/tep/{attachment_id}", auth=OFFICIALS)
    def web_case_attachment(self, request, session, code, attachment_id):
        return file_response(self.call("intake", "get_attachment", self._actor(session), code, attachment_id))

    @page("POST", "/can-bo/ho-so/{code}/thao-tac", auth=WORKFLOW)
    def web_case_command(self, request, session, code):
        action = request.form.get("action", "")
        if action not in COMMAND_FIELDS:
            raise ValidationFailed("Thao tác không hợp lệ", {"action": action}, "invalid_action")
        command = {"action": action, "expected_version": _whole(request.form.get("expected_version")),
                   **values_of(COMMAND_FIELDS[action], request.form, request.files)}
        try:
            self.call("processing", "command", self._actor(session), code, command)
        except PortalError as exc:
            detail = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in exc.details
                               if isinstance(d, dict)) if isinstance(exc.details, list) else ""
            return self.web_case.__wrapped__(self, request, session, code,
                                             message=f"{exc.message}{' — ' + detail if detail else ''}",
                                             status=exc.status)
        return redirect(f"/can-bo/ho-so/{code}")

    # ------------------------------------------------ desk filing (reception)
    def _agency_procedures(self, session) -> list[dict]:
        return self.call("intake", "list_procedures", {"agency": session["agency_id"], "page_size": 100})["items"]

    @page("GET", "/can-bo/tiep-nhan", auth=("reception",))
    def web_desk(self, request, session):
        return html(request, "desk.html", session=session, p=None, procedures=self._agency_procedures(session))

    def _desk_page(self, request, session, procedure, status=200, values=None, message=None, errors=None):
        fields = fields_of(procedure.get("eform_schema") or {})
        return html(request, "desk.html", status, session=session, p=procedure, fields=fields, values=values or {},
                    message=message, errors=explain(errors, fields) if errors else [], delivery_vi=DELIVERY_VI,
                    delivery_methods=[m for m in procedure["delivery_methods"] if m != "online"])

    @page("GET", "/can-bo/tiep-nhan/{code}", auth=("reception",))
    def web_desk_form(self, request, session, code):
        return self._desk_page(request, session, self.call("intake", "get_procedure", code, None))

    @page("POST", "/can-bo/tiep-nhan/{code}", auth=("reception",))
    def web_desk_file(self, request, session, code):
        """A paper dossier brought to the desk, filed by reception (channel in_person)."""
        procedure = self.call("intake", "get_procedure", code, None)
        fields = fields_of(procedure.get("eform_schema") or {})
        applicant = {k: v for k in ("name", "national_id", "phone", "email")
                     if (v := request.form.get(f"applicant_{k}", "").strip())}
        filing = {"procedure_code": code, "form_data": values_of(fields, request.form, request.files),
                  "delivery_method": request.form.get("delivery_method", ""), "applicant": applicant}
        for key in ("delivery_address", "delivery_province_code"):
            if request.form.get(key, "").strip():
                filing[key] = request.form[key].strip()
        try:
            filed = self.call("intake", "file_at_desk", self._actor(session), filing, _uploads(procedure, request),
                              request.form.get("idempotency_key") or None)
        except PortalError as exc:
            return self._desk_page(request, session, procedure, exc.status, {**request.form}, exc.message,
                                   exc.details)
        preview = self.call("intake", "due_date_preview", code, filed["dossier"]["submitted_at"])
        return html(request, "desk_filed.html", 201, session=session, filed=filed, preview=preview)

    # ------------------------------------------------ workflows (agency admin)
    @page("GET", "/can-bo/quy-trinh", auth=("agency_admin",))
    def web_workflows(self, request, session):
        return html(request, "workflow.html", session=session, p=None, procedures=self._agency_procedures(session))

    def _workflow_page(self, request, session, procedure, status=200, stages=None, message=None, saved=False):
        declared = {s["kind"]: s for s in (procedure.get("workflow") or default_workflow())["stages"]}
        rows = stages or [{"kind": k, "on": k in declared, **(declared.get(k) or default_stage(k))}
                          for k in STAGE_KINDS]
        return html(request, "workflow.html", status, session=session, p=procedure, stages=rows, roles=STAGE_ROLES,
                    message=message, saved=saved)

    @page("GET", "/can-bo/quy-trinh/{code}", auth=("agency_admin",))
    def web_workflow(self, request, session, code):
        return self._workflow_page(request, session, self.call("intake", "get_procedure", code, None))

    @page("POST", "/can-bo/quy-trinh/{code}", auth=("agency_admin",))
    def web_workflow_save(self, request, session, code):
        procedure = self.call("intake", "get_procedure", code, None)
        rows = []
        for kind in STAGE_KINDS:
            days = request.form.get(f"{kind}-days", "").strip()
            rows.append({"kind": kind, "on": kind != "assignment" or request.form.get(f"{kind}-on") == "on",
                         "code": default_stage(kind)["code"],
                         "name": request.form.get(f"{kind}-name", "").strip() or default_stage(kind)["name"],
                         "roles": request.form.getlist(f"{kind}-roles"),
                         "days": int(days) if days.isdigit() else None,
                         "cohandling": kind != "review" or request.form.get("review-cohandling") == "on"})
        stages = [{k: r[k] for k in ("code", "name", "kind", "roles", "days", "cohandling")} for r in rows if r["on"]]
        try:
            saved = self.call("intake", "declare_workflow", self._actor(session), code, {"workflow": {"stages": stages}})
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
        result = self.call("reporting", "report", self._actor(session), request.args.get("scope") or scope,
                           period, fmt)
        if fmt == "json":
            return Response(json.dumps(result, ensure_ascii=False), mimetype="application/json")
        return file_response(result)
