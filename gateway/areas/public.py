"""The public's part of the portal, no account needed: the catalog, the agencies' directory, the
public statistics, a dossier's lookup by code and secret, the Q&A, and the payment provider's
signed callback. Each page sits beside the API route it mirrors."""

from __future__ import annotations

import mimetypes

from werkzeug.wrappers import Response

from contracts.feedback import FeedbackView, NewFeedback, PublicPage, PublicQuery
from contracts.intake import (
    CatalogQuery,
    DueDatePreview,
    DueDateQuery,
    Procedure,
    ProcedurePage,
    PublicLookup,
    PublicStatus,
)
from services.common import error_catalogue as catalogue
from services.common.errors import NotFound, PortalError, ValidationFailed
from services.common.roles import actor_from_claims

from ..api import Ctx, file_response, route
from ..core import GatewayCore
from ..schemas import AgencyList, CallbackAck, PeriodQuery, VersionQuery
from ..web.forms import FormField, refused, whole_number
from ..web.render import HERE, html, page, page_number, pager

QA_FIELDS = [
    FormField("subject", "Tiêu đề", "text"),
    FormField("body", "Nội dung câu hỏi", "textarea"),
    FormField("procedure_code", "Thủ tục liên quan", "select"),
    FormField("agency_id", "Cơ quan", "select"),
    FormField("name", "Họ và tên", "text"),
    FormField("email", "Thư điện tử", "text"),
]


