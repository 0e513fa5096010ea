"""Every bad request gets the right status and stable code, and leaves nothing
behind in any database (Rule 3; R9, R21, R22)."""

import time
import uuid

import jwt
import pytest
import requests

from tests.helpers import PDF, EventTap, b64, new_citizen

FORM = {
    "full_name": "Nguyễn Văn An",
    "national_id": "079090001234",
    "date_of_birth": "1990-05-17",
    "residence": "Quy Nhơn",
    "marital_status": "chưa kết hôn",
    "purpose": "Kết hôn",
}


def filing(**over):
    body = {
        "procedure_code": "TP-HT-02",
        "form_data": dict(FORM),
        "delivery_method": "in_person",
        "attachments": [
            {
                "document_code": "TK-XNHN",
                "filename": "tk.pdf",
                "content_type": "application/pdf",
                "content_b64": b64(PDF),
            }
        ],
    }
    body.update(over)
    return body


@pytest.fixture
def db_counts(suite, mongo):
    """Sizes of what a filing or a registration writes (intake's own collections).

    Other services' collections change on their own as earlier tests' events are
    handled, so they are not part of the snapshot; events are checked separately.
    """
    db = mongo[suite["env"]["DB_PREFIX"] + "_intake"]
    names = (
        "dossiers",
        "dossiers_transitions",
        "attachment_chunks",
        "idempotency_keys",
        "accounts",
        "accounts_transitions",
        "account_keys",
    )

    def snapshot():
        counts = {name: db[name].count_documents({}) for name in names}
        counts["dossiers_transitions"] = db.dossiers_transitions.count_documents({"version": 1})
        return counts

    return snapshot


def assert_error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]


@pytest.mark.parametrize(
    "name,mutate,status,code",
    [
        ("invalid eForm data", lambda b: b["form_data"].update(national_id="12AB"), 422, "invalid_form_data"),
        ("eForm missing field", lambda b: b["form_data"].pop("purpose"), 422, "invalid_form_data"),
        ("eForm unknown field", lambda b: b["form_data"].update(extra="x"), 422, "invalid_form_data"),
        ("missing required document", lambda b: b.update(attachments=[]), 422, "missing_documents"),
        (
            "document not on the list",
            lambda b: b["attachments"].append(
                {
                    "document_code": "SO-HO-KHAU",
                    "filename": "x.pdf",
                    "content_type": "application/pdf",
                    "content_b64": b64(PDF),
                }
            ),
            422,
            "unknown_documents",
        ),
        (
            "wrong type (text as pdf)",
            lambda b: b["attachments"][0].update(content_b64=b64(b"hello, not a pdf")),
            415,
            "attachment_type_not_allowed",
        ),
        (
            "claimed type differs",
            lambda b: b["attachments"][0].update(content_type="image/png"),
            415,
            "attachment_type_not_allowed",
        ),
        (
            "oversize attachment",
            lambda b: b["attachments"][0].update(content_b64=b64(PDF + b"0" * (1024 * 1024 + 10))),
            413,
            "attachment_too_large",
        ),
        ("bad base64", lambda b: b["attachments"][0].update(content_b64="***"), 422, "attachment_encoding"),
        ("level-1 procedure", lambda b: b.update(procedure_code="TP-CT-01"), 422, "procedure_not_online"),
        ("level-2 procedure", lambda b: b.update(procedure_code="DD-GCN-02"), 422, "procedure_not_online"),
        ("unknown procedure", lambda b: b.update(procedure_code="NOPE-1"), 404, "procedure_not_found"),
        ("delivery not offered", lambda b: b.update(delivery_method="online"), 422, "delivery_method_not_allowed"),
        ("unknown top-level field", lambda b: b.update(colour="blue"), 422, "validation_failed"),
        ("post without address", lambda b: b.update(delivery_method="post"), 422, "validation_failed"),
    ],
)
def test_bad_filing_rejected_and_nothing_stored(suite, citizen, db_counts, name, mutate, status, code):
    api, (_, auth) = suite["api"], citizen
    tap = EventTap(suite["env"]["AMQP_URI"], "intake", "dossier_submitted")
    try:
        before = db_counts()
        body = filing()
        mutate(body)
        r = requests.post(
            f"{api}/dossiers", json=body, headers={**auth, "Idempotency-Key": str(uuid.uuid4())}, timeout=30
        )
        err = assert_error(r, status, code)
        if code == "procedure_not_online":
            assert "trực tiếp" in err["message"] and err["details"]["how"] == ["in_person", "post"]
        if code == "missing_documents":
            assert "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân" in err["message"]
        assert db_counts() == before
        assert tap.drain(wait=0.5) == []
    finally:
        tap.close()


