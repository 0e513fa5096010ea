"""The feedback service's payloads, all public: the gateway's routes take and give them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import EmailStr, Field, model_validator

from services.common.schemas import PageNumber, PageSize, Payload, View

Channel = Literal["portal", "email", "phone", "written"]


class Contact(Payload):
    name: str = Field(min_length=2, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^(\+84|0)\d{9,10}$")

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not (self.email or self.phone):
            raise ValueError("Cần thư điện tử hoặc số điện thoại để cơ quan trả lời")
        return self


class NewFeedback(Payload):
    """Phản ánh, kiến nghị or a question (hỏi đáp), about a dossier, a procedure or an agency."""

    kind: Literal["question", "feedback", "complaint"] = "question"
    subject: str = Field(min_length=5, max_length=300)
    body: str = Field(min_length=10, max_length=10000)
    agency_id: str | None = None
    procedure_code: str | None = None
    dossier_code: str | None = None
    publish_consent: bool = Field(default=False, description="the asker allows publishing the answered question")
    contact: Contact | None = Field(default=None, description="required when not signed in")

    @model_validator(mode="after")
    def _about(self) -> NewFeedback:
        if not (self.agency_id or self.procedure_code or self.dossier_code):
            raise ValueError("Cần chọn thủ tục hoặc cơ quan mà câu hỏi, phản ánh liên quan")
        return self


class StaffEntry(NewFeedback):
    """Feedback an official records from email, phone or a letter."""

    channel: Literal["email", "phone", "written"]
    received_at: datetime | None = None


class Answer(Payload):
    answer: str = Field(min_length=10, max_length=10000)


class FeedbackView(View):
    id: str
    channel: str
    kind: str
    subject: str
    body: str
    agency_id: str
    procedure_code: str | None = None
    dossier_code: str | None = None
    status: str
    received_at: datetime
    due_date: date | None = Field(default=None, description="the day the answer is due (3 working days, Art. 11)")
    due_at: datetime
    answered_at: datetime | None = None
    answer: str | None = None
    on_time: bool | None = None
    flags: dict[str, bool] = Field(default_factory=dict)
    escalated: bool = False
    publish_consent: bool = False


class FeedbackPage(View):
    items: list[FeedbackView]
    page: int
    page_size: int
    total: int


class FeedbackQuery(Payload):
    status: Literal["received", "answered"] | None = None
    flag: Literal["at_risk", "overdue"] | None = None
    page: PageNumber = 1
    page_size: PageSize = 20


class PublicQuery(Payload):
    procedure_code: str | None = None
    agency_id: str | None = None
    q: str | None = Field(default=None, max_length=200)
    page: PageNumber = 1
    page_size: PageSize = 20


class PublicQuestion(View):
    id: str
    subject: str
    body: str
    answer: str
    agency_id: str
    procedure_code: str | None = None
    answered_at: datetime


class PublicPage(View):
    items: list[PublicQuestion]
    page: int
    page_size: int
    total: int


class Rating(Payload):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)
