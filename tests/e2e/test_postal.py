"""Postal (R28–R30) end to end: pickup → filed on behalf → processed → return shipment →
operator updates → delivered within 24 h / late; loss → compensation + redo; the operator's
own signed endpoint refuses wrong keys, bad signatures, replays, other operators and impossible moves."""

import json
import time
import uuid
from datetime import datetime, timedelta

import requests

from gateway.dependencies import PostalAuth
from tests.e2e.test_processing_journey import case_of, command, official, wait_for
from tests.helpers import PDF, PNG, b64

VNPOST = ("vnpost-test-key", "vnpost-test-secret")
VIETTEL = ("vtp-test-key", "vtp-test-secret")
FORM = {
    "full_name": "Nguyễn Văn An",
    "national_id": "079090001234",
    "date_of_birth": "1990-05-17",
    "residence": "Quy Nhơn",
    "marital_status": "chưa kết hôn",
    "purpose": "Kết hôn",
}
TK = {
    "document_code": "TK-XNHN",
    "filename": "to-khai-scan.pdf",
    "content_type": "application/pdf",
    "content_b64": b64(PDF),
}


def signed_headers(method, path, body: bytes, creds, timestamp=None):
    key, secret = creds
    ts, nonce = str(timestamp or int(time.time())), uuid.uuid4().hex
    return {
        "X-Postal-Key": key,
        "X-Postal-Timestamp": ts,
        "X-Postal-Nonce": nonce,
        "Content-Type": "application/json",
        "X-Postal-Signature": PostalAuth.signature(secret, method, path, ts, nonce, body),
    }


def operator(suite, method, path, payload=None, creds=VNPOST, headers=None):
    body = json.dumps(payload).encode() if payload is not None else b""
    full = f"/api/v1/postal/operator{path}"
    h = headers or signed_headers(method, full.split("?")[0], body, creds)
    return requests.request(method, f"{suite['url']}{full}", data=body or None, headers=h, timeout=30)


def update(suite, sid, status, at, creds=VNPOST, **extra):
    return operator(
        suite,
        "POST",
        f"/shipments/{sid}/updates",
        {"event_id": uuid.uuid4().hex, "status": status, "at": at.isoformat(), **extra},
        creds,
    )


def process_to_result(api, code):
    reception, specialist, leader = (
        official(api, n) for n in ("off-gr-reception", "off-gr-specialist", "off-gr-leader")
    )
    case_of(api, reception, code)
    command(api, reception, code, "receive")
    command(api, reception, code, "assign", department_id="GR-TPHT")
    command(api, specialist, code, "propose", summary="Đủ điều kiện")
    command(
        api,
        leader,
        code,
        "approve",
        result_document={"filename": "xn.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    command(api, reception, code, "mark_result_ready")
    return reception


def return_shipment(suite, code):
    def find():
        r = operator(suite, "GET", "/shipments?kind=return")
        return next((s for s in r.json()["items"] if s["dossier_code"] == code), None)

    return wait_for(find)


def file_by_post_online(api, auth):
    body = {
        "procedure_code": "TP-HT-02",
        "form_data": FORM,
        "delivery_method": "post",
        "attachments": [TK],
        "delivery_address": "12 Trần Hưng Đạo, Quy Nhơn",
        "delivery_province_code": "52",
    }
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["dossier"]["code"]


def test_pickup_filed_on_behalf_processed_and_returned_within_24h(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    now = suite["clock"].now()
    r = requests.post(
        f"{api}/postal/pickups",
        headers=auth,
        timeout=30,
        json={
            "procedure_code": "TP-HT-02",
            "address": {"line": "45 Nguyễn Huệ, Quy Nhơn", "province_code": "52"},
            "contact": {"name": "Nguyễn Văn An", "phone": "0905123456"},
            "window_start": (now + timedelta(hours=2)).isoformat(),
            "window_end": (now + timedelta(hours=4)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    pickup = r.json()
    listed = operator(suite, "GET", "/shipments?status=requested").json()["items"]
    assert pickup["id"] in [s["id"] for s in listed]
    assert "form_data" not in json.dumps(listed)  # delivery data only
    assert pickup["id"] not in [s["id"] for s in operator(suite, "GET", "/shipments", creds=VIETTEL).json()["items"]]
    assert update(suite, pickup["id"], "picked_up", now).json()["status"] == "picked_up"

    base = {
        "form_data": FORM,
        "delivery_method": "post",
        "delivery_address": "45 Nguyễn Huệ, Quy Nhơn",
        "delivery_province_code": "52",
    }
    r = operator(suite, "POST", f"/shipments/{pickup['id']}/dossier", {**base, "attachments": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_documents"
    assert "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân" in r.json()["error"]["message"]
    extra = {"document_code": "SO-HO-KHAU", "filename": "shk.png", "content_type": "image/png", "content_b64": b64(PNG)}
    r = operator(suite, "POST", f"/shipments/{pickup['id']}/dossier", {**base, "attachments": [TK, extra]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_documents"
    assert "SO-HO-KHAU" in r.json()["error"]["message"]
    r = operator(suite, "POST", f"/shipments/{pickup['id']}/dossier", {**base, "attachments": [TK]})
    assert r.status_code == 201, r.text
    code = r.json()["dossier_code"]
    again = operator(suite, "POST", f"/shipments/{pickup['id']}/dossier", {**base, "attachments": [TK]})
    assert again.status_code == 201 and again.json()["dossier_code"] == code, again.text  # never a second dossier
    mine = requests.get(f"{api}/dossiers/{code}", headers=auth, timeout=10).json()
    assert mine["channel"] == "postal"

    process_to_result(api, code)
    ret = return_shipment(suite, code)
    ready, due = datetime.fromisoformat(ret["ready_at"]), datetime.fromisoformat(ret["due_at"])
    assert due - ready == timedelta(hours=24)
    update(suite, ret["id"], "picked_up", ready + timedelta(hours=1))
    update(suite, ret["id"], "in_transit", ready + timedelta(hours=2))
    r = update(suite, ret["id"], "delivered", ready + timedelta(hours=5))
    assert r.status_code == 422 and r.json()["error"]["code"] == "proof_required"
    r = update(
        suite,
        ret["id"],
        "delivered",
        ready + timedelta(hours=5),
        proof={"receiver_name": "Nguyễn Văn An", "relation": "chính chủ"},
    )
    assert r.status_code == 200 and r.json()["status"] == "delivered" and r.json()["late"] is False
    stats = requests.get(
        f"{api}/operator/postal/returns", headers=official(api, "off-province-operator"), timeout=10
    ).json()
    assert stats["delivered_on_time"] >= 1


def test_late_return_is_flagged_and_counted(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    code = file_by_post_online(api, auth)
    process_to_result(api, code)
    ret = return_shipment(suite, code)
    ready = datetime.fromisoformat(ret["ready_at"])
    update(suite, ret["id"], "picked_up", ready + timedelta(hours=20))
    r = update(suite, ret["id"], "delivered", ready + timedelta(hours=30), proof={"receiver_name": "Người nhà"})
    assert r.json()["late"] is True
    stats = requests.get(
        f"{api}/operator/postal/returns", headers=official(api, "off-province-operator"), timeout=10
    ).json()
    assert stats["delivered_late"] >= 1


def test_loss_opens_compensation_and_asks_the_agency_to_redo(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    code = file_by_post_online(api, auth)
    reception = process_to_result(api, code)
    ret = return_shipment(suite, code)
    ready = datetime.fromisoformat(ret["ready_at"])
    update(suite, ret["id"], "picked_up", ready + timedelta(hours=1))
    update(suite, ret["id"], "in_transit", ready + timedelta(hours=2))
    r = update(suite, ret["id"], "lost", ready + timedelta(hours=9), costs_vnd=30000, note="Thất lạc tại bưu cục")
    comp = r.json()["compensation"]
    assert comp["fees_vnd"] == 15000 and comp["costs_vnd"] == 30000 and comp["redo_requested"] is True
    case = wait_for(
        lambda: (lambda c: c if c["status"] == "in_review" else None)(
            requests.get(f"{api}/cases/{code}", headers=reception, timeout=10).json()
        )
    )
    assert case["redo"]["shipment_id"] == ret["id"]
    seen = requests.get(f"{api}/postal/shipments/{ret['id']}", headers=auth, timeout=10).json()
    assert seen["compensation"]["status"] == "open"
    office = requests.get(
        f"{api}/operator/postal/compensations", headers=official(api, "off-province-operator"), timeout=10
    ).json()
    assert ret["id"] in [s["id"] for s in office]


def test_operator_endpoint_refuses_and_changes_nothing(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    now = suite["clock"].now()
    pickup = requests.post(
        f"{api}/postal/pickups",
        headers=auth,
        timeout=30,
        json={
            "procedure_code": "TP-HT-02",
            "address": {"line": "45 Nguyễn Huệ, Quy Nhơn", "province_code": "52"},
            "contact": {"name": "An", "phone": "0905123456"},
            "window_start": now.isoformat(),
            "window_end": (now + timedelta(hours=2)).isoformat(),
        },
    ).json()
    sid = pickup["id"]
    path = f"/api/v1/postal/operator/shipments/{sid}/updates"
    body = json.dumps({"event_id": "evt-000001", "status": "picked_up", "at": now.isoformat()}).encode()

    def state():
        return requests.get(f"{api}/postal/shipments/{sid}", headers=auth, timeout=10).json()

    before = state()
    wrong_key = signed_headers("POST", path, body, ("no-such-key", "x"))
    r = requests.post(f"{suite['url']}{path}", data=body, headers=wrong_key, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_postal_key"
    bad_sig = {**signed_headers("POST", path, body, VNPOST), "X-Postal-Signature": "0" * 64}
    r = requests.post(f"{suite['url']}{path}", data=body, headers=bad_sig, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_postal_signature"
    stale = signed_headers("POST", path, body, VNPOST, timestamp=int(time.time()) - 3600)
    assert requests.post(f"{suite['url']}{path}", data=body, headers=stale, timeout=10).status_code == 401
    r = requests.post(
        f"{suite['url']}{path}", data=body, headers=signed_headers("POST", path, body, VIETTEL), timeout=10
    )
    assert r.status_code == 404  # another operator's shipment
    citizen_token = requests.post(
        f"{suite['url']}{path}", data=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert citizen_token.status_code == 401  # a citizen's token is no key here
    assert state() == before

    good = signed_headers("POST", path, body, VNPOST)
    assert requests.post(f"{suite['url']}{path}", data=body, headers=good, timeout=10).status_code == 200
    r = requests.post(f"{suite['url']}{path}", data=body, headers=good, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "replayed_postal_request"
    # the same operator event again, freshly signed: applied once
    again = operator(suite, "POST", f"/shipments/{sid}/updates", json.loads(body))
    assert len(again.json()["updates"]) == 1
    # an update older than the latest is kept as history, the status does not move back
    older = update(suite, sid, "requested" if False else "picked_up", now - timedelta(hours=1))
    assert older.json()["status"] == "picked_up"
    r = update(suite, sid, "delivered", now + timedelta(hours=1), proof={"receiver_name": "An"})
    assert r.status_code == 200
    after = state()
    r = update(suite, sid, "in_transit", now + timedelta(hours=2))
    assert r.status_code == 409 and r.json()["error"]["code"] == "impossible_transition"
    assert state() == after
