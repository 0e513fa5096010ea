"""Reporting views with a fake store and a fake intake: the online-filing target of the period's
year, every procedure of the catalog (more than one page), departments' late stages, and the
exports in Vietnamese (money as 135.000 đ, dates dd/mm/yyyy)."""

import base64
import csv
import io
from datetime import UTC, datetime

import pytest
from nameko.testing.services import worker_factory

from services.common import events
from services.reporting import exports
from services.reporting.figures import online_targets, period_label, period_year
from services.reporting.service import ReportingService
from services.reporting.settings import ReportingSettings

OPERATOR = {"id": "op", "role": "operator"}
STP_ADMIN = {"id": "a", "role": "agency_admin", "agency_id": "STP"}


class FakeStore:
    def __init__(self, counters: dict[str, dict]):
        self.counters = counters
        self.tables: dict = {}

    def cells(self, dim, values, periods):
        return {(v, p): self.counters.get(f"{dim}:{v}|{p}", {}) for v in values for p in periods}

    # the precomputed public tables: kept in memory here, with the counters' token
    token = "t1"

    def counters_token(self):
        return self.token

    def public_table(self, period):
        return self.tables.get(period)

    def save_public_table(self, period, table):
        self.tables[period] = {"_id": period, **table}


class FakeIntake:
    """intake's list_procedures: at most 100 a page, as the real one validates."""

    def __init__(self, procedures: list[dict]):
        self.procedures = procedures
        self.pages_asked = 0

    def list_procedures(self, query):
        assert query["page_size"] <= 100
        self.pages_asked += 1
        items = [p for p in self.procedures if query.get("agency") in (None, p["agency_id"])]
        start = (query["page"] - 1) * query["page_size"]
        return {
            "items": items[start : start + query["page_size"]],
            "page": query["page"],
            "page_size": query["page_size"],
            "total": len(items),
        }

    def catalog_facets(self):
        """Every procedure in one answer (the catalog is kept in memory by intake)."""
        return {"procedures": [{k: p[k] for k in ("code", "name", "level", "agency_id")} for p in self.procedures]}

    def get_agency(self, agency_id):
        return {
            "id": agency_id,
            "name": "Sở Tư pháp",
            "departments": [
                {"id": "STP-HC", "name": "Phòng Hành chính tư pháp"},
                {"id": "STP-VP", "name": "Văn phòng Sở"},
            ],
        }

    def list_agencies(self):
        return [self.get_agency("STP")]


def procedures(n: int) -> list[dict]:
    return [
        {"code": f"P{i:03d}", "name": f"Thủ tục {i}", "level": 3 + i % 2, "agency_id": "STP" if i % 3 else "SXD"}
        for i in range(n)
    ]


def service(counters=None, procs=None, **config):
    return worker_factory(
        ReportingService,
        store=FakeStore(counters or {}),
        intake=FakeIntake(procs or []),
        settings=ReportingSettings.model_validate({"ONLINE_FILING_TARGET_PERCENT": 50, **config}),
    )


def test_targets_per_year_with_a_fallback():
    assert online_targets("2025:40, 2026:50") == {2025: 40.0, 2026: 50.0}
    assert online_targets("") == {}
    with pytest.raises(ValueError):
        online_targets("2025=40")
    settings = ReportingSettings.model_validate(
        {"ONLINE_FILING_TARGETS": "2025:40,2026:65", "ONLINE_FILING_TARGET_PERCENT": 50}
    )
    assert (settings.online_target(2025), settings.online_target(2026), settings.online_target(2027)) == (40, 65, 50)
    assert period_year("Q2025-3", datetime(2026, 1, 1, tzinfo=UTC)) == 2025
    # all time is measured against this year's target, this year in Vietnam
    assert period_year("ALL", datetime(2025, 12, 31, 18, tzinfo=UTC)) == 2026


def test_dashboard_uses_the_target_of_the_period_year_under_and_over(monkeypatch):
    counters = {
        "all:*|Y2025": {"received": 10, "received_online_l3": 5},  # 50 % online
        "all:*|Y2026": {"received": 10, "received_online_l3": 5},
    }  # 50 % online
    svc = service(counters, ONLINE_FILING_TARGETS="2025:40,2026:60")
    over = svc.dashboard(OPERATOR, "all", "*", "Y2025")
    under = svc.dashboard(OPERATOR, "all", "*", "Y2026")
    assert (over["online_target_percent"], over["online_target_met"]) == (40, True)
    assert (under["online_target_percent"], under["online_target_met"]) == (60, False)
    # a period without a year (all time) takes this year's target: the clock is services.common.events.utcnow
    monkeypatch.setattr(events, "utcnow", lambda: datetime(2025, 6, 1, tzinfo=UTC))
    assert svc.dashboard(OPERATOR, "all", "*", "ALL")["online_target_percent"] == 40


def test_public_statistics_and_agency_report_list_every_procedure_not_just_one_page():
    procs = procedures(250)
    counters = {"procedure:P249|ALL": {"received": 7, "processed_on_time": 2, "processed_late": 1}}
    svc = service(counters, procs)
    stats = svc.public_statistics(None)
    assert len(stats["procedures"]) == 250 and svc.intake.pages_asked == 0  # the whole catalog in one call
    last = next(r for r in stats["procedures"] if r["procedure_code"] == "P249")
    assert (last["usage"], last["on_time"], last["overdue"]) == (7, 2, 1)
    report = svc.report(STP_ADMIN, "STP", "Y2026", "json")
    assert len(report["rows"]) == len([p for p in procs if p["agency_id"] == "STP"]) > 100


