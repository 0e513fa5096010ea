"""Payloads of the processing service: commands officials send, and views."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import Field, RootModel

from services.common.schemas import MAX_VERSION, FileName, PageNumber, PageSize, Payload, View

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]
Reasons = Annotated[list[Annotated[str, Field(min_length=3, max_length=2000)]], Field(min_length=1, max_length=20)]

OPEN_STATUSES = ("submitted", "returned_for_supplement", "received", "in_review", "proposed", "approved",
                 "result_ready", "refusal_drafted", "refusal_signed")
CLOCK_STATUSES = ("received", "in_review", "proposed", "approved", "refusal_drafted", "refusal_signed")
CLOSED_STATUSES = ("delivered", "rejected_at_reception", "returned_with_reasons", "withdrawn")


class Document(Payload):
    """A document an official attaches: the signed result, the refusal, the apology letter."""
    filename: FileName
    content_type: str
    content_b64: str


class MissingItem(Payload):
    document_code: str | None = None
    description: str = Field(min_length=3, max_length=1000)


class _Command(Payload):
    expected_version: int = Field(ge=1, le=MAX_VERSION, description="the case version the official is looking at")


class Receive(_Command):
    """Tiếp nhận: the dossier is complete and valid; the clock starts."""
    action: Literal["receive"]
    note: str | None = Field(default=None, max_length=2000)
    fee_paid_at_desk: bool = Field(default=False, description="the fee of a level-4 dossier was paid at the desk")


class RequestSupplement(_Command):
    """Yêu cầu bổ sung: list exactly what is missing; the clock pauses."""
    action: Literal["request_supplement"]
    missing: list[MissingItem] = Field(min_length=1, max_length=30)
    note: str | None = Field(default=None, max_length=2000)


class RejectAtReception(_Command):
    """Từ chối tiếp nhận, with reasons."""
    action: Literal["reject_at_reception"]
    reasons: Reasons


class Assign(_Command):
    """Chuyển phòng chuyên môn."""
    action: Literal["assign"]
    department_id: Code


class RequestCohandling(_Command):
    """Xin ý kiến phối hợp (R13): another department of the agency, or another agency."""
    action: Literal["request_cohandling"]
    department_id: Code | None = None
    agency_id: Code | None = None
    task: str = Field(min_length=3, max_length=2000)
    days: int = Field(ge=1, le=60, description="working days for the answer")


class AnswerCohandling(_Command):
    action: Literal["answer_cohandling"]
    request_id: str
    answer: str = Field(min_length=3, max_length=5000)


class Propose(_Command):
    """Đề xuất: the specialist proposes the decision to the leader."""
    action: Literal["propose"]
    summary: str = Field(min_length=3, max_length=5000)


class Approve(_Command):
    """Phê duyệt, ký: the leader signs; the signed result document is attached."""
    action: Literal["approve"]
    result_document: Document


class SendBack(_Command):
    action: Literal["send_back"]
    reason: str = Field(min_length=3, max_length=2000)


class MarkResultReady(_Command):
    """The result is back at the reception desk (R12)."""
    action: Literal["mark_result_ready"]


class Deliver(_Command):
    """Trả kết quả in person or by post (online return is the citizen's download)."""
    action: Literal["deliver"]
    method: Literal["in_person", "post"]
    note: str | None = Field(default=None, max_length=2000)


class DraftRefusal(_Command):
    """Ineligible after review (R14): the department drafts the reasons."""
    action: Literal["draft_refusal"]
    reasons: Reasons


class SignRefusal(_Command):
    action: Literal["sign_refusal"]
    refusal_document: Document


class ReturnWithReasons(_Command):
    action: Literal["return_with_reasons"]
    note: str | None = Field(default=None, max_length=2000)


class IssueApology(_Command):
    """Văn bản xin lỗi (Decree 61/2018) with a new appointment date, for a late case."""
    action: Literal["issue_apology"]
    letter: str = Field(min_length=10, max_length=5000)
    new_due_date: date


CaseCommandUnion = Annotated[Union[
    Receive, RequestSupplement, RejectAtReception, Assign, RequestCohandling, AnswerCohandling, Propose, Approve,
    SendBack, MarkResultReady, Deliver, DraftRefusal, SignRefusal, ReturnWithReasons, IssueApology,
], Field(discriminator="action")]


class CaseCommand(RootModel[CaseCommandUnion]):
    """One workflow step on a case; ``action`` selects which."""


class Supplement(Payload):
    """The citizen's supplement: the attachments (already stored by intake) and a note."""
    attachment_ids: list[str] = Field(default_factory=list, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class QueueQuery(Payload):
    status: str | None = None
    department_id: str | None = None
    flag: Literal["at_risk", "overdue"] | None = None
    cohandling: bool = False
    page: PageNumber = 1
    page_size: PageSize = 20


class CaseSummary(View):
    code: str
    procedure_code: str
    procedure_name: str
    agency_id: str
    department_id: str | None = None
    status: str
    version: int
    submitted_at: datetime
    due_at: datetime | None = None
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
    due_at: datetime | None = None
    statutory_due_at: datetime | None = None
    paused: bool = False
    processing_days: int
    supplement_clock: str
    fee_vnd: int = 0
    fee_status: str = "not_required"
    supplement: dict[str, Any] | None = None
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
    due_at: datetime | None = None
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
