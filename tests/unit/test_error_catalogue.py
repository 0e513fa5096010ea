"""Issue #13: one catalogue of error codes, each with its HTTP status and a Vietnamese message;
every code raised anywhere in the code base is in it, with the status it is raised with."""

import ast
import re

from jsonschema import Draft202012Validator, FormatChecker
from pydantic import ValidationError

from contracts.intake import FileDossier, RegisterIndividual, RegisterOrganisation
from gateway.exceptions import HTTP_CODES
from services.common import error_catalogue as catalogue
from services.common import errors
from services.common.config import ROOT
from services.common.schemas import parse

ERROR_CLASSES = {cls.__name__ for cls in errors.ALL_ERRORS}
# Where an error class may still be constructed by hand: the catalogue itself; the broker's signal,
# which callers catch by its class; the payment provider's stand-in, which plays another system.
BY_HAND = {
    "services/common/error_catalogue.py": ERROR_CLASSES,
    "services/common/messaging.py": {"BrokerUnavailable"},
    "devtools/payment_provider.py": ERROR_CLASSES,
}
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I)


def test_every_raised_code_is_catalogued():
    found = catalogue.raise_sites()
    assert len(found) > 120, "the scan found too few codes: is it still reading the raise sites?"
    missing = sorted(set(found) - set(catalogue.ERRORS))
    assert missing == [], f"codes raised but not in services/common/error_catalogue.py: {missing}"
    assert set(HTTP_CODES.values()) <= set(catalogue.ERRORS)  # the gateway's codes for HTTP errors
    for cls in errors.ALL_ERRORS:  # the class defaults too
        assert catalogue.ERRORS[cls.code][0] == cls.status, cls


def test_errors_are_raised_through_the_catalogue():
    """No error class is constructed by hand: its code, status and message come from the catalogue."""
    by_hand = []
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("gateway/**/*.py"), *ROOT.glob("clients/**/*.py")]:
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(getattr(node, "func", None), "id", None) or getattr(
                getattr(node, "func", None), "attr", None
            )
            if isinstance(node, ast.Call) and name in ERROR_CLASSES - BY_HAND.get(where, set()):
                by_hand.append(f"{where}:{node.lineno} {name}")
    assert by_hand == [], "raise catalogue.error(code, details) instead"


def test_the_docs_are_what_the_command_prints():
    committed = (ROOT / "docs" / "ERRORS.md").read_text(encoding="utf-8")
    assert committed == catalogue.markdown(), (
        "docs/ERRORS.md is stale: python -m services.common.error_catalogue > docs/ERRORS.md"
    )
    assert (
        "| `dossier_not_found` | 404 | Không tìm thấy hồ sơ. | `services/intake/exceptions.py`, "
        "`services/processing/exceptions.py` |" in committed
    )


def test_every_message_is_vietnamese():
    english = {c: m for c, (_, m) in catalogue.ERRORS.items() if not VIETNAMESE.search(m)}
    assert english == {}
    for template in [*catalogue.PYDANTIC.values(), *catalogue.JSONSCHEMA.values()]:
        assert VIETNAMESE.search(template), template


def test_catalogue_builds_the_error_of_its_status():
    err = catalogue.error("forbidden_role")
    assert isinstance(err, errors.Forbidden) and err.status == 403 and err.code == "forbidden_role"
    assert "quyền" in err.message
    assert catalogue.error("method_not_allowed").status == 405


def test_pydantic_errors_read_in_vietnamese_and_name_their_field():
    try:
        parse(
            RegisterIndividual,
            {
                "kind": "individual",
                "email": "khong-phai-email",
                "phone": "123",
                "password": "ngan",
                "full_name": "A",
                "national_id": "12",
                "date_of_birth": "2020-13-45",
                "la": 1,
            },
        )
    except errors.ValidationFailed as exc:
        by_field = {d["field"]: d["message"] for d in exc.details}
    assert by_field == {
        "email": "Địa chỉ thư điện tử không hợp lệ.",
        "phone": "Số điện thoại Việt Nam: 0xxxxxxxxx hoặc +84xxxxxxxxx.",
        "password": "Cần ít nhất 10 ký tự.",
        "full_name": "Cần ít nhất 2 ký tự.",
        "national_id": "Số định danh cá nhân gồm đúng 12 chữ số.",
        "date_of_birth": "Không phải ngày hợp lệ (ngày/tháng/năm).",
        "la": "Trường này không thuộc biểu mẫu.",
    }
    try:
        parse(
            RegisterOrganisation,
            {
                "kind": "organisation",
                "email": "a@b.vn",
                "phone": "0912345678",
                "password": "x" * 12,
                "name": "Công ty A",
                "tax_code": "0101",
            },
        )
    except errors.ValidationFailed as exc:
        by_field = {d["field"]: d["message"] for d in exc.details}
    assert by_field == {
        "tax_code": "Mã số thuế gồm 10 chữ số, hoặc 10 chữ số-3 chữ số với chi nhánh.",
        "representative": "Bắt buộc phải nhập.",
    }
    # "needed for delivery by post" names the field it is about
    try:
        FileDossier.model_validate({"procedure_code": "X", "form_data": {}, "delivery_method": "post"})
    except ValidationError as exc:
        details = errors.pydantic_details(exc)
    assert [d["field"] for d in details] == ["delivery_address", "delivery_province_code"]
    assert details[0]["message"] == "Cần địa chỉ nhận kết quả qua bưu chính."


def test_eform_errors_name_the_missing_field_itself():
    schema = {
        "type": "object",
        "required": ["a", "b"],
        "additionalProperties": False,
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "string", "pattern": "^\\d{12}$"},
            "c": {"type": "string", "format": "date"},
            "n": {"type": "integer", "minimum": 1},
        },
    }
    v = Draft202012Validator(schema, format_checker=FormatChecker())
    details = [catalogue.jsonschema_detail(e) for e in v.iter_errors({"b": "12", "c": "2026-02-30", "n": 0})]
    assert sorted((d["field"], d["message"]) for d in details) == [
        ("a", "Bắt buộc phải nhập."),
        ("b", "Sai định dạng."),
        ("c", "Không phải ngày hợp lệ (ngày/tháng/năm)."),
        ("n", "Phải từ 1 trở lên."),
    ]


def test_http_errors_of_the_web_server_use_the_catalogue():
    from werkzeug.exceptions import MethodNotAllowed
    from werkzeug.exceptions import NotFound as WerkzeugNotFound

    from gateway.exceptions import to_portal_error

    err = to_portal_error(WerkzeugNotFound())
    assert (err.status, err.code, err.message) == (404, "not_found", catalogue.message_of("not_found"))
    assert to_portal_error(MethodNotAllowed()).status == 405
    assert to_portal_error(RuntimeError("boom")).message == catalogue.message_of("internal_error")
