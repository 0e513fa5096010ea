"""Payloads of the intake service (catalog, accounts, dossiers)."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field, field_validator, model_validator

from services.common.schemas import MAX_VND, FileName, PageNumber, PageSize, Payload, View

Level = Annotated[int, Field(ge=1, le=4)]
DeliveryMethod = Literal["in_person", "post", "online"]
Role = Literal["citizen", "reception", "specialist", "leader", "agency_admin", "operator"]
OFFICIAL_ROLES = ("reception", "specialist", "leader", "agency_admin")
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")]


# ------------------------------------------------------------------ catalog
class Department(Payload):
    id: Code
    name: str = Field(min_length=1, max_length=200)


class Agency(Payload):
    """Cơ quan: provincial department, district/commune People's Committee, service centre."""
    id: Code
    name: str = Field(min_length=1, max_length=300)
    kind: Literal["province_department", "province_centre", "district", "commune"]
    parent_id: str | None = None
    address: str
    email: str
    phone: str
    website: str | None = None
    departments: list[Department] = Field(default_factory=list)


class RequiredDocument(Payload):
    """Thành phần hồ sơ."""
    code: Code
    name: str = Field(min_length=1, max_length=500)
    mandatory: bool = True
    copies: int = Field(default=1, ge=1, le=10)
    template_url: str | None = None
    note: str | None = None


class Fee(Payload):
    """Phí, lệ phí (VND)."""
    name: str
    amount_vnd: int = Field(ge=0, le=MAX_VND)
    note: str | None = None


class ProcedureIn(Payload):
    """A procedure version as an agency publishes it (thủ tục hành chính)."""
    code: Code
    name: str = Field(min_length=3, max_length=500)
    sector: str = Field(min_length=1, max_length=200)
    field: str = Field(min_length=1, max_length=200)
    agency_id: Code
    level: Level
    description: str = ""
    steps: list[str] = Field(default_factory=list)
    legal_basis: list[str] = Field(default_factory=list)
    applicant_requirements: str = ""
    required_documents: list[RequiredDocument] = Field(default_factory=list)
    eform_schema: dict[str, Any] | None = None
    processing_days: int = Field(ge=1, le=365)
    supplement_clock: Literal["restart", "resume"] = Field(
        default="restart", description="after a supplement during review, the clock restarts in full "
                                       "(default) or resumes with the time that was left")
    fees: list[Fee] = Field(default_factory=list)
    delivery_methods: list[DeliveryMethod] = Field(min_length=1)
    effective_from: date

    @model_validator(mode="after")
    def _consistent(self) -> "ProcedureIn":
        if self.level < 2 and any(d.template_url for d in self.required_documents):
            raise ValueError("a procedure with downloadable forms is offered at least at level 2 (R6)")
        if self.level >= 3 and not self.eform_schema:
            raise ValueError("level 3 and 4 procedures need an eForm JSON Schema")
        if self.level < 4 and "online" in self.delivery_methods:
            raise ValueError("online result delivery is a level 4 feature (R16)")
        codes = [d.code for d in self.required_documents]
        if len(codes) != len(set(codes)):
            raise ValueError("required document codes must be unique")
        return self


class Procedure(ProcedureIn):
    version: int = Field(ge=1)
    published_at: datetime

    @property
    def total_fee_vnd(self) -> int:
        return sum(f.amount_vnd for f in self.fees)


class ProcedureSummary(View):
    code: str
    name: str
    sector: str
    field: str
    agency_id: str
    level: int
    processing_days: int
    total_fee_vnd: int
    version: int


class CatalogQuery(Payload):
    sector: str | None = None
    field: str | None = None
    agency: str | None = None
    level: Level | None = None
    q: str | None = Field(default=None, max_length=200)
    page: PageNumber = 1
    page_size: PageSize = 20


class ProcedurePage(View):
    items: list[ProcedureSummary]
    page: int
    page_size: int
    total: int


# ----------------------------------------------------------------- accounts
NATIONAL_ID = re.compile(r"^\d{12}$")
TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")
PHONE = re.compile(r"^(\+84|0)\d{9,10}$")


class _RegisterBase(Payload):
    email: EmailStr
    phone: str = Field(pattern=r"^(\+84|0)( ?\d){9,10}$", description="0xxxxxxxxx or +84xxxxxxxxx, spaces allowed")
    password: str = Field(min_length=10, max_length=200)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        v = v.replace(" ", "")
        if not PHONE.match(v):
            raise ValueError("phone must be a Vietnamese number: 0xxxxxxxxx or +84xxxxxxxxx")
        return v

    @field_validator("email")
    @classmethod
    def _email_lower(cls, v: str) -> str:
        return v.lower()


class RegisterIndividual(_RegisterBase):
    """Công dân: one account for every service (Art. 15.3)."""
    kind: Literal["individual"]
    full_name: str = Field(min_length=2, max_length=200)
    national_id: str = Field(description="Số định danh cá nhân / CCCD, 12 digits")
    date_of_birth: date

    @field_validator("national_id")
    @classmethod
    def _nid(cls, v: str) -> str:
        if not NATIONAL_ID.match(v):
            raise ValueError("national ID must be exactly 12 digits")
        return v

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, v: date) -> date:
        if v >= date.today() or v.year < 1900:
            raise ValueError("date of birth must be in the past")
        return v


