"""A scripted period of activity yields exactly the expected numbers in every view and export,
and rebuilding from the stored events gives the same read models (R8, R15, R25–R27)."""

import base64
import csv
import hashlib
import io
from datetime import date, datetime, time, timedelta

import requests

from services.common.calendar import VN_TZ, default_calendar
from tests.e2e.test_postal import return_shipment, update
from tests.e2e.test_processing_journey import case_of, command, official, wait_for
from tests.helpers import PDF, b64, quiet_working_tuesday

HKD_FORM = {
    "business_name": "Tạp hoá An Bình",
    "owner_full_name": "Nguyễn Văn An",
    "owner_national_id": "079090001234",
    "business_address": "12 Lê Lợi, Quy Nhơn",
    "business_lines": ["Bán lẻ tạp hoá"],
    "capital_vnd": 50000000,
}
GPXD_FORM = {
    "owner_full_name": "Nguyễn Văn An",
    "owner_national_id": "079090001234",
    "plot_address": "Tổ 5, KV 3, Ghềnh Ráng",
    "land_certificate_number": "CS01234",
    "plot_area_m2": 80,
    "floors": 3,
    "construction_area_m2": 70,
}


def file(api, auth, code, form, docs):
    body = {
        "procedure_code": code,
        "form_data": form,
        "delivery_method": "in_person",
        "attachments": [
            {"document_code": d, "filename": f"{d}.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)}
            for d in docs
        ],
    }
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["dossier"]["code"]


def file_signed_hkd(suite, citizen):
    """A signed level-4 household-business registration, result by post inside the province."""
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    metas = [{"document_code": "GDN-HKD", "sha256": hashlib.sha256(PDF).hexdigest()}]
    payload = base64.b64decode(
        requests.post(
            f"{api}/dossiers/signing-payload",
            headers=auth,
            timeout=10,
            json={"procedure_code": "KH-HKD-01", "form_data": HKD_FORM, "attachments": metas},
        ).json()["payload_b64"]
    )
    signer = pki.citizen(profile["national_id"])
    body = {
        "procedure_code": "KH-HKD-01",
        "form_data": HKD_FORM,
        "delivery_method": "post",
        "delivery_address": "12 Lê Lợi, Quy Nhơn",
        "delivery_province_code": "52",
        "attachments": [
            {
                "document_code": "GDN-HKD",
                "filename": "gdn.pdf",
                "content_type": "application/pdf",
                "content_b64": b64(PDF),
            }
        ],
        "signature": {
            "certificate_pem": signer.pem,
            "chain_pem": pki.intermediate.pem,
            "signature_b64": signer.sign(payload),
        },
    }
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 201 and r.json()["dossier"]["handled_as_level"] == 4, r.text
    return r.json()["dossier"]["code"]


def test_scripted_period_exact_numbers_exports_and_rebuild(suite, citizen, mongo):
    api, (_, auth) = suite["api"], citizen
    counters = mongo[suite["env"]["DB_PREFIX"] + "_reporting"].counters
    rec, spe, lead = (official(api, n) for n in ("off-qn-reception", "off-qn-specialist", "off-qn-leader"))
    operator = official(api, "off-province-operator")
    qn_admin = official(api, "off-qn-admin")
    a, b, c = (file(api, auth, "KH-HKD-01", HKD_FORM, ["GDN-HKD"]) for _ in range(3))
    d = file(api, auth, "XD-GPXD-01", GPXD_FORM, ["DON-GPXD", "GCN-QSDD", "BV-TK"])
    for code in (a, b, c, d):
        case_of(api, rec, code)
    # A: processed early, delivered in person, rated 4
    command(api, rec, a, "receive")
    command(api, rec, a, "assign", department_id="QN-KT")
    command(api, spe, a, "propose", summary="Đủ điều kiện")
    command(
        api,
        lead,
        a,
        "approve",
        result_document={"filename": "gcn.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    command(api, rec, a, "mark_result_ready")
    command(api, rec, a, "deliver", method="in_person")
    assert requests.post(f"{api}/dossiers/{a}/rating", headers=auth, json={"score": 4}, timeout=10).status_code == 201
    # B: a supplement asked at reception, then withdrawn
    command(api, rec, b, "request_supplement", missing=[{"description": "Thiếu chữ ký chủ hộ"}])
    assert requests.post(f"{api}/dossiers/{b}/withdraw", headers=auth, json={}, timeout=10).status_code == 200
    # C: refused after review
    command(api, rec, c, "receive")
    command(api, rec, c, "assign", department_id="QN-KT")
    command(api, spe, c, "draft_refusal", reasons=["Ngành nghề kinh doanh có điều kiện chưa đủ điều kiện"])
    command(
        api,
        lead,
        c,
        "sign_refusal",
        refusal_document={"filename": "tl.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    command(api, rec, c, "return_with_reasons")
    # D: received, still pending within time
    command(api, rec, d, "receive")
    # E: signed level 4, paid online, returned by post within 24 hours
    e = file_signed_hkd(suite, citizen)
    case_of(api, rec, e)
    pay = requests.post(f"{api}/dossiers/{e}/payments", headers=auth, timeout=30).json()
    requests.post(
        pay["redirect_url"], json={"outcome": "success"}, headers={"Accept": "application/json"}, timeout=30
    ).raise_for_status()
    wait_for(lambda: case_of(api, rec, e)["fee_status"] == "paid_online")
    command(api, rec, e, "receive")
    command(api, rec, e, "assign", department_id="QN-KT")
    command(api, spe, e, "propose", summary="Đủ điều kiện")
    command(
        api,
        lead,
        e,
        "approve",
        result_document={"filename": "gcn.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    command(api, rec, e, "mark_result_ready")
    ret = return_shipment(suite, e)
    ready = datetime.fromisoformat(ret["ready_at"])
    update(suite, ret["id"], "picked_up", ready + timedelta(hours=1))
    update(suite, ret["id"], "delivered", ready + timedelta(hours=3), proof={"receiver_name": "Nguyễn Văn An"})
    # a question about the procedure, answered in time
    fb = requests.post(
        f"{api}/feedback",
        headers=auth,
        timeout=30,
        json={
            "subject": "Vốn tối thiểu hộ kinh doanh",
            "body": "Đăng ký hộ kinh doanh có yêu cầu vốn tối thiểu không?",
            "procedure_code": "KH-HKD-01",
        },
    ).json()
    requests.post(
        f"{api}/feedback/{fb['id']}/answer", headers=rec, timeout=10, json={"answer": "Không yêu cầu vốn tối thiểu."}
    ).raise_for_status()

    def agency_figures():
        r = requests.get(
            f"{api}/dashboard", params={"dim": "agency", "value": "UBND-QN"}, headers=qn_admin, timeout=10
        ).json()["figures"]
        return (
            r
            if r["received"] == 5
            and r["withdrawn"] == 1
            and r["ratings"] == 1
            and r["refused"] == 1
            and r["pending_on_time"] == 1
            and r["feedback_answered_on_time"] == 1
            and r["payments"] == 1
            and r["postal_returns_on_time"] == 1
            else None
        )

    f = wait_for(agency_figures, timeout=30)
    assert f, requests.get(
        f"{api}/dashboard", params={"dim": "agency", "value": "UBND-QN"}, headers=qn_admin, timeout=10
    ).json()
    expected = {
        "received": 5,
        "received_online_l3": 4,
        "received_online_l4": 1,
        "received_online": 5,
        "received_postal": 0,
        "received_ministry_system": 0,
        "received_in_person": 0,
        "processed_early": 3,
        "processed_on_time": 0,
        "processed_late": 0,
        "returned_for_supplement": 1,
        "refused": 1,
        "withdrawn": 1,
        "pending_on_time": 1,
        "pending_overdue": 0,
        "ratings": 1,
        "rating_average": 4,
        "online_share": 100.0,
        "feedback_received": 1,
        "feedback_answered_on_time": 1,
        "payments": 1,
        "payments_vnd": 100000,
        "refunds": 0,
        "postal_returns_on_time": 1,
        "postal_returns_late": 0,
    }
    assert {k: f[k] for k in expected} == expected

    hkd = requests.get(
        f"{api}/dashboard", params={"dim": "procedure", "value": "KH-HKD-01"}, headers=operator, timeout=10
    ).json()["figures"]
    assert (
        hkd["received"],
        hkd["processed_early"],
        hkd["refused"],
        hkd["withdrawn"],
        hkd["pending_on_time"],
        hkd["payments_vnd"],
    ) == (4, 3, 1, 1, 0, 100000)
    assert (
        requests.get(
            f"{api}/dashboard", params={"dim": "agency", "value": "STP"}, headers=qn_admin, timeout=10
        ).status_code
        == 403
    )  # an agency sees its own figures only

    public = requests.get(f"{api}/statistics", timeout=10).json()
    row = next(p for p in public["procedures"] if p["procedure_code"] == "KH-HKD-01")
    assert (row["usage"], row["on_time"], row["overdue"]) == (4, 3, 0)
    assert all(p["level"] >= 3 for p in public["procedures"])

    year = f"Y{suite['clock'].local_today().year}"
    rep = requests.get(
        f"{api}/reports", params={"scope": "UBND-QN", "period": year}, headers=qn_admin, timeout=30
    ).json()
    hkd_row = next(r for r in rep["rows"] if r["name"].startswith("KH-HKD-01"))
    assert hkd_row["received"] == 4 and rep["total"]["received"] == 5 and hkd_row["payments_vnd"] == 100000
    r = requests.get(
        f"{api}/reports", params={"scope": "UBND-QN", "period": year, "format": "csv"}, headers=qn_admin, timeout=30
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][1] == "Tiếp nhận" and [x for x in rows if x[0].startswith("KH-HKD-01")][0][1] == "4"
    r = requests.get(
        f"{api}/reports", params={"scope": "UBND-QN", "period": year, "format": "xlsx"}, headers=qn_admin, timeout=60
    )
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(r.content)).active
    assert any(row[0] and str(row[0]).startswith("KH-HKD-01") and row[1] == 4 for row in ws.iter_rows(values_only=True))
    r = requests.get(
        f"{api}/reports", params={"scope": "province", "period": year, "format": "html"}, headers=operator, timeout=60
    )
    page = r.content.decode()
    assert r.status_code == 200 and "data:image/png;base64," in page and "UBND thành phố Quy Nhơn" in page
    png = base64.b64decode(page.split("data:image/png;base64,")[1].split('"')[0])
    assert png.startswith(b"\x89PNG")
    assert (
        requests.get(
            f"{api}/reports", params={"scope": "province", "period": year}, headers=qn_admin, timeout=10
        ).status_code
        == 403
    )

    # Rebuild from the stored events equals the live read models.
    def qn_counters():
        """Non-zero figures: a gauge that went up and down again is 0 live, absent when rebuilt."""
        docs = {
            d["_id"]: {k: v for k, v in d.items() if v and k != "_id"}
            for d in counters.find()
            if d["_id"].startswith("agency:UBND-QN|")
        }
        return {doc_id: doc for doc_id, doc in docs.items() if doc}

    live = qn_counters()
    assert len(live) >= 5
    before = requests.get(f"{api}/dashboard", params={"dim": "all"}, headers=operator, timeout=10).json()["figures"]
    r = requests.post(f"{api}/operator/statistics/rebuild", headers=operator, timeout=300)
    assert r.status_code == 200 and r.json()["events"] > 0
    after = requests.get(f"{api}/dashboard", params={"dim": "all"}, headers=operator, timeout=10).json()["figures"]
    assert after == before
    assert qn_counters() == live
    assert agency_figures() is not None


MARRIAGE_FORM = {
    "full_name": "Trần Văn Mười",
    "national_id": "079090004321",
    "date_of_birth": "1992-04-01",
    "residence": "Ghềnh Ráng, Quy Nhơn",
    "marital_status": "chưa kết hôn",
    "purpose": "Kết hôn",
}


def test_a_quarter_with_a_late_reception_and_a_late_case_is_reported_exactly(suite, citizen):
    """Issue #12: a quarter's report (JSON, CSV, XLSX) counts a reception after its deadline and a case
    finished after its due day, exactly, with the days counted as the law counts them. The suite's
    clock is moved to a quarter no other test touches, then forward through the case's days."""
    api, (_, auth), clock = suite["api"], citizen, suite["clock"]
    cal = default_calendar()
    now = clock.local_today()
    quarter = (now.month - 1) // 3 + 2  # two quarters on
    first = date(now.year + quarter // 4, quarter % 4 * 3 + 1, 1)
    t0 = quiet_working_tuesday(datetime.combine(first, time(9), VN_TZ), cal)
    clock.set(t0)
    day0 = t0.date()
    period = f"Q{day0.year}-{(day0.month - 1) // 3 + 1}"
    rec, spe, lead, admin = (
        official(api, n) for n in ("off-gr-reception", "off-gr-specialist", "off-gr-leader", "off-gr-admin")
    )
    operator = official(api, "off-province-operator")
    late_case, late_reception = (file(api, auth, "TP-HT-02", MARRIAGE_FORM, ["TK-XNHN"]) for _ in range(2))
    for code in (late_case, late_reception):
        case_of(api, rec, code)
    case = command(api, rec, late_case, "receive")  # received on day 0: on time
    assert case["due_date"] == cal.add_working_days(day0, 3).isoformat() and not case["reception_late"]
    command(api, rec, late_case, "assign", department_id="GR-TPHT")

    reception_due = cal.add_working_days(day0, 1)  # the next working day
    clock.set(datetime.combine(reception_due + timedelta(days=1), time(9), VN_TZ))
    assert command(api, rec, late_reception, "receive")["reception_late"]  # a day after its reception day

    after_due = cal.next_working_day(cal.add_working_days(day0, 3))  # the first working day after the due day
    clock.set(datetime.combine(after_due, time(9), VN_TZ))
    requests.post(f"{api}/cases/sweep", headers=operator, timeout=60).raise_for_status()
    assert requests.get(f"{api}/cases/{late_case}", headers=rec, timeout=10).json()["flags"]["overdue"]
    r = command(api, spe, late_case, "propose", expect=409, summary="Đủ điều kiện")
    assert r["error"]["code"] == "apology_required"
    command(
        api,
        lead,
        late_case,
        "issue_apology",
        letter="UBND phường xin lỗi Ông/Bà vì hồ sơ chậm trả kết quả.",
        new_due_date=cal.add_working_days(after_due, 1).isoformat(),
    )
    command(api, spe, late_case, "propose", summary="Đủ điều kiện xác nhận tình trạng hôn nhân")
    command(
        api,
        lead,
        late_case,
        "approve",
        result_document={"filename": "xac-nhan.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    assert command(api, rec, late_case, "mark_result_ready")["timing_class"] == "late"  # R15: the published time

    def report():
        r = requests.get(
            f"{api}/reports", params={"scope": "UBND-GR", "period": period}, headers=admin, timeout=30
        ).json()
        row = next((x for x in r.get("rows", []) if x["name"].startswith("TP-HT-02")), {})
        return r if row.get("processed_late") == 1 and row.get("reception_late") == 1 else None

    rep = wait_for(report, timeout=30)
    assert rep, requests.get(
        f"{api}/reports", params={"scope": "UBND-GR", "period": period}, headers=admin, timeout=30
    ).text
    row = next(x for x in rep["rows"] if x["name"].startswith("TP-HT-02"))
    # two filed, one received after its reception day, one finished after its due day; stages completed:
    # reception, assignment, review, approval of the late case and the late reception of the other
    expected = {
        "received": 2,
        "received_online": 2,
        "reception_late": 1,
        "reception_on_time": 1,
        "processed_early": 0,
        "processed_on_time": 0,
        "processed_late": 1,
        "stages_completed": 5,
        "stages_late": 1,
        "returned_for_supplement": 0,
        "refused": 0,
        "withdrawn": 0,
    }
    assert {k: row[k] for k in expected} == expected
    assert {k: rep["total"][k] for k in expected} == expected  # nothing else at this agency in this quarter
    r = requests.get(
        f"{api}/reports", params={"scope": "UBND-GR", "period": period, "format": "csv"}, headers=admin, timeout=30
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    head, line = rows[0], next(x for x in rows if x and x[0].startswith("TP-HT-02"))
    assert (line[head.index("Tiếp nhận trễ")], line[head.index("Quá hạn")], line[head.index("Tiếp nhận")]) == (
        "1",
        "1",
        "2",
    )
    r = requests.get(
        f"{api}/reports", params={"scope": "UBND-GR", "period": period, "format": "xlsx"}, headers=admin, timeout=60
    )
    from openpyxl import load_workbook

    sheet = [list(x) for x in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)]
    head = next(x for x in sheet if x and x[0] == "Thủ tục / Cơ quan")
    line = next(x for x in sheet if x and str(x[0]).startswith("TP-HT-02"))
    assert (line[head.index("Tiếp nhận trễ")], line[head.index("Quá hạn")], line[head.index("Bước xử lý trễ hạn")]) == (
        1,
        1,
        1,
    )
