"""HTML forms from schemas: a procedure's eForm (JSON Schema) and the officials' workflow commands
(pydantic models); the submitted values turned back into the JSON those expect (the types the
schema says: an option's own value, numbers, lists); the services' field errors placed next to
their fields; and form data shown back to people (labels, dd/mm/yyyy, options' names). Also what
the areas' pages share: a refused form's messages, the chosen documents, the delivery fields."""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Request

from services.common import error_catalogue as catalogue
from services.common.errors import PortalError

# The workflow commands are the portal's own forms: their labels live here. An eForm's labels are
# its fields' titles, written by the agency that publishes the procedure.
COMMAND_LABELS = {
    "note": "Ghi chú",
    "department_id": "Phòng chuyên môn",
    "agency_id": "Cơ quan phối hợp",
    "task": "Nội dung xin ý kiến",
    "days": "Số ngày làm việc để trả lời",
    "request_id": "Yêu cầu phối hợp",
    "answer": "Ý kiến",
    "summary": "Nội dung đề xuất",
    "result_document": "Văn bản kết quả (đã ký)",
    "reason": "Lý do",
    "method": "Hình thức trả",
    "reasons": "Lý do (mỗi dòng một lý do)",
    "refusal_document": "Văn bản từ chối (đã ký)",
    "letter": "Nội dung thư xin lỗi",
    "new_due_date": "Ngày hẹn mới",
    "missing": "Giấy tờ cần bổ sung (mỗi dòng: MÃ | mô tả, hoặc chỉ mô tả)",
    "fee_paid_at_desk": "Đã thu phí, lệ phí tại bộ phận một cửa",
}
OPTION_VI = {
    "in_person": "Trực tiếp tại bộ phận một cửa",
    "post": "Qua bưu chính công ích",
    "online": "Trực tuyến trên Cổng",
}


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text, textarea, number, integer, date, select, multi, checkbox, file, lines, missing
    required: bool = False
    options: list[tuple[Any, str]] = field(default_factory=list)  # (value, what a person reads)
    pattern: str | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    hint: str | None = None
    input_type: str | None = None  # email, tel, password: the browser's own keyboard and checks
    autocomplete: str | None = None


def _options(prop: dict) -> list[tuple[Any, str]] | None:
    """An enum (values shown as written), or oneOf/anyOf of consts with their titles."""
    if "enum" in prop:
        return [(v, OPTION_VI.get(v, str(v)) if isinstance(v, str) else str(v)) for v in prop["enum"]]
    if "const" in prop:
        return [(prop["const"], OPTION_VI.get(prop["const"], str(prop["const"])))]
    choices = prop.get("oneOf") or prop.get("anyOf")
    if choices and all("const" in c for c in choices):
        return [(c["const"], c.get("title") or str(c["const"])) for c in choices]
    return None


def _label(name: str, prop: dict, labels: dict) -> str:
    return labels.get(name) or prop.get("title") or name.replace("_", " ").capitalize()


