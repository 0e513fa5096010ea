"""Issue #14, items 3–8: what an attacker's and an operator's probing found, each answered
the right way now (no 500, no header injection, chunked bodies read, security headers, no
personal data in the logs, one sign-in limit per account)."""

import re
import time

import pytest
import requests

from tests.e2e.test_bad_input import assert_error, filing
from tests.e2e.test_processing_journey import official
from tests.helpers import PDF, b64, new_citizen

HUGE = "32435546333632049152"  # past 2**64: MongoDB's skip cannot take it


@pytest.mark.parametrize(
    "path,who",
    [
        ("dossiers", "citizen"),
        ("inbox", "citizen"),
        ("procedures", None),
        ("qa", None),
        ("feedback", "official"),
        ("cases", "official"),
    ],
)
def test_page_numbers_are_bounded(suite, citizen, path, who):
    api = suite["api"]
    headers = {None: {}, "citizen": citizen[1], "official": official(api, "off-gr-reception")}[who]
    r = requests.get(f"{api}/{path}", params={"page": HUGE}, headers=headers, timeout=10)
    err = assert_error(r, 422, "validation_failed")
    assert err["details"][0]["field"] == "page"
    r = requests.get(f"{api}/{path}", params={"page": 10000, "page_size": 100}, headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["items"] == [], r.text


def test_web_pages_take_any_page_number(suite):
    r = requests.get(f"{suite['url']}/", params={"page": HUGE, "level": "²"}, timeout=10)
    assert r.status_code == 200


def test_lookup_with_a_non_ascii_secret_is_invalid_not_an_error(suite, citizen):
    r = requests.post(f"{suite['api']}/dossiers", json=filing(), headers=citizen[1], timeout=30)
    code = r.json()["dossier"]["code"]  # a real dossier: the secret is compared
    r = requests.post(f"{suite['api']}/dossier-lookup", json={"code": code, "secret": "mật-khẩu-bí"}, timeout=10)
    assert_error(r, 422, "validation_failed")
    r = requests.post(
        f"{suite['url']}/tra-cuu",
        timeout=10,
        data={"code": code, "secret": "ñññññññ", "csrf": "x" * 40},
        cookies={"cdvc_csrf": "x" * 40},
    )
    assert r.status_code == 422 and "Không tìm thấy" in r.text


def test_signing_payload_names_each_file_by_document_code(suite, citizen):
    r = requests.post(
        f"{suite['api']}/dossiers/signing-payload",
        headers=citizen[1],
        timeout=10,
        json={"procedure_code": "TP-LLTP-01", "form_data": {}, "attachments": [{"sha256": "0" * 64}]},
    )
    err = assert_error(r, 422, "validation_failed")
    assert err["details"][0]["field"] == "attachments.0.document_code"


def test_wrong_method_names_the_allowed_ones(suite):
    r = requests.delete(f"{suite['api']}/procedures", timeout=10)
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def _download_headers(r):
    assert r.status_code == 200, r.text
    disposition = r.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition.split("''")[0]
    assert "X-Injected" not in r.headers
    return disposition


def test_file_names_with_line_breaks_and_paths_are_stored_safe_and_download(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    body = filing()
    body["attachments"][0]["filename"] = "../../etc/passwd"
    body["attachments"].append(
        {
            "document_code": "BA-LYHON",
            "filename": "ban-an\r\nX-Injected: 1\r\n.pdf",
            "content_type": "application/pdf",
            "content_b64": b64(PDF),
        }
    )
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    dossier = r.json()["dossier"]
    names = [a["filename"] for a in dossier["attachments"]]
    assert names == ["passwd", "ban-an X-Injected: 1 .pdf"]
    code = dossier["code"]
    reception = official(api, "off-gr-reception")
    session = requests.Session()
    session.cookies.set("cdvc_csrf", "c" * 40)
    r = session.post(
        f"{suite['url']}/dang-nhap",
        timeout=10,
        allow_redirects=False,
        data={"login": "off-gr-reception@demo.binhdinh.gov.vn", "password": "demo-password-2026", "csrf": "c" * 40},
    )
    assert r.status_code == 303, r.text
    for a in dossier["attachments"]:
        for url, headers, client in (
            (f"{api}/dossiers/{code}/attachments/{a['id']}", auth, requests),
            (f"{api}/dossiers/{code}/attachments/{a['id']}", reception, requests),
            (f"{suite['url']}/can-bo/ho-so/{code}/tep/{a['id']}", {}, session),
        ):
            disposition = _download_headers(client.get(url, headers=headers, timeout=10))
            assert re.fullmatch(r'attachment; filename="[ -~]+"; filename\*=UTF-8\'\'[\w.%~-]+', disposition)


def test_chunked_bodies_are_read_within_the_limit(suite):
    api = suite["api"]
    p = new_citizen()
    requests.post(f"{api}/auth/register", json=p, timeout=30).raise_for_status()
    body = ('{"login": "%s", "password": "%s"}' % (p["email"], p["password"])).encode()

    def chunks(data, size=7):
        yield from (data[i : i + size] for i in range(0, len(data), size))

    r = requests.post(f"{api}/auth/login", data=chunks(body), timeout=30, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    limit = int(suite["env"]["MAX_BODY_BYTES"])
    big = b'{"login": "' + b"a" * (limit + 1024) + b'"}'
    r = requests.post(
        f"{api}/auth/login", data=chunks(big, 256 * 1024), timeout=60, headers={"Content-Type": "application/json"}
    )
    assert_error(r, 413, "request_too_large")


def test_every_response_says_nosniff_and_no_store(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    r = requests.post(f"{api}/dossiers", json=filing(), headers=auth, timeout=30)
    code, attachment = r.json()["dossier"]["code"], r.json()["dossier"]["attachments"][0]["id"]
    responses = [
        r,
        requests.get(f"{api}/me", headers=auth, timeout=10),
        requests.get(f"{api}/dossiers/{code}", headers=auth, timeout=10),
        requests.get(f"{api}/dossiers/{code}/attachments/{attachment}", headers=auth, timeout=10),
        requests.get(f"{api}/dossiers/nope", headers=auth, timeout=10),
        requests.get(f"{api}/no-such-route", timeout=10),
        requests.get(f"{api}/me", timeout=10),
        requests.get(f"{suite['url']}/health", timeout=30),
        requests.get(f"{suite['url']}/tra-cuu", timeout=10),
    ]
    for r in responses:
        assert r.headers.get("X-Content-Type-Options") == "nosniff", r.url
        assert r.headers.get("Cache-Control") == "no-store", r.url
    static = requests.get(f"{suite['url']}/static/portal.css", timeout=10)
    assert static.headers["X-Content-Type-Options"] == "nosniff" and "public" in static.headers["Cache-Control"]


def test_a_refused_file_does_not_put_the_applicants_name_in_the_log(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    person = "Phạm Thị Xuân Quỳnh"
    body = filing()
    body["attachments"][0].update(filename=f"CCCD {person}.pdf", content_b64=b64(b"MZ not a pdf"))
    assert_error(
        requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30), 415, "attachment_type_not_allowed"
    )
    log = suite["log_dir"] / "intake.log"
    deadline = time.time() + 10
    while "file_dossier answered 415" not in log.read_text(encoding="utf-8") and time.time() < deadline:
        time.sleep(0.2)
    text = log.read_text(encoding="utf-8")
    assert "file_dossier answered 415 attachment_type_not_allowed" in text
    assert person not in text


def test_sign_in_limit_holds_for_every_name_of_the_account(suite):
    api = suite["api"]
    p = new_citizen()
    requests.post(f"{api}/auth/register", json=p, timeout=30).raise_for_status()
    for _ in range(int(suite["env"]["LOGIN_MAX_ATTEMPTS"])):
        r = requests.post(f"{api}/auth/login", json={"login": p["email"], "password": "sai-mat-khau"}, timeout=30)
        assert r.status_code == 401
    r = requests.post(f"{api}/auth/login", json={"login": p["national_id"], "password": "sai-mat-khau"}, timeout=30)
    assert_error(r, 429, "too_many_login_attempts")
    r = requests.post(f"{api}/auth/login", json={"login": p["national_id"], "password": p["password"]}, timeout=30)
    assert_error(r, 429, "too_many_login_attempts")
