"""Issue #14 pieces that need no server: safe file names and their download header, page bounds,
expected errors in the log, and an OpenAPI that documents what the gateway answers."""

import logging
import sys

import pytest

from gateway.api import ROUTES, content_disposition, file_response
from gateway.openapi import build_openapi
from services.common.errors import Forbidden, PortalError, ValidationFailed
from services.common.files import download, safe_filename, sha256
from services.common.observability import ExpectedErrors
from services.common.schemas import MAX_PAGE, page_bounds


@pytest.mark.parametrize(
    "given,stored",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\An\\to-khai.pdf", "to-khai.pdf"),
        ("ban-an\r\nX-Injected: 1\r\n.pdf", "ban-an X-Injected: 1 .pdf"),
        ("..", "tep"),
        ("\u202egpj.exe", "gpj.exe"),
        ("Giấy khai sinh.pdf", "Giấy khai sinh.pdf"),
    ],
)
def test_file_names_are_stored_without_controls_or_paths(given, stored):
    assert safe_filename(given) == stored


def test_download_header_is_one_line_with_an_ascii_fallback_and_the_utf8_name():
    header = content_disposition('Nguyễn "An"\r\n../x.pdf')
    assert header == "attachment; filename=\"x.pdf\"; filename*=UTF-8''x.pdf"
    header = content_disposition("Tờ khai.pdf")
    assert header == "attachment; filename=\"T_ khai.pdf\"; filename*=UTF-8''T%E1%BB%9D%20khai.pdf"


def test_a_download_carries_its_hash_for_the_gateway_to_serve():
    pdf = b"%PDF-1.4 bien lai"
    f = download("biên lai.pdf", "application/pdf", pdf)
    assert f == {
        "filename": "biên lai.pdf",
        "content_type": "application/pdf",
        "sha256": sha256(pdf),
        "content_b64": "JVBERi0xLjQgYmllbiBsYWk=",
    }
    response = file_response(f)  # what the gateway answers
    assert response.get_data() == pdf and response.headers["X-Content-SHA256"] == sha256(pdf)
    assert download("x.pdf", "application/pdf", pdf, "a" * 64)["sha256"] == "a" * 64  # a stored file's, checked


def test_page_bounds_clamp_what_an_rpc_caller_passes():
    assert page_bounds(32435546333632049152, 10**9) == (MAX_PAGE, 100)
    assert page_bounds(-5, 0) == (1, 1)
    with pytest.raises(ValidationFailed):
        page_bounds("x", 20)


def _worker_error(exc: BaseException) -> logging.LogRecord:
    class Entrypoint:
        method_name = "file_dossier"

    class Worker:
        service_name, entrypoint = "intake", Entrypoint()

    try:
        raise exc
    except BaseException:
        return logging.LogRecord(
            "nameko.containers",
            logging.ERROR,
            __file__,
            1,
            "error handling worker %s: %s",
            (Worker(), exc),
            sys.exc_info(),
        )


@pytest.fixture
def info_logging():
    logger = logging.getLogger("nameko.containers")
    level = logger.level
    logger.setLevel(logging.INFO)  # setLevel, not the attribute: it clears isEnabledFor's cache
    yield
    logger.setLevel(level)


def test_expected_errors_are_one_info_line_without_the_message(info_logging):
    record = _worker_error(Forbidden("Tệp CCCD Phạm Thị Quỳnh.pdf không hợp lệ", None, "attachment_type_not_allowed"))
    assert ExpectedErrors().filter(record)
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == "intake.file_dossier answered 403 attachment_type_not_allowed"
    record = _worker_error(KeyError("document_code"))
    assert ExpectedErrors().filter(record) and record.levelno == logging.ERROR and record.exc_info
    record = _worker_error(PortalError("boom"))
    assert ExpectedErrors().filter(record) and record.levelno == logging.ERROR


def test_openapi_documents_every_status_the_gateway_can_answer():
    doc = build_openapi()
    for spec in ROUTES:
        op = doc["paths"][spec.path][spec.method.lower()]
        statuses = set(op["responses"])
        assert op["x-auth"] and "x-scope" in op
        if spec.body is not None:
            assert {"413", "415", "422"} <= statuses, spec.path
        if spec.query is not None:
            assert "422" in statuses, spec.path
        if "{" in spec.path:
            assert "404" in statuses, spec.path
        if spec.auth != "public":
            assert "401" in statuses, spec.path


def test_expected_errors_follow_log_level():
    logger = logging.getLogger("nameko.containers")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        assert not ExpectedErrors().filter(_worker_error(Forbidden("x", None, "forbidden")))
    finally:
        logger.setLevel(level)
