"""Issue #12 through the gateway on the real broker and server: due days counted as the Civil Code
counts them (preview, case), workflows declared per procedure (R32, R33), desk filing (channel
in_person, Art. 14.2) and the agency directory (R37). The suite runs on its injected clock (an
ordinary Tuesday 09:00), so the days below are counted from it, never from the machine's."""

import requests

from services.common.calendar import default_calendar
from tests.e2e.test_processing_journey import case_of, command, official
from tests.helpers import PDF, b64

CAL = default_calendar()
DEATH_FORM = {
    "deceased_full_name": "Nguyễn Văn Bảy",
    "date_of_death": "2026-11-02",
    "place_of_death": "Quy Nhơn",
    "declarant_relationship": "con",
}
DEATH_FILES = [
    {"document_code": c, "filename": f"{c}.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)}
    for c in ("TK-KT", "GBT")
]
STAGES = [
    {
        "code": "tiep-nhan",
        "name": "Tiếp nhận, chuyển công chức tư pháp",
        "kind": "reception",
        "roles": ["reception"],
        "days": 1,
    },
    {"code": "kiem-tra", "name": "Kiểm tra, ghi sổ hộ tịch", "kind": "review", "roles": ["specialist"], "days": 1},
    {"code": "ky", "name": "Chủ tịch UBND ký", "kind": "approval", "roles": ["leader"], "days": 0},
    {"code": "tra", "name": "Trả kết quả", "kind": "result", "roles": ["reception"], "days": None},
]


def test_due_date_preview(suite):
    api, clock = suite["api"], suite["clock"]
    r = requests.get(
        f"{api}/procedures/TP-HT-02/due-date", params={"received_at": "2026-02-13T16:59:00+07:00"}, timeout=10
    )
    assert r.status_code == 200 and r.json()["due_date"] == "2026-02-25"  # 3 days after Tết 2026
    assert r.json()["due_at"] == "2026-02-26T00:00:00+07:00"
    now = requests.get(f"{api}/procedures/TP-HT-02/due-date", timeout=10).json()
    assert now["due_date"] == CAL.add_working_days(clock.local_today(), 3).isoformat()
    assert (
        requests.get(
            f"{api}/procedures/TP-HT-02/due-date", params={"received_at": "2026-02-13T16:59"}, timeout=10
        ).status_code
        == 422
    )  # an instant needs its time zone
    assert requests.get(f"{api}/procedures/NOPE-1/due-date", timeout=10).status_code == 404


def test_an_agency_declares_a_workflow_and_its_cases_follow_the_stages(suite, citizen):
    api, (_, auth), clock = suite["api"], citizen, suite["clock"]
    admin, other_admin = official(api, "off-gr-admin"), official(api, "off-stp-admin")
    url = f"{api}/procedures/TP-HT-03/workflow"
    bad = [{**STAGES[0], "roles": ["janitor"]}, *STAGES[1:]]
    r = requests.put(url, json={"workflow": {"stages": bad}}, headers=admin, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["code"] == "workflow_unknown_role"
    assert "janitor" in r.json()["error"]["message"]
    over = [STAGES[0], {**STAGES[1], "days": 2}, *STAGES[2:]]
    r = requests.put(url, json={"workflow": {"stages": over}}, headers=admin, timeout=10)
    assert r.status_code == 422 and r.json()["error"]["code"] == "workflow_budget_exceeds_processing_time"
    r = requests.put(url, json={"workflow": {"stages": STAGES[:3]}}, headers=admin, timeout=10)
    assert r.json()["error"]["code"] == "workflow_no_final_stage"
    assert requests.put(url, json={"workflow": {"stages": STAGES}}, headers=other_admin, timeout=10).status_code == 403
    r = requests.put(url, json={"workflow": {"stages": STAGES}}, headers=admin, timeout=10)
    assert r.status_code == 200 and [s["code"] for s in r.json()["workflow"]["stages"]] == [s["code"] for s in STAGES]

    r = requests.post(
        f"{api}/dossiers",
        headers=auth,
        timeout=30,
        json={
            "procedure_code": "TP-HT-03",
            "form_data": DEATH_FORM,
            "delivery_method": "in_person",
            "attachments": DEATH_FILES,
        },
    )
    assert r.status_code == 201, r.text
    code = r.json()["dossier"]["code"]
    reception, specialist, leader = (
        official(api, n) for n in ("off-gr-reception", "off-gr-specialist", "off-gr-leader")
    )
    today = clock.local_today()
    case = case_of(api, reception, code)
    assert (
        case["stage"]["code"] == "tiep-nhan"
        and case["reception_due_date"] == CAL.add_working_days(today, 1).isoformat()
    )
    assert case["available_actions"] == ["receive", "request_supplement", "reject_at_reception"]
    # no assignment stage in this workflow: reception names the department when it receives
    command(api, reception, code, "receive", expect=422)
    case = command(api, reception, code, "receive", department_id="GR-TPHT")
    assert case["status"] == "in_review" and case["stage"]["code"] == "kiem-tra"
    assert case["due_date"] == case["stage"]["due_date"] == CAL.add_working_days(today, 1).isoformat()
    assert case["stage"]["days_left"] == 2  # today and the due day
    assert case["stages"][0]["code"] == "tiep-nhan" and not case["stages"][0]["late"]
    command(api, specialist, code, "propose", summary="Đủ điều kiện đăng ký khai tử")
    case = requests.get(f"{api}/cases/{code}", headers=leader, timeout=10).json()
    assert case["stage"]["code"] == "ky" and case["stage"]["due_date"] == today.isoformat()  # 0 days: today
    assert case["available_actions"] == ["approve", "send_back"]
    assert requests.get(f"{api}/cases/{code}", headers=specialist, timeout=10).json()["available_actions"] == []
    command(
        api,
        leader,
        code,
        "approve",
        result_document={"filename": "trich-luc.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    command(api, reception, code, "mark_result_ready")
    case = command(api, reception, code, "deliver", method="in_person")
    assert [s["code"] for s in case["stages"]] == ["tiep-nhan", "kiem-tra", "ky", "tra"]
    assert not any(s["late"] for s in case["stages"]) and case["timing_class"] == "early"  # a day to spare


def test_desk_filing_for_a_walk_in_and_for_an_account_holder(suite, citizen):
    api, (profile, auth) = suite["api"], citizen
    reception = official(api, "off-gr-reception")
    walk_in = {
        "procedure_code": "TP-HT-03",
        "form_data": DEATH_FORM,
        "delivery_method": "in_person",
        "applicant": {"name": "Trần Thị Tám", "national_id": "079190008888", "phone": "0912345678"},
        "attachments": DEATH_FILES,
    }
    assert requests.post(f"{api}/desk/dossiers", json=walk_in, headers=auth, timeout=30).status_code == 403
    r = requests.post(
        f"{api}/desk/dossiers", json=walk_in, headers={**reception, "Idempotency-Key": "quay-1"}, timeout=30
    )
    assert r.status_code == 201, r.text
    filed = r.json()
    code, secret = filed["dossier"]["code"], filed["tracking_secret"]
    assert filed["dossier"]["channel"] == "in_person" and filed["dossier"]["handled_as_level"] == 3
    again = requests.post(
        f"{api}/desk/dossiers", json=walk_in, headers={**reception, "Idempotency-Key": "quay-1"}, timeout=30
    )
    assert again.json()["dossier"]["code"] == code  # a double click at the desk files once
    case = case_of(api, reception, code)
    assert case["channel"] == "in_person"
    looked_up = requests.post(f"{api}/dossier-lookup", json={"code": code, "secret": secret}, timeout=10).json()
    assert looked_up["status"] == "submitted"  # the person follows it with the receipt's code and secret

    mine = {**walk_in, "applicant": {"name": profile["full_name"], "national_id": profile["national_id"]}}
    own = requests.post(f"{api}/desk/dossiers", json=mine, headers=reception, timeout=30).json()["dossier"]
    listed = requests.get(f"{api}/dossiers", headers=auth, timeout=10).json()["items"]
    assert own["code"] in [d["code"] for d in listed]  # filed at the desk, visible in the citizen's account
    stp = official(api, "off-stp-reception")
    r = requests.post(f"{api}/desk/dossiers", json=walk_in, headers=stp, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "other_agency"


def test_agency_directory_is_public(suite):
    page = requests.get(f"{suite['url']}/co-quan", timeout=10)
    assert page.status_code == 200 and "Danh bạ cơ quan" in page.text
    assert "UBND phường Ghềnh Ráng" in page.text and "mailto:" in page.text and "tel:" in page.text
