"""Typed facades of the services' RPCs: one small class per service listing the methods the gateway
calls, with the service's own parameter names and defaults. ``self.intake.get_procedure(code)`` is
followed by editors and type checkers, and a misspelt method fails where it is written instead of
as a remote ``MethodNotFound``; tests/unit/test_rpc_facades.py checks each method against the
``@rpc`` of the service it names, so a facade cannot drift from its service.

Each facade sends through the gateway's ``call`` (the RPC deadline and the metrics), which it is
given, so the facades hold no state and know nothing of nameko."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, TypeVar, overload

from services.common.roles import ActorDict

JsonDict = dict[str, Any]


class Call(Protocol):
    """The gateway's RPC: ``call(service, method, *args)`` (GatewayService.call)."""

    def __call__(self, service: str, method: str, /, *args: Any) -> Any: ...


class ServiceRpc:
    """What every service answers (services.common.service_base.PortalService)."""

    service: ClassVar[str]

    def __init__(self, call: Call) -> None:
        self._send = call

    def _call(self, method: str, *args: Any) -> Any:
        return self._send(self.service, method, *args)

    def ping(self) -> JsonDict:
        return self._call("ping")

    def stats(self) -> JsonDict:
        return self._call("stats")


class IntakeRpc(ServiceRpc):
    """services/intake/service.py: catalog, accounts, dossiers as filed."""

    service = "intake"

    # ------------------------------------------------------------ accounts
    def register(self, payload: JsonDict) -> JsonDict:
        return self._call("register", payload)

    def account_for_login(self, login: str) -> str | None:
        return self._call("account_for_login", login)

    def authenticate(self, credentials: JsonDict) -> JsonDict:
        return self._call("authenticate", credentials)

    def get_account(self, account_id: str) -> JsonDict:
        return self._call("get_account", account_id)

    def account_names(self, ids: list[str]) -> dict[str, JsonDict]:
        return self._call("account_names", ids)

    # ------------------------------------------------------------- catalog
    def list_agencies(self) -> list[JsonDict]:
        return self._call("list_agencies")

    def get_agency(self, agency_id: str) -> JsonDict:
        return self._call("get_agency", agency_id)

    def list_procedures(self, query: JsonDict | None = None) -> JsonDict:
        return self._call("list_procedures", query)

    def get_procedure(self, code: str, version: int | None = None) -> JsonDict:
        return self._call("get_procedure", code, version)

    def catalog_facets(self) -> JsonDict:
        return self._call("catalog_facets")

    def due_date_preview(self, code: str, received_at: str | None = None) -> JsonDict:
        return self._call("due_date_preview", code, received_at)

    def get_form_template(self, code: str, document_code: str) -> JsonDict:
        return self._call("get_form_template", code, document_code)

    def publish_procedure(self, actor: ActorDict, procedure: JsonDict) -> JsonDict:
        return self._call("publish_procedure", actor, procedure)

    def declare_workflow(self, actor: ActorDict, code: str, workflow: JsonDict) -> JsonDict:
        return self._call("declare_workflow", actor, code, workflow)

    def upload_form_template(
        self, actor: ActorDict, code: str, document_code: str, filename: str, content_type: str, content_b64: str
    ) -> JsonDict:
        return self._call("upload_form_template", actor, code, document_code, filename, content_type, content_b64)

    # ------------------------------------------------------------ dossiers
    def file_dossier(
        self,
        actor: ActorDict,
        request: JsonDict,
        attachments: list[JsonDict] | None = None,
        idempotency_key: str | None = None,
    ) -> JsonDict:
        return self._call("file_dossier", actor, request, attachments, idempotency_key)

    def file_at_desk(
        self,
        actor: ActorDict,
        request: JsonDict,
        attachments: list[JsonDict] | None = None,
        idempotency_key: str | None = None,
    ) -> JsonDict:
        return self._call("file_at_desk", actor, request, attachments, idempotency_key)

    def signing_payload(
        self, actor: ActorDict, procedure_code: str, form_data: JsonDict, attachments: list[JsonDict]
    ) -> JsonDict:
        return self._call("signing_payload", actor, procedure_code, form_data, attachments)

    def list_my_dossiers(self, actor: ActorDict, page: int = 1, page_size: int = 20) -> JsonDict:
        return self._call("list_my_dossiers", actor, page, page_size)

    def get_dossier(self, actor: ActorDict, code: str) -> JsonDict:
        return self._call("get_dossier", actor, code)

    def get_attachment(self, actor: ActorDict, code: str, attachment_id: str) -> JsonDict:
        return self._call("get_attachment", actor, code, attachment_id)

    def lookup_status(self, lookup: JsonDict) -> JsonDict:
        return self._call("lookup_status", lookup)

    def filing_receipt(self, actor: ActorDict, code: str) -> JsonDict:
        return self._call("filing_receipt", actor, code)

    def receipt_pdf(self, actor: ActorDict, code: str, lookup_url: str, due_date: str | None = None) -> JsonDict:
        return self._call("receipt_pdf", actor, code, lookup_url, due_date)

    # -------------------------------------------------------- agency admin
    def list_officials(self, actor: ActorDict) -> list[JsonDict]:
        return self._call("list_officials", actor)

    def create_official(self, actor: ActorDict, payload: JsonDict) -> JsonDict:
        return self._call("create_official", actor, payload)

    def update_official(self, actor: ActorDict, official_id: str, payload: JsonDict) -> JsonDict:
        return self._call("update_official", actor, official_id, payload)

    def add_department(self, actor: ActorDict, department: JsonDict) -> JsonDict:
        return self._call("add_department", actor, department)


