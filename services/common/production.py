"""Production mode: with ``PORTAL_ENV=production`` a service refuses to start while a
development secret or a default credential is configured, and says which.

Every config.yaml falls back to development values (marked ``dev-only``) so that
``make run`` and the tests need no setup; deploy/.env.example holds ``change-me``
placeholders. Either in production would let anyone who read the repository sign
tokens, payment callbacks or postal requests. The check runs when the container is
built (``ProductionGuard.bind``), before any extension connects to anything, so a
refused start is immediate even with the broker unreachable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from nameko.extensions import DependencyProvider

from .config import ROOT

log = logging.getLogger(__name__)

PRODUCTION = "production"
# Markers of the repository's development defaults and of deploy/.env.example's placeholders.
DEV_MARKERS = ("dev-only", "change-me")
# Secrets a service must be given in production: refused empty, at their development default
# or carrying a marker. Each service checks those its own config.yaml has.
SECRETS = ("TOKEN_SECRET", "PROVIDER_SECRET", "TRACKING_SECRET_KEY", "POSTAL_OPERATORS", "MINISTRY_SYSTEMS")
MIN_TOKEN_SECRET = 32  # HS256 keys shorter than the hash are weak (RFC 7518 §3.2)
# Another engineer's test clock; it must never drive a real deployment.
CLOCK_FILE = "PORTAL_CLOCK_FILE"


def portal_env(environ: Mapping[str, str] | None = None) -> str:
    return (environ if environ is not None else os.environ).get("PORTAL_ENV", "development").strip().lower()


def development_defaults() -> dict[str, str]:
    """``${NAME:default}`` of every config.yaml, for the secrets above."""
    import re

    found: dict[str, str] = {}
    for path in [ROOT / "gateway" / "config.yaml", *sorted((ROOT / "services").glob("*/config.yaml"))]:
        for name, default in re.findall(r"\$\{([A-Z0-9_]+):([^}]*)\}", path.read_text(encoding="utf-8")):
            if name in SECRETS:
                found[name] = default
    return found


def _marked(value: str) -> bool:
    return any(marker in value.lower() for marker in DEV_MARKERS)


def problems(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> list[str]:
    """What keeps this configuration out of production; empty when nothing does."""
    environ = environ if environ is not None else os.environ
    out = []
    defaults = development_defaults()
    for name in SECRETS:
        if name not in config:
            continue
        value = str(config.get(name) or "").strip()
        if not value:
            out.append(f"{name} để trống")
        elif value == defaults.get(name) or _marked(value):
            out.append(f"{name} đang là giá trị dành cho phát triển")
        elif name == "TOKEN_SECRET" and len(value) < MIN_TOKEN_SECRET:
            out.append(f"TOKEN_SECRET ngắn hơn {MIN_TOKEN_SECRET} ký tự")
    amqp = urlsplit(str(config.get("AMQP_URI") or ""))
    if (amqp.username or "guest") == "guest":
        out.append("AMQP_URI dùng tài khoản guest mặc định của RabbitMQ")
    if _marked(str(config.get("AMQP_URI") or "")):
        out.append("AMQP_URI có mật khẩu dành cho phát triển")
    if _marked(str(config.get("MONGO_URI") or "")):
        out.append("MONGO_URI có mật khẩu dành cho phát triển")
    if environ.get(CLOCK_FILE, "").strip():
        out.append(f"{CLOCK_FILE} đang được đặt (đồng hồ dành cho kiểm thử)")
    return out


def effective_config(service_cls: type, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with each secret the service's settings declare and ``config`` lacks at the value
    the service would run with: its settings default, the development value. A configuration file
    written by hand without the line is then refused like one that keeps the default."""
    from .settings import Settings  # settings imports this module's SECRETS

    effective = dict(config)
    for klass in service_cls.__mro__:
        for provider in vars(klass).values():
            if isinstance(provider, Settings):
                for name, field in provider.model.model_fields.items():
                    key = field.alias or name.upper()
                    if key in SECRETS and key not in effective:
                        effective[key] = field.default
    return effective


class ProductionRefused(SystemExit):
    """Ends ``nameko run`` with status 1 and the reasons on stderr."""


def check(config: Mapping[str, Any], service: str, environ: Mapping[str, str] | None = None) -> None:
    if portal_env(environ) != PRODUCTION:
        return
    found = problems(config, environ)
    if found:
        log.critical("%s không khởi động với PORTAL_ENV=production: %s", service, "; ".join(found))
        raise ProductionRefused(f"{service}: không khởi động với PORTAL_ENV=production: {'; '.join(found)}")


class ProductionGuard(DependencyProvider):  # type: ignore[misc]  # nameko is untyped
    """Every service has one (PortalService, GatewayService); it injects nothing."""

    def bind(self, container: Any, attr_name: str) -> ProductionGuard:
        check(effective_config(container.service_cls, container.config), container.service_name)
        bound: ProductionGuard = super().bind(container, attr_name)  # nameko's bind returns a copy of self
        return bound

    def get_dependency(self, worker_ctx: Any) -> None:
        return None
