"""The intake service's payloads (catalog, accounts, dossiers), all public: the gateway's routes take and
give them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field, ValidationInfo, field_validator, model_validator

from services.common.calendar import VN_TZ
from services.common.clock import now as _now
from services.common.schemas import MAX_VND, FileName, PageNumber, PageSize, Payload, View
from services.common.workflows import Workflow


def _province_today() -> date:
    """Today in the province, by the portal's clock (a test that moves the clock is obeyed)."""
    return _now().astimezone(VN_TZ).date()


Level = Annotated[int, Field(ge=1, le=4)]
DeliveryMethod = Literal["in_person", "post", "online"]
Role = Literal["citizen", "reception", "specialist", "leader", "agency_admin", "operator"]
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


class Announcement(Payload):
    """The province's decision announcing the procedure (quyết định công bố thủ tục hành chính, Art. 9.1):
    its processing time is the ceiling an agency may shorten but never exceed (R34)."""

    decision_number: str = Field(min_length=3, max_length=60, description="e.g. 1234/QĐ-UBND")
    decision_date: date
    processing_days: int = Field(ge=1, le=365, description="the processing time announced, in working days")


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
    processing_days: int = Field(
        ge=1, le=365, description="the agency's processing time in working days: at most the announced one (Art. 9.1b)"
    )
    announcement: Announcement | None = Field(default=None, description="set by the province office (operator)")
    workflow: Workflow | None = Field(
        default=None, description="the processing workflow with stage budgets (R32, R33); none: the default workflow"
    )
    supplement_clock: Literal["restart", "resume"] = Field(
        default="restart",
        description="after a supplement during review, the clock restarts in full "
        "(default) or resumes with the time that was left",
    )
    fees: list[Fee] = Field(default_factory=list)
    delivery_methods: list[DeliveryMethod] = Field(min_length=1)
    effective_from: date

    @model_validator(mode="after")
    def _consistent(self) -> ProcedureIn:
        if self.level < 2 and any(d.template_url for d in self.required_documents):
            raise ValueError("Thủ tục có biểu mẫu tải về phải ở mức độ 2 trở lên (R6)")
        if self.level >= 3 and not self.eform_schema:
            raise ValueError("Thủ tục mức độ 3, 4 cần có mẫu tờ khai điện tử (eForm)")
        if self.level < 4 and "online" in self.delivery_methods:
            raise ValueError("Trả kết quả trực tuyến chỉ có ở mức độ 4 (R16)")
        codes = [d.code for d in self.required_documents]
        if len(codes) != len(set(codes)):
            raise ValueError("Mã thành phần hồ sơ không được trùng nhau")
        return self


class WorkflowIn(Payload):
    """Quy trình xử lý of one procedure, declared by its agency (published as a new version)."""

    workflow: Workflow


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


class DueDateQuery(Payload):
    received_at: datetime | None = Field(default=None, description="ISO instant with a time zone; default now")


class DueDatePreview(View):
    """When a dossier received at ``received_at`` would be due (ngày hẹn trả kết quả)."""

    procedure_code: str
    received_at: datetime
    reception_day: date = Field(description="the working day the reception counts as (a day off counts as the next)")
    working_days: int
    due_date: date
    due_at: datetime = Field(description="24:00 local time of the due day, when the period ends")


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
            raise ValueError("Số điện thoại Việt Nam: 0xxxxxxxxx hoặc +84xxxxxxxxx")
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
            raise ValueError("Số định danh cá nhân gồm đúng 12 chữ số")
        return v

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, v: date) -> date:
        if v >= _province_today() or v.year < 1900:
            raise ValueError("Ngày sinh phải là một ngày trong quá khứ")
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
            raise ValueError("Mã số thuế gồm 10 chữ số, hoặc 10 chữ số-3 chữ số với chi nhánh")
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
POST_NEEDS_ADDRESS = {
    "if": {"properties": {"delivery_method": {"const": "post"}}, "required": ["delivery_method"]},
    "then": {
        "required": ["delivery_address", "delivery_province_code"],
        "properties": {"delivery_address": {"type": "string"}, "delivery_province_code": {"type": "string"}},
    },
}


class FileDossier(Payload):
    model_config = {**Payload.model_config, "json_schema_extra": POST_NEEDS_ADDRESS}
    procedure_code: Code
    form_data: dict[str, Any]
    delivery_method: DeliveryMethod
    # validate_default: the "needed for the post" checks below run when the field is left out too,
    # and name the field itself (a form shows the message next to it).
    delivery_address: str | None = Field(default=None, max_length=500, validate_default=True)
    delivery_province_code: str | None = Field(
        default=None,
        pattern=r"^\d{2}$",
        validate_default=True,
        description="province of the delivery address (for the 24-hour norm)",
    )
    note: str | None = Field(default=None, max_length=2000)
    signature: SignatureIn | None = Field(
        default=None, description="level 4 only; without it the dossier is handled as level 3 (Art. 7.2a)"
    )

    @field_validator("delivery_address", "delivery_province_code")
    @classmethod
    def _needed_for_post(cls, v: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("delivery_method") == "post" and not v:
            raise ValueError(
                "Cần địa chỉ nhận kết quả qua bưu chính"
                if info.field_name == "delivery_address"
                else "Cần mã tỉnh của địa chỉ nhận (2 chữ số, ví dụ 52)"
            )
        return v


class Applicant(Payload):
    """Người nộp hồ sơ trực tiếp tại bộ phận một cửa (who may have no account)."""

    kind: Literal["individual", "organisation"] = "individual"
    name: str = Field(min_length=2, max_length=300)
    national_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    tax_code: str | None = Field(default=None, pattern=r"^\d{10}(-\d{3})?$")
    phone: str | None = Field(default=None, pattern=r"^(\+84|0)\d{9,10}$")
    email: EmailStr | None = None
    address: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _identified(self) -> Applicant:
        if self.kind == "individual" and not self.national_id:
            raise ValueError("Cần số định danh cá nhân của người nộp")
        if self.kind == "organisation" and not self.tax_code:
            raise ValueError("Cần mã số thuế của tổ chức nộp")
        return self


class DeskFiling(FileDossier):
    """A dossier brought to the one-stop desk, filed by reception (channel in_person)."""

    applicant: Applicant


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
    applicant: dict[str, Any] | None = Field(default=None, description="filed at the desk: who brought it")
    filed_by: str | None = Field(default=None, description="the official or postal operator who filed it")
    form_data: dict[str, Any]
    attachments: list[Attachment]
    amendments: list[dict[str, Any]] = Field(
        default_factory=list, description="corrections made with supplements (Art. 15.4): field, old, new"
    )
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
        default=None, description="With the code it lets anyone check the status; keep it private"
    )
    replayed: bool = Field(
        default=False, description="True when an Idempotency-Key replay returned the earlier dossier"
    )


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
    due_date: date | None = Field(default=None, description="the due day, added by the gateway from the case")
    due_at: datetime | None = Field(default=None, description="added by the gateway from the case")
    entries: list[dict[str, Any]] = Field(default_factory=list, description="status history: at, status, agency")
