"""The one event envelope and the idempotent consumer.

Every event on the wire is an :class:`EventEnvelope` dumped to JSON. Producers
commit the envelopes they mean to publish in the same insert as the change
(see :mod:`services.common.versioned`) and publish afterwards, so a crash
between the write and the publish loses nothing. Delivery is therefore
at-least-once and consumers are idempotent by ``event_id``.
"""
from __future__ import annotations

import functools
import logging
import time
import traceback
import uuid
from datetime import datetime
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from . import clock
from .errors import BrokerUnavailable
from .observability import bind

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """Now, from the one injectable clock (services.common.clock)."""
    return clock.now()


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    role: str
    agency_id: str | None = None
    department_id: str | None = None


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str
    occurred_at: datetime = Field(default_factory=utcnow)
    actor: Actor
    dossier_code: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


def new_event(type_: str, actor: Actor | dict, payload: dict[str, Any], dossier_code: str | None = None) -> dict:
    """A JSON-ready envelope, ready to be stored in an outbox and dispatched."""
    actor = actor if isinstance(actor, Actor) else Actor.model_validate(actor)
    env = EventEnvelope(type=type_, actor=actor, payload=payload, dossier_code=dossier_code)
    return env.model_dump(mode="json")


# ------------------------------------------------------------- consumers

PROCESSED = "processed_events"
PARKED = "parked_messages"


# A claim left by a worker that died is taken over after this long. Handlers are
# idempotent, so the lease only orders concurrent duplicates; it need not be long.
LEASE_SECONDS = 10.0


def claim_event(db: Database, event_id: str, event_type: str, lease: float = LEASE_SECONDS) -> bool:
    """True when this worker should handle the event, False when it is done already.

    The claim is an insert (atomic on every server). A duplicate arriving
    while another worker holds a fresh claim waits for it to finish; a claim
    older than ``lease`` (its worker died) or a parked one is taken over.
    """
    try:
        db[PROCESSED].insert_one({"_id": event_id, "type": event_type, "status": "handling", "claimed_at": utcnow()})
        return True
    except DuplicateKeyError:
        pass
    deadline = time.monotonic() + lease
    while True:
        doc = db[PROCESSED].find_one({"_id": event_id}) or {}
        if doc.get("status") == "done":
            return False
        claimed = doc.get("claimed_at")
        stale = claimed is None or (utcnow() - claimed).total_seconds() > lease
        if doc.get("status") != "handling" or stale or time.monotonic() > deadline:
            db[PROCESSED].update_one({"_id": event_id}, {"$set": {"status": "handling", "claimed_at": utcnow()}})
            return True
        time.sleep(0.1)


def release_claim(db: Database, event_id: str) -> None:
    db[PROCESSED].delete_one({"_id": event_id})


def mark_processed(db: Database, event_id: str, status: str = "done") -> None:
    db[PROCESSED].update_one({"_id": event_id}, {"$set": {"status": status, "at": utcnow()}})


def park(db: Database, queue: str, envelope: Any, error: str) -> None:
    """Keep a message that kept failing, with its error, for an operator to replay."""
    db[PARKED].insert_one({
        "_id": str(uuid.uuid4()), "queue": queue, "envelope": envelope,
        "error": error, "parked_at": utcnow(), "replayed": False,
    })


def queue_name(source: str, event_type: str, service: str, method: str) -> str:
    """The queue nameko's ``event_handler`` consumes from (SERVICE_POOL handlers)."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def consumer(source: str, event_type: str, store_attr: str = "store", retries: int = 3,
             backoff: float = 0.2) -> Callable:
    """Wrap an ``@event_handler(source, event_type)`` method: validate the
    envelope, skip duplicates, retry with backoff, park after the last failure.
    Nothing is dropped silently. A handler that cannot publish (BrokerUnavailable)
    is neither retried nor parked: the message is requeued for when the broker is back.

    ``store_attr`` names the worker attribute holding the service's store, whose
    ``db`` is the pymongo Database. The handler receives an EventEnvelope and
    must itself write idempotently (keyed by a natural id), because a crash
    after its write but before ``mark_processed`` redelivers the event, and
    the redelivery takes the claim over once its lease has run out.
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self: Any, body: Any) -> None:
            db = getattr(self, store_attr).db
            queue = queue_name(source, event_type, self.name, fn.__name__)
            try:
                envelope = EventEnvelope.model_validate(body)
            except Exception as exc:  # malformed: retrying cannot help
                log.error("malformed event on %s parked: %s", queue, exc)
                park(db, queue, body, f"malformed envelope: {exc}")
                return
            bind(event_id=envelope.event_id, dossier_code=envelope.dossier_code)
            if not claim_event(db, envelope.event_id, envelope.type):
                return
            error = ""
            for attempt in range(1, retries + 1):
                try:
                    fn(self, envelope)
                    mark_processed(db, envelope.event_id)
                    return
                except BrokerUnavailable:
                    # Not the event's fault: free the claim for the redelivery that follows once the
                    # broker is back (services.common.messaging requeues the message).
                    release_claim(db, envelope.event_id)
                    raise
                except Exception:
                    error = traceback.format_exc()
                    log.warning("handler %s failed (attempt %d/%d)", queue, attempt, retries)
                    if attempt < retries:
                        time.sleep(backoff * 2 ** (attempt - 1))
            mark_processed(db, envelope.event_id, "parked")
            park(db, queue, body, error)

        return wrapper

    return decorate
