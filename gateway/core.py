"""What every area of the gateway shares (gateway/areas/): its nameko dependencies, the services'
RPC facades and the one ``call`` they send through, bearer tokens, the postal operator's signed
requests, and the web session. Each area is a subclass holding routes and pages; GatewayService
(gateway/service.py) is all of them at once, as nameko wants one class per service."""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.dependency_providers import Config
from werkzeug.wrappers import Request

from services.common import error_catalogue as catalogue
from services.common.errors import PortalError, Unauthorized
from services.common.messaging import EventDispatcher, RpcProxy
from services.common.mongo import MongoDatabase
from services.common.observability import CorrelationIds
from services.common.production import ProductionGuard
from services.common.roles import ActorDict, actor_from_claims
from services.common.settings import Settings

from . import metrics
from .admission import FilingAdmission
from .dependencies import GatewayStore, PostalAuth, TokenAuth
from .rpc import Facade, FeedbackRpc, IntakeRpc, NotificationRpc, PaymentRpc, PostalRpc, ProcessingRpc, ReportingRpc
from .settings import GatewaySettings
from .web.render import SESSION_COOKIE

#: a signed-in browser: the actor of its token, and the token's claims (to revoke it on sign-out)
Session = dict[str, Any]


class GatewayCore:
    settings: GatewaySettings = Settings(GatewaySettings)
    config = Config()  # nameko's own AMQP_URI, for the broker's health check
    store: GatewayStore = MongoDatabase(GatewayStore)
    # nameko's proxies, used only through ``call`` (by the facades below)
    intake_proxy = RpcProxy("intake")
    processing_proxy = RpcProxy("processing")
    notification_proxy = RpcProxy("notification")
    payment_proxy = RpcProxy("payment")
    feedback_proxy = RpcProxy("feedback")
    postal_proxy = RpcProxy("postal")
    reporting_proxy = RpcProxy("reporting")
    ministry_proxy = RpcProxy("ministry")
    # A few filings at intake at once: its database takes one writer at a time (gateway/admission.py).
    filings = FilingAdmission("intake")
    intake = Facade(IntakeRpc)
    processing = Facade(ProcessingRpc)
    notification = Facade(NotificationRpc)
    payment = Facade(PaymentRpc)
    feedback = Facade(FeedbackRpc)
    postal = Facade(PostalRpc)
    reporting = Facade(ReportingRpc)
    dispatch = EventDispatcher()
    correlation = CorrelationIds()
    production_guard = ProductionGuard()  # PORTAL_ENV=production: no development secrets

    @property
    def auth(self) -> TokenAuth:
        return TokenAuth(self.settings, self.store)

    @property
    def postal_auth(self) -> PostalAuth:
        return PostalAuth(self.settings, self.store)

    def _proxy(self, service: str) -> Any:
        return getattr(self, f"{service}_proxy")

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """RPC with a deadline: a service that does not answer becomes a 503, not a hung request.
        Routes and pages call through the facades (self.intake.get_procedure(code)), which send here."""
        deadline = eventlet.Timeout(self.settings.rpc_timeout)
        try:
            with deadline:
                result = getattr(self._proxy(service), method)(*args, **kwargs)
        except BaseException as exc:
            metrics.observe_rpc(service, method, getattr(exc, "code", None) or type(exc).__name__)
            if exc is deadline:
                # eventlet.Timeout is a BaseException: past the routes' `except Exception` it ended the
                # worker without an answer, and the HTTP request hung until the client gave up.
                raise catalogue.error("service_unavailable", {"service": service}) from None
            raise
        metrics.observe_rpc(service, method, None)
        return result

    # -------------------------------------------------------------- web
    @property
    def secure_cookies(self) -> bool:
        return self.settings.web_secure_cookies

    def web_session(self, request: Request) -> Session | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            claims = self.auth.verify_token(token)
        except Unauthorized:
            return None
        return {**actor_from_claims(claims), "claims": claims}

    @staticmethod
    def _actor(session: Session) -> ActorDict:
        return actor_from_claims(session["claims"])

    def _receipt(self, session: Session, code: str, request: Request) -> dict:
        """The printable receipt (PDF) of a dossier: the applicant's, or the one reception prints at the desk."""
        actor = self._actor(session)
        try:
            due = (
                self.processing.timeline(actor, code).get("due_date")
                if session["role"] == "citizen"
                else self.processing.get_case(actor, code).get("due_date")
            )
        except PortalError:
            due = None  # not received yet: the receipt gives the day it would be due
        return self.intake.receipt_pdf(actor, code, f"{request.host_url}tra-cuu", due)