class ProcessingRpc(ServiceRpc):
    """services/processing/service.py: cases, their workflow and history."""

    service = "processing"

    def queue(self, actor: ActorDict, query: JsonDict | None = None) -> JsonDict:
        return self._call("queue", actor, query)

    def get_case(self, actor: ActorDict, code: str) -> JsonDict:
        return self._call("get_case", actor, code)

    def command(self, actor: ActorDict, code: str, command: JsonDict) -> JsonDict:
        return self._call("command", actor, code, command)

    def history(self, actor: ActorDict, code: str) -> JsonDict:
        return self._call("history", actor, code)

    def verify_history(self, actor: ActorDict, code: str) -> JsonDict:
        return self._call("verify_history", actor, code)

    def get_file(self, actor: ActorDict, code: str, file_id: str) -> JsonDict:
        return self._call("get_file", actor, code, file_id)

    def timeline(self, actor: ActorDict | None, code: str) -> JsonDict:
        return self._call("timeline", actor, code)

    def withdraw(self, actor: ActorDict, code: str, reason: str | None = None) -> JsonDict:
        return self._call("withdraw", actor, code, reason)

    def supplement(self, actor: ActorDict, code: str, payload: JsonDict) -> JsonDict:
        return self._call("supplement", actor, code, payload)

    def collect_result(self, actor: ActorDict, code: str) -> JsonDict:
        return self._call("collect_result", actor, code)

    def sweep(self) -> JsonDict:
        return self._call("sweep")


class NotificationRpc(ServiceRpc):
    """services/notification/service.py: the portal inbox."""

    service = "notification"

    def inbox(self, actor: ActorDict, page: int = 1, page_size: int = 20, unread_only: bool = False) -> JsonDict:
        return self._call("inbox", actor, page, page_size, unread_only)

    def mark_read(self, actor: ActorDict, message_id: str) -> JsonDict:
        return self._call("mark_read", actor, message_id)


class PaymentRpc(ServiceRpc):
    """services/payment/service.py: level-4 fees, refunds, reconciliation."""

    service = "payment"

    def create_payment(self, actor: ActorDict, code: str, idempotency_key: str | None = None) -> JsonDict:
        return self._call("create_payment", actor, code, idempotency_key)

    def get_payment(self, actor: ActorDict, payment_id: str) -> JsonDict:
        return self._call("get_payment", actor, payment_id)

    def receipt(self, actor: ActorDict, payment_id: str) -> JsonDict:
        return self._call("receipt", actor, payment_id)

    def callback(self, params: JsonDict) -> JsonDict:
        return self._call("callback", params)

    def refund(
        self, actor: ActorDict, payment_id: str, request: JsonDict, idempotency_key: str | None = None
    ) -> JsonDict:
        return self._call("refund", actor, payment_id, request, idempotency_key)

    def refunds_for(self, actor: ActorDict, payment_id: str) -> list[JsonDict]:
        return self._call("refunds_for", actor, payment_id)

    def reconcile(self, day: str | None = None) -> JsonDict:
        return self._call("reconcile", day)

    def expire_now(self) -> None:
        self._call("expire_now")


