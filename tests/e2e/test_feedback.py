"""Feedback through every channel (R17–R19), answers reaching the asker, public Q&A, ratings."""

import requests

from tests.e2e.test_processing_journey import (
    case_of,
    command,
    file_birth,
    mails_to,
    official,
    wait_for,
)
from tests.helpers import PDF, b64


def test_every_channel_is_routed_and_answered(suite, citizen):
    api, (profile, auth) = suite["api"], citizen
    stp = official(api, "off-stp-specialist")
    gr = official(api, "off-gr-reception")

    signed_in = requests.post(
        f"{api}/feedback",
        headers=auth,
        timeout=30,
        json={
            "kind": "question",
            "subject": "Lệ phí cấp phiếu lý lịch tư pháp",
            "body": "Xin hỏi lệ phí cấp phiếu lý lịch tư pháp số 2 là bao nhiêu?",
            "procedure_code": "TP-LLTP-01",
            "publish_consent": True,
        },
    )
    assert signed_in.status_code == 201 and signed_in.json()["agency_id"] == "STP"  # routed by procedure
    anonymous = requests.post(
        f"{api}/feedback",
        timeout=30,
        json={
            "kind": "complaint",
            "subject": "Phản ánh thái độ phục vụ",
            "body": "Cán bộ một cửa hẹn lại nhiều lần.",
            "agency_id": "UBND-GR",
            "contact": {"name": "Lê Văn Cường", "email": "cuong@example.vn"},
        },
    )
    assert anonymous.status_code == 201 and anonymous.json()["channel"] == "portal"
    r = requests.post(
        f"{api}/feedback",
        timeout=30,
        json={"subject": "Không có liên hệ", "body": "Câu hỏi không để lại liên hệ nào.", "agency_id": "UBND-GR"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "contact_required"
    for channel in ("email", "phone", "written"):
        r = requests.post(
            f"{api}/feedback/staff",
            headers=gr,
            timeout=30,
            json={
                "channel": channel,
                "subject": f"Phản ánh qua {channel}",
                "body": "Đề nghị niêm yết thêm biểu mẫu.",
                "agency_id": "UBND-GR",
                "contact": {"name": "Phạm Thị Dung", "phone": "0987654321"},
            },
        )
        assert r.status_code == 201 and r.json()["channel"] == channel
    assert requests.post(f"{api}/feedback/staff", headers=auth, timeout=30, json={}).status_code == 403

    queue = requests.get(f"{api}/feedback", headers=gr, timeout=10).json()
    assert {i["channel"] for i in queue["items"]} >= {"portal", "email", "phone", "written"}
    assert all(i["agency_id"] == "UBND-GR" for i in queue["items"])

    fid = signed_in.json()["id"]
    r = requests.post(f"{api}/feedback/{fid}/answer", headers=gr, timeout=10, json={"answer": "Không phải của tôi"})
    assert r.status_code == 404  # another agency's
    r = requests.post(
        f"{api}/feedback/{fid}/answer",
        headers=stp,
        timeout=10,
        json={"answer": "Lệ phí là 200.000 đồng mỗi phiếu theo Thông tư 244/2016/TT-BTC."},
    )
    assert r.status_code == 200 and r.json()["on_time"] is True
    inbox = wait_for(
        lambda: [
            m
            for m in requests.get(f"{api}/inbox", headers=auth, timeout=10).json()["items"]
            if m["action"] == "feedback_answered"
        ]
    )
    assert "200.000 đồng" in inbox[0]["body"]
    assert wait_for(
        lambda: [m for m in mails_to(suite["env"]["MAIL_DIR"], profile["email"]) if "Trả lời phản ánh" in m["Subject"]]
    )
    answered_anon = requests.post(
        f"{api}/feedback/{anonymous.json()['id']}/answer",
        headers=gr,
        timeout=10,
        json={"answer": "Cảm ơn Ông; đơn vị đã chấn chỉnh bộ phận một cửa."},
    )
    assert answered_anon.status_code == 200
    assert wait_for(lambda: mails_to(suite["env"]["MAIL_DIR"], "cuong@example.vn"))

    qa = requests.get(f"{api}/qa", params={"procedure_code": "TP-LLTP-01"}, timeout=10).json()
    assert qa["total"] >= 1 and profile["full_name"] not in str(qa)
    assert requests.get(f"{api}/qa", params={"agency_id": "UBND-GR"}, timeout=10).json()["total"] == 0  # no consent


def test_rating_once_after_delivery(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    reception, specialist, leader = (
        official(api, n) for n in ("off-gr-reception", "off-gr-specialist", "off-gr-leader")
    )
    code = file_birth(api, auth)
    case_of(api, reception, code)
    r = requests.post(f"{api}/dossiers/{code}/rating", headers=auth, timeout=10, json={"score": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_delivered"
    command(api, reception, code, "receive")
    command(api, reception, code, "assign", department_id="GR-TPHT")
    command(api, specialist, code, "propose", summary="Đủ điều kiện")
    command(
        api,
        leader,
        code,
        "approve",
        result_document={"filename": "ks.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    command(api, reception, code, "mark_result_ready")
    command(api, reception, code, "deliver", method="in_person")  # handled as level 3: at the desk
    r = requests.post(
        f"{api}/dossiers/{code}/rating", headers=auth, timeout=10, json={"score": 5, "comment": "Nhanh, đúng hẹn"}
    )
    assert r.status_code == 201 and r.json()["score"] == 5
    again = requests.post(f"{api}/dossiers/{code}/rating", headers=auth, timeout=10, json={"score": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    assert (
        requests.post(f"{api}/dossiers/{code}/rating", headers=auth, timeout=10, json={"score": 9}).status_code == 422
    )
