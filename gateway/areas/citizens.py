"""The citizens' part (an organisation's too): filing a dossier, following it (receipt, files,
timeline, supplement, withdrawal, result), paying its fee, rating its handling, postal pickups and
the inbox. Each page sits beside the API route it mirrors."""

from __future__ import annotations

import dataclasses
import json

from werkzeug.wrappers import Response

from contracts.feedback import FeedbackView, Rating
from contracts.intake import Dossier, DossierPage, FiledDossier, FileDossier
from contracts.payment import Payment
from contracts.postal import PickupRequest, Shipment, ShipmentPage
from contracts.processing import Timeline
from services.common import error_catalogue as catalogue
from services.common.errors import Conflict, NotFound, PortalError
from services.common.roles import CITIZEN
from services.common.schemas import parse

from ..api import Ctx, file_response, read_json, route
from ..core import GatewayCore
from ..schemas import (
    FileDossierJson,
    InboxPage,
    InboxQuery,
    PageQuery,
    RatingView,
    ReadReceipt,
    RefundList,
    SigningPayload,
    SigningRequest,
    SupplementRequest,
    WithdrawRequest,
)
from ..web.forms import (
    document_uploads,
    fields_of,
    filing_refusal,
    sent,
    shown,
    uploaded_file,
    values_of,
    whole_number,
)
from ..web.render import html, page, page_number, pager, redirect

MULTIPART_FILING = {
    "type": "object",
    "required": ["dossier"],
    "properties": {"dossier": {"type": "string", "description": "FileDossier as JSON"}},
    "additionalProperties": {
        "type": "string",
        "format": "binary",
        "description": "one file per part; the part name is the document code",
    },
}
AMEND = "sua-"  # the supplement page's corrected eForm fields, kept apart from its own inputs


def _prefixed(fields: list) -> list:
    return [dataclasses.replace(f, name=f"{AMEND}{f.name}") for f in fields]