class FeedbackRpc(ServiceRpc):
    """services/feedback/service.py: questions and feedback, public Q&A, ratings."""

    service = "feedback"

    def submit(self, actor: ActorDict | None, payload: JsonDict) -> JsonDict:
        return self._call("submit", actor, payload)

    def record(self, actor: ActorDict, payload: JsonDict) -> JsonDict:
        return self._call("record", actor, payload)

    def queue(self, actor: ActorDict, query: JsonDict | None = None) -> JsonDict:
        return self._call("queue", actor, query)

    def get(self, actor: ActorDict, fid: str) -> JsonDict:
        return self._call("get", actor, fid)

    def answer(self, actor: ActorDict, fid: str, payload: JsonDict) -> JsonDict:
        return self._call("answer", actor, fid, payload)

    def public_questions(self, query: JsonDict | None = None) -> JsonDict:
        return self._call("public_questions", query)

    def rate(self, actor: ActorDict, code: str, payload: JsonDict) -> JsonDict:
        return self._call("rate", actor, code, payload)

    def get_rating(self, actor: ActorDict, code: str) -> JsonDict | None:
        return self._call("get_rating", actor, code)

    def sweep(self) -> JsonDict:
        return self._call("sweep")


class PostalRpc(ServiceRpc):
    """services/postal/service.py: pickups and returns with the postal operator."""

    service = "postal"

    def request_pickup(self, actor: ActorDict, payload: JsonDict) -> JsonDict:
        return self._call("request_pickup", actor, payload)

    def my_shipments(self, actor: ActorDict) -> JsonDict:
        return self._call("my_shipments", actor)

    def get_shipment(self, actor: ActorDict, sid: str) -> JsonDict:
        return self._call("get_shipment", actor, sid)

    def operator_shipments(self, operator_id: str, query: JsonDict | None = None) -> JsonDict:
        return self._call("operator_shipments", operator_id, query)

    def operator_file(self, operator_id: str, sid: str, payload: JsonDict) -> JsonDict:
        return self._call("operator_file", operator_id, sid, payload)

    def operator_update(self, operator_id: str, sid: str, payload: JsonDict) -> JsonDict:
        return self._call("operator_update", operator_id, sid, payload)

    def return_stats(self, actor: ActorDict) -> JsonDict:
        return self._call("return_stats", actor)

    def compensations(self, actor: ActorDict) -> list[JsonDict]:
        return self._call("compensations", actor)


class ReportingRpc(ServiceRpc):
    """services/reporting/service.py: statistics, dashboards, reports."""

    service = "reporting"

    def public_statistics(self, period: str | None = None) -> JsonDict:
        return self._call("public_statistics", period)

    def dashboard(self, actor: ActorDict, dim: str = "all", value: str = "*", period: str | None = None) -> JsonDict:
        return self._call("dashboard", actor, dim, value, period)

    def report(self, actor: ActorDict, scope: str, period: str, fmt: str = "json") -> JsonDict:
        return self._call("report", actor, scope, period, fmt)

    def rebuild(self) -> JsonDict:
        return self._call("rebuild")


class MinistryRpc(ServiceRpc):
    """services/ministry/service.py. Ministries' systems call it over AMQP themselves; the gateway
    only asks it what every service answers (its health and stats)."""

    service = "ministry"


#: every facade by its service's name (the names HEALTH_SERVICES lists)
FACADES: dict[str, type[ServiceRpc]] = {
    f.service: f
    for f in (IntakeRpc, ProcessingRpc, NotificationRpc, PaymentRpc, FeedbackRpc, PostalRpc, ReportingRpc, MinistryRpc)
}

R = TypeVar("R", bound=ServiceRpc)


class Caller(Protocol):
    """A worker that makes RPCs (GatewayService)."""

    def call(self, service: str, method: str, /, *args: Any) -> Any: ...


class Facade(Generic[R]):
    """A class attribute giving a worker the facade of one service, sending through its ``call``:
    ``intake = Facade(IntakeRpc)``, then ``self.intake.get_procedure(code)``."""

    def __init__(self, rpc: type[R]) -> None:
        self.rpc = rpc

    @overload
    def __get__(self, worker: None, owner: type) -> Facade[R]: ...

    @overload
    def __get__(self, worker: Caller, owner: type) -> R: ...

    def __get__(self, worker: Caller | None, owner: type) -> Facade[R] | R:
        if worker is None:  # on the class: nameko looking for its extensions, a test for the facades
            return self
        return self.rpc(worker.call)
