"""A scripted period of activity yields exactly the expected numbers in every view and export,
and rebuilding from the stored events gives the same read models (R8, R15, R25–R27)."""
import base64
import csv
import io
import time

import requests

from tests.e2e.test_processing_journey import case_of, command, official, wait_for
from tests.helpers import PDF, b64

HKD_FORM = {"business_name": "Tạp hoá An Bình", "owner_full_name": "Nguyễn Văn An", "owner_national_id": "079090001234",
            "business_address": "12 Lê Lợi, Quy Nhơn", "business_lines": ["Bán lẻ tạp hoá"], "capital_vnd": 50000000}
GPXD_FORM = {"owner_full_name": "Nguyễn Văn An", "owner_national_id": "079090001234",
             "plot_address": "Tổ 5, KV 3, Ghềnh Ráng", "land_certificate_number": "CS01234", "plot_area_m2": 80,
             "floors": 3, "construction_area_m2": 70}


def file(api, auth, code, form, docs):
    body = {"procedure_code": code, "form_data": form, "delivery_method": "in_person",
            "attachments": [{"document_code": d, "filename": f"{d}.pdf", "content_type": "application/pdf",
                             "content_b64": b64(PDF)} for d in docs]}
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
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
    command(api, lead, a, "approve", result_document={"filename": "gcn.pdf", "content_type": "application/pdf",
                                                     "content_b64": b64(PDF)})
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
    command(api, lead, c, "sign_refusal", refusal_document={"filename": "tl.pdf", "content_type": "application/pdf",
                                                           "content_b64": b64(PDF)})
    command(api, rec, c, "return_with_reasons")
    # D: received, still pending within time
    command(api, rec, d, "receive")
    # a question about the procedure, answered in time
    fb = requests.post(f"{api}/feedback", headers=auth, timeout=30, json={
        "subject": "Vốn tối thiểu hộ kinh doanh", "body": "Đăng ký hộ kinh doanh có yêu cầu vốn tối thiểu không?",
        "procedure_code": "KH-HKD-01"}).json()
    requests.post(f"{api}/feedback/{fb['id']}/answer", headers=rec, timeout=10,
                  json={"answer": "Không yêu cầu vốn tối thiểu."}).raise_for_status()

    def agency_figures():
        r = requests.get(f"{api}/dashboard", params={"dim": "agency", "value": "UBND-QN"}, headers=qn_admin,
                         timeout=10).json()["figures"]
        return r if r["received"] == 4 and r["withdrawn"] == 1 and r["ratings"] == 1 and r["refused"] == 1 \
            and r["pending_on_time"] == 1 and r["feedback_answered_on_time"] == 1 else None

    f = wait_for(agency_figures, timeout=30)
    assert f, requests.get(f"{api}/dashboard", params={"dim": "agency", "value": "UBND-QN"}, headers=qn_admin,
                           timeout=10).json()
    expected = {"received": 4, "received_online_l3": 4, "received_online": 4, "received_postal": 0,
                "processed_early": 2, "processed_on_time": 0, "processed_late": 0, "returned_for_supplement": 1,
                "refused": 1, "withdrawn": 1, "pending_on_time": 1, "pending_overdue": 0, "ratings": 1,
                "rating_average": 4, "online_share": 100.0, "feedback_received": 1, "feedback_answered_on_time": 1,
                "payments": 0}
    assert {k: f[k] for k in expected} == expected

    hkd = requests.get(f"{api}/dashboard", params={"dim": "procedure", "value": "KH-HKD-01"}, headers=operator,
                       timeout=10).json()["figures"]
    assert (hkd["received"], hkd["processed_early"], hkd["refused"], hkd["withdrawn"], hkd["pending_on_time"]) == \
        (3, 2, 1, 1, 0)
    assert requests.get(f"{api}/dashboard", params={"dim": "agency", "value": "STP"}, headers=qn_admin,
                        timeout=10).status_code == 403  # an agency sees its own figures only

    public = requests.get(f"{api}/statistics", timeout=10).json()
    row = next(p for p in public["procedures"] if p["procedure_code"] == "KH-HKD-01")
    assert (row["usage"], row["on_time"], row["overdue"]) == (3, 2, 0)
    assert all(p["level"] >= 3 for p in public["procedures"])

    year = f"Y{time.gmtime().tm_year}"
    rep = requests.get(f"{api}/reports", params={"scope": "UBND-QN", "period": year}, headers=qn_admin,
                       timeout=30).json()
    hkd_row = next(r for r in rep["rows"] if r["name"].startswith("KH-HKD-01"))
    assert hkd_row["received"] == 3 and rep["total"]["received"] == 4
    r = requests.get(f"{api}/reports", params={"scope": "UBND-QN", "period": year, "format": "csv"},
                     headers=qn_admin, timeout=30)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][1] == "Tiếp nhận" and [x for x in rows if x[0].startswith("KH-HKD-01")][0][1] == "3"
    r = requests.get(f"{api}/reports", params={"scope": "UBND-QN", "period": year, "format": "xlsx"},
                     headers=qn_admin, timeout=60)
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(r.content)).active
    assert any(row[0] and str(row[0]).startswith("KH-HKD-01") and row[1] == 3
               for row in ws.iter_rows(values_only=True))
    r = requests.get(f"{api}/reports", params={"scope": "province", "period": year, "format": "html"},
                     headers=operator, timeout=60)
    page = r.content.decode()
    assert r.status_code == 200 and "data:image/png;base64," in page and "UBND thành phố Quy Nhơn" in page
    png = base64.b64decode(page.split("data:image/png;base64,")[1].split('"')[0])
    assert png.startswith(b"\x89PNG")
    assert requests.get(f"{api}/reports", params={"scope": "province", "period": year}, headers=qn_admin,
                        timeout=10).status_code == 403

    # Rebuild from the stored events equals the live read models.
    def qn_counters():
        return {d["_id"]: d for d in counters.find() if d["_id"].startswith("agency:UBND-QN|")}

    live = qn_counters()
    assert len(live) >= 5
    before = requests.get(f"{api}/dashboard", params={"dim": "all"}, headers=operator, timeout=10).json()["figures"]
    r = requests.post(f"{api}/operator/statistics/rebuild", headers=operator, timeout=300)
    assert r.status_code == 200 and r.json()["events"] > 0
    after = requests.get(f"{api}/dashboard", params={"dim": "all"}, headers=operator, timeout=10).json()["figures"]
    assert after == before
    assert qn_counters() == live
    assert agency_figures() is not None
