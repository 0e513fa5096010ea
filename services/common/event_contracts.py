"""The contract of every event the portal publishes: one payload model per event type, with the
service that publishes it (``source``), its routing key (``type``) and its schema version.

Producers build these models and publish them with ``new_event(Model(...), actor, dossier_code)``;
consumers declare ``@handles(Model)`` and receive ``Event[Model]``, the envelope with the payload
parsed (services.common.events explains the envelope, versions and tolerance). Reporting keeps the
raw envelopes and folds their JSON (services/reporting/folding.py).

Optional fields are optional on the wire: a field a producer leaves out is not sent, which is how
the per-action fields of a case event come and go. ``python -m services.common.event_contracts``
prints docs/EVENTS.md, the JSON Schema of each payload (tests/unit/test_event_contracts.py keeps
the file current).
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import Field

from .events import EventPart, EventPayload
from .workflows import Workflow

# ------------------------------------------------------------------ parts


class Origin(EventPart):
    """A filing by a ministry system (R31): which system, under which of its case numbers."""

    system_id: str
    issue: str


class AttachmentRef(EventPart):
    id: str
    document_code: str
    sha256: str
    size: int


class Flags(EventPart):
    """The deadline flags of a case: the processing clock's and reception's."""

    at_risk: bool = False
    overdue: bool = False
    reception_at_risk: bool = False
    reception_overdue: bool = False


class StageRef(EventPart):
    """The workflow stage a case is in (R32)."""

    code: str
    name: str
    kind: str = Field(description="reception | assignment | review | approval | result")
    due_date: date | None = None


class StageCompleted(EventPart):
    """The stage a transition completed, late or not (reporting counts late stages by department)."""

    code: str
    name: str
    kind: str
    department_id: str | None = None
    due_date: date | None = None
    late: bool


class MissingItem(EventPart):
    document_code: str | None = None
    description: str


class FileRef(EventPart):
    """A result or refusal document kept by processing (read it with processing's ``get_file``)."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    chunks: int


class CohandlingRequest(EventPart):
    """A request for another department's or agency's opinion (R13), and its answer once given."""

    id: str
    department_id: str | None = None
    agency_id: str | None = None
    task: str
    requested_at: datetime
    requested_by: str
    sub_due_date: date
    status: str = Field(description="open | answered")
    answer: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    on_time: bool | None = None


class Amendment(EventPart):
    """A form field corrected by a supplement (Art. 15.4)."""

    field: str
    old: Any = None
    new: Any = None


class Redo(EventPart):
    shipment_id: str
    requested_at: datetime
    reason: str


class Compensation(EventPart):
    """What the postal operator owes for a lost shipment (R30)."""

    fees_vnd: int
    costs_vnd: int
    status: str
    opened_at: datetime
    redo_requested: bool


# ----------------------------------------------------------------- intake


class AccountRegistered(EventPayload):
    """A citizen or an organisation registered (notification keeps the contact)."""

    source: ClassVar[str] = "intake"
    type: ClassVar[str] = "account_registered"

    account_id: str
    kind: str = Field(description="individual | organisation")
    name: str
    email: str | None = None
    phone: str | None = None


class DossierFacts(EventPayload):
    """What every event about a filed dossier repeats of it: intake's filing, processing's case
    events (whose copies of these fields come from the case, which took them from the filing)."""

    code: str = Field(description="the dossier code")
    procedure_code: str
    procedure_name: str
    agency_id: str
    applicant_id: str = Field(description="the account, or walk-in:<uuid> for a desk filing without one")
    level: int = Field(description="the procedure's level (2, 3, 4)")
    sector: str | None = None
    channel: str | None = Field(default=None, description="online | postal | ministry_system | in_person")
    delivery_method: str = Field(description="online | in_person | post")
    delivery_address: str | None = None
    delivery_province_code: str | None = None
    fee_vnd: int = 0

    @classmethod
    def of(cls, doc: dict[str, Any]) -> dict[str, Any]:
        """These fields of a stored dossier or case (those it has)."""
        return {k: doc[k] for k in DossierFacts.model_fields if k in doc and k != "schema_version"}


class DossierSubmitted(DossierFacts):
    """A dossier was filed (online, by post, by a ministry system or at the desk): processing
    opens its case, payment records a level-4 fee, notification sends the receipt."""

    source: ClassVar[str] = "intake"
    type: ClassVar[str] = "dossier_submitted"

    procedure_version: int
    field: str | None = None
    handled_as_level: int = Field(description="4 only with a valid digital signature (Art. 7.2a)")
    signed: bool = False
    channel: str = Field(default="online", description="online | postal | ministry_system | in_person")
    processing_days: int
    workflow: Workflow | None = Field(default=None, description="the procedure version's workflow (None: the default)")
    supplement_clock: str = Field(default="restart", description="restart | resume")
    origin: Origin | None = None
    awaiting_fee: bool = Field(default=False, description="a level-4 fee to pay online before reception")
    submitted_at: datetime
    attachments: list[AttachmentRef] = []


# ------------------------------------------------------------- processing


class CaseOpened(EventPayload):
    """Processing opened the case of a filed dossier."""

    source: ClassVar[str] = "processing"
    type: ClassVar[str] = "case_opened"

    code: str
    agency_id: str
    procedure_code: str
    applicant_id: str
    reception_due_date: date | None = Field(default=None, description="None while a level-4 fee is awaited")


class CaseEvent(DossierFacts):
    """What every transition of a case says: the action, the statuses, the case version, the clock."""

    action: str = Field(description="a row of services/processing/workflow.py LIFECYCLE")
    from_: str = Field(alias="from", description="the status before")
    to: str = Field(description="the status after")
    case_version: int = Field(description="consumers apply only newer versions")
    department_id: str | None = None
    due_at: datetime | None = None
    due_date: date | None = None
    reason: str | None = None
    flags: Flags | None = None


class CaseStatusChanged(CaseEvent):
    """A case moved through its workflow (every action but the deadline sweep's and a ministry's
    read). Besides the common fields, each action adds its own."""

    source: ClassVar[str] = "processing"
    type: ClassVar[str] = "case_status_changed"

    stage: StageRef | None = Field(default=None, description="the stage the case is in after the action")
    stage_completed: StageCompleted | None = None
    # receive
    reception_due_date: date | None = Field(default=None, description="receive, supplement at reception, fee_paid")
    reception_late: bool | None = Field(default=None, description="receive: after reception's due day")
    # request_supplement
    missing: list[MissingItem] | None = None
    # reject_at_reception, draft_refusal, return_with_reasons
    reasons: list[str] | None = None
    # request_cohandling, answer_cohandling
    request: CohandlingRequest | None = None
    # approve, mark_result_ready / sign_refusal, return_with_reasons
    result_document: FileRef | None = None
    refusal_document: FileRef | None = None
    # mark_result_ready, return_with_reasons
    timing_class: str | None = Field(default=None, description="early | on_time | late (R15)")
    # deliver, collect_result
    method: str | None = None
    # issue_apology
    new_due_date: date | None = None
    letter: str | None = None
    # supplement
    attachment_ids: list[str] | None = None
    amendments: list[Amendment] | None = None
    staging_id: str | None = None
    # fee_paid
    payment_id: str | None = None
    # redo_after_loss
    redo: Redo | None = None


class CaseDeadlineFlagged(CaseEvent):
    """The deadline sweep raised or lowered a case's flags."""

    source: ClassVar[str] = "processing"
    type: ClassVar[str] = "case_deadline_flagged"

    newly: list[str] = Field(default=[], description="the flags just raised")


class CaseAccessed(CaseEvent):
    """A ministry system read the case (R31); the read is in the case history."""

    source: ClassVar[str] = "processing"
    type: ClassVar[str] = "case_accessed"

    stage: StageRef | None = None


# ---------------------------------------------------------------- payment


class PaymentSucceeded(EventPayload):
    """A level-4 fee was paid online: the case may be received."""

    source: ClassVar[str] = "payment"
    type: ClassVar[str] = "payment_succeeded"

    payment_id: str
    code: str
    amount_vnd: int
    provider_txn: str | None = None


class RefundCompleted(EventPayload):
    """The provider refunded (part of) a payment (R11)."""

    source: ClassVar[str] = "payment"
    type: ClassVar[str] = "refund_completed"

    refund_id: str
    payment_id: str
    code: str
    amount_vnd: int
    automatic: bool


# --------------------------------------------------------------- feedback


class FeedbackReceived(EventPayload):
    """Feedback or a question arrived, from any channel (R17)."""

    source: ClassVar[str] = "feedback"
    type: ClassVar[str] = "feedback_received"

    id: str
    agency_id: str
    channel: str
    kind: str
    due_at: datetime
    due_date: date
    procedure_code: str | None = None


class FeedbackAnswered(EventPayload):
    """An agency answered; notification sends the answer to the asker (R19)."""

    source: ClassVar[str] = "feedback"
    type: ClassVar[str] = "feedback_answered"

    id: str
    agency_id: str
    on_time: bool
    subject: str
    answer: str
    account_id: str | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    channel: str


class FeedbackEscalated(EventPayload):
    """Unanswered past its due day: escalated to the province office."""

    source: ClassVar[str] = "feedback"
    type: ClassVar[str] = "feedback_escalated"

    id: str
    agency_id: str
    due_at: datetime
    due_date: date


class DossierRated(EventPayload):
    """The applicant rated the handling of a delivered dossier."""

    source: ClassVar[str] = "feedback"
    type: ClassVar[str] = "dossier_rated"

    code: str
    agency_id: str
    score: int = Field(ge=1, le=5)


# ----------------------------------------------------------------- postal


class ShipmentEvent(EventPayload):
    shipment_id: str
    kind: str = Field(description="pickup | return")
    dossier_code: str | None = None
    operator_id: str
    at: datetime = Field(description="when the operator says it happened")


class ShipmentDelivered(ShipmentEvent):
    """The operator delivered a shipment; a return after its due time is late (R29)."""

    source: ClassVar[str] = "postal"
    type: ClassVar[str] = "shipment_delivered"

    late: bool
    due_at: datetime | None = None


class ShipmentLost(ShipmentEvent):
    """The operator lost a shipment: compensation is opened, a lost result is redone (R30)."""

    source: ClassVar[str] = "postal"
    type: ClassVar[str] = "shipment_lost"

    compensation: Compensation


# ---------------------------------------------------------------- gateway


class IncidentOpened(EventPayload):
    """A service has not answered for INCIDENT_AFTER_SECONDS (R24)."""

    source: ClassVar[str] = "gateway"
    type: ClassVar[str] = "incident_opened"

    service: str
    since: datetime
    detail: str | None = None


class IncidentResolved(EventPayload):
    """The service answers again."""

    source: ClassVar[str] = "gateway"
    type: ClassVar[str] = "incident_resolved"

    service: str
    since: datetime
    resolved_at: datetime


# --------------------------------------------------------------- ministry


class StatusChange(EventPayload):
    """A dossier a ministry system filed changed status (R31). The system receives this without an
    envelope on its queue `ministry.<system>.status` (exchange `ministry.events`, routing key
    `case_status_changed.<system>`); delivery is at least once: drop a repeat by `event_id`."""

    source: ClassVar[str] = "ministry"
    type: ClassVar[str] = "case_status_changed"

    event_id: str
    dossier_code: str
    issue: str
    action: str
    from_status: str | None
    to_status: str
    occurred_at: str


#: every event published in an envelope, in the order of docs/EVENTS.md
EVENTS: tuple[type[EventPayload], ...] = (
    AccountRegistered,
    DossierSubmitted,
    CaseOpened,
    CaseStatusChanged,
    CaseDeadlineFlagged,
    CaseAccessed,
    PaymentSucceeded,
    RefundCompleted,
    FeedbackReceived,
    FeedbackAnswered,
    FeedbackEscalated,
    DossierRated,
    ShipmentDelivered,
    ShipmentLost,
    IncidentOpened,
    IncidentResolved,
)
#: messages to systems outside the portal, published without an envelope
MESSAGES: tuple[type[EventPayload], ...] = (StatusChange,)


def markdown() -> str:
    """docs/EVENTS.md: each event's source, type, version, description and JSON Schema."""
    out = [
        "# Events",
        "",
        "Generated by `python -m services.common.event_contracts > docs/EVENTS.md` from",
        "`services/common/event_contracts.py`; do not edit by hand (tests/unit/test_event_contracts.py",
        "fails when this file is not what the command prints).",
        "",
        "Every event travels in the envelope `{event_id, type, occurred_at, actor{id, role, agency_id,",
        "department_id}, dossier_code, payload}` on the topic exchange `<source>.events`, routed by its",
        "type. The payload carries `schema_version` (absent: 1); a new version only adds optional",
        "fields, and a consumer ignores fields it does not know. An optional field a producer leaves",
        "out is not sent.",
        "",
        "| type | source | version | what |",
        "|---|---|---|---|",
    ]
    for model in (*EVENTS, *MESSAGES):
        routing = model.type + (".<system>" if model in MESSAGES else "")
        out.append(f"| [`{routing}`](#{_anchor(model)}) | {model.source} | {model.version} | {_summary(model)} |")
    for title, models in (("Events", EVENTS), ("Messages to ministry systems (no envelope)", MESSAGES)):
        out += ["", f"## {title}"]
        for model in models:
            schema = model.model_json_schema(by_alias=True)
            out += [
                "",
                f"### {model.source}.{model.type}",
                "",
                " ".join((model.__doc__ or "").split()),
                "",
                f"Model `{model.__name__}`, schema version {model.version}.",
                "",
                "```json",
                json.dumps(schema, ensure_ascii=False, indent=2),
                "```",
            ]
    return "\n".join(out) + "\n"


def _anchor(model: type[EventPayload]) -> str:
    return f"{model.source}{model.type}".lower()  # GitHub drops the dot of "source.type"


def _summary(model: type[EventPayload]) -> str:
    """The docstring's first sentence."""
    return " ".join((model.__doc__ or "").split()).split(". ")[0].rstrip(".")


if __name__ == "__main__":
    sys.stdout.write(markdown())
