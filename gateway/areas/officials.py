"""The officials' part: the agencies' catalog administration (versions, forms, declared workflows),
reception's desk filing, the case queue and each case's steps, the feedback to answer, refunds, the
agency's officials and departments, dashboards and reports. Each page sits beside the API route it
mirrors. The province office (operator) works here too; its own routes are in operator.py."""

from __future__ import annotations

import base64
import json

from werkzeug.wrappers import Response

from contracts.feedback import Answer, FeedbackPage, FeedbackQuery, FeedbackView, StaffEntry
from contracts.intake import (
    Account,
    Agency,
    Department,
    FiledDossier,
    NewOfficial,
    OfficialChange,
    Procedure,
    ProcedureIn,
    WorkflowIn,
)
from contracts.payment import Refund, RefundRequest
from contracts.processing import Case, CaseCommand, CaseHistory, CasePage, ChainReport, QueueQuery
from services.common import error_catalogue as catalogue
from services.common.errors import PortalError
from services.common.roles import OFFICIALS, WORKFLOW_ROLES
from services.common.workflows import ROLE_VI, STAGE_KINDS, default_workflow

from ..api import Ctx, file_response, route
from ..core import GatewayCore
from ..schemas import AccountList, DashboardQuery, DeskFilingJson, FormTemplate, ReportQuery
from ..web.forms import (
    COMMAND_LABELS,
    document_uploads,
    field_errors,
    fields_of,
    filing_refusal,
    sent,
    shown,
    values_of,
    whole_number,
    with_choices,
)
from ..web.render import html, page, page_number, pager, redirect

ACTION_VI = {
    "receive": "Tiếp nhận",
    "request_supplement": "Yêu cầu bổ sung",
    "reject_at_reception": "Từ chối tiếp nhận",
    "assign": "Chuyển phòng chuyên môn",
    "request_cohandling": "Xin ý kiến phối hợp",
    "answer_cohandling": "Trả lời phối hợp",
    "propose": "Đề xuất",
    "approve": "Phê duyệt, ký",
    "send_back": "Trả lại để xử lý lại",
    "mark_result_ready": "Có kết quả tại một cửa",
    "deliver": "Trả kết quả",
    "draft_refusal": "Dự thảo từ chối",
    "sign_refusal": "Ký văn bản từ chối",
    "return_with_reasons": "Trả hồ sơ kèm lý do",
    "issue_apology": "Gửi thư xin lỗi, hẹn lại",
}
_COMMANDS = CaseCommand.model_json_schema()
COMMAND_SCHEMAS = {
    s["properties"]["action"]["const"]: {**s, "$defs": _COMMANDS.get("$defs", {})}
    for s in (_COMMANDS["$defs"][ref["$ref"].rsplit("/", 1)[-1]] for ref in _COMMANDS["oneOf"])
}
COMMAND_FIELDS = {
    action: fields_of(schema, skip=("action", "expected_version"), labels=COMMAND_LABELS)
    for action, schema in COMMAND_SCHEMAS.items()
}
DESK_LABELS = {
    "applicant_name": ("nn-name", "Họ và tên người nộp"),
    "applicant_national_id": ("nn-nid", "Số định danh cá nhân của người nộp"),
    "applicant_phone": ("nn-phone", "Số điện thoại"),
    "applicant_email": ("nn-email", "Thư điện tử"),
    "applicant": ("nn-nid", "Người nộp hồ sơ"),
}


def default_stage(kind: str) -> dict:
    return next(s for s in default_workflow()["stages"] if s["kind"] == kind)


ACTION_SENTENCE = {
    "open": "nộp hồ sơ",
    "receive": "tiếp nhận hồ sơ",
    "request_supplement": "yêu cầu bổ sung hồ sơ",
    "supplement": "bổ sung hồ sơ",
    "reject_at_reception": "từ chối tiếp nhận hồ sơ",
    "assign": "chuyển hồ sơ đến phòng chuyên môn",
    "request_cohandling": "xin ý kiến phối hợp",
    "answer_cohandling": "trả lời ý kiến phối hợp",
    "propose": "đề xuất kết quả giải quyết",
    "approve": "phê duyệt, ký kết quả",
    "send_back": "trả lại hồ sơ để xử lý lại",
    "mark_result_ready": "chuyển kết quả về bộ phận một cửa",
    "deliver": "trả kết quả",
    "draft_refusal": "dự thảo văn bản từ chối",
    "sign_refusal": "ký văn bản từ chối",
    "return_with_reasons": "trả hồ sơ kèm văn bản nêu lý do",
    "issue_apology": "gửi thư xin lỗi và hẹn lại",
    "withdraw": "rút hồ sơ",
    "collect_result": "nhận kết quả trực tuyến",
    "fee_paid": "ghi nhận phí đã nộp trực tuyến",
    "redo_after_loss": "đưa hồ sơ về xử lý lại vì bưu chính làm thất lạc kết quả",
    "deadline_flag": "cập nhật cảnh báo thời hạn",
    "external_read": "tra cứu hồ sơ",
}


def history_rows(entries: list[dict], names: dict[str, dict], departments: dict[str, str] | None = None) -> list[dict]:
    """A case history as sentences: when, who (the official's name and role, the applicant, the
    system), what they did (naming the department a case went to) and the status it led to."""
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
        if e.get("department_id"):
            what += f", giao {(departments or {}).get(e['department_id'], e['department_id'])} xử lý"
        moved = e.get("from_status") != e["to_status"]
        rows.append(
            {
                "at": e["at"],
                "who": who,
                "what": what,
                "to": e["to_status"] if moved else None,
                "reason": e.get("reason"),
                "amendments": e.get("amendments"),
                "action": e["action"],
            }
        )
    return rows


