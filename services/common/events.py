"""The one event envelope, the base of every event's payload model, and the one decorator
that handles an event.

Every event on the wire is an :class:`EventEnvelope` dumped to JSON whose ``payload`` is one
:class:`EventPayload` model (the contracts: :mod:`services.common.event_contracts`). Producers
commit the envelopes they mean to publish in the same insert as the change (see
:mod:`services.common.versioned`) and publish afterwards, so a crash between the write and the
publish loses nothing. Delivery is therefore at-least-once and consumers are idempotent by
``event_id``.
"""

from __future__ import annotations

import functools
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from . import clock
from .errors import BrokerUnavailable
from .messaging import event_handler
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


#: validation context of a consumer reading a message (see EventPart)
READING = {"reading": True}


class EventPart(BaseModel):
    """A model of (part of) an event payload. Built by a producer it refuses a field it does not
    declare, since a misspelt field would otherwise vanish from the wire; read from a message
    (validated with the ``READING`` context) it ignores one, so a consumer still reads a newer
    producer's message."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _declared_fields_only(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and not (info.context or {}).get("reading"):
            fields = cls.model_fields
            unknown = sorted(set(data) - set(fields) - {f.alias for f in fields.values() if f.alias})
            if unknown:
                raise ValueError(f"{cls.__name__} has no field {', '.join(map(str, unknown))}")
        return data


class EventPayload(EventPart):
    """The payload of one event type. ``source`` (the publishing service: the exchange is
    ``<source>.events``) and ``type`` (the routing key) are class attributes, so an event is
    declared once, by its model.

    ``schema_version`` travels in the payload (the envelope keeps its shape, which consumers of
    messages still in queues validate strictly): a producer stamps its model's ``version``, and a
    message without one is version 1. A new version only adds optional fields, so a consumer on
    either side of a deployment reads both; anything else is a new event type."""

    source: ClassVar[str]
    type: ClassVar[str]
    version: ClassVar[int] = 1

    schema_version: int = Field(default=1, ge=1, description="version of this payload's schema; absent means 1")

    @model_validator(mode="before")
    @classmethod
    def _stamp_version(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and "schema_version" not in data and not (info.context or {}).get("reading"):
            return {**data, "schema_version": cls.version}
        return data

    def wire(self) -> dict[str, Any]:
        """The payload as it goes on the wire: JSON values, the fields that were given (a field left
        out stays out, as the per-action fields of a case event do), the schema version always."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


P = TypeVar("P", bound=EventPayload)


class Event(EventEnvelope, Generic[P]):
    """An envelope as a handler receives it: the payload parsed into its model."""

    payload: P


def new_event(payload: EventPayload, actor: Actor | dict, dossier_code: str | None = None) -> dict:
    """A JSON-ready envelope of ``payload`` (its type comes from its model), ready to be stored in an
    outbox and dispatched."""
    actor = actor if isinstance(actor, Actor) else Actor.model_validate(actor)
    env = EventEnvelope(type=payload.type, actor=actor, payload=payload.wire(), dossier_code=dossier_code)
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
    db[PARKED].insert_one(
        {
            "_id": str(uuid.uuid4()),
            "queue": queue,
            "envelope": envelope,
            "error": error,
            "parked_at": utcnow(),
            "replayed": False,
        }
    )


def queue_name(source: str, event_type: str, service: str, method: str) -> str:
    """The queue nameko's ``event_handler`` consumes from (SERVICE_POOL handlers)."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def handles(event: type[P], store_attr: str = "store", retries: int = 3, backoff: float = 0.2) -> Callable:
    """Declare a service method the handler of ``event`` (an :class:`EventPayload` model): it
    consumes the queue ``evt-<source>-<type>--<service>.<method>`` (nameko's SERVICE_POOL
    ``event_handler``, from services.common.messaging), receives an :class:`Event` with the payload
    parsed, and is called once per ``event_id``. A failure is retried with backoff and then
    parked; a message that does not parse is parked at once (retrying cannot help). Nothing is
    dropped silently. A handler that cannot publish (BrokerUnavailable) is neither retried nor
    parked: the message is requeued for when the broker is back.

    ``store_attr`` names the worker attribute holding the service's store, whose ``db`` is the
    pymongo Database. The handler must itself write idempotently (keyed by a natural id), because
    a crash after its write but before ``mark_processed`` redelivers the event, and the
    redelivery takes the claim over once its lease has run out.
    """
    parsed_as = Event[event]

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self: Any, body: Any) -> None:
            db = getattr(self, store_attr).db
            queue = queue_name(event.source, event.type, self.name, fn.__name__)
            try:
                envelope = parsed_as.model_validate(body, context=READING)
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

        return event_handler(event.source, event.type)(wrapper)

    return decorate