def _field(name: str, prop: dict, required: bool, defs: dict, labels: dict) -> FormField:
    if "anyOf" in prop and any(p.get("type") == "null" for p in prop["anyOf"]):  # Optional[X]
        prop = {
            **next((p for p in prop["anyOf"] if p.get("type") != "null"), {}),
            **{k: v for k, v in prop.items() if k in ("title", "description")},
        }
        required = False
    if "$ref" in prop:
        ref = prop["$ref"].rsplit("/", 1)[-1]
        if ref == "Document":
            return FormField(name, _label(name, prop, labels), "file", required)
        prop = {**defs.get(ref, {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    label, hint = _label(name, prop, labels), prop.get("description")
    options = _options(prop)
    if options is not None:
        return FormField(name, label, "select", required, options, hint=hint)
    kind = prop.get("type")
    if kind == "boolean":
        return FormField(name, label, "checkbox", False, hint=hint)
    if kind in ("integer", "number"):
        low = prop.get("minimum", prop.get("exclusiveMinimum"))
        return FormField(name, label, kind, required, minimum=low, maximum=prop.get("maximum"), hint=hint)
    if prop.get("format") == "date":
        return FormField(name, label, "date", required, hint=hint)
    if kind == "array":
        items = prop.get("items", {})
        if "$ref" in items and items["$ref"].endswith("MissingItem"):
            return FormField(name, label, "missing", required, hint=hint)
        item_options = _options(items)
        if item_options is not None:
            return FormField(name, label, "multi", required, item_options, hint=hint)
        return FormField(name, label, "lines", required, hint=hint or "Mỗi dòng một mục", pattern=items.get("pattern"))
    max_length = prop.get("maxLength")
    return FormField(
        name,
        label,
        "textarea" if (max_length or 0) > 300 else "text",
        required,
        pattern=prop.get("pattern"),
        max_length=max_length,
        hint=hint,
    )


def fields_of(schema: dict, skip: tuple[str, ...] = (), labels: dict | None = None) -> list[FormField]:
    """Form fields of a JSON Schema object, in its order."""
    required, defs = set(schema.get("required", [])), schema.get("$defs", {})
    return [
        _field(name, prop, name in required, defs, labels or {})
        for name, prop in (schema.get("properties") or {}).items()
        if name not in skip
    ]


def with_choices(fields: list[FormField], choices: dict[str, list[tuple[str, str]]]) -> list[FormField]:
    """Fields whose values come from a list (an agency's departments): a select of those names."""
    return [dataclasses.replace(f, kind="select", options=choices[f.name]) if f.name in choices else f for f in fields]


def _number(raw: str, kind: str) -> Any:
    text = raw.replace(" ", "").replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return raw  # the schema check names the field and says a number is needed
    return int(value) if kind == "integer" and value.is_integer() else value


def _option(f: FormField, raw: str) -> Any:
    return next((v for v, _ in f.options if str(v) == raw), raw)


def values_of(fields: list[FormField], form: Any, files: Any) -> dict:
    """The submitted form as the JSON the schema expects (empty optional values left out)."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.kind == "checkbox":
            out[f.name] = form.get(f.name) == "on"
            continue
        if f.kind == "multi":
            chosen = [_option(f, raw) for raw in form.getlist(f.name)]
            if chosen:
                out[f.name] = chosen
            continue
        if f.kind == "file":
            upload: FileStorage | None = files.get(f.name)
            if upload and upload.filename:
                out[f.name] = uploaded_file(upload, default_type="application/pdf")
            continue
        raw = (form.get(f.name) or "").strip()
        if not raw:
            continue
        if f.kind in ("number", "integer"):
            out[f.name] = _number(raw, f.kind)
        elif f.kind == "select":
            out[f.name] = _option(f, raw)
        elif f.kind == "lines":
            out[f.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.kind == "missing":
            items = []
            for line in filter(None, (x.strip() for x in raw.splitlines())):
                code, sep, description = line.partition("|")
                items.append(
                    {"document_code": code.strip() or None, "description": description.strip()}
                    if sep
                    else {"description": line}
                )
            out[f.name] = items
        else:
            out[f.name] = raw
    return out


def sent(fields: list[FormField], form: Any) -> dict:
    """What was typed, to fill a refused form in again (a multiple choice as its list)."""
    out: dict[str, Any] = {k: v for k, v in form.items()}
    for f in fields:
        if f.kind == "multi":
            out[f.name] = form.getlist(f.name)
    return out


def field_errors(details: Any) -> dict[str, str]:
    """The services' error details by form field: {field name: Vietnamese message}. A nested
    path (``form_data.a``, ``information_requested.0``) is its field's; the first message wins."""
    out: dict[str, str] = {}
    for d in details if isinstance(details, list) else []:
        if not isinstance(d, dict) or not d.get("message"):
            continue
        path = [p for p in str(d.get("field") or "").split(".") if p and not p.isdigit()]
        path = path[1:] if path[:1] == ["form_data"] else path
        if path and path[0] not in ("(form)",):
            out.setdefault(path[0], str(d["message"]))
    return out


def summary(errors: dict[str, str], labels: dict[str, tuple[str, str]]) -> list[dict]:
    """The error summary at the top of a form: each error with its field's label and a link to it
    (``labels``: field name → (element id, label))."""
    out = []
    for name, text in errors.items():
        element, label = labels.get(name, (None, None))
        out.append({"href": f"#{element}" if element else None, "label": label, "message": text})
    return out


# ----------------------------------------------------------- what the pages share
# Every filing form's delivery choices (templates' globals, set in render.py).
DELIVERY_VI = {
    "online": "Nhận kết quả trực tuyến",
    "in_person": "Nhận trực tiếp tại bộ phận một cửa",
    "post": "Nhận qua bưu chính công ích",
}

# Filled in when the result goes by post (the services check that: the browser cannot know).
DELIVERY_FIELDS = [
    FormField(
        "delivery_address",
        "Địa chỉ nhận kết quả qua bưu chính",
        "text",
        max_length=500,
        autocomplete="street-address",
        hint="Chỉ cần khi nhận kết quả qua bưu chính",
    ),
    FormField(
        "delivery_province_code",
        "Mã tỉnh của địa chỉ nhận",
        "text",
        pattern=r"^\d{2}$",
        max_length=2,
        hint="2 chữ số, ví dụ 52 là Bình Định",
    ),
]

FILING_LABELS = {
    "delivery_method": ("delivery_method-o", "Hình thức nhận kết quả"),
    "delivery_address": ("delivery_address", "Địa chỉ nhận qua bưu chính"),
    "delivery_province_code": ("delivery_province_code", "Mã tỉnh của địa chỉ"),
    "note": ("note", "Ghi chú"),
}


def whole_number(text: str | None) -> int:
    """A whole number typed in a form or link, 0 when it is none (never an error: "²" is a digit to
    str.isdigit but not to int)."""
    return int(text) if text and text.isascii() and text.isdigit() else 0


def uploaded_file(
    upload: FileStorage, document_code: str | None = None, default_type: str = "application/octet-stream"
) -> dict:
    """A file sent in a multipart body, as the services take it (intake's attachments, a command's
    document): the document it is for, if any, its name (the document code when the part has none),
    its claimed type (the services check it against the bytes) and the bytes in base64."""
    head = {} if document_code is None else {"document_code": document_code}
    return {
        **head,
        "filename": upload.filename or document_code,
        "content_type": upload.mimetype or default_type,
        "content_b64": base64.b64encode(upload.read()).decode(),
    }


def document_uploads(procedure: dict, request: Request) -> list[dict]:
    """The files chosen for a procedure's documents (inputs named doc-<document code>)."""
    out = []
    for doc in procedure.get("required_documents", []):
        upload = request.files.get(f"doc-{doc['code']}")
        if upload and upload.filename:
            out.append(uploaded_file(upload, doc["code"]))
    return out


def refused(
    exc: PortalError, fields: list[FormField], prefix: str = "", extra: dict | None = None, labels: dict | None = None
) -> dict:
    """A refused form's template values: the message, each field's error next to it, and the summary
    linking to them. ``extra`` adds errors the services report in their own terms (documents)."""
    details = exc.details
    if isinstance(details, dict) and details.get("field"):
        details = [{"field": details["field"], "message": exc.message}]
    errors = {**field_errors(details), **(extra or {})}
    names = {f.name: (prefix + f.name, f.label) for f in fields} | (labels or {})
    message = catalogue.message_of("validation_failed") if errors and exc.status == 422 else exc.message
    return {"message": message, "errors": errors, "problems": summary(errors, names)}


def filing_refusal(
    exc: PortalError,
    procedure: dict,
    fields: list[FormField],
    chosen: dict[str, str],
    prefix: str,
    more_labels: dict | None = None,
) -> dict:
    """A refused filing: the eForm's and delivery's errors by field, and the documents' (missing ones,
    a file of the wrong type or size) by their file input."""
    extra = {}
    if exc.code == "missing_documents":
        extra = {f"doc-{d['code']}": "Chưa chọn tệp cho giấy tờ bắt buộc này." for d in exc.details or []}
    elif isinstance(exc.details, dict) and exc.details.get("filename"):
        extra = {name: exc.message for name, filename in chosen.items() if filename == exc.details["filename"]}
    labels = {
        **FILING_LABELS,
        **(more_labels or {}),
        **{f"doc-{d['code']}": (f"doc-{d['code']}", d["name"]) for d in procedure.get("required_documents", [])},
    }
    return refused(exc, fields, prefix, extra, labels)


# ---------------------------------------------------------------------- display
def display(f: FormField | None, value: Any) -> str:
    """A stored value as a person reads it: an option's name, a date dd/mm/yyyy, a list joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return "; ".join(
            display(f and dataclasses.replace(f, kind="select" if f.kind == "multi" else f.kind), v) for v in value
        )
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if f is not None and f.options:
        return next((label for v, label in f.options if v == value or str(v) == str(value)), str(value))
    if f is not None and f.kind == "date" or (isinstance(value, str) and _is_iso_date(value)):
        try:
            return date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")
        except ValueError:
            return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value).replace(".", ",")
    if isinstance(value, dict) and "filename" in value:
        return value["filename"]
    return str(value)


def _is_iso_date(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()


def shown(fields: list[FormField], data: dict) -> list[tuple[str, str]]:
    """A dossier's form data as (label, value) rows, in the form's order; fields the form no longer
    has come last, named as stored."""
    by_name = {f.name: f for f in fields}
    rows = [(f.label, display(f, data[f.name])) for f in fields if f.name in data]
    rows += [(k.replace("_", " ").capitalize(), display(None, v)) for k, v in data.items() if k not in by_name]
    return rows
