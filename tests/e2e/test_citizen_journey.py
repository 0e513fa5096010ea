"""End to end through HTTP: a citizen registers, browses the catalog, files a
level-3 dossier with two attachments, reads it back, looks it up publicly and
withdraws it (R3, R5, R7, R9, Art. 15.3)."""

import hashlib
import json

import requests

from tests.helpers import PDF, PNG, EventTap, b64

MARRIAGE_FORM = {
    "full_name": "Nguyễn Văn An",
    "national_id": "079090001234",
    "date_of_birth": "1990-05-17",
    "residence": "Khu vực 3, phường Ghềnh Ráng, TP. Quy Nhơn",
    "marital_status": "chưa kết hôn",
    "purpose": "Đăng ký kết hôn",
}


def test_catalog_browse_and_filter(suite):
    api = suite["api"]
    r = requests.get(f"{api}/procedures", params={"page_size": 100}, timeout=10)
    assert r.status_code == 200
    page = r.json()
    assert page["total"] >= 12
    assert {p["level"] for p in page["items"]} == {1, 2, 3, 4}
    assert len({p["sector"] for p in page["items"]}) >= 4

    r = requests.get(f"{api}/procedures", params={"sector": "Tư pháp", "level": 3}, timeout=10)
    items = r.json()["items"]
    assert items and all(p["sector"] == "Tư pháp" and p["level"] == 3 for p in items)

    r = requests.get(f"{api}/procedures", params={"q": "khai sinh"}, timeout=10)
    assert [p["code"] for p in r.json()["items"]] == ["TP-HT-01"]

    r = requests.get(f"{api}/procedures", params={"agency": "SGTVT", "page_size": 1, "page": 2}, timeout=10)
    body = r.json()
    assert body["total"] == 2 and len(body["items"]) == 1 and body["page"] == 2

    r = requests.get(f"{api}/procedures/TP-LLTP-01", timeout=10)
    detail = r.json()
    assert detail["fees"][0]["amount_vnd"] == 200000 and detail["eform_schema"]["type"] == "object"
    assert detail["legal_basis"] and detail["required_documents"]

    agencies = requests.get(f"{api}/agencies", timeout=10).json()  # R17: contacts are public
    assert {a["kind"] for a in agencies} >= {"province_department", "district", "commune"}
    assert all(a["address"] and a["email"] and a["phone"] for a in agencies)

    r = requests.get(f"{api}/procedures/NO-SUCH", timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "procedure_not_found"


def test_citizen_files_level3_dossier_end_to_end(suite, citizen):
    api, (profile, auth) = suite["api"], citizen
    tap = EventTap(suite["env"]["AMQP_URI"], "intake", "dossier_submitted")
    case_tap = EventTap(suite["env"]["AMQP_URI"], "processing", "case_status_changed")
    try:
        r = requests.get(f"{api}/me", headers=auth, timeout=10)
        assert r.json()["national_id"] == profile["national_id"] and "password_hash" not in r.json()

        filing = {
            "procedure_code": "TP-HT-02",
            "form_data": MARRIAGE_FORM,
            "delivery_method": "in_person",
            "attachments": [
                {
                    "document_code": "TK-XNHN",
                    "filename": "to-khai.pdf",
                    "content_type": "application/pdf",
                    "content_b64": b64(PDF),
                },
                {
                    "document_code": "BA-LYHON",
                    "filename": "ban-an.png",
                    "content_type": "image/png",
                    "content_b64": b64(PNG),
                },
            ],
        }
        r = requests.post(
            f"{api}/dossiers", json=filing, headers={**auth, "Idempotency-Key": "k-journey-1"}, timeout=30
        )
        assert r.status_code == 201, r.text
        filed = r.json()
        dossier, secret = filed["dossier"], filed["tracking_secret"]
        code = dossier["code"]
        assert dossier["status"] == "submitted" and dossier["procedure_version"] == 1
        assert dossier["fee_vnd"] == 15000 and len(dossier["attachments"]) == 2
        assert r.headers["Location"] == f"/api/v1/dossiers/{code}"

        events = tap.drain(wait=5, until=1)
        assert [e["type"] for e in events] == ["dossier_submitted"]
        assert events[0]["dossier_code"] == code and events[0]["payload"]["processing_days"] == 3
        assert events[0]["actor"]["id"] == dossier["applicant_id"]

        r = requests.get(f"{api}/dossiers", headers=auth, timeout=10)
        assert [d["code"] for d in r.json()["items"]] == [code]

        r = requests.get(f"{api}/dossiers/{code}", headers=auth, timeout=10)
        assert r.status_code == 200 and r.json()["form_data"] == MARRIAGE_FORM

        pdf = next(a for a in dossier["attachments"] if a["document_code"] == "TK-XNHN")
        assert pdf["sha256"] == hashlib.sha256(PDF).hexdigest()
        r = requests.get(f"{api}/dossiers/{code}/attachments/{pdf['id']}", headers=auth, timeout=10)
        assert r.status_code == 200 and r.content == PDF
        assert r.headers["Content-Type"] == "application/pdf" and "to-khai.pdf" in r.headers["Content-Disposition"]

        r = requests.post(f"{api}/dossier-lookup", json={"code": code, "secret": secret}, timeout=10)
        public = r.json()
        assert r.status_code == 200 and public["status"] == "submitted"
        assert public["agency_name"] == "UBND phường Ghềnh Ráng"
        flat = json.dumps(public, ensure_ascii=False)
        assert profile["national_id"] not in flat and profile["email"] not in flat and "Nguyễn Văn An" not in flat

        r = requests.post(f"{api}/dossier-lookup", json={"code": code, "secret": "WRONGSECRET1"}, timeout=10)
        assert r.status_code == 404

        r = requests.post(
            f"{api}/dossiers/{code}/withdraw", json={"reason": "Nộp nhầm thủ tục"}, headers=auth, timeout=10
        )
        assert r.status_code == 200 and r.json()["status"] == "withdrawn"
        assert [(e["type"], e["payload"]["action"]) for e in case_tap.drain(wait=5, until=1)] == [
            ("case_status_changed", "withdraw")
        ]

        r = requests.post(f"{api}/dossiers/{code}/withdraw", json={}, headers=auth, timeout=10)
        assert r.status_code == 409 and r.json()["error"]["code"] == "withdraw_not_allowed"
        r = requests.post(f"{api}/dossier-lookup", json={"code": code, "secret": secret}, timeout=10)
        assert r.json()["status"] == "withdrawn"
        assert [e["status"] for e in r.json()["entries"]] == ["submitted", "withdrawn"]
    finally:
        tap.close()
        case_tap.close()


def test_multipart_filing(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    form = {
        "child_full_name": "Trần Bảo Ngọc",
        "child_date_of_birth": "2026-11-20",
        "child_sex": "nữ",
        "place_of_birth": "Bệnh viện Đa khoa tỉnh Bình Định",
        "mother_full_name": "Lê Thị Hoa",
        "relationship_of_declarant": "mẹ",
    }
    dossier = {"procedure_code": "TP-HT-01", "form_data": form, "delivery_method": "in_person"}
    r = requests.post(
        f"{api}/dossiers",
        headers=auth,
        timeout=30,
        data={"dossier": json.dumps(dossier)},
        files=[("TK-KS", ("to-khai.pdf", PDF, "application/pdf")), ("GCS", ("giay-chung-sinh.png", PNG, "image/png"))],
    )
    assert r.status_code == 201, r.text
    d = r.json()["dossier"]
    assert d["level"] == 4 and d["handled_as_level"] == 3  # unsigned level-4 filing is handled as level 3
    assert sorted(a["document_code"] for a in d["attachments"]) == ["GCS", "TK-KS"]


def test_health_and_openapi(suite):
    r = requests.get(f"{suite['url']}/health", timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok"
    assert body["broker"]["status"] == body["database"]["status"] == body["services"]["intake"]["status"] == "ok"

    doc = requests.get(f"{suite['api']}/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    for path, method in [
        ("/api/v1/dossiers", "post"),
        ("/api/v1/procedures", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/dossier-lookup", "post"),
        ("/health", "get"),
    ]:
        assert method in doc["paths"][path]
    post = doc["paths"]["/api/v1/dossiers"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert {"201", "401", "409", "413", "415", "422"} <= set(post["responses"])
    for name in ("FileDossierJson", "FiledDossier", "ErrorEnvelope", "ProcedurePage", "RegisterIndividual"):
        assert name in doc["components"]["schemas"]


def test_form_templates_download_and_agency_upload(suite, citizen):
    """R2: from level 2 on, forms are downloadable; the implementing agency publishes them."""
    api, (_, auth) = suite["api"], citizen
    detail = requests.get(f"{api}/procedures/DD-GCN-02", timeout=10).json()
    form = next(d for d in detail["required_documents"] if d["template_url"])
    r = requests.get(f"{suite['url']}{form['template_url']}", timeout=10)
    assert r.status_code == 200 and r.content.startswith(b"%PDF-") and r.headers["Content-Type"] == "application/pdf"
    assert hashlib.sha256(r.content).hexdigest() == r.headers["X-Content-SHA256"]

    url = f"{api}/procedures/TP-HT-02/forms/TK-XNHN"
    docx = b"PK\x03\x04" + b"\x00" * 64
    assert (
        requests.put(url, data=docx, headers={**auth, "Content-Type": "application/msword"}, timeout=10).status_code
        == 403
    )
    tok = requests.post(
        f"{api}/auth/login",
        json={"login": "off-gr-admin@demo.binhdinh.gov.vn", "password": "demo-password-2026"},
        timeout=30,
    ).json()
    admin = {"Authorization": f"Bearer {tok['access_token']}"}
    r = requests.put(
        url,
        params={"filename": "tờ-khai.docx"},
        data=b"MZ not a document",
        timeout=10,
        headers={**admin, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 415
    r = requests.put(
        url,
        params={"filename": "tờ-khai.docx"},
        data=docx,
        timeout=10,
        headers={**admin, "Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    )
    assert r.status_code == 200 and r.json()["sha256"] == hashlib.sha256(docx).hexdigest()
    r = requests.get(url, timeout=10)
    assert r.content == docx and "t%E1%BB%9D-khai.docx" in r.headers["Content-Disposition"]
    other = requests.post(
        f"{api}/auth/login",
        json={"login": "off-stp-admin@demo.binhdinh.gov.vn", "password": "demo-password-2026"},
        timeout=30,
    ).json()
    assert "access_token" in other, other
    r = requests.put(
        url,
        data=docx,
        timeout=10,
        headers={"Authorization": f"Bearer {other['access_token']}", "Content-Type": "application/msword"},
    )
    assert r.status_code == 403  # another agency's admin
    assert requests.get(f"{api}/procedures/TP-HT-02/forms/NOPE", timeout=10).status_code == 404