class RegisterOrganisation(_RegisterBase):
    """Tổ chức, doanh nghiệp: identified by tax code (mã số thuế)."""
    kind: Literal["organisation"]
    name: str = Field(min_length=2, max_length=300)
    tax_code: str
    representative: str = Field(min_length=2, max_length=200)

    @field_validator("tax_code")
    @classmethod
    def _tax(cls, v: str) -> str:
        if not TAX_CODE.match(v):
            raise ValueError("tax code must be 10 digits, or 10 digits-3 digits for a branch")
        return v


class Account(View):
    id: str
    kind: Literal["individual", "organisation", "official"]
    role: Role
    name: str
    email: str
    phone: str | None = None
    national_id: str | None = None
    tax_code: str | None = None
    date_of_birth: date | None = None
    agency_id: str | None = None
    department_id: str | None = None
    active: bool = True
    created_at: datetime


class NewOfficial(Payload):
    """Cán bộ: created by the agency admin of their agency."""
    name: str = Field(min_length=2, max_length=200)
    email: EmailStr
    phone: str | None = None
    role: Literal["reception", "specialist", "leader", "agency_admin"]
    department_id: str | None = None
    password: str = Field(min_length=10, max_length=200)

    @field_validator("email")
    @classmethod
    def _email_lower(cls, v: str) -> str:
        return v.lower()


class OfficialChange(Payload):
    role: Literal["reception", "specialist", "leader", "agency_admin"] | None = None
    department_id: str | None = None
    active: bool | None = None


class Credentials(Payload):
    login: str = Field(min_length=3, max_length=254, description="email, national ID or tax code")
    password: str = Field(min_length=1, max_length=200)


# ----------------------------------------------------------------- dossiers
class SignatureIn(Payload):
    """Chữ ký số over services.intake.signatures.canonical_payload (level 4)."""
    certificate_pem: str = Field(min_length=50, max_length=20000)
    chain_pem: str | None = Field(default=None, max_length=40000, description="intermediate CA certificates")
    signature_b64: str = Field(min_length=8, max_length=4000)


# What _address checks, said in the schema too (JSON Schema's if/then).
POST_NEEDS_ADDRESS = {"if": {"properties": {"delivery_method": {"const": "post"}}, "required": ["delivery_method"]},
                      "then": {"required": ["delivery_address", "delivery_province_code"],
                               "properties": {"delivery_address": {"type": "string"},
                                              "delivery_province_code": {"type": "string"}}}}


class FileDossier(Payload):
    model_config = {**Payload.model_config, "json_schema_extra": POST_NEEDS_ADDRESS}
    procedure_code: Code
    form_data: dict[str, Any]
    delivery_method: DeliveryMethod
    delivery_address: str | None = Field(default=None, max_length=500)
    delivery_province_code: str | None = Field(default=None, pattern=r"^\d{2}$",
                                               description="province of the delivery address (for the 24-hour norm)")
    note: str | None = Field(default=None, max_length=2000)
    signature: SignatureIn | None = Field(default=None, description="level 4 only; without it the dossier "
                                                                     "is handled as level 3 (Art. 7.2a)")

    @model_validator(mode="after")
    def _address(self) -> "FileDossier":
        if self.delivery_method == "post" and not (self.delivery_address and self.delivery_province_code):
            raise ValueError("delivery_address and delivery_province_code are required for delivery by post")
        return self


class SignedFile(Payload):
    """A file as the level-4 signing payload names it."""
    document_code: Code
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class AttachmentIn(Payload):
    document_code: Code
    filename: FileName
    content_type: str
    content_b64: str


class Attachment(View):
    id: str
    document_code: str
    filename: str
    content_type: str
    size: int
    sha256: str


class AddAttachments(Payload):
    """Supplementing a dossier (bổ sung hồ sơ): files for documents on the procedure's list."""
    attachments: list[AttachmentIn] = Field(min_length=1, max_length=20)


class Dossier(View):
    """Hồ sơ as filed."""
    code: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    agency_id: str
    level: int
    handled_as_level: int
    signature: dict[str, Any] | None = None
    status: str
    applicant_id: str
    form_data: dict[str, Any]
    attachments: list[Attachment]
    delivery_method: DeliveryMethod
    delivery_address: str | None = None
    delivery_province_code: str | None = None
    channel: str = "online"
    note: str | None = None
    fee_vnd: int
    submitted_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None = None
    case: dict[str, Any] | None = Field(default=None, description="the processing timeline (added by the gateway)")


class FiledDossier(View):
    dossier: Dossier
    tracking_secret: str | None = Field(
        default=None, description="With the code it lets anyone check the status; keep it private")
    replayed: bool = Field(default=False, description="True when an Idempotency-Key replay returned the earlier dossier")


class DossierSummary(View):
    code: str
    procedure_code: str
    procedure_name: str
    status: str
    submitted_at: datetime
    updated_at: datetime


class DossierPage(View):
    items: list[DossierSummary]
    page: int
    page_size: int
    total: int


class PublicLookup(Payload):
    code: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    secret: str = Field(min_length=6, max_length=64, pattern=r"^[A-Za-z0-9]+$")


class PublicStatus(View):
    """What anyone with code + secret may see: no personal data."""
    code: str
    procedure_code: str
    procedure_name: str
    agency_name: str
    status: str
    submitted_at: datetime
    updated_at: datetime
    due_at: datetime | None = Field(default=None, description="added by the gateway from the case")
    entries: list[dict[str, Any]] = Field(default_factory=list, description="status history: at, status, agency")