class OfficialsArea(GatewayCore):
    """Routes and pages of the agencies' officials (and the province office working with them)."""

    # ----------------------------------------------- catalog administration
    @route(
        "POST",
        "/api/v1/procedures/{code}/versions",
        summary="Công bố phiên bản mới của thủ tục (R7)",
        tag="catalog",
        auth=("agency_admin", "operator"),
        body=ProcedureIn,
        response=Procedure,
        status=201,
        scope=("agency",),
        errors=(403, 404, 422),
        example={
            "code": "TP-LLTP-01",
            "name": "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
            "sector": "Tư pháp",
            "field": "Lý lịch tư pháp",
            "agency_id": "STP",
            "level": 2,
            "processing_days": 10,
            "delivery_methods": ["in_person"],
            "effective_from": "2026-01-01",
        },
    )
    def publish_procedure(self, ctx: Ctx):
        if ctx.body.code != ctx.path["code"]:
            raise catalogue.error("code_mismatch")
        return self.intake.publish_procedure(ctx.actor, ctx.body.model_dump(mode="json"))

    @route(
        "PUT",
        "/api/v1/procedures/{code}/forms/{document_code}",
        summary="Đăng biểu mẫu (PDF, DOC, DOCX; thân yêu cầu là tệp, tên tệp ở ?filename=)",
        tag="catalog",
        auth=("agency_admin", "operator"),
        response=FormTemplate,
        errors=(404, 413, 415),
        scope=("agency",),
    )
    def upload_form_template(self, ctx: Ctx):
        filename = ctx.request.args.get("filename") or f"{ctx.path['document_code']}"
        content = ctx.request.get_data(cache=False)
        return self.intake.upload_form_template(
            ctx.actor,
            ctx.path["code"],
            ctx.path["document_code"],
            filename,
            ctx.request.mimetype or "",
            base64.b64encode(content).decode(),
        )

    @route(
        "PUT",
        "/api/v1/procedures/{code}/workflow",
        summary="Khai báo quy trình xử lý, phân kỳ thời gian từng bước (R32, R33): công bố thành phiên bản mới",
        tag="catalog",
        auth=("agency_admin", "operator"),
        body=WorkflowIn,
        response=Procedure,
        errors=(403, 404, 422),
        scope=("agency",),
        example={"workflow": default_workflow()},
    )
    def declare_workflow(self, ctx: Ctx):
        return self.intake.declare_workflow(ctx.actor, ctx.path["code"], ctx.body.model_dump(mode="json"))

    def _agency_procedures(self, session) -> list[dict]:
        return self.intake.list_procedures({"agency": session["agency_id"], "page_size": 100})["items"]

    @page("GET", "/can-bo/quy-trinh", auth=("agency_admin",))
    def web_workflows(self, request, session):
        return html(request, "workflow.html", session=session, p=None, procedures=self._agency_procedures(session))

    def _workflow_page(self, request, session, procedure, status=200, stages=None, message=None, saved=False):
        declared = {s["kind"]: s for s in (procedure.get("workflow") or default_workflow())["stages"]}
        rows = stages or [
            {"kind": k, "on": k in declared, **(declared.get(k) or default_stage(k))} for k in STAGE_KINDS
        ]
        return html(
            request,
            "workflow.html",
            status,
            session=session,
            p=procedure,
            stages=rows,
            roles=WORKFLOW_ROLES,
            message=message,
            saved=saved,
        )

    @page("GET", "/can-bo/quy-trinh/{code}", auth=("agency_admin",))
    def web_workflow(self, request, session, code):
        return self._workflow_page(request, session, self.intake.get_procedure(code, None))

    @page("POST", "/can-bo/quy-trinh/{code}", auth=("agency_admin",))
    def web_workflow_save(self, request, session, code):
        procedure = self.intake.get_procedure(code, None)
        rows = []
        for kind in STAGE_KINDS:
            days = request.form.get(f"{kind}-days", "").strip()
            rows.append(
                {
                    "kind": kind,
                    "on": kind != "assignment" or request.form.get(f"{kind}-on") == "on",
                    "code": default_stage(kind)["code"],
                    "name": request.form.get(f"{kind}-name", "").strip() or default_stage(kind)["name"],
                    "roles": request.form.getlist(f"{kind}-roles"),
                    "days": whole_number(days) if days else None,
                    "cohandling": kind != "review" or request.form.get("review-cohandling") == "on",
                }
            )
        stages = [{k: r[k] for k in ("code", "name", "kind", "roles", "days", "cohandling")} for r in rows if r["on"]]
        try:
            saved = self.intake.declare_workflow(self._actor(session), code, {"workflow": {"stages": stages}})
        except PortalError as exc:
            return self._workflow_page(request, session, procedure, exc.status, rows, exc.message)
        return self._workflow_page(request, session, saved, saved=True)

    # ---------------------------------------------- desk filing (reception)
    @route(
        "POST",
        "/api/v1/desk/dossiers",
        summary="Tiếp nhận hồ sơ trực tiếp tại bộ phận một cửa (nộp thay người đến nộp, kênh trực tiếp)",
        tag="cases",
        auth=("reception",),
        body=DeskFilingJson,
        response=FiledDossier,
        status=201,
        errors=(403, 404, 409, 413, 415, 422),
        headers=("Idempotency-Key",),
        scope=(),
        busy=True,
    )
    def file_at_desk(self, ctx: Ctx):
        data = ctx.body.model_dump(mode="json")
        files = data.pop("attachments")
        with self.filings.slot():
            result = self.intake.file_at_desk(ctx.actor, data, files, ctx.request.headers.get("Idempotency-Key"))
        return Response(
            json.dumps(result, ensure_ascii=False),
            status=201,
            mimetype="application/json",
            headers={"Location": f"/api/v1/cases/{result['dossier']['code']}"},
        )

    @page("GET", "/can-bo/tiep-nhan", auth=("reception",))
    def web_desk(self, request, session):
        return html(request, "desk.html", session=session, p=None, procedures=self._agency_procedures(session))

    def _desk_page(self, request, session, procedure, status=200, values=None, refusal=None, chosen=None):
        return html(
            request,
            "desk.html",
            status,
            session=session,
            p=procedure,
            fields=fields_of(procedure.get("eform_schema") or {}),
            values=values or {},
            chosen=chosen or {},
            delivery_methods=[m for m in procedure["delivery_methods"] if m != "online"],
            **(refusal or {"errors": {}}),
        )

    @page("GET", "/can-bo/tiep-nhan/{code}", auth=("reception",))
    def web_desk_form(self, request, session, code):
        return self._desk_page(request, session, self.intake.get_procedure(code, None))

    @page("POST", "/can-bo/tiep-nhan/{code}", auth=("reception",))
    def web_desk_file(self, request, session, code):
        """A paper dossier brought to the desk, filed by reception (channel in_person)."""
        procedure = self.intake.get_procedure(code, None)
        fields = fields_of(procedure.get("eform_schema") or {})
        applicant = {
            k: v
            for k in ("name", "national_id", "phone", "email")
            if (v := request.form.get(f"applicant_{k}", "").strip())
        }
        filing = {
            "procedure_code": code,
            "form_data": values_of(fields, request.form, request.files),
            "delivery_method": request.form.get("delivery_method", ""),
            "applicant": applicant,
        }
        for key in ("delivery_address", "delivery_province_code"):
            if request.form.get(key, "").strip():
                filing[key] = request.form[key].strip()
        uploads = document_uploads(procedure, request)
        try:
            with self.filings.slot():
                filed = self.intake.file_at_desk(
                    self._actor(session), filing, uploads, request.form.get("idempotency_key") or None
                )
        except PortalError as exc:
            chosen = {f"doc-{u['document_code']}": u["filename"] for u in uploads}
            if isinstance(exc.details, list):  # the applicant's fields are named applicant.<name> here
                exc.details = [
                    {**d, "field": d["field"].replace("applicant.", "applicant_")}
                    if isinstance(d, dict) and d.get("field")
                    else d
                    for d in exc.details
                ]
            return self._desk_page(
                request,
                session,
                procedure,
                exc.status,
                sent(fields, request.form),
                filing_refusal(exc, procedure, fields, chosen, "tk-", DESK_LABELS),
                chosen,
            )
        preview = self.intake.due_date_preview(code, filed["dossier"]["submitted_at"])
        return html(request, "desk_filed.html", 201, session=session, filed=filed, preview=preview)

    @page("GET", "/can-bo/ho-so/{code}/giay-tiep-nhan", auth=("reception",))
    def web_desk_receipt(self, request, session, code):
        """The receipt reception prints for a paper dossier taken at the desk."""
        return file_response(self._receipt(session, code, request))

    # ---------------------------------------------------------------- cases
    @route(
        "GET",
        "/api/v1/cases",
        summary="Hàng đợi hồ sơ của cơ quan (theo hạn xử lý)",
        tag="cases",
        auth=OFFICIALS,
        query=QueueQuery,
        response=CasePage,
        scope=(),
    )
    def cases(self, ctx: Ctx):
        return self.processing.queue(ctx.actor, ctx.query.model_dump(exclude_none=True))

    @page("GET", "/can-bo", auth=OFFICIALS)
    def web_queue(self, request, session):
        query = {"page_size": 30, "page": page_number(request)}
        if request.args.get("flag") in ("at_risk", "overdue", "reception_overdue"):
            query["flag"] = request.args["flag"]
        queue = self.processing.queue(self._actor(session), query)
        return html(
            request, "queue.html", session=session, queue=queue, flag=query.get("flag"), pg=pager(request, queue)
        )

    @route(
        "GET",
        "/api/v1/cases/{code}",
        summary="Chi tiết hồ sơ đang giải quyết",
        tag="cases",
        auth=OFFICIALS,
        response=Case,
        errors=(404,),
        scope=("agency",),
    )
    def case(self, ctx: Ctx):
        return self.processing.get_case(ctx.actor, ctx.path["code"])

    @route(
        "GET",
        "/api/v1/cases/{code}/history",
        summary="Nhật ký xử lý hồ sơ: ai làm gì, khi nào, vì sao",
        tag="cases",
        auth=OFFICIALS,
        response=CaseHistory,
        errors=(404,),
        scope=("agency",),
    )
    def case_history(self, ctx: Ctx):
        return self.processing.history(ctx.actor, ctx.path["code"])

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
        choices = {
            "department_id": list(departments.items()),
            "agency_id": [(a["id"], a["name"]) for a in agencies if a["id"] != case["agency_id"]],
            "request_id": [
                (r["id"], r.get("task") or r["id"]) for r in case.get("cohandling", []) if r.get("status") == "open"
            ],
        }
        commands = {
            action: with_choices(fields, choices)
            for action, fields in COMMAND_FIELDS.items()
            if action in case["available_actions"]
        }
        eform = fields_of(procedure.get("eform_schema") or {})
        return html(
            request,
            "case.html",
            status,
            session=session,
            case=case,
            dossier=dossier,
            history=history_rows(history, names, departments),
            commands=commands,
            action_vi=ACTION_VI,
            message=message,
            workflow=session["role"] in WORKFLOW_ROLES,
            form_rows=shown(eform, dossier["form_data"]),
            labels={f.name: f.label for f in eform},
            department=departments.get(case.get("department_id")),
            doc_names={x["code"]: x["name"] for x in procedure["required_documents"]},
        )

    @route(
        "POST",
        "/api/v1/cases/{code}/commands",
        summary="Thực hiện một bước xử lý (tiếp nhận, chuyển, đề xuất, phê duyệt, trả kết quả, …)",
        tag="cases",
        auth=WORKFLOW_ROLES,
        body=CaseCommand,
        response=Case,
        errors=(404, 409),
        scope=("agency",),
        example={"action": "receive", "expected_version": 1},
    )
    def case_command(self, ctx: Ctx):
        return self.processing.command(ctx.actor, ctx.path["code"], ctx.body.model_dump(mode="json"))

    @page("POST", "/can-bo/ho-so/{code}/thao-tac", auth=WORKFLOW_ROLES)
    def web_case_command(self, request, session, code):
        action = request.form.get("action", "")
        if action not in COMMAND_FIELDS:
            raise catalogue.error("invalid_action", {"action": action})
        command = {
            "action": action,
            "expected_version": whole_number(request.form.get("expected_version")),
            **values_of(COMMAND_FIELDS[action], request.form, request.files),
        }
        try:
            self.processing.command(self._actor(session), code, command)
        except PortalError as exc:
            labels = {f.name: f.label for f in COMMAND_FIELDS[action]}
            detail = "; ".join(
                f"{labels.get(name, 'Thông tin')}: {text}" for name, text in field_errors(exc.details).items()
            )
            return self.web_case.__wrapped__(
                self,
                request,
                session,
                code,
                message=f"{exc.message}{' — ' + detail if detail else ''}",
                status=exc.status,
            )
        return redirect(f"/can-bo/ho-so/{code}")

    @route(
        "GET",
        "/api/v1/cases/{code}/history/verify",
        summary="Kiểm tra tính toàn vẹn của lịch sử xử lý",
        tag="cases",
        auth="user",
        response=ChainReport,
        errors=(404,),
        scope=("applicant", "agency"),
    )
    def verify_history(self, ctx: Ctx):
        return self.processing.verify_history(ctx.actor, ctx.path["code"])

    @route(
        "GET",
        "/api/v1/cases/{code}/files/{file_id}",
        summary="Tải văn bản của hồ sơ",
        tag="cases",
        auth=OFFICIALS,
        binary="application/octet-stream",
        errors=(404,),
        scope=("agency",),
    )
    def case_file(self, ctx: Ctx):
        return file_response(self.processing.get_file(ctx.actor, ctx.path["code"], ctx.path["file_id"]))

    @page("GET", "/can-bo/ho-so/{code}/tep/{attachment_id}", auth=OFFICIALS)
    def web_case_attachment(self, request, session, code, attachment_id):
        return file_response(self.intake.get_attachment(self._actor(session), code, attachment_id))

    # --------------------------------------------------- feedback to answer
    @route(
        "POST",
        "/api/v1/feedback/staff",
        summary="Cán bộ ghi nhận phản ánh qua email, điện thoại, văn bản",
        tag="feedback",
        auth=OFFICIALS,
        body=StaffEntry,
        response=FeedbackView,
        status=201,
        scope=(),
    )
    def record_feedback(self, ctx: Ctx):
        return self.feedback.record(ctx.actor, ctx.body.model_dump(mode="json"))

    @route(
        "GET",
        "/api/v1/feedback",
        summary="Phản ánh cần trả lời (cơ quan) hoặc đã chuyển lên (Văn phòng UBND)",
        tag="feedback",
        auth=OFFICIALS,
        query=FeedbackQuery,
        response=FeedbackPage,
        scope=(),
    )
    def feedback_queue(self, ctx: Ctx):
        return self.feedback.queue(ctx.actor, ctx.query.model_dump(exclude_none=True))

    @route(
        "POST",
        "/api/v1/feedback/{feedback_id}/answer",
        summary="Trả lời phản ánh (trong 3 ngày làm việc)",
        tag="feedback",
        auth=OFFICIALS,
        body=Answer,
        response=FeedbackView,
        errors=(404, 409),
        scope=("agency",),
        example={"answer": "Phiếu được cấp trong 10 ngày làm việc."},
    )
    def answer_feedback(self, ctx: Ctx):
        return self.feedback.answer(ctx.actor, ctx.path["feedback_id"], ctx.body.model_dump())

    # -------------------------------------------------------------- refunds
    @route(
        "POST",
        "/api/v1/payments/{payment_id}/refunds",
        summary="Hoàn phí (R11)",
        tag="payments",
        auth=("leader", "agency_admin", "operator"),
        body=RefundRequest,
        response=Refund,
        status=201,
        errors=(404, 409),
        headers=("Idempotency-Key",),
        scope=("agency",),
        example={"reason": "Cơ quan không giải quyết được hồ sơ"},
    )
    def refund(self, ctx: Ctx):
        return self.payment.refund(
            ctx.actor, ctx.path["payment_id"], ctx.body.model_dump(), ctx.request.headers.get("Idempotency-Key")
        )

    # ------------------------------ agency admin: officials and departments
    @route(
        "GET",
        "/api/v1/agency/officials",
        summary="Cán bộ của cơ quan",
        tag="agency",
        auth=("agency_admin",),
        response=AccountList,
        scope=(),
    )
    def officials(self, ctx: Ctx):
        return self.intake.list_officials(ctx.actor)

    @route(
        "POST",
        "/api/v1/agency/officials",
        summary="Thêm cán bộ",
        tag="agency",
        auth=("agency_admin",),
        body=NewOfficial,
        response=Account,
        status=201,
        errors=(409,),
        scope=(),
    )
    def create_official(self, ctx: Ctx):
        return self.intake.create_official(ctx.actor, ctx.body.model_dump(mode="json"))

    @route(
        "PATCH",
        "/api/v1/agency/officials/{official_id}",
        summary="Đổi vai trò, phòng ban hoặc khoá cán bộ",
        tag="agency",
        auth=("agency_admin",),
        body=OfficialChange,
        response=Account,
        errors=(404, 409),
        scope=("agency",),
        example={"active": False},
    )
    def update_official(self, ctx: Ctx):
        return self.intake.update_official(ctx.actor, ctx.path["official_id"], ctx.body.model_dump(exclude_none=True))

    @route(
        "POST",
        "/api/v1/agency/departments",
        summary="Thêm phòng ban",
        tag="agency",
        auth=("agency_admin",),
        body=Department,
        response=Agency,
        status=201,
        errors=(409,),
        scope=(),
    )
    def add_department(self, ctx: Ctx):
        return self.intake.add_department(ctx.actor, ctx.body.model_dump())

    # ----------------------------------------------- dashboards and reports
    @route(
        "GET",
        "/api/v1/dashboard",
        summary="Bảng điều hành theo cơ quan, lĩnh vực, kỳ; tỷ lệ trực tuyến so với chỉ tiêu (R27)",
        tag="statistics",
        auth=OFFICIALS,
        query=DashboardQuery,
        scope=(),
    )
    def dashboard(self, ctx: Ctx):
        q = ctx.query
        return self.reporting.dashboard(ctx.actor, q.dim, q.value, q.period)

    @route(
        "GET",
        "/api/v1/reports",
        summary="Báo cáo quý, năm (R26): json, csv, xlsx, html có biểu đồ",
        tag="statistics",
        auth=OFFICIALS,
        query=ReportQuery,
        binary="application/octet-stream",
        scope=(),
    )
    def report(self, ctx: Ctx):
        q = ctx.query
        result = self.reporting.report(ctx.actor, q.scope, q.period, q.format)
        return result if q.format == "json" else file_response(result)

    @page("GET", "/can-bo/bao-cao", auth=OFFICIALS)
    def web_reports(self, request, session):
        return html(
            request,
            "reports.html",
            session=session,
            scope="province" if session["role"] == "operator" else session["agency_id"],
        )

    @page("GET", "/can-bo/bao-cao/tai", auth=OFFICIALS)
    def web_report_download(self, request, session):
        scope = "province" if session["role"] == "operator" else session["agency_id"]
        period, fmt = request.args.get("period", ""), request.args.get("format", "html")
        result = self.reporting.report(self._actor(session), request.args.get("scope") or scope, period, fmt)
        if fmt == "json":
            return Response(json.dumps(result, ensure_ascii=False), mimetype="application/json")
        return file_response(result)