class PublicArea(GatewayCore):
    """Routes and pages anyone may use."""

    # --------------------------------------------------------------- static
    @page("GET", "/static/{name}")
    def web_static(self, request, session, name):
        path = HERE / "static" / name
        if "/" in name or not path.is_file():
            raise catalogue.error("not_found")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = Response(path.read_bytes(), mimetype=kind)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    # ------------------------------------------------------------- agencies
    @route(
        "GET",
        "/api/v1/agencies",
        summary="Danh sách cơ quan",
        tag="catalog",
        response=AgencyList,
        auth="public",
        scope=(),
    )
    def agencies(self, ctx: Ctx):
        return self.intake.list_agencies()

    @page("GET", "/co-quan")
    def web_agencies(self, request, session):
        """Danh bạ cơ quan (Art. 10.1, R17, R37): where to reach each agency."""
        return html(request, "agencies.html", session=session, agencies=self.intake.list_agencies())

    # -------------------------------------------------------------- catalog
    @route(
        "GET",
        "/api/v1/procedures",
        summary="Danh mục thủ tục hành chính (lọc, tìm kiếm, phân trang)",
        tag="catalog",
        query=CatalogQuery,
        response=ProcedurePage,
        auth="public",
        scope=(),
    )
    def procedures(self, ctx: Ctx):
        return self.intake.list_procedures(ctx.query.model_dump(exclude_none=True))

    @page("GET", "/")
    def web_home(self, request, session):
        query = {k: v for k in ("q", "sector", "field", "agency", "level") if (v := request.args.get(k, "").strip())}
        if query.get("level") not in ("1", "2", "3", "4"):
            query.pop("level", None)
        catalog_query = {**query, **({"level": whole_number(query["level"])} if "level" in query else {})}
        found = self.intake.list_procedures({**catalog_query, "page": page_number(request), "page_size": 20})
        facets = self.intake.catalog_facets()
        return html(
            request,
            "home.html",
            session=session,
            found=found,
            query=query,
            pg=pager(request, found),
            agencies=self.intake.list_agencies(),
            sectors=facets["sectors"],
            fields=facets["fields"],
        )

    @route(
        "GET",
        "/api/v1/procedures/{code}",
        summary="Chi tiết thủ tục (phiên bản hiện hành hoặc ?version=)",
        tag="catalog",
        query=VersionQuery,
        response=Procedure,
        errors=(404,),
        auth="public",
        scope=(),
    )
    def procedure(self, ctx: Ctx):
        return self.intake.get_procedure(ctx.path["code"], ctx.query.version)

    @route(
        "GET",
        "/api/v1/procedures/{code}/due-date",
        summary="Ngày hẹn trả kết quả nếu hồ sơ được tiếp nhận lúc received_at (mặc định: bây giờ)",
        tag="catalog",
        query=DueDateQuery,
        response=DueDatePreview,
        errors=(404, 422),
        auth="public",
        scope=(),
    )
    def due_date(self, ctx: Ctx):
        at = ctx.query.received_at
        return self.intake.due_date_preview(ctx.path["code"], at.isoformat() if at else None)

    @route(
        "GET",
        "/api/v1/procedures/{code}/forms/{document_code}",
        summary="Tải biểu mẫu (mức độ 2 trở lên)",
        tag="catalog",
        binary="application/octet-stream",
        errors=(404,),
        auth="public",
        scope=(),
    )
    def form_template(self, ctx: Ctx):
        return file_response(self.intake.get_form_template(ctx.path["code"], ctx.path["document_code"]))

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
        return html(
            request,
            "procedure.html",
            session=session,
            p=procedure,
            agency=agency,
            stats=stats,
            preview=self.intake.due_date_preview(code, None),
        )

    # ----------------------------------------------------------- statistics
    @route(
        "GET",
        "/api/v1/statistics",
        summary="Thống kê công khai: tần suất sử dụng, đúng hạn, quá hạn từng dịch vụ mức độ 3, 4 (R8) và toàn tỉnh",
        tag="statistics",
        query=PeriodQuery,
        auth="public",
        scope=(),
    )
    def statistics(self, ctx: Ctx):
        return self.reporting.public_statistics(ctx.query.period)

    @page("GET", "/thong-ke")
    def web_statistics(self, request, session):
        stats = self.reporting.public_statistics(request.args.get("period") or None)
        peak = max([r["usage"] for r in stats["procedures"]] + [1])
        return html(request, "statistics.html", session=session, stats=stats, peak=peak)

    # --------------------------------------------------------------- lookup
    @route(
        "POST",
        "/api/v1/dossier-lookup",
        summary="Tra cứu tình trạng hồ sơ bằng mã + mã bí mật (công khai)",
        tag="dossiers",
        body=PublicLookup,
        response=PublicStatus,
        errors=(404,),
        auth="public",
        scope=(),
    )
    def lookup(self, ctx: Ctx):
        return self.public_status(ctx.body.model_dump())

    def public_status(self, lookup: dict) -> dict:
        """A dossier's public status by code + secret (API and web): no reasons, no personal data."""
        status = self.intake.lookup_status(lookup)  # checks the secret
        try:
            timeline = self.processing.timeline(None, status["code"])
        except NotFound:
            timeline = None
        if timeline:
            status.update(
                status=timeline["status"],
                due_at=timeline["due_at"],
                due_date=timeline["due_date"],
                entries=[
                    {"at": e["at"], "status": e["status"], "agency_id": e["agency_id"]} for e in timeline["entries"]
                ],
            )
        return status

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
            return html(
                request,
                "lookup.html",
                404 if isinstance(exc, NotFound) else 422,
                session=session,
                result=None,
                form=form,
                error="Không tìm thấy hồ sơ với mã và mã bí mật này.",
            )
        return html(request, "lookup.html", session=session, result=status, form=form)

    # ------------------------------------------------ questions and answers
    @route(
        "POST",
        "/api/v1/feedback",
        summary="Gửi phản ánh, kiến nghị, câu hỏi (đăng nhập hoặc kèm liên hệ)",
        tag="feedback",
        body=NewFeedback,
        response=FeedbackView,
        status=201,
        auth="public",
        scope=(),
    )
    def submit_feedback(self, ctx: Ctx):
        actor = None
        if ctx.request.headers.get("Authorization"):
            actor = actor_from_claims(self.auth.verify(ctx.request))
        return self.feedback.submit(actor, ctx.body.model_dump(mode="json"))

    @route(
        "GET",
        "/api/v1/qa",
        summary="Hỏi đáp công khai (theo thủ tục, cơ quan, từ khoá)",
        tag="feedback",
        query=PublicQuery,
        response=PublicPage,
        auth="public",
        scope=(),
    )
    def public_qa(self, ctx: Ctx):
        return self.feedback.public_questions(ctx.query.model_dump(exclude_none=True))

    def _qa_page(self, request, session, status=200, form=None, sent_item=None, refusal=None):
        query = {k: v for k in ("q", "procedure_code") if (v := request.args.get(k, "").strip())}
        found = self.feedback.public_questions({**query, "page": page_number(request), "page_size": 10})
        facets = self.intake.catalog_facets()
        names = {p["code"]: p["name"] for p in facets["procedures"]}
        form = form if form is not None else {"procedure_code": request.args.get("thu-tuc", "")}
        return html(
            request,
            "qa.html",
            status,
            session=session,
            found=found,
            query=query,
            form=form,
            sent=sent_item,
            pg=pager(request, found),
            procedures=facets["procedures"],
            names=names,
            agencies=self.intake.list_agencies(),
            **(refusal or {"errors": {}}),
        )

    @page("GET", "/hoi-dap")
    def web_questions(self, request, session):
        return self._qa_page(request, session)

    @page("POST", "/hoi-dap")
    def web_ask(self, request, session):
        form = {
            k: request.form.get(k, "").strip()
            for k in ("subject", "body", "procedure_code", "agency_id", "name", "email")
        }
        question = {
            "kind": "question",
            "subject": form["subject"],
            "body": form["body"],
            "procedure_code": form["procedure_code"] or None,
            "agency_id": form["agency_id"] or None,
            "publish_consent": request.form.get("publish_consent") == "on",
        }
        if session is None:
            question["contact"] = {"name": form["name"], "email": form["email"] or None}
        try:
            sent_item = self.feedback.submit(self._actor(session) if session else None, question)
        except ValidationFailed as exc:
            details = [
                {**d, "field": d["field"].removeprefix("contact.")} if isinstance(d, dict) else d
                for d in exc.details or []
            ]
            if exc.code == "contact_required" or any(d.get("field") == "contact" for d in details):
                details.append({"field": "email", "message": catalogue.message_of("contact_required")})
            if any(d.get("field") == "" for d in details):  # about nothing: neither procedure nor agency
                details.append(
                    {"field": "procedure_code", "message": next(d["message"] for d in details if d.get("field") == "")}
                )
            exc.details = details
            return self._qa_page(request, session, 422, form, None, refused(exc, QA_FIELDS))
        return self._qa_page(request, session, 201, {}, sent_item)

    # ------------------------------------------------- the payment provider
    @route(
        "POST",
        "/api/v1/payments/callback",
        summary="Kết quả thanh toán từ cổng thanh toán (ký HMAC-SHA256)",
        tag="payments",
        response=CallbackAck,
        errors=(401,),
        auth="public",
        scope=(),
    )
    def payment_callback(self, ctx: Ctx):
        params = ctx.request.form.to_dict() if ctx.request.form else (ctx.request.get_json(silent=True) or {})
        return self.payment.callback(params)
