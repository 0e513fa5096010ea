"""Ministry systems over RPC (R31: kết nối, chia sẻ dữ liệu với hệ thống của bộ, ngành).

A ministry's system files dossiers it received through its own channel (channel
``ministry_system``), reads a dossier's status and timeline, and subscribes to status changes of
the dossiers it filed. Every call authenticates the system (id + secret from configuration),
checks its scopes (read / write, which procedures) and carries an X-Road-style issue reference;
the system and the reference are written into the case history.

Plain AMQP clients (see clients/ministry) call these methods as nameko RPC: publish to the
``nameko-rpc`` exchange with routing key ``ministry.<method>`` and a reply queue.
"""

from __future__ import annotations

from kombu import Connection, Exchange, Queue
from nameko.dependency_providers import Config

from services.common import error_catalogue as catalogue
from services.common.errors import Conflict
from services.common.event_contracts import CaseStatusChanged, StatusChange
from services.common.events import Event, handles
from services.common.messaging import EventDispatcher, RpcProxy, rpc
from services.common.mongo import MongoDatabase
from services.common.schemas import parse
from services.common.service_base import PortalService
from services.common.settings import Settings

from .dependencies import MinistryStore, MinistrySystem, MinistrySystems, Registry
from .schemas import Credentials, IssueReference
from .settings import MinistrySettings

EXCHANGE = "ministry.events"


def subscription_queue(system_id: str) -> str:
    return f"ministry.{system_id}.status"


class MinistryService(PortalService):
    name = "ministry"

    store: MinistryStore = MongoDatabase(MinistryStore)
    systems: Registry = MinistrySystems()
    intake = RpcProxy("intake")
    processing = RpcProxy("processing")
    dispatch = EventDispatcher()
    settings: MinistrySettings = Settings(MinistrySettings)  # MINISTRY_SYSTEMS, read by ``systems``
    config = Config()  # nameko's own AMQP_URI, for the subscription queues declared outside nameko

    def _system(self, credentials: dict) -> MinistrySystem:
        creds = parse(Credentials, credentials, "credentials")
        return self.systems.authenticate(creds.system_id, creds.secret)

    @rpc
    def file_dossier(self, credentials: dict, issue: str, request: dict, attachments: list | None = None) -> dict:
        """Nộp hồ sơ qua hệ thống của bộ, ngành. ``issue`` is the ministry's own case number; filing
        again with the same issue returns the same dossier (and a different request is refused)."""
        system = self._system(credentials)
        ref = parse(IssueReference, {"issue": issue}, "issue").issue
        system.require("write", str((request or {}).get("procedure_code", "")))
        filing = {**request, "origin": {"system_id": system.id, "issue": ref}}
        try:
            filed = self.intake.file_dossier(system.actor, filing, attachments, f"issue:{ref}", "ministry_system")
        except Conflict as exc:
            if exc.code != "idempotency_key_reused":
                raise
            raise catalogue.error("issue_reused", {"issue": ref}) from None
        code = filed["dossier"]["code"]
        self.store.record_filing(system.id, ref, code)
        return {
            "dossier_code": code,
            "issue": ref,
            "status": filed["dossier"]["status"],
            "tracking_secret": filed["tracking_secret"],
            "replayed": filed["replayed"],
        }

    @rpc
    def dossier_status(self, credentials: dict, issue: str) -> dict:
        """Status and timeline of a dossier (the issue reference is its code), within the system's
        read scope; the read is recorded in the case history."""
        system = self._system(credentials)
        code = parse(IssueReference, {"issue": issue}, "issue").issue
        system.require("read")
        procedures = None if system.procedures is None else sorted(system.procedures)
        return self.processing.external_timeline(system.actor, code, code, procedures)

    @rpc
    def subscribe(self, credentials: dict) -> dict:
        """Declare the system's durable queue of status changes for the dossiers it filed."""
        system = self._system(credentials)
        system.require("read")
        queue = subscription_queue(system.id)
        with Connection(self.config["AMQP_URI"]) as conn:
            exchange = Exchange(EXCHANGE, type="topic", durable=True)
            Queue(queue, exchange, routing_key=f"case_status_changed.{system.id}", durable=True)(conn).declare()
        return {"queue": queue, "exchange": EXCHANGE, "routing_key": f"case_status_changed.{system.id}"}

    @handles(CaseStatusChanged)
    def forward_status_change(self, event: Event[CaseStatusChanged]) -> None:
        """Status changes of dossiers a ministry system filed go to that system's queue (at least
        once; the event_id lets the system drop a repeat)."""
        p = event.payload
        filing = self.store.filing(p.code)
        if not filing:
            return
        change = StatusChange(
            event_id=event.event_id,
            dossier_code=p.code,
            issue=filing["issue"],
            action=p.action,
            from_status=p.from_,
            to_status=p.to,
            occurred_at=event.occurred_at.isoformat(),
        )
        # EventDispatcher publishes to "<service>.events", i.e. ministry.events, keyed by the type.
        self.dispatch(f"{StatusChange.type}.{filing['system_id']}", change.wire())
