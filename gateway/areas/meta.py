"""The gateway's own upkeep, for no audience of the portal: /health, /metrics (Prometheus), the
OpenAPI document, the outage watch that opens and closes incidents (R24) and the purge of expired
tokens and sign-in failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import eventlet
from kombu import Connection
from nameko.timer import timer
from werkzeug.wrappers import Response

from services.common.event_contracts import IncidentOpened, IncidentResolved
from services.common.events import new_event, utcnow

from .. import metrics
from ..api import ApiHandler
from ..core import GatewayCore
from ..openapi import build_openapi
from ..rpc import FACADES, ServiceRpc
from ..schemas import Health

SYSTEM_ACTOR = {"id": "gateway", "role": "system"}


class MetaArea(GatewayCore):
    """Health, metrics, the OpenAPI document, and the gateway's timers."""

    @timer(interval=600)
    def purge(self) -> None:
        self.store.purge_expired()

    # --------------------------------------------------------------- health
    def _services(self) -> list[str]:
        return list(self.settings.health_services)

    def _probe_call(self, service: str, method: str, *args: Any) -> Any:
        """The health checks' RPC: their own short deadline, and not counted with the API's calls."""
        with eventlet.Timeout(self.settings.health_timeout):
            return getattr(self._proxy(service), method)(*args)

    def _ask_all(self, ask: Callable[[ServiceRpc], dict]) -> tuple[dict, dict]:
        """Ask every service one RPC (ServiceRpc.ping or .stats): their states, and the answers of those up.

        All at once: with the broker down, or the suite stopping, every call waits out its
        timeout, and one after the other that made /health (and a stop) take 8 timeouts."""

        def ask_one(svc: str) -> tuple[str, dict | None, BaseException | None]:
            try:
                return svc, ask(FACADES[svc](self._probe_call)), None
            except (Exception, eventlet.Timeout) as exc:  # eventlet.Timeout is a BaseException
                return svc, None, exc

        states, answers = {}, {}
        for svc, answer, exc in eventlet.GreenPool().imap(ask_one, self._services()):
            if exc is None:
                answers[svc] = answer
                states[svc] = {"status": "ok"}
            else:
                states[svc] = {"status": "down", "detail": type(exc).__name__}
        return states, answers

    def _probe(self, ask: Callable[[ServiceRpc], dict] = ServiceRpc.ping) -> tuple[dict, dict]:
        """Every service (through ``ask``), the broker and the database; and the services' answers."""
        services, answers = self._ask_all(ask)
        try:
            with Connection(self.config["AMQP_URI"], connect_timeout=3) as conn:
                conn.ensure_connection(max_retries=1)
            broker = {"status": "ok"}
        except Exception as exc:
            broker = {"status": "down", "detail": type(exc).__name__}
        try:
            self.store.ping()
            database = {"status": "ok"}
        except Exception as exc:
            database = {"status": "down", "detail": type(exc).__name__}
        return {"broker": broker, "database": database, "services": services}, answers

    @ApiHandler.decorator("GET", "/health")
    def health(self, request) -> Response:
        probe, _ = self._probe()
        healthy = probe["broker"]["status"] == probe["database"]["status"] == "ok" and all(
            s["status"] == "ok" for s in probe["services"].values()
        )
        body = Health(status="ok" if healthy else "degraded", **probe)
        return Response(body.model_dump_json(), status=200 if healthy else 503, mimetype="application/json")

    @ApiHandler.decorator("GET", "/metrics")
    def metrics(self, request) -> Response:
        """Prometheus exposition (scrape it on the internal network only; see deploy/README.md)."""
        probe, stats = self._probe(ServiceRpc.stats)  # a service that answers its stats is up
        metrics.record_state(probe, stats)
        return Response(metrics.exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")

    @timer(interval=5)
    def watch_services(self) -> None:
        """R24: a service down longer than INCIDENT_AFTER_SECONDS opens an incident (the operations
        team is told by the notification service); its return closes it."""
        now = utcnow()
        threshold = self.settings.incident_after_seconds
        for svc, state in self._ask_all(ServiceRpc.ping)[0].items():  # services only: no broker/database round trip
            if state["status"] == "ok":
                closed = self.store.close_incident(svc)
                if closed:
                    self.dispatch(
                        IncidentResolved.type,
                        new_event(IncidentResolved(service=svc, since=closed["since"], resolved_at=now), SYSTEM_ACTOR),
                    )
                continue
            since = self.store.service_down_since(svc, now)
            if (now - since).total_seconds() >= threshold and self.store.open_incident(svc, since, state["detail"]):
                self.dispatch(
                    IncidentOpened.type,
                    new_event(IncidentOpened(service=svc, since=since, detail=state.get("detail")), SYSTEM_ACTOR),
                )

    @ApiHandler.decorator("GET", "/api/v1/openapi.json")
    def openapi(self, request) -> Response:
        return Response(json.dumps(build_openapi(), ensure_ascii=False), mimetype="application/json")