class CitizensArea(GatewayCore):
    """Routes and pages of the applicant's own dossiers, payments, shipments and messages."""

    # --------------------------------------------------------------- filing
    def _filing_from_request(self, request) -> tuple[dict, list[dict]]:
        if request.mimetype == "multipart/form-data":
            raw = request.form.get("dossier")
            if raw is None:
                raise catalogue.error("missing_dossier_part", None, "Thiếu phần 'dossier' (JSON) trong multipart")
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise catalogue.error(
                    "malformed_json", {"reason": str(exc)}, "Phần 'dossier' không phải JSON hợp lệ"
                ) from None
            filing = parse(FileDossier, data, "dossier")
            files = [uploaded_file(f, name) for name, f in request.files.items(multi=True)]
            return filing.model_dump(mode="json"), files
        body = parse(FileDossierJson, read_json(request), "dossier")
        data = body.model_dump(mode="json")
        return {k: v for k, v in data.items() if k != "attachments"}, data["attachments"]

    @route(
        "POST",
        "/api/v1/dossiers",
        summary="Nộp hồ sơ trực tuyến (mức độ 3, 4)",
        tag="dossiers",
        auth=CITIZEN,
        body=FileDossierJson,
        multipart=MULTIPART_FILING,
        response=FiledDossier,
        status=201,
        errors=(404, 409, 413, 415),
        headers=("Idempotency-Key",),
        scope=(),
        busy=True,
    )
    def file_dossier(self, ctx: Ctx):
        key = ctx.request.headers.get("Idempotency-Key")
        if key is not None and not (1 <= len(key) <= 200):
            raise catalogue.error("invalid_idempotency_key")
        if ctx.request.mimetype == "multipart/form-data" or ctx.request.mimetype == "application/json":
            filing, files = self._filing_from_request(ctx.request)
        else:
            read_json(ctx.request)  # raises the 415 with its message
        with self.filings.slot():
            result = self.intake.file_dossier(ctx.actor, filing, files, key)
        headers = {"Location": f"/api/v1/dossiers/{result['dossier']['code']}"}
        if result.get("replayed"):
            headers["Idempotent-Replayed"] = "true"
        return Response(
            json.dumps(result, ensure_ascii=False), status=201, mimetype="application/json", headers=headers
        )

    @route(
        "POST",
        "/api/v1/dossiers/signing-payload",
        summary="Nội dung cần ký số trước khi nộp hồ sơ mức độ 4",
        tag="dossiers",
        auth=CITIZEN,
        body=SigningRequest,
        response=SigningPayload,
        errors=(404,),
        scope=(),
    )
    def signing_payload(self, ctx: Ctx):
        b = ctx.body
        return self.intake.signing_payload(
            ctx.actor, b.procedure_code, b.form_data, [a.model_dump() for a in b.attachments]
        )

    def _filing_page(self, request, session, procedure, status=200, values=None, refusal=None, chosen=None):
        # Filings from the web are not signed: handled as level 3, no online return (Art. 7.2a).
        methods = [m for m in procedure["delivery_methods"] if m != "online"]
        return html(
            request,
            "file.html",
            status,
            session=session,
            p=procedure,
            fields=fields_of(procedure.get("eform_schema") or {}),
            values=values or {},
            delivery_methods=methods,
            chosen=chosen or {},
            preview=self.intake.due_date_preview(procedure["code"], None),
            **(refusal or {"errors": {}}),
        )

    @page("GET", "/nop-ho-so/{code}", auth=CITIZEN)
    def web_file_form(self, request, session, code):
        return self._filing_page(request, session, self.intake.get_procedure(code, None))

    @page("POST", "/nop-ho-so/{code}", auth=CITIZEN)
    def web_file(self, request, session, code):
        """Nộp hồ sơ: on success POST → redirect → GET of the dossier's page (a refresh files nothing
        twice); refused, the form comes back with what was typed and each error next to its field."""
        procedure = self.intake.get_procedure(code, None)
        fields = fields_of(procedure.get("eform_schema") or {})
        filing = {
            "procedure_code": code,
            "form_data": values_of(fields, request.form, request.files),
            "delivery_method": request.form.get("delivery_method", ""),
        }
        for key in ("delivery_address", "delivery_province_code", "note"):
            if request.form.get(key, "").strip():
                filing[key] = request.form[key].strip()
        uploads = document_uploads(procedure, request)
        try:
            with self.filings.slot():
                filed = self.intake.file_dossier(
                    self._actor(session), filing, uploads, request.form.get("idempotency_key") or None
                )
        except PortalError as exc:
            chosen = {f"doc-{u['document_code']}": u["filename"] for u in uploads}
            return self._filing_page(
                request,
                session,
                procedure,
                exc.status,
                sent(fields, request.form),
                filing_refusal(exc, procedure, fields, chosen, "tk-"),
                chosen,
            )
        return redirect(f"/ho-so-cua-toi/{filed['dossier']['code']}?da-nop=1")

    # ---------------------------------------------------------- my dossiers
    @route(
        "GET",
        "/api/v1/dossiers",
        summary="Hồ sơ của tôi",
        tag="dossiers",
        auth=CITIZEN,
        query=PageQuery,
        response=DossierPage,
        scope=(),
    )
    def my_dossiers(self, ctx: Ctx):
        return self.intake.list_my_dossiers(ctx.actor, ctx.query.page, ctx.query.page_size)

    @page("GET", "/ho-so-cua-toi", auth=CITIZEN)
    def web_my_dossiers(self, request, session):
        listing = self.intake.list_my_dossiers(self._actor(session), page_number(request), 20)
        inbox = self.notification.inbox(self._actor(session), 1, 5, False)
        return html(
            request, "my_dossiers.html", session=session, listing=listing, inbox=inbox, pg=pager(request, listing)
        )

    @route(
        "GET",
        "/api/v1/dossiers/{code}",
        summary="Chi tiết hồ sơ",
        tag="dossiers",
        auth="user",
        response=Dossier,
        errors=(404,),
        scope=("applicant", "agency"),
    )
    def dossier(self, ctx: Ctx):
        dossier = self.intake.get_dossier(ctx.actor, ctx.path["code"])
        if ctx.actor["id"] == dossier["applicant_id"]:
            try:
                dossier["case"] = self.processing.timeline(ctx.actor, ctx.path["code"])
            except (NotFound, Conflict):
                dossier["case"] = None  # filed a moment ago: the case is being opened
        return dossier

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
        return html(
            request,
            "dossier.html",
            session=session,
            d=dossier,
            case=case,
            fields=_prefixed(fields),
            labels={f.name: f.label for f in fields},
            form_rows=shown(fields, dossier["form_data"]),
            receipt=receipt,
            rating=rating,
            just_filed="da-nop" in request.args,
            just_rated="da-danh-gia" in request.args,
            p={**procedure, "doc_names": {x["code"]: x["name"] for x in procedure["required_documents"]}},
            amend_values={f"{AMEND}{k}": v for k, v in dossier["form_data"].items()},
        )

    @page("GET", "/ho-so-cua-toi/{code}/giay-tiep-nhan", auth=CITIZEN)
    def web_receipt(self, request, session, code):
        """Giấy tiếp nhận hồ sơ và hẹn trả kết quả (PDF) with the QR code of the public lookup."""
        return file_response(self._receipt(session, code, request))

    @route(
        "GET",
        "/api/v1/dossiers/{code}/attachments/{attachment_id}",
        summary="Tải tệp đính kèm",
        tag="dossiers",
        auth="user",
        binary="application/octet-stream",
        errors=(404,),
        scope=("applicant", "agency"),
    )
    def attachment(self, ctx: Ctx):
        return file_response(self.intake.get_attachment(ctx.actor, ctx.path["code"], ctx.path["attachment_id"]))

    @page("GET", "/ho-so-cua-toi/{code}/tep/{attachment_id}", auth=CITIZEN)
    def web_my_attachment(self, request, session, code, attachment_id):
        """The applicant's own files, as filed (or added with a supplement)."""
        return file_response(self.intake.get_attachment(self._actor(session), code, attachment_id))

    @route(
        "POST",
        "/api/v1/dossiers/{code}/withdraw",
        summary="Rút hồ sơ (trước khi cơ quan tiếp nhận)",
        tag="dossiers",
        auth=CITIZEN,
        body=WithdrawRequest,
        response=Timeline,
        errors=(404, 409),
        scope=("applicant",),
        example={"reason": "Tôi nộp nhầm thủ tục"},
    )
    def withdraw(self, ctx: Ctx):
        return self.processing.withdraw(ctx.actor, ctx.path["code"], ctx.body.reason)

    @route(
        "POST",
        "/api/v1/dossiers/{code}/supplement",
        summary="Bổ sung hồ sơ theo yêu cầu của cơ quan",
        tag="dossiers",
        auth=CITIZEN,
        body=SupplementRequest,
        response=Timeline,
        errors=(404, 409, 413, 415, 422),
        scope=("applicant",),
        example={"attachments": [], "note": "Đã bổ sung theo yêu cầu"},
    )
    def supplement(self, ctx: Ctx):
        return self.processing.supplement(ctx.actor, ctx.path["code"], ctx.body.model_dump(mode="json"))

    @page("POST", "/ho-so-cua-toi/{code}/bo-sung", auth=CITIZEN)
    def web_supplement(self, request, session, code):
        """Bổ sung hồ sơ: the files asked for and a note, as the API's supplement route does."""
        attachments = [
            uploaded_file(upload, name[4:])
            for name, upload in request.files.items(multi=True)
            if name.startswith("doc-") and upload and upload.filename
        ]
        dossier = self.intake.get_dossier(self._actor(session), code)
        procedure = self.intake.get_procedure(dossier["procedure_code"], dossier["procedure_version"])
        fields = _prefixed(fields_of(procedure.get("eform_schema") or {}))
        sent = {
            k.removeprefix(AMEND): v
            for k, v in values_of(
                [f for f in fields if f.name in request.form or f.kind == "checkbox"], request.form, {}
            ).items()
        }
        changes = {
            k: v
            for k, v in sent.items()
            if v != dossier["form_data"].get(k) and not (v is False and k not in dossier["form_data"])
        }
        self.processing.supplement(
            self._actor(session),
            code,
            {"attachments": attachments, "form_changes": changes, "note": request.form.get("note", "").strip() or None},
        )
        return redirect(f"/ho-so-cua-toi/{code}")

    @route(
        "GET",
        "/api/v1/dossiers/{code}/result",
        summary="Nhận kết quả trực tuyến (tải văn bản kết quả)",
        tag="dossiers",
        auth=CITIZEN,
        binary="application/octet-stream",
        errors=(404, 409),
        scope=("applicant",),
    )
    def collect_result(self, ctx: Ctx):
        return file_response(self.processing.collect_result(ctx.actor, ctx.path["code"]))

    @page("GET", "/ho-so-cua-toi/{code}/ket-qua", auth=CITIZEN)
    def web_result(self, request, session, code):
        return file_response(self.processing.collect_result(self._actor(session), code))

    @route(
        "GET",
        "/api/v1/dossiers/{code}/documents/{file_id}",
        summary="Tải văn bản của cơ quan (ví dụ văn bản nêu lý do trả hồ sơ)",
        tag="dossiers",
        auth=CITIZEN,
        binary="application/octet-stream",
        errors=(404,),
        scope=("applicant",),
    )
    def dossier_document(self, ctx: Ctx):
        return file_response(self.processing.get_file(ctx.actor, ctx.path["code"], ctx.path["file_id"]))

    @page("GET", "/ho-so-cua-toi/{code}/van-ban/{file_id}", auth=CITIZEN)
    def web_document(self, request, session, code, file_id):
        """The agency's documents of one's own dossier: the result (once ready), the refusal."""
        return file_response(self.processing.get_file(self._actor(session), code, file_id))

    # ------------------------------------------------------------- payments
    @route(
        "POST",
        "/api/v1/dossiers/{code}/payments",
        summary="Thanh toán phí, lệ phí trực tuyến (mức độ 4)",
        tag="payments",
        auth=CITIZEN,
        response=Payment,
        status=201,
        errors=(404, 409),
        headers=("Idempotency-Key",),
        scope=("applicant",),
    )
    def create_payment(self, ctx: Ctx):
        return self.payment.create_payment(ctx.actor, ctx.path["code"], ctx.request.headers.get("Idempotency-Key"))

    @page("POST", "/ho-so-cua-toi/{code}/thanh-toan", auth=CITIZEN)
    def web_pay(self, request, session, code):
        """Level 4: pay the fee at the payment provider, then come back to the dossier."""
        payment = self.payment.create_payment(self._actor(session), code, request.form.get("idempotency_key") or None)
        if not payment.get("redirect_url"):
            return redirect(f"/ho-so-cua-toi/{code}")
        # A page that navigates on, not a redirect: the CSP's form-action 'self' forbids a form
        # whose answer redirects to another site (the provider).
        return html(request, "pay.html", session=session, payment=payment)

    @route(
        "GET",
        "/api/v1/payments/{payment_id}",
        summary="Trạng thái giao dịch",
        tag="payments",
        auth="user",
        response=Payment,
        errors=(404,),
        scope=("applicant", "agency"),
    )
    def get_payment(self, ctx: Ctx):
        return self.payment.get_payment(ctx.actor, ctx.path["payment_id"])

    @route(
        "GET",
        "/api/v1/payments/{payment_id}/receipt",
        summary="Tải biên lai điện tử",
        tag="payments",
        auth="user",
        binary="application/pdf",
        errors=(404, 409),
        scope=("applicant", "agency"),
    )
    def receipt(self, ctx: Ctx):
        return file_response(self.payment.receipt(ctx.actor, ctx.path["payment_id"]))

    @route(
        "GET",
        "/api/v1/payments/{payment_id}/refunds",
        summary="Các lần hoàn phí",
        tag="payments",
        auth="user",
        response=RefundList,
        errors=(404,),
        scope=("applicant", "agency"),
    )
    def refunds(self, ctx: Ctx):
        return self.payment.refunds_for(ctx.actor, ctx.path["payment_id"])

    # -------------------------------------------------- rating and feedback
    @route(
        "POST",
        "/api/v1/dossiers/{code}/rating",
        summary="Đánh giá mức độ hài lòng (một lần, sau khi nhận kết quả)",
        tag="feedback",
        auth=CITIZEN,
        body=Rating,
        response=RatingView,
        status=201,
        errors=(404, 409),
        scope=("applicant",),
        example={"score": 5, "comment": "Đúng hẹn"},
    )
    def rate(self, ctx: Ctx):
        return self.feedback.rate(ctx.actor, ctx.path["code"], ctx.body.model_dump())

    @page("POST", "/ho-so-cua-toi/{code}/danh-gia", auth=CITIZEN)
    def web_rate(self, request, session, code):
        score = request.form.get("score", "")
        try:
            self.feedback.rate(
                self._actor(session),
                code,
                {
                    "score": whole_number(score) or score,
                    **({"comment": c} if (c := request.form.get("comment", "").strip()) else {}),
                },
            )
        except PortalError as exc:
            if exc.code != "already_rated":  # rated before (a second tab, a resent form): the page says so
                raise
        return redirect(f"/ho-so-cua-toi/{code}?da-danh-gia=1")

    @route(
        "GET",
        "/api/v1/feedback/{feedback_id}",
        summary="Chi tiết phản ánh",
        tag="feedback",
        auth="user",
        response=FeedbackView,
        errors=(404,),
        scope=("applicant", "agency"),
    )
    def feedback_item(self, ctx: Ctx):
        return self.feedback.get(ctx.actor, ctx.path["feedback_id"])

    # ------------------------------------------------------- postal pickups
    @route(
        "POST",
        "/api/v1/postal/pickups",
        summary="Yêu cầu bưu chính đến thu gom hồ sơ giấy (R28)",
        tag="postal",
        auth=CITIZEN,
        body=PickupRequest,
        response=Shipment,
        status=201,
        errors=(404,),
        scope=(),
    )
    def request_pickup(self, ctx: Ctx):
        return self.postal.request_pickup(ctx.actor, ctx.body.model_dump(mode="json"))

    @route(
        "GET",
        "/api/v1/postal/shipments",
        summary="Bưu gửi của tôi",
        tag="postal",
        auth=CITIZEN,
        response=ShipmentPage,
        scope=(),
    )
    def my_shipments(self, ctx: Ctx):
        return self.postal.my_shipments(ctx.actor)

    @route(
        "GET",
        "/api/v1/postal/shipments/{shipment_id}",
        summary="Chi tiết bưu gửi (kể cả bồi thường)",
        tag="postal",
        auth=("citizen", "operator"),
        response=Shipment,
        errors=(404,),
        scope=("applicant",),
    )
    def shipment(self, ctx: Ctx):
        return self.postal.get_shipment(ctx.actor, ctx.path["shipment_id"])

    # ---------------------------------------------------------------- inbox
    @route(
        "GET",
        "/api/v1/inbox",
        summary="Hộp thư thông báo của tôi",
        tag="inbox",
        auth="user",
        query=InboxQuery,
        response=InboxPage,
        scope=(),
    )
    def inbox(self, ctx: Ctx):
        q = ctx.query
        return self.notification.inbox(ctx.actor, q.page, q.page_size, q.unread_only)

    @page("GET", "/thong-bao", auth="user")
    def web_inbox(self, request, session):
        inbox = self.notification.inbox(self._actor(session), page_number(request), 20, False)
        return html(request, "inbox.html", session=session, inbox=inbox, pg=pager(request, inbox))

    @route(
        "POST",
        "/api/v1/inbox/{message_id}/read",
        summary="Đánh dấu đã đọc",
        tag="inbox",
        auth="user",
        response=ReadReceipt,
        errors=(404,),
        scope=("applicant",),
    )
    def mark_read(self, ctx: Ctx):
        return self.notification.mark_read(ctx.actor, ctx.path["message_id"])
