"""The web portal's forms and page protections, without servers."""

import base64
import io
import json
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from gateway.areas.officials import COMMAND_FIELDS
from gateway.web.forms import display, field_errors, fields_of, shown, uploaded_file, values_of
from gateway.web.render import CSRF_COOKIE, ENV, check_csrf, csrf_token, finish
from services.common.errors import Forbidden

CATALOG = json.loads((Path(__file__).parents[2] / "devtools/data/demo_catalog.json").read_text())
BIRTH = next(p for p in CATALOG["procedures"] if p["code"] == "TP-HT-01")
RECORD = next(p for p in CATALOG["procedures"] if p["code"] == "TP-LLTP-01")


def test_eform_becomes_labelled_fields_and_back_into_the_json_the_schema_expects():
    fields = {f.name: f for f in fields_of(BIRTH["eform_schema"])}
    assert fields["child_sex"].kind == "select" and fields["child_sex"].options == [("nam", "nam"), ("nữ", "nữ")]
    assert fields["child_date_of_birth"].kind == "date" and fields["child_full_name"].required
    assert fields["mother_national_id"].pattern == r"^\d{12}$" and not fields["mother_national_id"].required
    assert fields["child_full_name"].label == "Họ, chữ đệm và tên của trẻ"  # the eForm field's title
    form = MultiDict({"child_full_name": " Bé An ", "child_sex": "nam", "mother_national_id": ""})
    assert values_of(list(fields.values()), form, MultiDict()) == {"child_full_name": "Bé An", "child_sex": "nam"}


def test_every_workflow_command_has_a_form_with_its_fields():
    assert set(COMMAND_FIELDS) >= {
        "receive",
        "request_supplement",
        "assign",
        "propose",
        "approve",
        "mark_result_ready",
        "deliver",
        "draft_refusal",
        "sign_refusal",
        "return_with_reasons",
        "issue_apology",
        "request_cohandling",
    }
    kinds = {a: {f.name: f.kind for f in fs} for a, fs in COMMAND_FIELDS.items()}
    assert kinds["approve"] == {"result_document": "file"}
    assert kinds["request_supplement"]["missing"] == "missing" and kinds["draft_refusal"]["reasons"] == "lines"
    assert kinds["deliver"]["method"] == "select" and kinds["receive"]["fee_paid_at_desk"] == "checkbox"
    form = MultiDict({"missing": "GCS | Giấy chứng sinh bản chính\nẢnh chụp rõ hơn", "note": ""})
    assert values_of(COMMAND_FIELDS["request_supplement"], form, MultiDict()) == {
        "missing": [
            {"document_code": "GCS", "description": "Giấy chứng sinh bản chính"},
            {"description": "Ảnh chụp rõ hơn"},
        ]
    }
    upload = FileStorage(
        stream=__import__("io").BytesIO(b"%PDF-1.4"), filename="kq.pdf", content_type="application/pdf"
    )
    doc = values_of(COMMAND_FIELDS["approve"], MultiDict(), MultiDict({"result_document": upload}))
    assert doc["result_document"]["filename"] == "kq.pdf" and doc["result_document"]["content_b64"] == "JVBERi0xLjQ="


def _request(**kw) -> Request:
    return Request(EnvironBuilder(**kw).get_environ())


def test_forms_need_the_csrf_token_of_their_cookie_and_pages_carry_security_headers():
    with pytest.raises(Forbidden):
        check_csrf(_request(method="POST", data={"csrf": "x" * 40}))
    with pytest.raises(Forbidden):
        check_csrf(_request(method="POST", data={"csrf": "x" * 40}, headers={"Cookie": f"{CSRF_COOKIE}={'y' * 40}"}))
    check_csrf(_request(method="POST", data={"csrf": "z" * 40}, headers={"Cookie": f"{CSRF_COOKIE}={'z' * 40}"}))

    request = _request()
    response = finish(request, Response("ok"), secure=True)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.headers["Set-Cookie"]
    assert csrf_token(request) in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie


def test_templates_render_escaped_vietnamese_pages():
    request = _request()
    page = ENV.get_template("file.html").render(
        csrf="t" * 40,
        request=request,
        session={"role": "citizen"},
        p=BIRTH,
        fields=fields_of(BIRTH["eform_schema"]),
        values={"child_full_name": "<script>x</script>"},
        message=None,
        errors={"child_full_name": "Bắt buộc phải nhập."},
        chosen={"doc-GCS": "gcs.png"},
        delivery_vi={"online": "Nhận kết quả trực tuyến"},
        delivery_methods=["in_person"],
    )
    assert '<html lang="vi">' in page and 'name="csrf" value="tttt' in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert 'for="tk-child_full_name"' in page and 'id="doc-GCS"' in page
    assert 'aria-invalid="true"' in page and 'id="tk-child_full_name-loi"' in page
    assert "Tệp đã chọn: gcs.png" in page  # a refused form says which files to choose again
    case = ENV.get_template("case.html").render(
        csrf="t" * 40,
        request=request,
        session={"role": "reception"},
        workflow=True,
        message=None,
        case={
            "code": "52-1",
            "procedure_name": "Khai sinh",
            "status": "submitted",
            "due_date": None,
            "version": 1,
            "flags": {},
            "processing_days": 1,
            "available_actions": ["receive"],
            "reception_due_date": "2026-03-03",
        },
        dossier={"form_data": {"a": 1}, "attachments": []},
        history=[],
        commands=COMMAND_FIELDS,
        action_vi={"receive": "Tiếp nhận"},
    )
    assert 'id="form-receive"' in case and 'name="expected_version" value="1"' in case
    assert "hết ngày 03/03/2026" in case
    assert 'id="form-approve"' not in case  # only the steps the official can take at this stage


