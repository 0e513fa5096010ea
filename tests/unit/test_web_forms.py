"""The web portal's forms and page protections, without servers."""
import json
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from gateway.web.forms import explain, fields_of, values_of
from gateway.web.pages import COMMAND_FIELDS
from gateway.web.render import CSRF_COOKIE, ENV, check_csrf, csrf_token, finish
from services.common.errors import Forbidden

CATALOG = json.loads((Path(__file__).parents[2] / "services/intake/data/demo_catalog.json").read_text())
BIRTH = next(p for p in CATALOG["procedures"] if p["code"] == "TP-HT-01")


def test_eform_becomes_labelled_fields_and_back_into_the_json_the_schema_expects():
    fields = {f.name: f for f in fields_of(BIRTH["eform_schema"])}
    assert fields["child_sex"].kind == "select" and fields["child_sex"].options == ["nam", "nữ"]
    assert fields["child_date_of_birth"].kind == "date" and fields["child_full_name"].required
    assert fields["mother_national_id"].pattern == r"^\d{12}$" and not fields["mother_national_id"].required
    assert fields["child_full_name"].label == "Họ tên trẻ"
    form = MultiDict({"child_full_name": " Bé An ", "child_sex": "nam", "mother_national_id": ""})
    assert values_of(list(fields.values()), form, MultiDict()) == {"child_full_name": "Bé An", "child_sex": "nam"}


def test_every_workflow_command_has_a_form_with_its_fields():
    assert set(COMMAND_FIELDS) >= {"receive", "request_supplement", "assign", "propose", "approve",
                                   "mark_result_ready", "deliver", "draft_refusal", "sign_refusal",
                                   "return_with_reasons", "issue_apology", "request_cohandling"}
    kinds = {a: {f.name: f.kind for f in fs} for a, fs in COMMAND_FIELDS.items()}
    assert kinds["approve"] == {"result_document": "file"}
    assert kinds["request_supplement"]["missing"] == "missing" and kinds["draft_refusal"]["reasons"] == "lines"
    assert kinds["deliver"]["method"] == "select" and kinds["receive"]["fee_paid_at_desk"] == "checkbox"
    form = MultiDict({"missing": "GCS | Giấy chứng sinh bản chính\nẢnh chụp rõ hơn", "note": ""})
    assert values_of(COMMAND_FIELDS["request_supplement"], form, MultiDict()) == {"missing": [
        {"document_code": "GCS", "description": "Giấy chứng sinh bản chính"}, {"description": "Ảnh chụp rõ hơn"}]}
    upload = FileStorage(stream=__import__("io").BytesIO(b"%PDF-1.4"), filename="kq.pdf", content_type="application/pdf")
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
        csrf="t" * 40, request=request, session={"role": "citizen"}, p=BIRTH,
        fields=fields_of(BIRTH["eform_schema"]), values={"child_full_name": "<script>x</script>"}, message=None,
        errors=[], delivery_vi={"online": "Nhận kết quả trực tuyến"}, delivery_methods=["in_person"])
    assert '<html lang="vi">' in page and 'name="csrf" value="tttt' in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert 'for="tk-child_full_name"' in page and 'id="doc-GCS"' in page
    case = ENV.get_template("case.html").render(
        csrf="t" * 40, request=request, session={"role": "reception"}, workflow=True, message=None,
        case={"code": "52-1", "procedure_name": "Khai sinh", "status": "submitted", "due_date": None, "version": 1,
              "flags": {}, "processing_days": 1, "available_actions": ["receive"],
              "reception_due_date": "2026-03-03"},
        dossier={"form_data": {"a": 1}, "attachments": []}, history=[], commands=COMMAND_FIELDS,
        action_vi={"receive": "Tiếp nhận"})
    assert 'id="form-receive"' in case and 'name="expected_version" value="1"' in case
    assert "hết ngày 03/03/2026" in case
    assert 'id="form-approve"' not in case  # only the steps the official can take at this stage


def test_schema_errors_read_as_vietnamese_with_the_form_labels():
    fields = fields_of(BIRTH["eform_schema"])
    details = [{"field": "(form)", "message": "'child_full_name' is a required property"},
               {"field": "mother_national_id", "message": "'123' does not match '^\\d{12}$'"},
               {"field": "child_date_of_birth", "message": "'2026-13-45' is not a 'date'"}]
    assert explain(details, fields) == [
        {"field": "Họ tên trẻ", "message": "bắt buộc phải nhập"},
        {"field": "Số định danh của mẹ", "message": "sai định dạng"},
        {"field": "Ngày sinh của trẻ", "message": "không phải ngày hợp lệ (ngày/tháng/năm)"}]
