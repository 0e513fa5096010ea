"""What every service has in common: a health ping and operating figures for the gateway's
/health and /metrics, correlation ids on its log lines, and the timer that finishes numbered
transitions a crash left half-done (services.common.versioned)."""

from __future__ import annotations

from nameko.timer import timer

from .events import PARKED, PROCESSED
from .messaging import rpc
from .observability import CorrelationIds
from .production import ProductionGuard


class PortalService:
    #: names of the store's VersionedDocuments attributes to recover
    versioned: tuple[str, ...] = ()

    correlation = CorrelationIds()
    production_guard = ProductionGuard()  # PORTAL_ENV=production: no development secrets

    @rpc
    def ping(self) -> dict:
        self.store.db.command("ping")
        return {"service": self.name, "database": "ok"}

    @rpc
    def stats(self) -> dict:
        """Figures for /metrics: events this service has handled, messages parked for an operator,
        and whatever the service adds in ``extra_stats``."""
        db = self.store.db
        return {
            "service": self.name,
            "events_handled": db[PROCESSED].estimated_document_count(),
            "parked_messages": db[PARKED].count_documents({"replayed": False}),
            **self.extra_stats(),
        }

    def extra_stats(self) -> dict:
        return {}

    @timer(interval=2)
    def recover_transitions(self) -> None:
        for attr in self.versioned:
            getattr(self.store, attr).recover(self.dispatch)
