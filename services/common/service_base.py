"""What every service has in common: a health ping for the gateway's /health, and the
timer that finishes numbered transitions a crash left half-done (services.common.versioned)."""
from __future__ import annotations

from nameko.rpc import rpc
from nameko.timer import timer


class PortalService:
    #: names of the store's VersionedDocuments attributes to recover
    versioned: tuple[str, ...] = ()

    @rpc
    def ping(self) -> dict:
        self.store.db.command("ping")
        return {"service": self.name, "database": "ok"}

    @timer(interval=2)
    def recover_transitions(self) -> None:
        for attr in self.versioned:
            getattr(self.store, attr).recover(self.dispatch)