def test_agency_dashboard_and_report_show_reception_stages_and_waiting_figures(monkeypatch):
    monkeypatch.setattr(events, "utcnow", lambda: datetime(2026, 3, 31, 18, 30, tzinfo=UTC))
    counters = {
        "agency:STP|Q2026-1": {
            "received": 4,
            "reception_on_time": 3,
            "reception_late": 1,
            "stages_completed": 5,
            "stages_late": 2,
            "payments_vnd": 135000,
        },
        "agency:STP|NOW": {"awaiting_fee": 1, "awaiting_reception": 2, "awaiting_reception_overdue": 1},
        "department:STP-HC|Q2026-1": {"stages_completed": 4, "stages_late": 2},
        "department:STP-VP|Q2026-1": {"stages_completed": 1},
    }
    svc = service(counters, procedures(5))
    dash = svc.dashboard(STP_ADMIN, "agency", "STP", "Q2026-1")
    f = dash["figures"]
    assert (f["reception_late"], f["reception_on_time"], f["reception_late_share"]) == (1, 3, 25)
    assert (f["stages_completed"], f["stages_late"]) == (5, 2)
    assert (
        f["awaiting_fee"],
        f["awaiting_reception"],
        f["awaiting_reception_overdue"],
        f["awaiting_reception_total"],
    ) == (1, 2, 1, 4)
    assert dash["departments"] == [
        {"id": "STP-HC", "name": "Phòng Hành chính tư pháp", "stages_completed": 4, "stages_late": 2},
        {"id": "STP-VP", "name": "Văn phòng Sở", "stages_completed": 1, "stages_late": 0},
    ]
    # an agency's officials may look at one of its departments, not at another agency's
    assert svc.dashboard(STP_ADMIN, "department", "STP-HC", "Q2026-1")["figures"]["stages_late"] == 2
    with pytest.raises(Exception, match="other_agency|Cơ quan"):
        svc.dashboard(STP_ADMIN, "department", "SXD-KT", "Q2026-1")

    report = svc.report(STP_ADMIN, "STP", "Q2026-1", "json")
    assert report["title"].endswith("quý 1/2026")
    assert [(d["name"], d["stages_late"]) for d in report["departments"]] == [
        ("Phòng Hành chính tư pháp", 2),
        ("Văn phòng Sở", 0),
    ]

    rows = list(csv.reader(io.StringIO(decode(svc.report(STP_ADMIN, "STP", "Q2026-1", "csv")).decode("utf-8-sig"))))
    head = rows[0]
    total = rows[len(report["rows"]) + 1]
    assert total[head.index("Tiếp nhận trễ")] == "1" and total[head.index("Bước xử lý trễ hạn")] == "2"
    assert ["Phòng Hành chính tư pháp", "4", "2"] in rows

    page = decode(svc.report(STP_ADMIN, "STP", "Q2026-1", "html")).decode()
    assert "135.000 đ" in page and "Bước xử lý trễ hạn theo phòng, ban" in page
    assert "Lập ngày 01/04/2026" in page  # generated 31/03 18:30 UTC, already 1 April in Vietnam

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(decode(svc.report(STP_ADMIN, "STP", "Q2026-1", "xlsx"))))
    assert book.sheetnames[1] == "Phòng, ban"
    assert ("Phòng Hành chính tư pháp", 4, 2) in list(book["Phòng, ban"].iter_rows(values_only=True))


def decode(result: dict) -> bytes:
    return base64.b64decode(result["content_b64"])


def test_people_read_periods_dates_and_money_in_vietnamese():
    assert [period_label(p) for p in ("Y2026", "Q2026-4", "M2026-03", "D2026-03-15", "ALL")] == [
        "năm 2026",
        "quý 4/2026",
        "tháng 03/2026",
        "ngày 15/03/2026",
        "toàn thời gian",
    ]
    assert exports.money(135000) == "135.000 đ" and exports.money(1250000) == "1.250.000 đ"
    assert exports.local_date("2026-12-31T18:30:00+00:00") == "01/01/2027"


def test_public_statistics_are_read_from_a_table_until_the_counters_change():
    """Issue #15: one read however many procedures; new counters (a new token) mean a new table."""
    counters = {"procedure:P001|ALL": {"received": 1}}
    svc = service(counters, procedures(3))
    assert next(r for r in svc.public_statistics(None)["procedures"] if r["procedure_code"] == "P001")["usage"] == 1
    counters["procedure:P001|ALL"]["received"] = 5  # folded, but not yet checkpointed: same token
    assert next(r for r in svc.public_statistics(None)["procedures"] if r["procedure_code"] == "P001")["usage"] == 1
    svc.store.token = "t2"  # the writer's checkpoint wrote the counters
    assert next(r for r in svc.public_statistics(None)["procedures"] if r["procedure_code"] == "P001")["usage"] == 5
