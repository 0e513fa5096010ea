"""Intake service (tiếp nhận hồ sơ trực tuyến): catalog, accounts, dossiers as filed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from jsonschema import Draft202012Validator, FormatChecker

from contracts.intake import (
    Account,
    Attachment,
    AttachmentIn,
    CatalogQuery,
    Credentials,
    Department,
    DeskFiling,
    Dossier,
    DossierPage,
    DossierSummary,
    DueDatePreview,
    DueDateQuery,
    FiledDossier,
    FileDossier,
    NewOfficial,
    OfficialChange,
    Procedure,
    ProcedureIn,
    ProcedurePage,
    ProcedureSummary,
    PublicLookup,
    PublicStatus,
    RegisterIndividual,
    RegisterOrganisation,
    SignedFile,
    WorkflowIn,
)
from services.common import error_catalogue as catalogue
from services.common import files as att
from services.common import pdf as documents
from services.common import workflows
from services.common.calendar import VN_TZ, default_calendar
from services.common.error_catalogue import jsonschema_detail
from services.common.event_contracts import AccountRegistered, CaseStatusChanged, DossierSubmitted
from services.common.events import Actor, Event, handles, new_event, utcnow
from services.common.messaging import EventDispatcher, rpc
from services.common.mongo import MongoDatabase
from services.common.observability import bind
from services.common.roles import AGENCY_OFFICIALS
from services.common.schemas import dump, page_bounds, parse
from services.common.service_base import PortalService
from services.common.settings import Settings

from . import exceptions, signatures
from .dependencies import IntakeStore
from .settings import IntakeSettings

log = logging.getLogger(__name__)

_hasher = PasswordHasher()  # argon2id, memory-hard
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SYSTEM = {"id": "intake", "role": "system"}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def account_view(doc: dict) -> dict:
    return dump(Account.model_validate(doc))


def dossier_view(doc: dict) -> dict:
    return dump(Dossier.model_validate(doc))


class IntakeService(PortalService):
    name = "intake"
    versioned = ("dossiers", "accounts")

    store: IntakeStore = MongoDatabase(IntakeStore)
    dispatch = EventDispatcher()
    settings: IntakeSettings = Settings(IntakeSettings)

    # ----------------------------------------------------------- catalog
    @rpc
    def list_agencies(self) -> list[dict]:
        return self.store.list_agencies()

    @rpc
    def get_agency(self, agency_id: str) -> dict:
        agency = self.store.agency(agency_id)
        if not agency:
            raise catalogue.error("agency_not_found", {"agency_id": agency_id}, f"Không tìm thấy cơ quan {agency_id}")
        return agency

    @rpc
    def list_procedures(self, query: dict | None = None) -> dict:
        q = parse(CatalogQuery, query or {}, "catalog query")
        items, total = self.store.search_procedures(q.model_dump(), (q.page - 1) * q.page_size, q.page_size)
        summaries = [
            ProcedureSummary.model_validate({**p, "total_fee_vnd": sum(f["amount_vnd"] for f in p.get("fees", []))})
            for p in items
        ]
        return dump(ProcedurePage(items=summaries, page=q.page, page_size=q.page_size, total=total))

    @rpc
    def catalog_facets(self) -> dict:
        """Sectors and fields for the catalog's filters, and every procedure's code and name."""
        return self.store.facets()

    @rpc
    def get_procedure(self, code: str, version: int | None = None) -> dict:
        doc = self.store.procedure_version(code, int(version)) if version else self.store.current_procedure(code)
        if not doc:
            raise exceptions.procedure_not_found(code)
        return dump(Procedure.model_validate(doc))

    @rpc
    def publish_procedure(self, actor: dict, procedure: dict) -> dict:
        """An agency publishes a new version of one of its procedures (R7).

        Who may: the agency admin of the procedure's *current* owner (never whoever the body names)
        or the province office. New procedures, a change of owner and the announcement decision
        (whose processing time is the ceiling, R34) are the province office's."""
        who = Actor.model_validate(actor)
        p = parse(ProcedureIn, procedure, "procedure")
        current = self.store.current_procedure(p.code)
        data = dump(p)
        if who.role != "operator":
            if who.role != "agency_admin":
                raise exceptions.not_agency_admin(p.agency_id)
            if current is None:
                raise catalogue.error("new_procedure_province_only", {"procedure_code": p.code})
            if who.agency_id != current["agency_id"]:
                raise exceptions.not_agency_admin(current["agency_id"])
            if p.agency_id != current["agency_id"]:
                raise catalogue.error("owner_change_province_only", {"agency_id": current["agency_id"]})
            if data["announcement"] is None:
                data["announcement"] = current.get("announcement")
            elif data["announcement"] != current.get("announcement"):
                raise catalogue.error("announcement_province_only", {"announcement": current.get("announcement")})
        if not self.store.agency(p.agency_id):
            raise catalogue.error("unknown_agency", {"agency_id": p.agency_id}, f"Cơ quan {p.agency_id} không tồn tại")
        announced = (data.get("announcement") or {}).get("processing_days")
        if announced is not None and p.processing_days > announced:
            raise catalogue.error(
                "processing_time_exceeds_announced",
                {"processing_days": p.processing_days, "announced_days": announced},
                f"Thời hạn giải quyết {p.processing_days} ngày vượt thời hạn đã công bố ({announced} ngày làm việc); "
                "cơ quan chỉ được rút ngắn (Điều 9.1)",
            )
        if p.workflow is not None:
            found = workflows.problems(p.workflow, p.processing_days)
            if found:
                raise catalogue.error(
                    found[0]["problem"], found, "Quy trình xử lý chưa hợp lệ: " + "; ".join(f["message"] for f in found)
                )
        if p.eform_schema:
            try:
                Draft202012Validator.check_schema(p.eform_schema)
            except Exception as exc:
                raise catalogue.error("invalid_eform_schema", {"reason": str(exc)[:500]}) from None
        doc = self.store.publish_version(data)
        return dump(Procedure.model_validate(doc))

    @rpc
    def declare_workflow(self, actor: dict, code: str, workflow: dict) -> dict:
        """Quy trình xử lý: the agency declares a procedure's workflow; it is published as a new version,
        so dossiers already filed keep theirs (R33)."""
        current = self.store.current_procedure(code)
        if not current:
            raise exceptions.procedure_not_found(code)
        body = parse(WorkflowIn, workflow, "workflow")
        data = {k: v for k, v in current.items() if k not in ("version", "published_at")}
        return self.publish_procedure(actor, {**data, "workflow": body.workflow.model_dump()})

    @rpc
    def due_date_preview(self, code: str, received_at: str | None = None) -> dict:
        """Ngày hẹn trả kết quả if the dossier were received at ``received_at`` (default now)."""
        procedure = self.store.current_procedure(code)
        if not procedure:
            raise exceptions.procedure_not_found(code)
        at = parse(DueDateQuery, {"received_at": received_at}, "query").received_at or utcnow()
        if at.tzinfo is None:
            raise catalogue.error(
                "timezone_required",
                {"field": "received_at"},
                "received_at cần múi giờ, ví dụ 2026-03-02T09:00:00+07:00",
            )
        cal = default_calendar()
        due = cal.due_date(at, procedure["processing_days"])
        return dump(
            DueDatePreview(
                procedure_code=code,
                received_at=at,
                reception_day=cal.first_working_day(cal.local_date(at)),
                working_days=procedure["processing_days"],
                due_date=due,
                due_at=cal.end_of_day(due),
            )
        )

    def _form_document(self, code: str, document_code: str) -> dict:
        procedure = self.store.current_procedure(code)
        if not procedure:
            raise exceptions.procedure_not_found(code)
        doc = next((d for d in procedure.get("required_documents", []) if d["code"] == document_code), None)
        if not doc:
            raise catalogue.error(
                "form_not_found",
                {"document_code": document_code},
                f"Thủ tục {code} không có thành phần hồ sơ {document_code}",
            )
        return {"procedure": procedure, "document": doc}

    @rpc
    def upload_form_template(
        self, actor: dict, code: str, document_code: str, filename: str, content_type: str, content_b64: str
    ) -> dict:
        """An agency publishes the downloadable template of one form (biểu mẫu, R2)."""
        who = Actor.model_validate(actor)
        found = self._form_document(code, document_code)
        agency_id = found["procedure"]["agency_id"]
        if who.role != "operator" and not (who.role == "agency_admin" and who.agency_id == agency_id):
            raise catalogue.error(
                "not_agency_admin",
                {"agency_id": agency_id},
                "Chỉ quản trị của cơ quan thực hiện mới được đăng biểu mẫu",
            )
        filename = att.safe_filename(filename, document_code)
        content = att.decode(content_b64, filename)
        ctype = att.check(content, filename, content_type, self.settings.max_attachment_bytes, att.TEMPLATE_SIGNATURES)
        digest = att.sha256(content)
        blob_id = f"tpl-{digest[:32]}"
        chunk_count = self.store.files.put(blob_id, content)
        meta = {
            "procedure_code": code,
            "document_code": document_code,
            "filename": filename,
            "content_type": ctype,
            "size": len(content),
            "sha256": digest,
            "blob_id": blob_id,
            "chunks": chunk_count,
            "uploaded_by": who.id,
            "uploaded_at": utcnow(),
        }
        self.store.put_template(code, document_code, meta)
        return {k: meta[k] for k in ("procedure_code", "document_code", "filename", "content_type", "size", "sha256")}

    @rpc
    def get_form_template(self, code: str, document_code: str) -> dict:
        self._form_document(code, document_code)
        meta = self.store.template(code, document_code)
        if not meta:
            raise catalogue.error("form_not_found", {"document_code": document_code})
        content = self.store.files.get(meta["blob_id"], meta["chunks"], meta["sha256"])
        return att.download(meta["filename"], meta["content_type"], content, meta["sha256"])

    # --------------------------------------------------- agency admin
    def _admin_of(self, actor: dict) -> tuple[Actor, dict]:
        who = Actor.model_validate(actor)
        if who.role != "agency_admin" or not who.agency_id:
            raise catalogue.error("not_agency_admin", None, "Chỉ quản trị cơ quan mới quản lý cán bộ và phòng ban")
        agency = self.store.agency(who.agency_id)
        if not agency:
            raise catalogue.error("agency_not_found", {"agency_id": who.agency_id})
        return who, agency

    @rpc
    def add_department(self, actor: dict, department: dict) -> dict:
        who, agency = self._admin_of(actor)
        dept = parse(Department, department, "department").model_dump()
        if any(d["id"] == dept["id"] for d in agency.get("departments", [])):
            raise catalogue.error("department_exists", {"department_id": dept["id"]})
        agency["departments"] = [*agency.get("departments", []), dept]
        self.store.upsert_agency(agency)
        return agency

    @rpc
    def list_officials(self, actor: dict) -> list[dict]:
        who, _ = self._admin_of(actor)
        docs = self.store.accounts.find({"kind": "official", "agency_id": who.agency_id}, [("name", 1)])
        return [account_view(d) for d in docs]

    @rpc
    def create_official(self, actor: dict, payload: dict) -> dict:
        who, agency = self._admin_of(actor)
        new = parse(NewOfficial, payload, "official")
        if new.department_id and new.department_id not in {d["id"] for d in agency.get("departments", [])}:
            raise catalogue.error("unknown_department", {"department_id": new.department_id})
        account_id = str(uuid.uuid4())
        if self.store.claim_keys(account_id, [f"email:{new.email}"]):
            raise exceptions.duplicate_account(["email"])
        account = {
            "id": account_id,
            "kind": "official",
            "role": new.role,
            "name": new.name,
            "email": new.email,
            "phone": new.phone,
            "agency_id": who.agency_id,
            "department_id": new.department_id,
            "active": True,
            "password_hash": hash_password(new.password),
            "created_at": utcnow(),
        }
        self.store.accounts.create(account_id, account, [])
        return account_view(account)

    @rpc
    def update_official(self, actor: dict, official_id: str, payload: dict) -> dict:
        who, agency = self._admin_of(actor)
        change = parse(OfficialChange, payload, "official change").model_dump(exclude_none=True)
        if "department_id" in change and change["department_id"] not in {d["id"] for d in agency["departments"]}:
            raise catalogue.error("unknown_department", {"department_id": change["department_id"]})
        doc = self.store.account(official_id)
        if not doc or doc.get("kind") != "official" or doc.get("agency_id") != who.agency_id:
            raise catalogue.error("official_not_found", {"official_id": official_id})
        updated = self.store.accounts.transition(official_id, doc["version"], change, [])
        return account_view(updated)

    # ----------------------------------------------------------- accounts
    @rpc
    def register(self, payload: dict) -> dict:
        kind = (payload or {}).get("kind") if isinstance(payload, dict) else None
        model: type[RegisterIndividual] | type[RegisterOrganisation] = (
            RegisterOrganisation if kind == "organisation" else RegisterIndividual
        )
        reg = parse(model, payload, "registration")
        account_id = str(uuid.uuid4())
        keys = {"email": f"email:{reg.email}"}
        if isinstance(reg, RegisterIndividual):
            keys["national_id"] = f"nid:{reg.national_id}"
        else:
            keys["tax_code"] = f"tax:{reg.tax_code}"
        taken = self.store.claim_keys(account_id, keys.values())
        if taken:
            raise exceptions.duplicate_account([f for f, k in keys.items() if k in taken])
        now = utcnow()
        data = reg.model_dump(mode="json", exclude={"password", "full_name", "name", "representative"})
        account = {
            **data,
            "id": account_id,
            "role": "citizen",
            "name": reg.full_name if isinstance(reg, RegisterIndividual) else reg.name,
            "password_hash": hash_password(reg.password),
            "created_at": now,
        }
        if isinstance(reg, RegisterOrganisation):
            account["representative"] = reg.representative
        event = new_event(
            AccountRegistered(
                account_id=account_id, kind=reg.kind, name=account["name"], email=reg.email, phone=reg.phone
            ),
            SYSTEM,
        )
        self.store.accounts.create(account_id, account, [event])
        self.store.accounts.publish(account_id, 1, self.dispatch)
        return account_view(account)

    @staticmethod
    def _login_key(login: str) -> str:
        login = login.strip().lower()
        prefix = "email" if "@" in login else ("nid" if len(login) == 12 and login.isdigit() else "tax")
        return f"{prefix}:{login}"

    @rpc
    def account_for_login(self, login: str) -> str | None:
        """The id of the account a login (e-mail, national ID or tax code) names, or None: the
        gateway counts failed sign-ins per account, whichever of its names is tried."""
        return self.store.account_id_by_key(self._login_key(str(login)))

    @rpc
    def authenticate(self, credentials: dict) -> dict:
        cred = parse(Credentials, credentials, "credentials")
        account = self.store.account_by_key(self._login_key(cred.login))
        if not account:
            _hasher.hash(cred.password)  # same cost either way: no account enumeration by timing
            raise catalogue.error("invalid_credentials")
        try:
            _hasher.verify(account["password_hash"], cred.password)
        except (VerificationError, InvalidHashError):
            raise catalogue.error("invalid_credentials") from None
        if not account.get("active", True):
            raise catalogue.error("account_disabled")
        return account_view(account)

    @rpc
    def get_account(self, account_id: str) -> dict:
        account = self.store.account(account_id)
        if not account:
            raise catalogue.error("account_not_found")
        return account_view(account)

    # ----------------------------------------------------------- dossiers
    def _tracking_secret(self, code: str) -> str:
        """Derived, not stored: HMAC of the code under a server key, so a replay can return it again."""
        key = self.settings.tracking_secret_key.encode()
        digest = hmac.new(key, code.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode()[:12]

    def _new_code(self) -> str:
        now = utcnow()
        rand = "".join(secrets.choice(_CROCKFORD) for _ in range(8))
        return f"{self.settings.province_code}-{now:%y%m%d}-{rand}"

    def _check_form(self, schema: dict, data: dict) -> None:
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            raise exceptions.invalid_form([jsonschema_detail(e) for e in errors[:50]])

    def _checked_files(self, procedure: dict, raw: Any, mandatory: bool = True) -> list[tuple[dict, bytes]]:
        """Files for documents on the procedure's list, each sniffed, size-checked and hashed;
        with ``mandatory`` every mandatory document must be there (filing; not a supplement)."""
        max_bytes, max_count = self.settings.max_attachment_bytes, self.settings.max_attachments
        if not isinstance(raw, list):
            raise catalogue.error("invalid_attachments")
        if len(raw) > max_count:
            raise catalogue.error("too_many_attachments", {"max": max_count}, f"Tối đa {max_count} tệp đính kèm")
        known = {d["code"]: d for d in procedure.get("required_documents", [])}
        items = [parse(AttachmentIn, a, "attachment") for a in raw]
        unknown = sorted({a.document_code for a in items} - set(known))
        if unknown:
            raise exceptions.unknown_documents(unknown)
        present = {a.document_code for a in items}
        missing = [{"code": c, "name": d["name"]} for c, d in known.items() if d.get("mandatory") and c not in present]
        if mandatory and missing:
            raise exceptions.missing_documents(missing)
        out = []
        for a in items:
            content = att.decode(a.content_b64, a.filename)
            ctype = att.check(content, a.filename, a.content_type, max_bytes)
            out.append(
                (
                    {
                        "document_code": a.document_code,
                        "filename": a.filename,
                        "content_type": ctype,
                        "size": len(content),
                        "sha256": att.sha256(content),
                    },
                    content,
                )
            )
        return out

    @rpc
    def file_dossier(
        self,
        actor: dict,
        request: dict,
        attachments: list | None = None,
        idempotency_key: str | None = None,
        channel: str = "online",
    ) -> dict:
        """Nộp hồ sơ trực tuyến (level 3/4), by postal staff on a citizen's behalf (channel "postal") or
        by a ministry system (channel "ministry_system"). Everything is validated before anything is written."""
        who = Actor.model_validate(actor)
        if channel not in ("online", "postal", "ministry_system"):
            raise catalogue.error("invalid_channel", {"channel": channel})
        # A ministry system files through its own channel (R31) and says which of its cases it is.
        origin = None
        if channel == "ministry_system":
            if who.role != "ministry_system":
                raise catalogue.error("ministry_systems_only")
            request = dict(request or {})
            origin = request.pop("origin", None)
        elif who.role != "citizen":
            raise catalogue.error("citizens_only")
        req = parse(FileDossier, request, "dossier")
        procedure = self._procedure_for_filing(req)
        if procedure["level"] < 3 and channel == "online":
            raise exceptions.not_online(procedure, self.store.agency(procedure["agency_id"]))
        if procedure.get("eform_schema"):
            self._check_form(procedure["eform_schema"], req.form_data)
        files = self._checked_files(procedure, attachments or [])
        signature = self._check_signature(who, procedure, req, [m for m, _ in files])
        if req.delivery_method == "online" and not signature:
            raise exceptions.online_return_needs_signature(procedure)
        return self._file(
            who, procedure, req, files, idempotency_key, channel=channel, signature=signature, origin=origin
        )

    @rpc
    def file_at_desk(
        self, actor: dict, request: dict, attachments: list | None = None, idempotency_key: str | None = None
    ) -> dict:
        """Tiếp nhận hồ sơ trực tiếp: a reception official files the paper dossier a person brings to the
        one-stop desk (channel "in_person", any level), for an applicant with or without an account."""
        who = Actor.model_validate(actor)
        if who.role != "reception":
            raise catalogue.error("reception_only")
        req = parse(DeskFiling, request, "dossier")
        procedure = self._procedure_for_filing(req)
        if procedure["agency_id"] != who.agency_id:
            raise catalogue.error("other_agency", {"agency_id": procedure["agency_id"]})
        if req.delivery_method == "online":
            raise exceptions.online_return_needs_signature(procedure)
        if procedure.get("eform_schema"):
            self._check_form(procedure["eform_schema"], req.form_data)
        files = self._checked_files(procedure, attachments or [])
        person = req.applicant
        key = f"nid:{person.national_id}" if person.national_id else f"tax:{person.tax_code}"
        account = self.store.account_by_key(key)
        applicant = {**person.model_dump(mode="json"), "account_id": account["id"] if account else None}
        # Without an account the person follows the dossier with its code and tracking secret (the receipt).
        applicant_id = account["id"] if account else f"walk-in:{uuid.uuid4()}"
        return self._file(
            who,
            procedure,
            req,
            files,
            idempotency_key,
            channel="in_person",
            applicant_id=applicant_id,
            applicant=applicant,
        )

    def _procedure_for_filing(self, req: FileDossier) -> dict:
        procedure = self.store.current_procedure(req.procedure_code)
        if not procedure:
            raise exceptions.procedure_not_found(req.procedure_code)
        if req.delivery_method not in procedure["delivery_methods"]:
            raise catalogue.error("delivery_method_not_allowed", {"allowed": procedure["delivery_methods"]})
        return procedure

    def _file(
        self,
        who: Actor,
        procedure: dict,
        req: FileDossier,
        files: list[tuple[dict, bytes]],
        idempotency_key: str | None,
        channel: str,
        signature: dict | None = None,
        origin: dict | None = None,
        applicant_id: str | None = None,
        applicant: dict | None = None,
    ) -> dict:
        """Write a checked filing: the dossier, its files and the ``dossier_submitted`` event (idempotent by key)."""
        request_hash = hashlib.sha256(
            canonical_json(
                {
                    "request": req.model_dump(mode="json"),
                    "procedure": [procedure["code"], procedure["version"]],
                    "files": [(m["document_code"], m["filename"], m["sha256"]) for m, _ in files],
                }
            ).encode()
        ).hexdigest()
        code = self._new_code()
        if idempotency_key:
            record = self.store.claim_idempotency(f"{who.id}:{idempotency_key}", request_hash, code)
            if record["request_hash"] != request_hash:
                raise catalogue.error("idempotency_key_reused")
            # A key claimed just now names a code nobody has used: only a replay can find its dossier.
            existing = self.store.dossier(record["dossier_code"]) if record["dossier_code"] != code else None
            code = record["dossier_code"]
            if existing:
                return dump(
                    FiledDossier(
                        dossier=dossier_view(existing), tracking_secret=self._tracking_secret(code), replayed=True
                    )
                )

        metas = self._store_files(code, files)
        now = utcnow()
        fee = sum(f["amount_vnd"] for f in procedure.get("fees", []))
        # A level-4 dossier without a valid digital signature is handled as level 3 (Art. 7.2a).
        handled_as = 4 if signature else min(procedure["level"], 3)
        applicant_id = applicant_id or who.id
        dossier = {
            "code": code,
            "procedure_code": procedure["code"],
            "procedure_version": procedure["version"],
            "procedure_name": procedure["name"],
            "agency_id": procedure["agency_id"],
            "level": procedure["level"],
            "handled_as_level": handled_as,
            "signature": signature,
            "status": "submitted",
            "applicant_id": applicant_id,
            "applicant": applicant,
            "filed_by": who.id if who.id != applicant_id else None,
            "form_data": req.form_data,
            "attachments": metas,
            "delivery_method": req.delivery_method,
            "channel": channel,
            "delivery_address": req.delivery_address,
            "delivery_province_code": req.delivery_province_code,
            "note": req.note,
            "fee_vnd": fee,
            "origin": origin,
            "amendments": [],
            "submitted_at": now,
            "updated_at": now,
            "withdrawn_at": None,
            "request_hash": request_hash,
        }
        event = new_event(
            DossierSubmitted(
                code=code,
                procedure_code=procedure["code"],
                procedure_version=procedure["version"],
                procedure_name=procedure["name"],
                agency_id=procedure["agency_id"],
                sector=procedure["sector"],
                field=procedure["field"],
                level=procedure["level"],
                handled_as_level=handled_as,
                signed=bool(signature),
                channel=channel,
                processing_days=procedure["processing_days"],
                workflow=procedure.get("workflow"),
                supplement_clock=procedure.get("supplement_clock", "restart"),
                delivery_address=req.delivery_address,
                delivery_province_code=req.delivery_province_code,
                applicant_id=applicant_id,
                delivery_method=req.delivery_method,
                fee_vnd=fee,
                origin=origin,
                awaiting_fee=handled_as == 4 and fee > 0,
                submitted_at=now,
                attachments=[{k: m[k] for k in ("id", "document_code", "sha256", "size")} for m in metas],
            ),
            who,
            dossier_code=code,
        )
        # A concurrent replay with the same key may have created it first: then this returns that one.
        dossier, created = self.store.dossiers.create(code, dossier, [event], dispatch=self.dispatch)
        bind(dossier_code=code)
        log.info("dossier filed: procedure %s, channel %s, level %s", procedure["code"], channel, handled_as)
        return dump(
            FiledDossier(
                dossier=dossier_view(dossier), tracking_secret=self._tracking_secret(code), replayed=not created
            )
        )

    def _store_files(self, prefix: str, files: list[tuple[dict, bytes]]) -> list[dict]:
        """Store checked files as ``<prefix>-<n>`` (n from 1), all chunks in one round trip; their metadata."""
        metas = [{**meta, "id": f"{prefix}-{n}"} for n, (meta, _) in enumerate(files, start=1)]
        counts = self.store.files.put_many([(m["id"], content) for m, (_, content) in zip(metas, files, strict=True)])
        return [{**m, "chunks": c} for m, c in zip(metas, counts, strict=True)]

    def _check_signature(self, who: Actor, procedure: dict, req: FileDossier, metas: list[dict]) -> dict | None:
        """R10: verify a level-4 signature, or None when unsigned (then handled as level 3)."""
        if req.signature is None:
            return None
        if procedure["level"] < 4:
            raise catalogue.error("signature_not_applicable")
        account = self.store.account(who.id) or {}
        identity = account.get("national_id") or account.get("tax_code") or ""
        payload = signatures.canonical_payload(procedure["code"], procedure["version"], req.form_data, metas)
        return signatures.verify(req.signature.model_dump(), payload, identity, self.settings.trusted_ca_file, utcnow())

    @rpc
    def signing_payload(self, actor: dict, procedure_code: str, form_data: dict, attachments: list[dict]) -> dict:
        """The exact bytes (base64) a signing tool must sign for this filing."""
        procedure = self.store.current_procedure(procedure_code)
        if not procedure:
            raise exceptions.procedure_not_found(procedure_code)
        files = [parse(SignedFile, a, "attachment").model_dump() for a in attachments or []]
        payload = signatures.canonical_payload(procedure["code"], procedure["version"], form_data, files)
        return {
            "payload_b64": base64.b64encode(payload).decode(),
            "sha256": signatures.digest(payload),
            "procedure_version": procedure["version"],
        }

    def _visible_dossier(self, actor: dict, code: str) -> dict:
        who = Actor.model_validate(actor)
        doc = self.store.dossier(code)
        if doc and (
            doc["applicant_id"] == who.id
            or who.role == "operator"
            or (who.role in AGENCY_OFFICIALS and who.agency_id == doc["agency_id"])
        ):
            return doc
        raise exceptions.dossier_not_found(code)

    @rpc
    def get_dossier(self, actor: dict, code: str) -> dict:
        return dossier_view(self._visible_dossier(actor, code))

    @rpc
    def list_my_dossiers(self, actor: dict, page: int = 1, page_size: int = 20) -> dict:
        who = Actor.model_validate(actor)
        page, page_size = page_bounds(page, page_size)
        docs, total = self.store.list_dossiers(who.id, (page - 1) * page_size, page_size)
        items = [DossierSummary.model_validate(d) for d in docs]
        return dump(DossierPage(items=items, page=page, page_size=page_size, total=total))

    @rpc
    def get_attachment(self, actor: dict, code: str, attachment_id: str) -> dict:
        doc = self._visible_dossier(actor, code)
        meta = next((a for a in doc["attachments"] if a["id"] == attachment_id), None)
        if not meta:
            raise catalogue.error("attachment_not_found", {"attachment_id": attachment_id})
        content = self.store.files.get(attachment_id, meta["chunks"], meta["sha256"])
        return att.download(meta["filename"], meta["content_type"], content, meta["sha256"])

    @rpc
    def stage_supplement(self, actor: dict, code: str, attachments: list, form_changes: dict) -> dict:
        """Check a supplement (bổ sung, sửa đổi hồ sơ — Art. 15.4) and keep its files aside: nothing
        changes on the dossier until processing has accepted the supplement and ``commit_supplement``
        runs. Returns the staged files and the corrections as (field, old value, new value)."""
        who = Actor.model_validate(actor)
        doc = self.store.dossier(code)
        if not doc or doc["applicant_id"] != who.id:
            raise exceptions.dossier_not_found(code)
        procedure = self.store.procedure_version(doc["procedure_code"], doc["procedure_version"])
        if procedure is None:  # cannot happen: a dossier's version was stored before it and is never deleted
            raise exceptions.procedure_not_found(doc["procedure_code"])
        checked = self._checked_files(procedure, attachments or [], mandatory=False)
        amendments = self._amendments(procedure, doc, form_changes or {})
        if not checked and not amendments:
            raise catalogue.error("empty_supplement")
        staging_id = f"{code}-S{uuid.uuid4().hex[:8].upper()}"
        metas = self._store_files(staging_id, checked)
        self.store.stage_supplement(
            {
                "_id": staging_id,
                "code": code,
                "applicant_id": who.id,
                "attachments": metas,
                "form_changes": form_changes or {},
                "amendments": amendments,
                "created_at": utcnow(),
                "committed": False,
            }
        )
        return {
            "staging_id": staging_id,
            "amendments": amendments,
            "attachments": [dump(Attachment.model_validate(m)) for m in metas],
        }

    def _amendments(self, procedure: dict, doc: dict, changes: dict) -> list[dict]:
        if not isinstance(changes, dict):
            raise catalogue.error("invalid_form_changes")
        if not changes:
            return []
        schema = procedure.get("eform_schema") or {}
        unknown = sorted(set(changes) - set(schema.get("properties") or {}))
        if unknown:
            raise catalogue.error(
                "unknown_form_fields", {"fields": unknown}, "Trường không có trong tờ khai: " + ", ".join(unknown)
            )
        merged = {**doc["form_data"], **changes}
        self._check_form(schema, merged)
        return [
            {"field": k, "old": doc["form_data"].get(k), "new": v}
            for k, v in changes.items()
            if doc["form_data"].get(k) != v
        ]

    @rpc
    def commit_supplement(self, code: str, staging_id: str) -> None:
        """Attach a staged supplement to its dossier (idempotent: processing calls it, and the
        ``case_status_changed`` event of the supplement commits it too if that call was lost)."""
        staged = self.store.staged_supplement(staging_id)
        if staged is None or staged["committed"] or staged["code"] != code:
            return

        def attach(doc: dict) -> tuple[dict, list[dict]] | None:
            applied = any(a["id"].startswith(staging_id) for a in doc["attachments"]) or any(
                a.get("staging_id") == staging_id for a in doc.get("amendments", [])
            )
            if applied:
                return None
            changes = {
                "attachments": [*doc["attachments"], *staged["attachments"]],
                "updated_at": utcnow(),
                "form_data": {**doc["form_data"], **staged["form_changes"]},
                "amendments": [
                    *doc.get("amendments", []),
                    *({**a, "staging_id": staging_id, "at": staged["created_at"]} for a in staged["amendments"]),
                ],
            }
            return changes, []

        # Another change landing first is applied on top of: the supplement is decided again on it.
        dossier, _ = self.store.dossiers.change(code, attach)
        if dossier is None:  # cannot happen (dossiers are never deleted): leave it staged, not committed
            return
        self.store.mark_supplement_committed(staging_id)

    @handles(CaseStatusChanged)
    def mirror_case_status(self, event: Event[CaseStatusChanged]) -> None:
        """Keep the filed dossier's status in step with its case, for lists and lookups."""
        p = event.payload
        if p.action == "supplement" and p.staging_id:
            self.commit_supplement(p.code, p.staging_id)

        def mirror(doc: dict) -> tuple[dict, list[dict]] | None:
            if doc.get("case_version", 0) >= p.case_version:
                return None  # already as new (a redelivery, or events out of order)
            changes = {"status": p.to, "case_version": p.case_version, "updated_at": utcnow()}
            if p.to == "withdrawn":
                changes["withdrawn_at"] = utcnow()
            return changes, []

        self.store.dossiers.change(p.code, mirror)

    # ------------------------------------------------------------ receipts
    DELIVERY_VI = {
        "online": "trực tuyến trên Cổng dịch vụ công",
        "in_person": "trực tiếp tại bộ phận một cửa",
        "post": "qua dịch vụ bưu chính công ích",
    }

    @rpc
    def filing_receipt(self, actor: dict, code: str) -> dict:
        """Giấy tiếp nhận hồ sơ và hẹn trả kết quả, in words: for the applicant (with the tracking
        secret, which is never stored nor put on an event), for the reception of the agency that took a
        paper dossier at its desk (it hands the receipt over), and for the notification service."""
        who = Actor.model_validate(actor)
        doc = self.store.dossier(code)
        if doc is None or not (
            doc["applicant_id"] == who.id
            or who.role == "system"
            or (who.role == "reception" and who.agency_id == doc["agency_id"] and doc["channel"] == "in_person")
        ):
            raise exceptions.dossier_not_found(code)
        procedure = self.store.procedure_version(doc["procedure_code"], doc["procedure_version"]) or {}
        agency = self.store.agency(doc["agency_id"]) or {"name": doc["agency_id"]}
        names = {d["code"]: d["name"] for d in procedure.get("required_documents", [])}
        person = doc.get("applicant") or {}
        account = self.store.account(doc["applicant_id"]) or {}
        cal = default_calendar()
        due = cal.due_date(doc["submitted_at"], procedure.get("processing_days", 1))
        return {
            "code": code,
            "tracking_secret": self._tracking_secret(code),
            "applicant_id": doc["applicant_id"],
            "applicant_name": person.get("name") or account.get("name") or "",
            "contact": {
                "email": person.get("email") or account.get("email"),
                "phone": person.get("phone") or account.get("phone"),
            },
            "procedure_code": doc["procedure_code"],
            "procedure_name": doc["procedure_name"],
            "agency_name": agency["name"],
            "agency_address": agency.get("address"),
            "agency_phone": agency.get("phone"),
            "channel": doc["channel"],
            "submitted_at": doc["submitted_at"].isoformat(),
            "due_date_if_received": due.isoformat(),
            "processing_days": procedure.get("processing_days"),
            "delivery": self.DELIVERY_VI[doc["delivery_method"]],
            "delivery_address": doc.get("delivery_address"),
            "fee_vnd": doc.get("fee_vnd", 0),
            "handled_as_level": doc["handled_as_level"],
            "documents": [
                f"{names.get(a['document_code'], a['document_code'])} ({a['filename']})" for a in doc["attachments"]
            ],
        }

    @rpc
    def receipt_pdf(self, actor: dict, code: str, lookup_url: str, due_date: str | None = None) -> dict:
        """The receipt as a printable PDF whose QR code opens the public lookup at ``lookup_url`` with
        this dossier's code and secret; ``due_date`` is the case's once it is received, else the day it
        would be due if received on the day of filing."""
        r = self.filing_receipt(actor, code)
        day = lambda iso: f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"  # noqa: E731
        when = datetime.fromisoformat(r["submitted_at"]).astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")
        due = (
            f"{day(due_date)}"
            if due_date
            else f"{day(r['due_date_if_received'])} (nếu hồ sơ được tiếp nhận trong ngày làm việc nộp hồ sơ)"
        )
        rows = [
            ("Thủ tục", f"{r['procedure_name']} ({r['procedure_code']})"),
            ("Người nộp", r["applicant_name"]),
            ("Thời điểm nộp", when),
            ("Ngày hẹn trả kết quả", due),
            ("Hình thức nhận kết quả", r["delivery"] + (f", {r['delivery_address']}" if r["delivery_address"] else "")),
            ("Phí, lệ phí", f"{r['fee_vnd']:,} đ".replace(",", ".") if r["fee_vnd"] else "Không thu phí"),
        ]
        notes = [
            f"Cơ quan giải quyết: {r['agency_name']}"
            + (f", {r['agency_address']}" if r["agency_address"] else "")
            + (f", điện thoại {r['agency_phone']}" if r["agency_phone"] else ""),
            "Khi nhận kết quả, người nộp mang theo giấy này và bản chính các giấy tờ để đối chiếu (Điều 7.1a).",
        ]
        link = f"{lookup_url}?{urlencode({'ma': code, 'bi-mat': r['tracking_secret']})}"
        content = documents.filing_receipt({**r, "rows": rows, "notes": notes}, link)
        return att.download(f"giay-tiep-nhan-{code}.pdf", "application/pdf", content)

    @rpc
    def account_names(self, ids: list[str]) -> dict[str, dict]:
        """Names and roles of accounts (officials in a case history): {id: {name, role}}; unknown ids left out."""
        out = {}
        for account_id in dict.fromkeys(ids or []):
            account = self.store.account(str(account_id))
            if account:
                out[account_id] = {"name": account["name"], "role": account["role"]}
        return out

    @rpc
    def lookup_status(self, lookup: dict) -> dict:
        """Public lookup (tra cứu hồ sơ) by code + tracking secret: status only, no personal data."""
        q = parse(PublicLookup, lookup, "lookup")
        doc = self.store.dossier(q.code.strip().upper())
        if not doc or not hmac.compare_digest(
            self._tracking_secret(doc["code"]).encode(), q.secret.strip().upper().encode()
        ):
            raise exceptions.dossier_not_found(q.code)
        agency = self.store.agency(doc["agency_id"]) or {"name": doc["agency_id"]}
        return dump(
            PublicStatus(
                code=doc["code"],
                procedure_code=doc["procedure_code"],
                procedure_name=doc["procedure_name"],
                agency_name=agency["name"],
                status=doc["status"],
                submitted_at=doc["submitted_at"],
                updated_at=doc["updated_at"],
            )
        )
