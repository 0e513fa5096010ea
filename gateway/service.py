"""The HTTP gateway (nameko @http entrypoints): the portal's REST API under /api/v1."""
from __future__ import annotations

import base64
import json

import eventlet
from kombu import Connection
from nameko.dependency_providers import Config
from nameko.timer import timer
from werkzeug.wrappers import Response

from services.common import error_catalogue as catalogue
from services.common.errors import Conflict, NotFound, Unauthorized
from services.common.event_contracts import IncidentOpened, IncidentResolved
from services.common.events import new_event, utcnow
from services.common.messaging import EventDispatcher, RpcProxy
from services.common.mongo import MongoDatabase
from services.common.observability import CorrelationIds
from services.common.production import ProductionGuard
from services.common.schemas import parse
from services.common.workflows import default_workflow

from . import metrics
from .admission import FilingAdmission
from .api import ApiHandler, Ctx, file_response, read_json, route
from .dependencies import GatewayStore, PostalAuth, TokenAuth
from .openapi import build_openapi
from .web.pages import WebPortal
from .schemas import (
    DashboardQuery, PeriodQuery, ReportQuery,
    FiledOnBehalf, FileOnBehalf, OperatorUpdate, PickupRequest, ReturnStats, Shipment, ShipmentList, ShipmentPage,
    ShipmentQuery,
    Answer, FeedbackPage, FeedbackQuery, FeedbackView, NewFeedback, PublicPage, PublicQuery, Rating, RatingView,
    StaffEntry,
    CallbackAck, DayQuery, Payment, Reconciliation, Refund, RefundList, RefundRequest,
    AccountList, Agency, Case, CaseCommand, CaseHistory, CasePage, ChainReport, Department, InboxPage, InboxQuery, NewOfficial,
    OfficialChange, QueueQuery, ReadReceipt, SigningPayload, SigningRequest, SupplementRequest, Timeline,
    Account, AgencyList, Credentials, DeskFilingJson, FormTemplate, Dossier, DossierPage, FileDossierJson,
    FiledDossier, Health, PageQuery,
    Procedure, ProcedureIn, ProcedurePage, PublicLookup, PublicStatus, RegisterRequest, TokenResponse,
    VersionQuery, WithdrawRequest,
)
from services.intake.schemas import CatalogQuery, DueDatePreview, DueDateQuery, FileDossier, WorkflowIn

SYSTEM_ACTOR = {"id": "gateway", "role": "system"}
CITIZEN = ("citizen",)
OFFICIALS = ("reception", "specialist", "leader", "agency_admin", "operator")
WORKFLOW_ROLES = ("reception", "specialist", "leader")
MULTIPART_FILING = {
    "type": "object", "required": ["dossier"],
    "properties": {"dossier": {"type": "string", "description": "FileDossier as JSON"}},
    "additionalProperties": {"type": "string", "format": "binary",
                             "description": "one file per part; the part name is the document code"},
}