def test_submitted_values_take_the_types_the_schema_says():
    """Issue #13: TP-LLTP-01's record type is a number (chosen by its name), copies an integer; a
    multiple choice is a list; a decimal may be typed with a comma."""
    fields = fields_of(RECORD["eform_schema"])
    by_name = {f.name: f for f in fields}
    assert by_name["record_type"].options == [(1, "Phiếu lý lịch tư pháp số 1"), (2, "Phiếu lý lịch tư pháp số 2")]
    form = MultiDict({"record_type": "2", "copies": "3", "full_name": "Lê A"})
    assert values_of(fields, form, MultiDict()) == {"record_type": 2, "copies": 3, "full_name": "Lê A"}
    land = fields_of(next(p for p in CATALOG["procedures"] if p["code"] == "DD-TT-01")["eform_schema"])
    wanted = next(f for f in land if f.name == "information_requested")
    assert wanted.kind == "multi"
    sent = MultiDict([("information_requested", "trích lục bản đồ"), ("information_requested", "thông tin thửa đất")])
    assert values_of([wanted], sent, MultiDict()) == {
        "information_requested": ["trích lục bản đồ", "thông tin thửa đất"]
    }
    build = fields_of(next(p for p in CATALOG["procedures"] if p["code"] == "XD-GPXD-01")["eform_schema"])
    area = next(f for f in build if f.name == "plot_area_m2")
    assert values_of([area], MultiDict({"plot_area_m2": "120,5"}), MultiDict()) == {"plot_area_m2": 120.5}


def test_errors_go_to_their_fields_and_form_data_reads_as_a_person_writes_it():
    details = [
        {"field": "child_full_name", "message": "Bắt buộc phải nhập."},
        {"field": "form_data.mother_national_id", "message": "Sai định dạng."},
        {"field": "information_requested.0", "message": "Phải chọn một giá trị trong danh sách."},
        {"field": "(form)", "message": "Có trường không thuộc tờ khai."},
    ]
    assert field_errors(details) == {
        "child_full_name": "Bắt buộc phải nhập.",
        "mother_national_id": "Sai định dạng.",
        "information_requested": "Phải chọn một giá trị trong danh sách.",
    }
    fields = fields_of(RECORD["eform_schema"])
    rows = dict(
        shown(
            fields,
            {"full_name": "Lê A", "date_of_birth": "1990-05-17", "record_type": 2, "copies": 1, "old_field": "x"},
        )
    )
    assert rows == {
        "Họ, chữ đệm và tên": "Lê A",
        "Ngày sinh": "17/05/1990",
        "Loại Phiếu lý lịch tư pháp": "Phiếu lý lịch tư pháp số 2",
        "Số lượng Phiếu yêu cầu cấp": "1",
        "Old field": "x",
    }
    assert display(None, 135000) == "135.000" and display(None, True) == "Có" and display(None, ["a", "b"]) == "a; b"


def test_every_template_compiles():
    for name in ENV.list_templates(filter_func=lambda n: n.endswith(".html")):
        ENV.get_template(name)


def test_case_history_names_the_department_a_case_went_to():
    from gateway.areas.officials import history_rows

    entries = [
        {
            "at": "2031-03-04T02:00:00+00:00",
            "action": "receive",
            "from_status": "submitted",
            "to_status": "in_review",
            "actor": {"id": "r1", "role": "reception"},
            "department_id": "PHONG-TP",
        },
        {
            "at": "2031-03-05T02:00:00+00:00",
            "action": "assign",
            "from_status": "in_review",
            "to_status": "in_review",
            "actor": {"id": "r1", "role": "reception"},
            "department_id": "PHONG-HT",
        },
        {
            "at": "2031-03-06T02:00:00+00:00",
            "action": "propose",
            "from_status": "in_review",
            "to_status": "awaiting_approval",
            "actor": {"id": "s1", "role": "specialist"},
        },
    ]
    rows = history_rows(
        entries, {"r1": {"name": "Trần Thị B"}}, {"PHONG-TP": "Phòng Lý lịch tư pháp", "PHONG-HT": "Phòng Hộ tịch"}
    )
    assert (
        rows[0]["who"].startswith("Trần Thị B")
        and rows[0]["what"] == "tiếp nhận hồ sơ, giao Phòng Lý lịch tư pháp xử lý"
    )
    assert rows[1]["what"] == "chuyển hồ sơ đến phòng chuyên môn, giao Phòng Hộ tịch xử lý" and rows[1]["to"] is None
    assert rows[2]["what"] == "đề xuất kết quả giải quyết" and rows[2]["to"] == "awaiting_approval"


def test_an_upload_becomes_the_file_the_services_take():
    pdf = b"%PDF-1.4 tep"
    upload = FileStorage(io.BytesIO(pdf), filename="tờ khai.pdf", content_type="application/pdf")
    assert uploaded_file(upload, "TK") == {
        "document_code": "TK",
        "filename": "tờ khai.pdf",
        "content_type": "application/pdf",
        "content_b64": base64.b64encode(pdf).decode(),
    }
    # a part without a name of its own is named after its document; an eForm file has no document
    nameless = uploaded_file(FileStorage(io.BytesIO(pdf), filename="", content_type=""), "TK")
    assert (nameless["filename"], nameless["content_type"]) == ("TK", "application/octet-stream")
    assert uploaded_file(FileStorage(io.BytesIO(pdf), filename="a.pdf"), default_type="application/pdf") == {
        "filename": "a.pdf",
        "content_type": "application/pdf",
        "content_b64": base64.b64encode(pdf).decode(),
    }