def test_malformed_json_and_wrong_content_type(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    r = requests.post(
        f"{api}/dossiers", data=b'{"procedure_code": ', timeout=10, headers={**auth, "Content-Type": "application/json"}
    )
    assert_error(r, 400, "malformed_json")
    r = requests.post(
        f"{api}/dossiers", data=b"procedure_code=x", timeout=10, headers={**auth, "Content-Type": "text/plain"}
    )
    assert_error(r, 415, "unsupported_media_type")
    r = requests.post(f"{api}/auth/login", data=b"[1,2", timeout=10, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "malformed_json")


def test_request_body_limit(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    big = b"x" * (8 * 1024 * 1024 + 1)
    r = requests.post(f"{api}/dossiers", data=big, timeout=30, headers={**auth, "Content-Type": "application/json"})
    assert_error(r, 413, "request_too_large")


def test_idempotency_key_replay_returns_same_dossier_and_one_event(suite, citizen, mongo):
    api, (_, auth) = suite["api"], citizen
    tap = EventTap(suite["env"]["AMQP_URI"], "intake", "dossier_submitted")
    try:
        headers = {**auth, "Idempotency-Key": f"replay-{uuid.uuid4()}"}
        first = requests.post(f"{api}/dossiers", json=filing(), headers=headers, timeout=30)
        second = requests.post(f"{api}/dossiers", json=filing(), headers=headers, timeout=30)
        assert first.status_code == second.status_code == 201
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert first.json()["dossier"]["code"] == second.json()["dossier"]["code"]
        assert first.json()["tracking_secret"] == second.json()["tracking_secret"]
        events = tap.drain(wait=3)
        assert len(events) == 1 and events[0]["dossier_code"] == first.json()["dossier"]["code"]
        listed = requests.get(f"{api}/dossiers", headers=auth, timeout=10).json()
        assert listed["total"] == 1

        other = filing()
        other["form_data"]["purpose"] = "Khác"
        r = requests.post(f"{api}/dossiers", json=other, headers=headers, timeout=30)
        assert_error(r, 409, "idempotency_key_reused")
        assert requests.get(f"{api}/dossiers", headers=auth, timeout=10).json()["total"] == 1
    finally:
        tap.close()


def test_another_citizens_dossier_is_not_found(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    r = requests.post(f"{api}/dossiers", json=filing(), headers=auth, timeout=30)
    d = r.json()["dossier"]
    other = new_citizen()
    requests.post(f"{api}/auth/register", json=other, timeout=30).raise_for_status()
    tok = requests.post(
        f"{api}/auth/login", json={"login": other["national_id"], "password": other["password"]}, timeout=30
    ).json()["access_token"]
    stranger = {"Authorization": f"Bearer {tok}"}
    assert_error(requests.get(f"{api}/dossiers/{d['code']}", headers=stranger, timeout=10), 404, "dossier_not_found")
    assert_error(
        requests.get(
            f"{api}/dossiers/{d['code']}/attachments/{d['attachments'][0]['id']}", headers=stranger, timeout=10
        ),
        404,
        "dossier_not_found",
    )
    assert_error(
        requests.post(f"{api}/dossiers/{d['code']}/withdraw", json={}, headers=stranger, timeout=10),
        404,
        "dossier_not_found",
    )
    assert requests.get(f"{api}/dossiers", headers=stranger, timeout=10).json()["total"] == 0
    # and the owner still has it, untouched
    assert requests.get(f"{api}/dossiers/{d['code']}", headers=auth, timeout=10).json()["status"] == "submitted"


def test_tokens_expired_forged_missing_and_logout(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    assert_error(requests.get(f"{api}/me", timeout=10), 401, "auth_required")
    assert_error(
        requests.get(f"{api}/me", headers={"Authorization": "Bearer abc.def.ghi"}, timeout=10), 401, "invalid_token"
    )
    claims = jwt.decode(auth["Authorization"][7:], options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "operator"}, "not-the-server-secret", algorithm="HS256")
    assert_error(
        requests.get(f"{api}/me", headers={"Authorization": f"Bearer {forged}"}, timeout=10), 401, "invalid_token"
    )
    none_alg = jwt.encode(claims, None, algorithm="none")
    assert_error(
        requests.get(f"{api}/me", headers={"Authorization": f"Bearer {none_alg}"}, timeout=10), 401, "invalid_token"
    )
    # Expired, signed with the development secret the suite runs with.
    from services.common.config import load_config

    secret = load_config("gateway")["TOKEN_SECRET"]
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, secret, algorithm="HS256")
    assert_error(
        requests.get(f"{api}/me", headers={"Authorization": f"Bearer {expired}"}, timeout=10), 401, "token_expired"
    )

    assert requests.get(f"{api}/me", headers=auth, timeout=10).status_code == 200
    assert requests.post(f"{api}/auth/logout", headers=auth, timeout=10).status_code == 204
    assert_error(requests.get(f"{api}/me", headers=auth, timeout=10), 401, "token_revoked")


def test_officials_cannot_file_and_citizens_cannot_publish(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    r = requests.post(f"{api}/procedures/TP-HT-02/versions", json={}, headers=auth, timeout=10)
    assert_error(r, 403, "forbidden_role")
    tok = requests.post(
        f"{api}/auth/login",
        json={"login": "off-gr-reception@demo.binhdinh.gov.vn", "password": "demo-password-2026"},
        timeout=30,
    ).json()
    official = {"Authorization": f"Bearer {tok['access_token']}"}
    assert tok["account"]["role"] == "reception"
    assert_error(requests.post(f"{api}/dossiers", json=filing(), headers=official, timeout=10), 403, "forbidden_role")


def test_duplicate_registration(suite, db_counts):
    api = suite["api"]
    p = new_citizen()
    assert requests.post(f"{api}/auth/register", json=p, timeout=30).status_code == 201
    before = db_counts()
    again = dict(p, email=f"other.{uuid.uuid4().hex[:6]}@example.vn")
    err = assert_error(requests.post(f"{api}/auth/register", json=again, timeout=30), 409, "account_exists")
    assert err["details"]["fields"] == ["national_id"]
    same_email = new_citizen(email=p["email"])
    err = assert_error(requests.post(f"{api}/auth/register", json=same_email, timeout=30), 409, "account_exists")
    assert err["details"]["fields"] == ["email"]
    assert db_counts() == before

    bad = new_citizen(national_id="123")
    err = assert_error(requests.post(f"{api}/auth/register", json=bad, timeout=30), 422, "validation_failed")
    assert any("national_id" in d["field"] for d in err["details"])
    assert_error(
        requests.post(f"{api}/auth/register", json={**new_citizen(), "admin": True}, timeout=30),
        422,
        "validation_failed",
    )
    org = {
        "kind": "organisation",
        "name": "Công ty TNHH Gạch men Quy Nhơn",
        "tax_code": "4101234567",
        "representative": "Trần Văn B",
        "email": f"org.{uuid.uuid4().hex[:6]}@example.vn",
        "phone": "+84905111222",
        "password": "mat-khau-doanh-nghiep",
    }
    r = requests.post(f"{api}/auth/register", json=org, timeout=30)
    assert r.status_code == 201 and r.json()["kind"] == "organisation" and r.json()["tax_code"] == "4101234567"
    r = requests.post(f"{api}/auth/login", json={"login": "4101234567", "password": org["password"]}, timeout=30)
    assert r.status_code == 200


def test_login_rate_limited(suite):
    api = suite["api"]
    p = new_citizen()
    requests.post(f"{api}/auth/register", json=p, timeout=30).raise_for_status()
    codes = [
        requests.post(
            f"{api}/auth/login", json={"login": p["email"], "password": "wrong-password"}, timeout=30
        ).status_code
        for _ in range(5)
    ]
    assert codes == [401] * 5
    r = requests.post(f"{api}/auth/login", json={"login": p["email"], "password": p["password"]}, timeout=30)
    err = assert_error(r, 429, "too_many_login_attempts")
    assert int(r.headers["Retry-After"]) > 0 and err["details"]["retry_after_seconds"] > 0
