"""Structured logs and correlation ids, the same in every process.

Each log line is one JSON object with the component, level, message and the correlation ids of
the work in hand: ``request_id`` (set by the gateway, carried to every RPC and event through
nameko's context headers), ``call_id`` (nameko's call-id stack) and ``dossier_code`` when known.
Logs must never carry personal data: code logs ids, not people; ``redact`` is a second line of
defence that masks e-mail addresses and the digit runs of national ids, tax codes and phone
numbers in any message or traceback.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider

from .errors import PortalError
from .personal_data import EMAIL, PHONE

_local = threading.local()  # green-thread local once eventlet has monkey-patched threading

# digit runs that may be a national id (12), tax code (10/13) or phone number, grouped or not
DIGITS = re.compile(r"(?<![\w-])\+?\d{2,4}(?:[ .]?\d{3,5}){1,3}(?![\w-])")
REQUEST_ID = re.compile(r"^[\w.:-]{1,64}$")


def redact(text: str) -> str:
    text = EMAIL.sub("<email>", text)
    text = PHONE.sub("<phone>", text)
    return DIGITS.sub(lambda m: m.group(0) if len(re.sub(r"\D", "", m.group(0))) < 9 else "<number>", text)


def log_context() -> dict:
    return getattr(_local, "ids", None) or {}


def bind(**ids: Any) -> None:
    """Add correlation ids (e.g. the dossier code) to the current worker's log lines."""
    _local.ids = {**log_context(), **{k: v for k, v in ids.items() if v}}


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-Id when it is a sane token, else a new one."""
    return header if header and REQUEST_ID.match(header) else uuid.uuid4().hex


class ExpectedErrors(logging.Filter):
    """nameko logs every exception a worker raises at ERROR, with its traceback and message. A
    PortalError below 500 is an answer (refused, not found, invalid), not a fault, and its message
    may quote what a person sent (a file name with their own name in it): it becomes one INFO line
    with the entrypoint, status and code. Anything else keeps its ERROR and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, PortalError) and exc.status < 500:
            worker = record.args[0] if isinstance(record.args, tuple) and record.args else None
            entrypoint = getattr(worker, "entrypoint", None)
            where = f"{getattr(worker, 'service_name', '?')}.{getattr(entrypoint, 'method_name', '?')}"
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "%s answered %d %s", (where, exc.status, exc.code)
            record.exc_info, record.exc_text = None, None
            # Lowered past the logger's own level check: honour LOG_LEVEL here.
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


EXPECTED_ERRORS = ExpectedErrors()


class CorrelationIds(DependencyProvider):
    """Binds the worker's request id and call id for its log lines (and clears them after), and
    keeps expected errors out of the error log (ExpectedErrors) in every process that has it."""

    def setup(self) -> None:
        logging.getLogger("nameko.containers").addFilter(EXPECTED_ERRORS)

    def worker_setup(self, worker_ctx) -> None:
        _local.ids = {
            "request_id": worker_ctx.context_data.get("request_id"),
            "call_id": ".".join(worker_ctx.call_id_stack[-1:]) or None,
        }

    def worker_teardown(self, worker_ctx) -> None:
        _local.ids = {}

    def get_dependency(self, worker_ctx):
        return worker_ctx


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "portal", **_: Any):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        line.update({k: v for k, v in log_context().items() if v})
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)
