"""Registry of ministry systems (credentials and scopes from configuration) and the store of
which dossier each system filed under which issue reference."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from nameko.extensions import DependencyProvider
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common import error_catalogue as catalogue
from services.common.events import utcnow
from services.common.settings import Settings

from .settings import MinistrySettings


@dataclass(frozen=True)
class MinistrySystem:
    id: str
    secret: str
    can_read: bool
    can_write: bool
    procedures: frozenset[str] | None  # None: every procedure

    @property
    def actor(self) -> dict:
        return {"id": f"ministry:{self.id}", "role": "ministry_system"}

    def covers(self, procedure_code: str) -> bool:
        return self.procedures is None or procedure_code in self.procedures

    def require(self, access: str, procedure_code: str | None = None) -> None:
        if access == "read" and not self.can_read:
            raise catalogue.error("read_not_allowed", {"system_id": self.id})
        if access == "write" and not self.can_write:
            raise catalogue.error("write_not_allowed", {"system_id": self.id})
        if procedure_code is not None and not self.covers(procedure_code):
            raise catalogue.error("procedure_out_of_scope", {"system_id": self.id, "procedure_code": procedure_code})


def parse_systems(spec: str) -> dict[str, MinistrySystem]:
    """``id:secret:access:procedures`` entries, comma-separated; access r|w|rw; procedures * or A|B."""
    systems = {}
    for entry in filter(None, (e.strip() for e in (spec or "").split(","))):
        parts = entry.split(":")
        if len(parts) != 4 or parts[2] not in ("r", "w", "rw") or not parts[0] or not parts[1]:
            raise ValueError(f"MINISTRY_SYSTEMS entry must be id:secret:r|w|rw:procedures, got {parts[0]!r}…")
        procs = None if parts[3] == "*" else frozenset(p for p in parts[3].split("|") if p)
        systems[parts[0]] = MinistrySystem(parts[0], parts[1], "r" in parts[2], "w" in parts[2], procs)
    return systems


class Registry:
    def __init__(self, systems: dict[str, MinistrySystem]):
        self.systems = systems

    def authenticate(self, system_id: str, secret: str) -> MinistrySystem:
        system = self.systems.get(system_id)
        # Compare against something even for an unknown id, so timing does not tell ids apart.
        expected = system.secret if system else "-"
        if not hmac.compare_digest(expected.encode(), secret.encode()) or system is None:
            raise catalogue.error("invalid_credentials", None, "Sai mã hệ thống hoặc khóa bí mật")
        return system


class MinistrySystems(DependencyProvider):
    def setup(self) -> None:
        self.registry = Registry(parse_systems(Settings.of(self.container, MinistrySettings).ministry_systems))

    def get_dependency(self, worker_ctx) -> Registry:
        return self.registry


class MinistryStore:
    def __init__(self, db: Database):
        self.db = db

    def record_filing(self, system_id: str, issue: str, code: str) -> None:
        try:
            self.db.filings.insert_one({"_id": code, "system_id": system_id, "issue": issue, "at": utcnow()})
        except DuplicateKeyError:
            pass

    def filing(self, code: str) -> dict | None:
        return self.db.filings.find_one({"_id": code})
