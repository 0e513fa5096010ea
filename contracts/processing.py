"""The processing service's public payloads: the commands officials send, and the views of a case."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from services.common.schemas import MAX_VERSION, FileName, PageNumber, PageSize, Payload, View

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
Reasons = Annotated[list[Annotated[str, Field(min_length=3, max_length=2000)]], Field(min_length=1, max_length=20)]


class Document(Payload):
    """A document an official attaches: the signed result, the refusal, the apology letter."""

    filename: FileName
    content_type: str
    content_b64: str


class MissingItem(Payload):
    document_code: str | None = None
    description: str = Field(min_length=3, max_length=1000)


# Every command's fields in common; the service's own commands (services/processing/schemas.py) extend it too.
class CommandBase(Payload):
    expected_version: int = Field(ge=1, le=MAX_VERSION, description="the case version the official is looking at")


class Receive(CommandBase):
    """Tiếp nhận: the dossier is complete and valid; the clock starts."""

    action: Literal["receive"]
    note: str | None = Field(default=None, max_length=2000)
    fee_paid_at_desk: bool = Field(default=False, description="the fee was paid at the desk")
    department_id: Code | None = Field(
        default=None, description="the specialist department, when the procedure's workflow has no assignment stage"
    )


class RequestSupplement(CommandBase):
    """Yêu cầu bổ sung: list exactly what is missing; the clock pauses."""

    action: Literal["request_supplement"]
    missing: list[MissingItem] = Field(min_length=1, max_length=30)
    note: str | None = Field(default=None, max_length=2000)


class RejectAtReception(CommandBase):
    """Từ chối tiếp nhận, with reasons."""

    action: Literal["reject_at_reception"]
    reasons: Reasons


class Assign(CommandBase):
    """Chuyển phòng chuyên môn."""

    action: Literal["assign"]
    department_id: Code


class RequestCohandling(CommandBase):
    """Xin ý kiến phối hợp (R13): another department of the agency, or another agency."""

    action: Literal["request_cohandling"]
    department_id: Code | None = None
    agency_id: Code | None = None
    task: str = Field(min_length=3, max_length=2000)
    days: int = Field(ge=1, le=60, description="working days for the answer")


class AnswerCohandling(CommandBase):
    action: Literal["answer_cohandling"]
    request_id: str
    answer: str = Field(min_length=3, max_length=5000)


class Propose(CommandBase):
    """Đề xuất: the specialist proposes the decision to the leader."""

    action: Literal["propose"]
    summary: str = Field(min_length=3, max_length=5000)


class Approve(CommandBase):
    """Phê duyệt, ký: the leader signs; the signed result document is attached."""

    action: Literal["approve"]
    result_document: Document


class SendBack(CommandBase):
    action: Literal["send_back"]
    reason: str = Field(min_length=3, max_length=2000)


class MarkResultReady(CommandBase):
    """The result is back at the reception desk (R12)."""

    action: Literal["mark_result_ready"]


class Deliver(CommandBase):
    """Trả kết quả in person or by post (online return is the citizen's download)."""

    action: Literal["deliver"]
    method: Literal["in_person", "post"]
    note: str | None = Field(default=None, max_length=2000)
    fee_paid_at_desk: bool = Field(default=False, description="the fee was paid at the desk with the result")


class DraftRefusal(CommandBase):
    """Ineligible after review (R14): the department drafts the reasons."""

    action: Literal["draft_refusal"]
    reasons: Reasons


class SignRefusal(CommandBase):
    action: Literal["sign_refusal"]
    refusal_document: Document


class ReturnWithReasons(CommandBase):
    action: Literal["return_with_reasons"]
    note: str | None = Field(default=None, max_length=2000)


class IssueApology(CommandBase):
    """Văn bản xin lỗi (Decree 61/2018) with a new appointment date, for a late case."""

    action: Literal["issue_apology"]
    letter: str = Field(min_length=10, max_length=5000)
    new_due_date: date


CaseCommandUnion = Annotated[
    Receive
    | RequestSupplement
    | RejectAtReception
    | Assign
    | RequestCohandling
    | AnswerCohandling
    | Propose
    | Approve
    | SendBack
    | MarkResultReady
    | Deliver
    | DraftRefusal
    | SignRefusal
    | ReturnWithReasons
    | IssueApology,
    Field(discriminator="action"),
]


class CaseCommand(RootModel[CaseCommandUnion]):
    """One workflow step on a case; ``action`` selects which."""


class QueueQuery(Payload):
    status: str | None = None
    department_id: str | None = None
    flag: Literal["at_risk", "overdue", "reception_at_risk", "reception_overdue"] | None = None
    cohandling: bool = False
    page: PageNumber = 1
    page_size: PageSize = 20


class StageView(View):
    """The stage a case is in (bước xử lý), with its own due day."""

    code: str
    name: str
    kind: str
    roles: list[str]
    days: int | None = None
    started_at: datetime
    due_date: date | None = None
    days_left: int | None = Field(
        default=None,
        description="working days left to the stage's due day, today and the due day included (added on reading)",
    )


class StageRecord(View):
    code: str
    name: str
    kind: str
    started_at: datetime
    finished_at: datetime
    due_date: date | None = None
    late: bool = False
    department_id: str | None = None


class CaseSummary(View):
    code: str
    procedure_code: str
    procedure_name: str
    agency_id: str
    department_id: str | None = None
    status: str
    version: int
    channel: str | None = None
    fee_status: str = "not_required"
    submitted_at: datetime
    due_date: date | None = None
    due_at: datetime | None = None
    reception_due_date: date | None = None
    stage: StageView | None = None
    flags: dict[str, bool] = Field(default_factory=dict)


class CasePage(View):
    items: list[CaseSummary]
    page: int
    page_size: int
    total: int


class FileRef(View):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str


class Case(View):
    """Hồ sơ đang giải quyết, as officials see it."""

    code: str
    version: int
    procedure_code: str
    procedure_version: int
    procedure_name: str
    agency_id: str
    department_id: str | None = None
    applicant_id: str
    level: int
    handled_as_level: int
    delivery_method: str
    status: str
    submitted_at: datetime
    received_at: datetime | None = None
    due_date: date | None = Field(
        default=None, description="the due day (hạn trả kết quả); the period ends at 24:00 local time of that day"
    )
    due_at: datetime | None = Field(default=None, description="the instant the period ends (24:00 local of due_date)")
    statutory_due_date: date | None = Field(default=None, description="the due day without extensions (R15)")
    reception_due_date: date | None = Field(default=None, description="the day reception must act by (Art. 14.5)")
    reception_late: bool | None = None
    paused: bool = False
    processing_days: int
    supplement_clock: str
    fee_vnd: int = 0
    fee_status: str = "not_required"
    supplement: dict[str, Any] | None = None
    supplements: list[dict[str, Any]] = Field(default_factory=list)
    stage: StageView | None = None
    stages: list[StageRecord] = Field(default_factory=list)
    workflow: dict[str, Any] | None = None
    cohandling: list[dict[str, Any]] = Field(default_factory=list)
    proposal: dict[str, Any] | None = None
    reasons: list[str] | None = None
    result_document: FileRef | None = None
    refusal_document: FileRef | None = None
    apologies: list[dict[str, Any]] = Field(default_factory=list)
    timing_class: str | None = None
    flags: dict[str, bool] = Field(default_factory=dict)
    delivered: dict[str, Any] | None = None
    redo: dict[str, Any] | None = None
    channel: str | None = None
    updated_at: datetime
    available_actions: list[str] = Field(default_factory=list, description="the steps the caller can take now")


class TimelineEntry(View):
    at: datetime
    action: str
    status: str
    agency_id: str | None = None
    reason: str | None = None


class Timeline(View):
    """What the citizen (and, without reasons, the public) sees of a case."""

    code: str
    status: str
    agency_id: str
    department_id: str | None = None
    due_date: date | None = None
    due_at: datetime | None = None
    fee_vnd: int = 0
    handled_as_level: int | None = None
    delivery_method: str | None = None
    paused: bool = False
    timing_class: str | None = None
    fee_status: str = "not_required"
    supplement: dict[str, Any] | None = None
    reasons: list[str] | None = None
    result_document: FileRef | None = None
    refusal_document: FileRef | None = None
    entries: list[TimelineEntry]


class HistoryEntry(View):
    """One step of the hash-chained case history (nhật ký xử lý hồ sơ), as officials see it."""

    version: int
    at: datetime
    action: str
    from_status: str | None = None
    to_status: str
    actor: dict[str, Any]
    reason: str | None = None
    department_id: str | None = Field(
        default=None, description="the department the case went to (reception without an assignment stage, assign)"
    )
    amendments: list[dict[str, Any]] | None = Field(
        default=None, description="a supplement's corrections to the form: field, old and new value"
    )
    hash: str


class CaseHistory(View):
    code: str
    entries: list[HistoryEntry]


class ChainReport(View):
    code: str
    valid: bool
    checked: int
    broken_at: int | None = None
    reason: str | None = None