class GatewayService(WebPortal):
    name = "gateway"

    config = Config()
    store: GatewayStore = MongoDatabase(GatewayStore)
    intake = RpcProxy("intake")
    processing = RpcProxy("processing")
    notification = RpcProxy("notification")
    payment = RpcProxy("payment")
    feedback = RpcProxy("feedback")
    postal = RpcProxy("postal")
    reporting = RpcProxy("reporting")
    ministry = RpcProxy("ministry")
    dispatch = EventDispatcher()
    correlation = CorrelationIds()
    production_guard = ProductionGuard()  # PORTAL_ENV=production: no development secrets
    # A few filings at intake at once: its database takes one writer at a time (gateway/admission.py).
    filings = FilingAdmission("intake")

    @property
    def auth(self) -> TokenAuth:
        return TokenAuth(self.config, self.store)

    @property
    def postal_auth(self) -> PostalAuth:
        return PostalAuth(self.config, self.store)

    def call(self, service: str, method: str, *args, **kwargs):
        """RPC with a deadline: a service that does not answer becomes a 503, not a hung request."""
        deadline = eventlet.Timeout(float(self.config.get("RPC_TIMEOUT", 20)))
        try:
            with deadline:
                result = getattr(getattr(self, service), method)(*args, **kwargs)
        except BaseException as exc:
            metrics.observe_rpc(service, method, getattr(exc, "code", None) or type(exc).__name__)
            if exc is deadline:
                # eventlet.Timeout is a BaseException: past the routes' `except Exception` it ended the
                # worker without an answer, and the HTTP request hung until the client gave up.
                raise catalogue.error("service_unavailable", {"service": service}) from None
            raise
        metrics.observe_rpc(service, method, None)
        return result

    @timer(interval=600)
    def purge(self) -> None:
        self.store.purge_expired()

    # ------------------------------------------------------------- meta
    def _services(self) -> list[str]:
        return [s.strip() for s in str(self.config.get("HEALTH_SERVICES", "intake")).split(",") if s.strip()]

    def _ask(self, service: str, method: str) -> dict:
        with eventlet.Timeout(float(self.config.get("HEALTH_TIMEOUT", 3))):
            return getattr(getattr(self, service), method)()

    def _ask_all(self, method: str) -> tuple[dict, dict]:
        """Ask every service one RPC (``ping`` or ``stats``): their states, and the answers of those up.

        All at once: with the broker down, or the suite stopping, every call waits out its
        timeout, and one after the other that made /health (and a stop) take 8 timeouts."""
        def ask(svc: str) -> tuple[str, dict | None, BaseException | None]:
            try:
                return svc, self._ask(svc, method), None
            except (Exception, eventlet.Timeout) as exc:  # eventlet.Timeout is a BaseException
                return svc, None, exc

        states, answers = {}, {}
        for svc, answer, exc in eventlet.GreenPool().imap(ask, self._services()):
            if exc is None:
                answers[svc] = answer
                states[svc] = {"status": "ok"}
            else:
                states[svc] = {"status": "down", "detail": type(exc).__name__}
        return states, answers

    def _probe(self, method: str = "ping") -> tuple[dict, dict]:
        """Every service (through ``method``), the broker and the database; and the services' answers."""
        services, answers = self._ask_all(method)
        try:
            with Connection(self.config["AMQP_URI"], connect_timeout=3) as conn:
                conn.ensure_connection(max_retries=1)
            broker = {"status": "ok"}
        except Exception as exc:
            broker = {"status": "down", "detail": type(exc).__name__}
        try:
            self.store.db.command("ping")
            database = {"status": "ok"}
        except Exception as exc:
            database = {"status": "down", "detail": type(exc).__name__}
        return {"broker": broker, "database": database, "services": services}, answers

    @ApiHandler.decorator("GET", "/health")
    def health(self, request) -> Response:
        probe, _ = self._probe()
        healthy = probe["broker"]["status"] == probe["database"]["status"] == "ok" and all(
            s["status"] == "ok" for s in probe["services"].values())
        body = Health(status="ok" if healthy else "degraded", **probe)
        return Response(body.model_dump_json(), status=200 if healthy else 503, mimetype="application/json")

    @ApiHandler.decorator("GET", "/metrics")
    def metrics(self, request) -> Response:
        """Prometheus exposition (scrape it on the internal network only; see deploy/README.md)."""
        probe, stats = self._probe("stats")  # a service that answers its stats is up
        metrics.record_state(probe, stats)
        return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")

    @timer(interval=5)
    def watch_services(self) -> None:
        """R24: a service down longer than INCIDENT_AFTER_SECONDS opens an incident (the operations
        team is told by the notification service); its return closes it."""
        now = utcnow()
        threshold = float(self.config.get("INCIDENT_AFTER_SECONDS", 120))
        for svc, state in self._ask_all("ping")[0].items():  # services only: no broker/database round trip
            if state["status"] == "ok":
                closed = self.store.close_incident(svc)
                if closed:
                    self.dispatch(IncidentResolved.type, new_event(IncidentResolved(
                        service=svc, since=closed["since"], resolved_at=now), SYSTEM_ACTOR))
                continue
            since = self.store.service_down_since(svc, now)
            if (now - since).total_seconds() >= threshold and self.store.open_incident(svc, since, state["detail"]):
                self.dispatch(IncidentOpened.type, new_event(IncidentOpened(
                    service=svc, since=since, detail=state.get("detail")), SYSTEM_ACTOR))

    @ApiHandler.decorator("GET", "/api/v1/openapi.json")
    def openapi(self, request) -> Response:
        return Response(json.dumps(build_openapi(), ensure_ascii=False), mimetype="application/json")

    # ------------------------------------------------------------- auth
    @route("POST", "/api/v1/auth/register", summary="Đăng ký tài khoản (công dân / tổ chức)", tag="auth",
           body=RegisterRequest, response=Account, status=201, errors=(409,), auth="public", scope=())
    def register(self, ctx: Ctx):
        return self.call("intake", "register", ctx.body.model_dump(mode="json"))

    @route("POST", "/api/v1/auth/login", summary="Đăng nhập: nhận bearer token", tag="auth",
           body=Credentials, response=TokenResponse, errors=(401, 429), auth="public", scope=())
    def login(self, ctx: Ctx):
        return self.sign_in(ctx.body.login, ctx.body.password, ctx.request.remote_addr)

    def sign_in(self, login: str, password: str, ip: str | None) -> dict:
        """Rate-limited sign-in (API and web): a token and the account, or Unauthorized."""
        ip, login = ip or "unknown", login.strip().lower()
        # Counted per account, so that its e-mail, national ID and tax code share one limit.
        account_id = self.call("intake", "account_for_login", login)
        subject = f"account:{account_id}" if account_id else f"name:{login}"
        self.auth.check_login_allowed(subject, ip)
        try:
            account = self.call("intake", "authenticate", {"login": login, "password": password})
        except Unauthorized:
            self.auth.record_failed_login(subject, ip)
            raise
        return {**self.auth.issue(account), "account": account}

    @route("POST", "/api/v1/auth/logout", summary="Đăng xuất: thu hồi token", tag="auth", auth="user",
           status=204, scope=())
    def logout(self, ctx: Ctx):
        self.auth.revoke(ctx.claims)
        return Response(status=204)

    @route("GET", "/api/v1/me", summary="Tài khoản đang đăng nhập", tag="auth", auth="user", response=Account,
           scope=())
    def me(self, ctx: Ctx):
        return self.call("intake", "get_account", ctx.actor["id"])

    # ---------------------------------------------------------- catalog
    @route("GET", "/api/v1/agencies", summary="Danh sách cơ quan", tag="catalog", response=AgencyList, auth="public",
           scope=())
    def agencies(self, ctx: Ctx):
        return self.call("intake", "list_agencies")

    @route("GET", "/api/v1/procedures", summary="Danh mục thủ tục hành chính (lọc, tìm kiếm, phân trang)",
           tag="catalog", query=CatalogQuery, response=ProcedurePage, auth="public", scope=())
    def procedures(self, ctx: Ctx):
        return self.call("intake", "list_procedures", ctx.query.model_dump(exclude_none=True))

    @route("GET", "/api/v1/procedures/{code}", summary="Chi tiết thủ tục (phiên bản hiện hành hoặc ?version=)",
           tag="catalog", query=VersionQuery, response=Procedure, errors=(404,), auth="public", scope=())
    def procedure(self, ctx: Ctx):
        return self.call("intake", "get_procedure", ctx.path["code"], ctx.query.version)

    @route("POST", "/api/v1/procedures/{code}/versions", summary="Công bố phiên bản mới của thủ tục (R7)",
           tag="catalog", auth=("agency_admin", "operator"), body=ProcedureIn, response=Procedure, status=201,
           scope=("agency",), errors=(403, 404, 422),
           example={"code": "TP-LLTP-01", "name": "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
                    "sector": "Tư pháp", "field": "Lý lịch tư pháp", "agency_id": "STP", "level": 2,
                    "processing_days": 10, "delivery_methods": ["in_person"], "effective_from": "2026-01-01"})
    def publish_procedure(self, ctx: Ctx):
        if ctx.body.code != ctx.path["code"]:
            raise catalogue.error("code_mismatch")
        return self.call("intake", "publish_procedure", ctx.actor, ctx.body.model_dump(mode="json"))

    @route("PUT", "/api/v1/procedures/{code}/workflow", summary="Khai báo quy trình xử lý, phân kỳ thời gian "
           "từng bước (R32, R33): công bố thành phiên bản mới", tag="catalog", auth=("agency_admin", "operator"),
           body=WorkflowIn, response=Procedure, errors=(403, 404, 422), scope=("agency",),
           example={"workflow": default_workflow()})
    def declare_workflow(self, ctx: Ctx):
        return self.call("intake", "declare_workflow", ctx.actor, ctx.path["code"], ctx.body.model_dump(mode="json"))

    @route("GET", "/api/v1/procedures/{code}/due-date", summary="Ngày hẹn trả kết quả nếu hồ sơ được tiếp nhận "
           "lúc received_at (mặc định: bây giờ)", tag="catalog", query=DueDateQuery, response=DueDatePreview,
           errors=(404, 422), auth="public", scope=())
    def due_date(self, ctx: Ctx):
        at = ctx.query.received_at
        return self.call("intake", "due_date_preview", ctx.path["code"], at.isoformat() if at else None)

    @route("GET", "/api/v1/procedures/{code}/forms/{document_code}", summary="Tải biểu mẫu (mức độ 2 trở lên)",
           tag="catalog", binary="application/octet-stream", errors=(404,), auth="public", scope=())
    def form_template(self, ctx: Ctx):
        return self._file_response(self.call("intake", "get_form_template", ctx.path["code"],
                                             ctx.path["document_code"]))

    @route("PUT", "/api/v1/procedures/{code}/forms/{document_code}",
           summary="Đăng biểu mẫu (PDF, DOC, DOCX; thân yêu cầu là tệp, tên tệp ở ?filename=)", tag="catalog",
           auth=("agency_admin", "operator"), response=FormTemplate, errors=(404, 413, 415), scope=("agency",))
    def upload_form_template(self, ctx: Ctx):
        filename = ctx.request.args.get("filename") or f"{ctx.path['document_code']}"
        content = ctx.request.get_data(cache=False)
        return self.call("intake", "upload_form_template", ctx.actor, ctx.path["code"], ctx.path["document_code"],
                         filename, ctx.request.mimetype or "", base64.b64encode(content).decode())

    _file_response = staticmethod(file_response)

    # --------------------------------------------------------- dossiers
    def _filing_from_request(self, request) -> tuple[dict, list[dict]]:
        if request.mimetype == "multipart/form-data":
            raw = request.form.get("dossier")
            if raw is None:
                raise catalogue.error("missing_dossier_part", None, "Thiếu phần 'dossier' (JSON) trong multipart")
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise catalogue.error("malformed_json", {"reason": str(exc)},
                                      "Phần 'dossier' không phải JSON hợp lệ") from None
            filing = parse(FileDossier, data, "dossier")
            files = [{"document_code": name, "filename": f.filename or name,
                      "content_type": f.mimetype or "application/octet-stream",
                      "content_b64": base64.b64encode(f.read()).decode()}
                     for name, f in request.files.items(multi=True)]
            return filing.model_dump(mode="json"), files
        body = parse(FileDossierJson, read_json(request), "dossier")
        data = body.model_dump(mode="json")
        return {k: v for k, v in data.items() if k != "attachments"}, data["attachments"]

    @route("POST", "/api/v1/dossiers", summary="Nộp hồ sơ trực tuyến (mức độ 3, 4)", tag="dossiers",
           auth=CITIZEN, body=FileDossierJson, multipart=MULTIPART_FILING, response=FiledDossier, status=201,
           errors=(404, 409, 413, 415), headers=("Idempotency-Key",), scope=(), busy=True)
    def file_dossier(self, ctx: Ctx):
        key = ctx.request.headers.get("Idempotency-Key")
        if key is not None and not (1 <= len(key) <= 200):
            raise catalogue.error("invalid_idempotency_key")
        if ctx.request.mimetype == "multipart/form-data" or ctx.request.mimetype == "application/json":
            filing, files = self._filing_from_request(ctx.request)
        else:
            read_json(ctx.request)  # raises the 415 with its message
        with self.filings.slot():
            result = self.call("intake", "file_dossier", ctx.actor, filing, files, key)
        headers = {"Location": f"/api/v1/dossiers/{result['dossier']['code']}"}
        if result.get("replayed"):
            headers["Idempotent-Replayed"] = "true"
        return Response(json.dumps(result, ensure_ascii=False), status=201, mimetype="application/json",
                        headers=headers)

    @route("POST", "/api/v1/desk/dossiers", summary="Tiếp nhận hồ sơ trực tiếp tại bộ phận một cửa (nộp thay "
           "người đến nộp, kênh trực tiếp)", tag="cases", auth=("reception",), body=DeskFilingJson,
           response=FiledDossier, status=201, errors=(403, 404, 409, 413, 415, 422), headers=("Idempotency-Key",),
           scope=(), busy=True)
    def file_at_desk(self, ctx: Ctx):
        data = ctx.body.model_dump(mode="json")
        files = data.pop("attachments")
        with self.filings.slot():
            result = self.call("intake", "file_at_desk", ctx.actor, data, files,
                               ctx.request.headers.get("Idempotency-Key"))
        return Response(json.dumps(result, ensure_ascii=False), status=201, mimetype="application/json",
                        headers={"Location": f"/api/v1/cases/{result['dossier']['code']}"})

    @route("POST", "/api/v1/dossiers/signing-payload", summary="Nội dung cần ký số trước khi nộp hồ sơ mức độ 4",
           tag="dossiers", auth=CITIZEN, body=SigningRequest, response=SigningPayload, errors=(404,), scope=())
    def signing_payload(self, ctx: Ctx):
        b = ctx.body
        return self.call("intake", "signing_payload", ctx.actor, b.procedure_code, b.form_data,
                         [a.model_dump() for a in b.attachments])

    @route("GET", "/api/v1/dossiers", summary="Hồ sơ của tôi", tag="dossiers", auth=CITIZEN, query=PageQuery,
           response=DossierPage, scope=())
    def my_dossiers(self, ctx: Ctx):
        return self.call("intake", "list_my_dossiers", ctx.actor, ctx.query.page, ctx.query.page_size)

    @route("GET", "/api/v1/dossiers/{code}", summary="Chi tiết hồ sơ", tag="dossiers", auth="user",
           response=Dossier, errors=(404,), scope=("applicant", "agency"))
    def dossier(self, ctx: Ctx):
        dossier = self.call("intake", "get_dossier", ctx.actor, ctx.path["code"])
        if ctx.actor["id"] == dossier["applicant_id"]:
            try:
                dossier["case"] = self.call("processing", "timeline", ctx.actor, ctx.path["code"])
            except (NotFound, Conflict):
                dossier["case"] = None  # filed a moment ago: the case is being opened
        return dossier

    @route("GET", "/api/v1/dossiers/{code}/attachments/{attachment_id}", summary="Tải tệp đính kèm",
           tag="dossiers", auth="user", binary="application/octet-stream", errors=(404,), scope=("applicant", "agency"))
    def attachment(self, ctx: Ctx):
        return self._file_response(
            self.call("intake", "get_attachment", ctx.actor, ctx.path["code"], ctx.path["attachment_id"]))

    @route("POST", "/api/v1/dossiers/{code}/withdraw", summary="Rút hồ sơ (trước khi cơ quan tiếp nhận)",
           tag="dossiers", auth=CITIZEN, body=WithdrawRequest, response=Timeline, errors=(404, 409),
           scope=("applicant",),
           example={"reason": "Tôi nộp nhầm thủ tục"})
    def withdraw(self, ctx: Ctx):
        return self.call("processing", "withdraw", ctx.actor, ctx.path["code"], ctx.body.reason)

    @route("POST", "/api/v1/dossier-lookup", summary="Tra cứu tình trạng hồ sơ bằng mã + mã bí mật (công khai)",
           tag="dossiers", body=PublicLookup, response=PublicStatus, errors=(404,), auth="public", scope=())
    def lookup(self, ctx: Ctx):
        return self.public_status(ctx.body.model_dump())

    def public_status(self, lookup: dict) -> dict:
        """A dossier's public status by code + secret (API and web): no reasons, no personal data."""
        status = self.call("intake", "lookup_status", lookup)  # checks the secret
        try:
            timeline = self.call("processing", "timeline", None, status["code"])
        except NotFound:
            timeline = None
        if timeline:
            status.update(status=timeline["status"], due_at=timeline["due_at"], due_date=timeline["due_date"], entries=[
                {"at": e["at"], "status": e["status"], "agency_id": e["agency_id"]} for e in timeline["entries"]])
        return status

    @route("POST", "/api/v1/dossiers/{code}/supplement", summary="Bổ sung hồ sơ theo yêu cầu của cơ quan",
           tag="dossiers", auth=CITIZEN, body=SupplementRequest, response=Timeline, errors=(404, 409, 413, 415, 422),
           scope=("applicant",),
           example={"attachments": [], "note": "Đã bổ sung theo yêu cầu"})
    def supplement(self, ctx: Ctx):
        return self.call("processing", "supplement", ctx.actor, ctx.path["code"], ctx.body.model_dump(mode="json"))

    @route("GET", "/api/v1/dossiers/{code}/result", summary="Nhận kết quả trực tuyến (tải văn bản kết quả)",
           tag="dossiers", auth=CITIZEN, binary="application/octet-stream", errors=(404, 409), scope=("applicant",))
    def collect_result(self, ctx: Ctx):
        return self._file_response(self.call("processing", "collect_result", ctx.actor, ctx.path["code"]))

    @route("GET", "/api/v1/dossiers/{code}/documents/{file_id}", summary="Tải văn bản của cơ quan (ví dụ văn bản "
           "nêu lý do trả hồ sơ)", tag="dossiers", auth=CITIZEN, binary="application/octet-stream",
           errors=(404,),
           scope=("applicant",))
    def dossier_document(self, ctx: Ctx):
        return self._file_response(self.call("processing", "get_file", ctx.actor, ctx.path["code"],
                                             ctx.path["file_id"]))

    # -------------------------------------------------------- reporting
    @route("GET", "/api/v1/statistics", summary="Thống kê công khai: tần suất sử dụng, đúng hạn, quá hạn từng dịch "
           "vụ mức độ 3, 4 (R8) và toàn tỉnh", tag="statistics", query=PeriodQuery, auth="public", scope=())
    def statistics(self, ctx: Ctx):
        return self.call("reporting", "public_statistics", ctx.query.period)

    @route("GET", "/api/v1/dashboard", summary="Bảng điều hành theo cơ quan, lĩnh vực, kỳ; tỷ lệ trực tuyến so với "
           "chỉ tiêu (R27)", tag="statistics", auth=OFFICIALS, query=DashboardQuery, scope=())
    def dashboard(self, ctx: Ctx):
        q = ctx.query
        return self.call("reporting", "dashboard", ctx.actor, q.dim, q.value, q.period)

    @route("GET", "/api/v1/reports", summary="Báo cáo quý, năm (R26): json, csv, xlsx, html có biểu đồ",
           tag="statistics", auth=OFFICIALS, query=ReportQuery, binary="application/octet-stream", scope=())
    def report(self, ctx: Ctx):
        q = ctx.query
        result = self.call("reporting", "report", ctx.actor, q.scope, q.period, q.format)
        return result if q.format == "json" else self._file_response(result)

    @route("POST", "/api/v1/operator/statistics/rebuild", summary="Dựng lại toàn bộ số liệu từ nhật ký sự kiện",
           tag="operator", auth=("operator",), scope=())
    def rebuild_statistics(self, ctx: Ctx):
        return self.call("reporting", "rebuild")

    # ----------------------------------------------------------- postal
    @route("POST", "/api/v1/postal/pickups", summary="Yêu cầu bưu chính đến thu gom hồ sơ giấy (R28)", tag="postal",
           auth=CITIZEN, body=PickupRequest, response=Shipment, status=201, errors=(404,), scope=())
    def request_pickup(self, ctx: Ctx):
        return self.call("postal", "request_pickup", ctx.actor, ctx.body.model_dump(mode="json"))

    @route("GET", "/api/v1/postal/shipments", summary="Bưu gửi của tôi", tag="postal", auth=CITIZEN,
           response=ShipmentPage, scope=())
    def my_shipments(self, ctx: Ctx):
        return self.call("postal", "my_shipments", ctx.actor)

    @route("GET", "/api/v1/postal/shipments/{shipment_id}", summary="Chi tiết bưu gửi (kể cả bồi thường)",
           tag="postal", auth=("citizen", "operator"), response=Shipment, errors=(404,), scope=("applicant",))
    def shipment(self, ctx: Ctx):
        return self.call("postal", "get_shipment", ctx.actor, ctx.path["shipment_id"])

    @route("GET", "/api/v1/postal/operator/shipments", summary="[Bưu chính] Bưu gửi của doanh nghiệp", tag="postal",
           auth="postal", query=ShipmentQuery, response=ShipmentPage, scope=())
    def operator_shipments(self, ctx: Ctx):
        return self.call("postal", "operator_shipments", ctx.actor["id"], ctx.query.model_dump(exclude_none=True))

    @route("POST", "/api/v1/postal/operator/shipments/{shipment_id}/dossier",
           summary="[Bưu chính] Nộp hồ sơ đã thu gom thay công dân", tag="postal", auth="postal", body=FileOnBehalf,
           response=FiledOnBehalf, status=201, errors=(404, 409, 413, 415), scope=())
    def operator_file(self, ctx: Ctx):
        return self.call("postal", "operator_file", ctx.actor["id"], ctx.path["shipment_id"],
                         ctx.body.model_dump(mode="json"))

    @route("POST", "/api/v1/postal/operator/shipments/{shipment_id}/updates",
           summary="[Bưu chính] Cập nhật trạng thái (theo mã sự kiện của doanh nghiệp), bằng chứng giao",
           tag="postal", auth="postal", body=OperatorUpdate, response=Shipment, errors=(404, 409), scope=())
    def operator_update(self, ctx: Ctx):
        return self.call("postal", "operator_update", ctx.actor["id"], ctx.path["shipment_id"],
                         ctx.body.model_dump(mode="json"))

    @route("GET", "/api/v1/operator/postal/returns", summary="Trả kết quả qua bưu chính: đúng 24 giờ / trễ",
           tag="operator", auth=("operator",), response=ReturnStats, scope=())
    def postal_stats(self, ctx: Ctx):
        return self.call("postal", "return_stats", ctx.actor)

    @route("GET", "/api/v1/operator/postal/compensations", summary="Bưu gửi thất lạc và bồi thường", tag="operator",
           auth=("operator",), response=ShipmentList, scope=())
    def compensations(self, ctx: Ctx):
        return self.call("postal", "compensations", ctx.actor)

    # --------------------------------------------------------- feedback
    @route("POST", "/api/v1/feedback", summary="Gửi phản ánh, kiến nghị, câu hỏi (đăng nhập hoặc kèm liên hệ)",
           tag="feedback", body=NewFeedback, response=FeedbackView, status=201, auth="public", scope=())
    def submit_feedback(self, ctx: Ctx):
        actor = None
        if ctx.request.headers.get("Authorization"):
            claims = self.auth.verify(ctx.request)
            actor = {"id": claims["sub"], "role": claims["role"], "agency_id": claims.get("agency_id"),
                     "department_id": claims.get("department_id")}
        return self.call("feedback", "submit", actor, ctx.body.model_dump(mode="json"))

    @route("POST", "/api/v1/feedback/staff", summary="Cán bộ ghi nhận phản ánh qua email, điện thoại, văn bản",
           tag="feedback", auth=OFFICIALS, body=StaffEntry, response=FeedbackView, status=201, scope=())
    def record_feedback(self, ctx: Ctx):
        return self.call("feedback", "record", ctx.actor, ctx.body.model_dump(mode="json"))

    @route("GET", "/api/v1/feedback", summary="Phản ánh cần trả lời (cơ quan) hoặc đã chuyển lên (Văn phòng UBND)",
           tag="feedback", auth=OFFICIALS, query=FeedbackQuery, response=FeedbackPage, scope=())
    def feedback_queue(self, ctx: Ctx):
        return self.call("feedback", "queue", ctx.actor, ctx.query.model_dump(exclude_none=True))

    @route("GET", "/api/v1/feedback/{feedback_id}", summary="Chi tiết phản ánh", tag="feedback", auth="user",
           response=FeedbackView, errors=(404,), scope=("applicant", "agency"))
    def feedback_item(self, ctx: Ctx):
        return self.call("feedback", "get", ctx.actor, ctx.path["feedback_id"])

    @route("POST", "/api/v1/feedback/{feedback_id}/answer", summary="Trả lời phản ánh (trong 3 ngày làm việc)",
           tag="feedback", auth=OFFICIALS, body=Answer, response=FeedbackView, errors=(404, 409), scope=("agency",),
           example={"answer": "Phiếu được cấp trong 10 ngày làm việc."})
    def answer_feedback(self, ctx: Ctx):
        return self.call("feedback", "answer", ctx.actor, ctx.path["feedback_id"], ctx.body.model_dump())

    @route("GET", "/api/v1/qa", summary="Hỏi đáp công khai (theo thủ tục, cơ quan, từ khoá)", tag="feedback",
           query=PublicQuery, response=PublicPage, auth="public", scope=())
    def public_qa(self, ctx: Ctx):
        return self.call("feedback", "public_questions", ctx.query.model_dump(exclude_none=True))

    @route("POST", "/api/v1/dossiers/{code}/rating", summary="Đánh giá mức độ hài lòng (một lần, sau khi nhận "
           "kết quả)", tag="feedback", auth=CITIZEN, body=Rating, response=RatingView, status=201,
           errors=(404, 409), scope=("applicant",),
           example={"score": 5, "comment": "Đúng hẹn"})
    def rate(self, ctx: Ctx):
        return self.call("feedback", "rate", ctx.actor, ctx.path["code"], ctx.body.model_dump())

    @route("POST", "/api/v1/operator/feedback/sweep", summary="Quét hạn trả lời phản ánh ngay", tag="operator",
           auth=("operator",), scope=())
    def feedback_sweep(self, ctx: Ctx):
        return self.call("feedback", "sweep")

    # --------------------------------------------------------- payments
    @route("POST", "/api/v1/dossiers/{code}/payments", summary="Thanh toán phí, lệ phí trực tuyến (mức độ 4)",
           tag="payments", auth=CITIZEN, response=Payment, status=201, errors=(404, 409),
           headers=("Idempotency-Key",), scope=("applicant",))
    def create_payment(self, ctx: Ctx):
        return self.call("payment", "create_payment", ctx.actor, ctx.path["code"],
                         ctx.request.headers.get("Idempotency-Key"))

    @route("GET", "/api/v1/payments/{payment_id}", summary="Trạng thái giao dịch", tag="payments", auth="user",
           response=Payment, errors=(404,), scope=("applicant", "agency"))
    def get_payment(self, ctx: Ctx):
        return self.call("payment", "get_payment", ctx.actor, ctx.path["payment_id"])

    @route("GET", "/api/v1/payments/{payment_id}/receipt", summary="Tải biên lai điện tử", tag="payments",
           auth="user", binary="application/pdf", errors=(404, 409), scope=("applicant", "agency"))
    def receipt(self, ctx: Ctx):
        return self._file_response(self.call("payment", "receipt", ctx.actor, ctx.path["payment_id"]))

    @route("POST", "/api/v1/payments/callback", summary="Kết quả thanh toán từ cổng thanh toán (ký HMAC-SHA256)",
           tag="payments", response=CallbackAck, errors=(401,), auth="public", scope=())
    def payment_callback(self, ctx: Ctx):
        params = ctx.request.form.to_dict() if ctx.request.form else (ctx.request.get_json(silent=True) or {})
        return self.call("payment", "callback", params)

    @route("POST", "/api/v1/payments/{payment_id}/refunds", summary="Hoàn phí (R11)", tag="payments",
           auth=("leader", "agency_admin", "operator"), body=RefundRequest, response=Refund, status=201,
           errors=(404, 409), headers=("Idempotency-Key",), scope=("agency",),
           example={"reason": "Cơ quan không giải quyết được hồ sơ"})
    def refund(self, ctx: Ctx):
        return self.call("payment", "refund", ctx.actor, ctx.path["payment_id"], ctx.body.model_dump(),
                         ctx.request.headers.get("Idempotency-Key"))

    @route("GET", "/api/v1/payments/{payment_id}/refunds", summary="Các lần hoàn phí", tag="payments", auth="user",
           response=RefundList, errors=(404,), scope=("applicant", "agency"))
    def refunds(self, ctx: Ctx):
        return self.call("payment", "refunds_for", ctx.actor, ctx.path["payment_id"])

    @route("GET", "/api/v1/operator/reconciliation", summary="Đối soát giao dịch với cổng thanh toán",
           tag="operator", auth=("operator",), query=DayQuery, response=Reconciliation, scope=())
    def reconciliation(self, ctx: Ctx):
        return self.call("payment", "reconcile", ctx.query.date)

    @route("POST", "/api/v1/operator/payments/expire", summary="Cho hết hạn ngay các giao dịch quá thời gian",
           tag="operator", auth=("operator",), scope=())
    def expire_payments(self, ctx: Ctx):
        self.call("payment", "expire_now")
        return {"ok": True}

    # ------------------------------------------------------------ cases
    @route("GET", "/api/v1/cases", summary="Hàng đợi hồ sơ của cơ quan (theo hạn xử lý)", tag="cases",
           auth=OFFICIALS, query=QueueQuery, response=CasePage, scope=())
    def cases(self, ctx: Ctx):
        return self.call("processing", "queue", ctx.actor, ctx.query.model_dump(exclude_none=True))

    @route("GET", "/api/v1/cases/{code}", summary="Chi tiết hồ sơ đang giải quyết", tag="cases", auth=OFFICIALS,
           response=Case, errors=(404,), scope=("agency",))
    def case(self, ctx: Ctx):
        return self.call("processing", "get_case", ctx.actor, ctx.path["code"])

    @route("POST", "/api/v1/cases/{code}/commands", summary="Thực hiện một bước xử lý (tiếp nhận, chuyển, đề xuất, "
           "phê duyệt, trả kết quả, …)", tag="cases", auth=WORKFLOW_ROLES, body=CaseCommand, response=Case,
           errors=(404, 409), scope=("agency",),
           example={"action": "receive", "expected_version": 1})
    def case_command(self, ctx: Ctx):
        return self.call("processing", "command", ctx.actor, ctx.path["code"], ctx.body.model_dump(mode="json"))

    @route("GET", "/api/v1/cases/{code}/history", summary="Nhật ký xử lý hồ sơ: ai làm gì, khi nào, vì sao",
           tag="cases", auth=OFFICIALS, response=CaseHistory, errors=(404,), scope=("agency",))
    def case_history(self, ctx: Ctx):
        return self.call("processing", "history", ctx.actor, ctx.path["code"])

    @route("GET", "/api/v1/cases/{code}/history/verify", summary="Kiểm tra tính toàn vẹn của lịch sử xử lý",
           tag="cases", auth="user", response=ChainReport, errors=(404,), scope=("applicant", "agency"))
    def verify_history(self, ctx: Ctx):
        return self.call("processing", "verify_history", ctx.actor, ctx.path["code"])

    @route("GET", "/api/v1/cases/{code}/files/{file_id}", summary="Tải văn bản của hồ sơ", tag="cases",
           auth=OFFICIALS, binary="application/octet-stream", errors=(404,), scope=("agency",))
    def case_file(self, ctx: Ctx):
        return self._file_response(self.call("processing", "get_file", ctx.actor, ctx.path["code"],
                                             ctx.path["file_id"]))

    @route("POST", "/api/v1/cases/sweep", summary="Quét hạn xử lý ngay (đánh dấu sắp đến hạn, quá hạn)",
           tag="cases", auth=("operator",), scope=())
    def sweep(self, ctx: Ctx):
        return self.call("processing", "sweep")

    # ----------------------------------------------------- agency admin
    @route("GET", "/api/v1/agency/officials", summary="Cán bộ của cơ quan", tag="agency", auth=("agency_admin",),
           response=AccountList, scope=())
    def officials(self, ctx: Ctx):
        return self.call("intake", "list_officials", ctx.actor)

    @route("POST", "/api/v1/agency/officials", summary="Thêm cán bộ", tag="agency", auth=("agency_admin",),
           body=NewOfficial, response=Account, status=201, errors=(409,), scope=())
    def create_official(self, ctx: Ctx):
        return self.call("intake", "create_official", ctx.actor, ctx.body.model_dump(mode="json"))

    @route("PATCH", "/api/v1/agency/officials/{official_id}", summary="Đổi vai trò, phòng ban hoặc khoá cán bộ",
           tag="agency", auth=("agency_admin",), body=OfficialChange, response=Account, errors=(404, 409),
           scope=("agency",),
           example={"active": False})
    def update_official(self, ctx: Ctx):
        return self.call("intake", "update_official", ctx.actor, ctx.path["official_id"],
                         ctx.body.model_dump(exclude_none=True))

    @route("POST", "/api/v1/agency/departments", summary="Thêm phòng ban", tag="agency", auth=("agency_admin",),
           body=Department, response=Agency, status=201, errors=(409,), scope=())
    def add_department(self, ctx: Ctx):
        return self.call("intake", "add_department", ctx.actor, ctx.body.model_dump())

    # ------------------------------------------------------------ inbox
    @route("GET", "/api/v1/inbox", summary="Hộp thư thông báo của tôi", tag="inbox", auth="user",
           query=InboxQuery, response=InboxPage, scope=())
    def inbox(self, ctx: Ctx):
        q = ctx.query
        return self.call("notification", "inbox", ctx.actor, q.page, q.page_size, q.unread_only)

    @route("POST", "/api/v1/inbox/{message_id}/read", summary="Đánh dấu đã đọc", tag="inbox", auth="user",
           response=ReadReceipt, errors=(404,), scope=("applicant",))
    def mark_read(self, ctx: Ctx):
        return self.call("notification", "mark_read", ctx.actor, ctx.path["message_id"])
