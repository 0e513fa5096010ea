"""HTML forms from schemas: a procedure's eForm (JSON Schema) and the officials' workflow commands
(pydantic models), and the submitted values turned back into the JSON those expect."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import FileStorage

LABELS = {
    "child_full_name": "Họ tên trẻ", "child_date_of_birth": "Ngày sinh của trẻ", "child_sex": "Giới tính",
    "place_of_birth": "Nơi sinh", "mother_full_name": "Họ tên mẹ", "mother_national_id": "Số định danh của mẹ",
    "father_full_name": "Họ tên cha", "father_national_id": "Số định danh của cha",
    "relationship_of_declarant": "Quan hệ với người được khai sinh", "full_name": "Họ và tên",
    "national_id": "Số định danh cá nhân", "date_of_birth": "Ngày sinh", "residence": "Nơi cư trú",
    "marital_status": "Tình trạng hôn nhân", "purpose": "Mục đích sử dụng", "note": "Ghi chú",
    "department_id": "Phòng chuyên môn", "agency_id": "Cơ quan", "task": "Nội dung xin ý kiến",
    "days": "Số ngày làm việc", "request_id": "Mã yêu cầu phối hợp", "answer": "Ý kiến", "summary": "Nội dung đề xuất",
    "result_document": "Văn bản kết quả (đã ký)", "reason": "Lý do", "method": "Hình thức trả",
    "reasons": "Lý do (mỗi dòng một lý do)", "refusal_document": "Văn bản từ chối (đã ký)",
    "missing": "Giấy tờ cần bổ sung (mỗi dòng: MÃ | mô tả)", "letter": "Nội dung thư xin lỗi",
    "new_due_date": "Ngày hẹn mới", "fee_paid_at_desk": "Đã thu phí tại bộ phận một cửa",
}


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text, textarea, number, date, select, checkbox, file, lines, missing
    required: bool = False
    options: list[str] = field(default_factory=list)
    pattern: str | None = None
    max_length: int | None = None
    hint: str | None = None


def _field(name: str, prop: dict, required: bool, defs: dict) -> FormField:
    if "anyOf" in prop:  # Optional[X]
        prop = next((p for p in prop["anyOf"] if p.get("type") != "null"), {})
        required = False
    if "$ref" in prop:
        ref = prop["$ref"].rsplit("/", 1)[-1]
        prop = defs.get(ref, {})
        if ref == "Document":
            return FormField(name, LABELS.get(name, name), "file", required)
    label, hint = LABELS.get(name, prop.get("title") or name), prop.get("description")
    if "enum" in prop or "const" in prop:
        return FormField(name, label, "select", required, [str(v) for v in prop.get("enum", [prop.get("const")])],
                         hint=hint)
    kind = prop.get("type")
    if kind == "boolean":
        return FormField(name, label, "checkbox", False, hint=hint)
    if kind in ("integer", "number"):
        return FormField(name, label, "number", required, hint=hint)
    if prop.get("format") == "date":
        return FormField(name, label, "date", required, hint=hint)
    if kind == "array":
        items = prop.get("items", {})
        is_missing = "$ref" in items and items["$ref"].endswith("MissingItem")
        return FormField(name, label, "missing" if is_missing else "lines", required, hint=hint)
    max_length = prop.get("maxLength")
    return FormField(name, label, "textarea" if (max_length or 0) > 300 else "text", required,
                     pattern=prop.get("pattern"), max_length=max_length, hint=hint)


def fields_of(schema: dict, skip: tuple[str, ...] = ()) -> list[FormField]:
    """Form fields of a JSON Schema object, in its order."""
    required, defs = set(schema.get("required", [])), schema.get("$defs", {})
    return [_field(name, prop, name in required, defs)
            for name, prop in (schema.get("properties") or {}).items() if name not in skip]


def values_of(fields: list[FormField], form: Any, files: Any) -> dict:
    """The submitted form as the JSON the schema expects (empty optional values left out)."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.kind == "checkbox":
            out[f.name] = form.get(f.name) == "on"
            continue
        if f.kind == "file":
            upload: FileStorage | None = files.get(f.name)
            if upload and upload.filename:
                out[f.name] = {"filename": upload.filename, "content_type": upload.mimetype or "application/pdf",
                               "content_b64": base64.b64encode(upload.read()).decode()}
            continue
        raw = (form.get(f.name) or "").strip()
        if not raw:
            continue
        if f.kind == "number":
            try:
                out[f.name] = int(raw)
            except ValueError:
                out[f.name] = raw  # the schema check reports it with the field's name
        elif f.kind == "lines":
            out[f.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.kind == "missing":
            items = []
            for line in filter(None, (x.strip() for x in raw.splitlines())):
                code, sep, description = line.partition("|")
                items.append({"document_code": code.strip() or None, "description": description.strip()}
                             if sep else {"description": line})
            out[f.name] = items
        else:
            out[f.name] = raw
    return out


_MESSAGES = [  # jsonschema's English messages → what the person reads
    (re.compile(r"^'(?P<name>[^']+)' is a required property$"), "bắt buộc phải nhập"),
    (re.compile(r"does not match"), "sai định dạng"),
    (re.compile(r"is not one of"), "phải chọn một giá trị trong danh sách"),
    (re.compile(r"is too long"), "quá dài"),
    (re.compile(r"is too short|should be non-empty"), "chưa nhập hoặc quá ngắn"),
    (re.compile(r"is not a 'date'"), "không phải ngày hợp lệ (ngày/tháng/năm)"),
    (re.compile(r"is not of type"), "sai kiểu dữ liệu"),
    (re.compile(r"Additional properties are not allowed"), "có trường không thuộc tờ khai"),
]


def explain(details: Any, fields: list[FormField]) -> list[dict]:
    """The services' error details as Vietnamese lines naming the form's own labels."""
    labels = {f.name: f.label for f in fields}
    out = []
    for d in details if isinstance(details, list) else []:
        if not isinstance(d, dict):
            out.append({"field": None, "message": str(d)})
            continue
        name, message = str(d.get("field") or ""), str(d.get("message") or d.get("name") or "")
        for pattern, vietnamese in _MESSAGES:
            found = pattern.search(message)
            if found:
                name = found.groupdict().get("name") or name
                message = vietnamese
                break
        out.append({"field": labels.get(name.rsplit(".", 1)[-1], name if name != "(form)" else None),
                    "message": message})
    return out
