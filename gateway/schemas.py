"""The gateway's own HTTP payloads: what only the HTTP side has (a filing as one JSON document, the
error envelope, health, queries of the gateway's routes). The services' payloads are in contracts/."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel

from contracts.intake import (
    Account,
    Agency,
    AttachmentIn,
    Code,
    DeskFiling,
    FileDossier,
    RegisterIndividual,
    RegisterOrganisation,
    SignedFile,
)
from contracts.payment import Refund
from contracts.postal import Shipment
from services.common.schemas import MAX_VERSION, PageNumber, PageSize, Payload


class RegisterRequest(RootModel[Annotated[RegisterIndividual | RegisterOrganisation, Field(discriminator="kind")]]):
    """Đăng ký tài khoản: an individual (national ID) or an organisation (tax code)."""


class FileDossierJson(FileDossier):
    """Filing as one JSON document, attachments base64-encoded."""

    attachments: list[AttachmentIn] = Field(default_factory=list)


class DeskFilingJson(DeskFiling):
    """A paper dossier filed at the desk, as one JSON document with its scanned files base64-encoded."""

    attachments: list[AttachmentIn] = Field(default_factory=list)


class FormTemplate(BaseModel):
    procedure_code: str
    document_code: str
    filename: str
    content_type: str
    size: int
    sha256: str


class SigningRequest(Payload):
    """What will be filed: the signing payload is computed from exactly this."""

    procedure_code: Code
    form_data: dict[str, Any]
    attachments: list[SignedFile] = Field(default_factory=list, max_length=20, description="the files to attach")


class SigningPayload(BaseModel):
    payload_b64: str
    sha256: str
    procedure_version: int


class DayQuery(Payload):
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="default: yesterday")


class RefundList(RootModel[list[Refund]]):
    pass


class CallbackAck(BaseModel):
    result: str
    status: str


class RatingView(BaseModel):
    dossier_code: str
    score: int
    comment: str | None = None


class FiledOnBehalf(BaseModel):
    shipment: Shipment
    dossier_code: str


class ShipmentList(RootModel[list[Shipment]]):
    pass


PERIOD = r"^(ALL|Y\d{4}|Q\d{4}-[1-4]|M\d{4}-(0[1-9]|1[0-2])|D\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))$"


class PeriodQuery(Payload):
    period: str | None = Field(default=None, pattern=PERIOD, description="ALL, Y2026, Q2026-1, M2026-03 or D2026-03-15")


class DashboardQuery(PeriodQuery):
    dim: Literal["all", "agency", "procedure", "sector", "level"] = "all"
    value: str = "*"


class ReportQuery(Payload):
    scope: str = Field(description="an agency id, or 'province'")
    period: str = Field(pattern=r"^(Y\d{4}|Q\d{4}-[1-4])$", description="Q2026-1 … or Y2026")
    format: Literal["json", "csv", "xlsx", "html"] = "json"


class VersionQuery(Payload):
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class PageQuery(Payload):
    page: PageNumber = 1
    page_size: PageSize = 20


class SupplementRequest(Payload):
    """Bổ sung và sửa đổi hồ sơ (Art. 15.4): the missing files (base64), corrections to the form, a note."""

    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)
    form_changes: dict[str, Any] = Field(default_factory=dict, description="eForm field → corrected value")
    note: str | None = Field(default=None, max_length=2000)


class InboxQuery(Payload):
    page: PageNumber = 1
    page_size: PageSize = 20
    unread_only: bool = False


class InboxMessage(BaseModel):
    id: str
    dossier_code: str
    action: str
    subject: str
    body: str
    created_at: str
    read_at: str | None = None
    document: dict | None = None


class InboxPage(BaseModel):
    items: list[InboxMessage]
    page: int
    page_size: int
    total: int


class ReadReceipt(BaseModel):
    id: str
    read_at: str


class AccountList(RootModel[list[Account]]):
    pass


class WithdrawRequest(Payload):
    reason: str | None = Field(default=None, max_length=1000)


class TokenResponse(Payload):
    access_token: str
    token_type: str
    expires_in: int
    expires_at: str
    account: Account


class AgencyList(RootModel[list[Agency]]):
    pass


class ServiceHealth(BaseModel):
    status: str
    detail: str | None = None


class Health(BaseModel):
    status: str
    broker: ServiceHealth
    database: ServiceHealth
    services: dict[str, ServiceHealth]


class ErrorBody(BaseModel):
    code: str = Field(description="stable, English, machine-readable")
    message: str = Field(description="for a person (Vietnamese)")
    details: Any = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody
