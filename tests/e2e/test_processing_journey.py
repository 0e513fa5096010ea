"""End to end through the gateway: officials process dossiers (R12–R16, R21), the
citizen follows the timeline, and notices reach the inbox and a real SMTP server."""

import email
import hashlib
import time
import uuid
from email import policy
from pathlib import Path

import requests

from services.common.calendar import default_calendar
from tests.e2e.signing import file_signed
from tests.helpers import PDF, PNG, b64

DEMO_PASSWORD = "demo-password-2026"
BIRTH_FORM = {
    "child_full_name": "Trần Bảo Ngọc",
    "child_date_of_birth": "2026-11-20",
    "child_sex": "nữ",
    "place_of_birth": "Bệnh viện Đa khoa tỉnh Bình Định",
    "mother_full_name": "Lê Thị Hoa",
    "relationship_of_declarant": "mẹ",
}
RESULT_PDF = b"%PDF-1.4\n% Giay khai sinh ban dien tu, da ky\n%%EOF\n"


def login(api, login_name, password=DEMO_PASSWORD):
    r = requests.post(f"{api}/auth/login", json={"login": login_name, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def official(api, short):
    return login(api, f"{short}@demo.binhdinh.gov.vn")


def wait_for(fn, timeout=15.0, interval=0.2):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


def case_of(api, headers, code):
    def get():
        r = requests.get(f"{api}/cases/{code}", headers=headers, timeout=10)
        return r.json() if r.status_code == 200 else None

    return wait_for(get)


def command(api, headers, code, action, expect=200, **fields):
    version = requests.get(f"{api}/cases/{code}", headers=headers, timeout=10).json().get("version")
    r = requests.post(
        f"{api}/cases/{code}/commands",
        headers=headers,
        timeout=20,
        json={"action": action, "expected_version": version, **fields},
    )
    assert r.status_code == expect, r.text
    return r.json()


def mails_to(mail_dir, address):
    out = []
    for path in sorted(Path(mail_dir).glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["To"] == address:
            out.append(msg)
    return out


BIRTH = {
    "procedure_code": "TP-HT-01",
    "form_data": BIRTH_FORM,
    "delivery_method": "in_person",
    "attachments": [
        {
            "document_code": "TK-KS",
            "filename": "to-khai.pdf",
            "content_type": "application/pdf",
            "content_b64": b64(PDF),
        },
        {
            "document_code": "GCS",
            "filename": "giay-chung-sinh.png",
            "content_type": "image/png",
            "content_b64": b64(PNG),
        },
    ],
}


def file_birth(api, auth):
    """An unsigned birth registration: handled as level 3, the result in person."""
    r = requests.post(f"{api}/dossiers", json=BIRTH, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["dossier"]["code"]


def test_full_journey_with_cohandling_send_back_and_online_delivery(suite, citizen):
    api, (profile, auth) = suite["api"], citizen
    reception, specialist, leader = (
        official(api, n) for n in ("off-gr-reception", "off-gr-specialist", "off-gr-leader")
    )
    admin = official(api, "off-gr-admin")

    # The agency admin adds a department and its specialist, who will co-handle.
    dept = f"GR-VH{uuid.uuid4().hex[:4].upper()}"
    r = requests.post(
        f"{api}/agency/departments", headers=admin, timeout=10, json={"id": dept, "name": "Công chức Văn hóa - Xã hội"}
    )
    assert r.status_code == 201 and dept in [d["id"] for d in r.json()["departments"]]
    email_ = f"vhxh.{uuid.uuid4().hex[:6]}@demo.binhdinh.gov.vn"
    r = requests.post(
        f"{api}/agency/officials",
        headers=admin,
        timeout=30,
        json={
            "name": "Đỗ Thị Xuân",
            "email": email_,
            "role": "specialist",
            "department_id": dept,
            "password": "mat-khau-can-bo-2026",
        },
    )
    assert r.status_code == 201 and r.json()["agency_id"] == "UBND-GR"
    cohandler = login(api, email_, "mat-khau-can-bo-2026")
    listed = requests.get(f"{api}/agency/officials", headers=admin, timeout=10).json()
    assert email_ in [o["email"] for o in listed]

    code = file_signed(suite, citizen, {**BIRTH, "delivery_method": "online"})  # signed: the result online
    case = case_of(api, reception, code)
    assert case["status"] == "submitted" and case["due_at"] is None
    clock = suite["clock"]

    queue = requests.get(f"{api}/cases", params={"status": "submitted"}, headers=reception, timeout=10).json()
    assert code in [c["code"] for c in queue["items"]]

    case = command(api, reception, code, "receive")
    # 1 working day: due at the end of the next working day, whatever the time of reception
    due = default_calendar().add_working_days(clock.local_today(), 1)
    assert case["status"] == "received" and case["due_date"] == due.isoformat()
    command(api, reception, code, "assign", department_id="GR-TPHT")
    # co-handling may use every day the case has left (a day, not an instant: no false "beyond")
    case = command(
        api,
        specialist,
        code,
        "request_cohandling",
        department_id=dept,
        task="Xác nhận thông tin cư trú của người mẹ",
        days=1,
    )
    assert case["cohandling"][0]["sub_due_date"] == case["due_date"]
    request_id = case["cohandling"][0]["id"]
    command(api, specialist, code, "propose", expect=409, summary="Đủ điều kiện đăng ký")  # opinion pending
    command(api, cohandler, code, "answer_cohandling", request_id=request_id, answer="Đã xác nhận cư trú")
    command(api, specialist, code, "propose", summary="Đủ điều kiện đăng ký khai sinh")
    command(api, leader, code, "send_back", reason="Ghi rõ nơi sinh theo giấy chứng sinh")
    command(api, specialist, code, "propose", summary="Đã ghi rõ nơi sinh; đủ điều kiện")
    command(
        api,
        leader,
        code,
        "approve",
        result_document={
            "filename": "giay-khai-sinh.pdf",
            "content_type": "application/pdf",
            "content_b64": b64(RESULT_PDF),
        },
    )
    case = command(api, reception, code, "mark_result_ready")
    assert case["timing_class"] in ("early", "on_time")

    # The citizen follows the timeline, then downloads the result: online delivery.
    mine = requests.get(f"{api}/dossiers/{code}", headers=auth, timeout=10).json()
    assert mine["case"]["status"] == "result_ready"
    # the agency's internal steps (assignment, co-handling, proposals, send-back) stay internal
    assert [e["status"] for e in mine["case"]["entries"]] == ["submitted", "received", "approved", "result_ready"]
    r = requests.get(f"{api}/dossiers/{code}/result", headers=auth, timeout=10)
    assert r.status_code == 200 and r.content == RESULT_PDF
    assert r.headers["X-Content-SHA256"] == hashlib.sha256(RESULT_PDF).hexdigest()
    assert requests.get(f"{api}/cases/{code}", headers=reception, timeout=10).json()["status"] == "delivered"
    listed = requests.get(f"{api}/dossiers", headers=auth, timeout=10).json()["items"]
    assert wait_for(
        lambda: requests.get(f"{api}/dossiers", headers=auth, timeout=10).json()["items"][0]["status"] == "delivered"
    )

    report = requests.get(f"{api}/cases/{code}/history/verify", headers=reception, timeout=10).json()
    assert report["valid"] and report["checked"] == 11  # opened … delivered

    # Notices: inbox and the SMTP server (received with due date, result ready).
    inbox = wait_for(
        lambda: (
            [
                m
                for m in requests.get(f"{api}/inbox", headers=auth, timeout=10).json()["items"]
                if m["dossier_code"] == code and m["action"] in ("receive", "mark_result_ready")
            ]
            if len(requests.get(f"{api}/inbox", headers=auth, timeout=10).json()["items"]) >= 3
            else None
        )
    )
    assert {m["action"] for m in inbox} == {"receive", "mark_result_ready"}
    received = next(m for m in inbox if m["action"] == "receive")
    assert "Ngày hẹn trả kết quả" in received["body"]
    r = requests.post(f"{api}/inbox/{received['id']}/read", headers=auth, timeout=10)
    assert r.status_code == 200 and r.json()["read_at"]
    unread = requests.get(f"{api}/inbox", params={"unread_only": "true"}, headers=auth, timeout=10).json()
    assert received["id"] not in [m["id"] for m in unread["items"]]

    mails = wait_for(
        lambda: (
            mails_to(suite["env"]["MAIL_DIR"], profile["email"])
            if len(mails_to(suite["env"]["MAIL_DIR"], profile["email"])) >= 3
            else None
        )
    )
    subjects = sorted(m["Subject"] for m in mails)
    # issue #13: the filing itself is notified too, with the tracking secret
    assert subjects == sorted(
        [f"Đã nộp hồ sơ {code}", f"Hồ sơ {code} đã được tiếp nhận", f"Hồ sơ {code} đã có kết quả"]
    )


def test_refusal_with_reasons_and_signed_notice(suite, citizen):
    """R14: refusal drafted → signed by a leader → returned with an electronic notice carrying it."""
    api, (profile, auth) = suite["api"], citizen
    reception, specialist, leader = (
        official(api, n) for n in ("off-gr-reception", "off-gr-specialist", "off-gr-leader")
    )
    code = file_birth(api, auth)
    case_of(api, reception, code)
    command(api, reception, code, "receive")
    command(api, reception, code, "assign", department_id="GR-TPHT")
    reasons = ["Trẻ được sinh ra ngoài địa bàn phường và cha mẹ không cư trú tại phường"]
    command(api, specialist, code, "draft_refusal", reasons=reasons)
    command(
        api,
        specialist,
        code,
        "sign_refusal",
        expect=403,
        refusal_document={"filename": "x.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    refusal = b"%PDF-1.4\n% Van ban tra loi, co chu ky lanh dao\n%%EOF\n"
    command(
        api,
        leader,
        code,
        "sign_refusal",
        refusal_document={
            "filename": "van-ban-tra-loi.pdf",
            "content_type": "application/pdf",
            "content_b64": b64(refusal),
        },
    )
    case = command(api, reception, code, "return_with_reasons")
    assert case["status"] == "returned_with_reasons" and case["reasons"] == reasons

    mine = requests.get(f"{api}/dossiers/{code}", headers=auth, timeout=10).json()["case"]
    assert mine["reasons"] == reasons
    doc = mine["refusal_document"]
    r = requests.get(f"{api}/dossiers/{code}/documents/{doc['id']}", headers=auth, timeout=10)
    assert r.status_code == 200 and r.content == refusal

    notice = wait_for(
        lambda: [
            m
            for m in requests.get(f"{api}/inbox", headers=auth, timeout=10).json()["items"]
            if m["action"] == "return_with_reasons"
        ]
    )
    assert notice[0]["document"]["id"] == doc["id"] and reasons[0] in notice[0]["body"]
    mail = wait_for(
        lambda: [m for m in mails_to(suite["env"]["MAIL_DIR"], profile["email"]) if "trả lại" in m["Subject"]]
    )
    attachments = list(mail[0].iter_attachments())
    assert [a.get_filename() for a in attachments] == ["van-ban-tra-loi.pdf"]
    assert attachments[0].get_content() == refusal

    # Public lookup shows the status, never the reasons.
    # (the tracking secret was returned at filing; look the dossier up through the owner instead)
    assert requests.post(f"{api}/dossiers/{code}/withdraw", json={}, headers=auth, timeout=10).status_code == 409


def test_supplement_through_the_gateway(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    reception = official(api, "off-gr-reception")
    code = file_birth(api, auth)
    case_of(api, reception, code)
    command(
        api,
        reception,
        code,
        "request_supplement",
        missing=[{"document_code": "GCS", "description": "Giấy chứng sinh bản rõ nét"}],
    )
    mine = requests.get(f"{api}/dossiers/{code}", headers=auth, timeout=10).json()
    assert mine["case"]["status"] == "returned_for_supplement"
    assert mine["case"]["supplement"]["missing"][0]["document_code"] == "GCS"
    r = requests.post(
        f"{api}/dossiers/{code}/supplement",
        headers=auth,
        timeout=30,
        json={
            "note": "Đã chụp lại giấy chứng sinh",
            "attachments": [
                {
                    "document_code": "GCS",
                    "filename": "gcs-moi.png",
                    "content_type": "image/png",
                    "content_b64": b64(PNG),
                }
            ],
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    dossier = requests.get(f"{api}/dossiers/{code}", headers=auth, timeout=10).json()
    assert len(dossier["attachments"]) == 3
    assert command(api, reception, code, "receive")["status"] == "received"
    inbox = wait_for(
        lambda: [
            m
            for m in requests.get(f"{api}/inbox", headers=auth, timeout=10).json()["items"]
            if m["action"] == "request_supplement"
        ]
    )
    assert "Giấy chứng sinh bản rõ nét" in inbox[0]["body"]


def test_forbidden_steps_through_the_gateway(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    reception = official(api, "off-gr-reception")
    stp_reception = official(api, "off-stp-reception")
    code = file_birth(api, auth)
    case = case_of(api, reception, code)
    r = requests.post(
        f"{api}/cases/{code}/commands",
        headers=auth,
        timeout=10,
        json={"action": "receive", "expected_version": case["version"]},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_role"
    r = requests.post(
        f"{api}/cases/{code}/commands",
        headers=stp_reception,
        timeout=10,
        json={"action": "receive", "expected_version": case["version"]},
    )
    assert r.status_code == 404
    r = requests.post(
        f"{api}/cases/{code}/commands",
        headers=reception,
        timeout=10,
        json={"action": "receive", "expected_version": case["version"] + 5},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_version"
    r = requests.post(
        f"{api}/cases/{code}/commands",
        headers=reception,
        timeout=10,
        json={"action": "fly", "expected_version": case["version"]},
    )
    assert r.status_code == 422
    # Two receptionists at once: exactly one wins.
    import concurrent.futures

    other = official(api, "off-gr-reception")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda h: (
                    requests.post(
                        f"{api}/cases/{code}/commands",
                        headers=h,
                        timeout=20,
                        json={"action": "receive", "expected_version": case["version"]},
                    ).status_code
                ),
                [reception, other],
            )
        )
    assert sorted(results) == [200, 409]
    assert requests.get(f"{api}/cases/{code}", headers=reception, timeout=10).json()["version"] == case["version"] + 1
