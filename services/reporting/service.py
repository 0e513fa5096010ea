"""Reporting service (R8, R15, R25–R27): consumes every service's events, keeps the raw events,
folds them into pre-aggregated counters, and answers statistics and reports from those counters
only — the cost of a query does not grow with the number of dossiers. ``rebuild`` recomputes
every read model from the stored events."""

from __future__ import annotations

import time as _time

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.common import error_catalogue as catalogue
from services.common import events as _events  # "now" through the module: the one injectable clock
from services.common import files
from services.common.calendar import VN_TZ
from services.common.event_contracts import (
    CaseDeadlineFlagged,
    CaseStatusChanged,
    DossierRated,
    DossierSubmitted,
    FeedbackAnswered,
    FeedbackReceived,
    PaymentSucceeded,
    RefundCompleted,
    ShipmentDelivered,
)
from services.common.events import Actor
from services.common.messaging import RpcProxy, rpc
from services.common.mongo import MongoDatabase
from services.common.roles import OFFICIALS
from services.common.service_base import PortalService
from services.common.settings import Settings

from . import exports
from .batching import batch_event_handler
from .dependencies import ReportingStore
from .figures import STAGE_METRICS, figures, period_label, period_year
from .settings import ReportingSettings
from .writer import Writer, rebuild_wait_seconds

# The events folded (folding.py reads their stored JSON), as (source, type): the queues to consume.
SOURCES = [
    (e.source, e.type)
    for e in (
        DossierSubmitted,
        CaseStatusChanged,
        CaseDeadlineFlagged,
        PaymentSucceeded,
        RefundCompleted,
        ShipmentDelivered,
        FeedbackReceived,
        FeedbackAnswered,
        DossierRated,
    )
]
# A batch is what the writer stores with one insert_many and folds with one journaled commit:
# larger batches spread the commit's fixed cost (counter documents) over more events.
BATCH_SIZE = 5000
BATCH_WAIT_SECONDS = 0.2
BATCH_IDLE_SECONDS = 0.5  # with nothing to fold, the writer still runs this often (lease, checkpoint, rebuild)


def _period(value: str | None) -> str:
    value = value or "ALL"
    if value == "ALL" or value[:1] in "DMQY" and len(value) > 4:
        return value
    raise catalogue.error(
        "invalid_period", {"period": value}, "Kỳ không hợp lệ: ALL, Y2026, Q2026-1, M2026-03 hoặc D2026-03-15"
    )


class WriterState(DependencyProvider):
    """The same Writer for every worker of this container: what the writer keeps between batches."""

    def setup(self) -> None:
        self.writer = Writer({event_type: source for source, event_type in SOURCES}, self.container.service_name)

    def get_dependency(self, worker_ctx) -> Writer:
        return self.writer


# A catalog change (a procedure renamed, a level changed) reaches the public table within this long.
PUBLIC_TABLE_SECONDS = 60


class ReportingService(PortalService):
    name = "reporting"

    store: ReportingStore = MongoDatabase(ReportingStore)
    writer: Writer = WriterState()
    intake = RpcProxy("intake")
    settings: ReportingSettings = Settings(ReportingSettings)

    # ------------------------------------------------------- ingest and fold
    @batch_event_handler(SOURCES, size=BATCH_SIZE, wait=BATCH_WAIT_SECONDS, idle=BATCH_IDLE_SECONDS)
    def ingest(self, bodies: list | None) -> bool:
        """Store a batch of events once and fold them (see writer.py); False while another process
        is the writer. The batch consumer acknowledges the messages only after True."""
        return self.writer.run(self.store, bodies, self.settings)

    @rpc
    def rebuild(self) -> dict:
        """Recompute every read model from the stored events. The writer does it between two
        batches, wherever it runs; this waits for it."""
        request = self.store.request_rebuild()
        deadline = _time.monotonic() + rebuild_wait_seconds(self.store.fold_meta().get("folded", 0))
        while _time.monotonic() < deadline:
            done = self.store.rebuild_result(request)
            if done:
                return {"events": done["events"]}
            _time.sleep(0.2)
        raise catalogue.error("rebuild_pending", {"request": request})

    def extra_stats(self) -> dict:
        return {
            "events_folded": self.store.fold_meta().get("folded", 0),
            "writer": self.writer.epoch is not None,
            "writer_seconds": {k: round(v, 1) for k, v in self.writer.seconds.items()},
        }

    @rpc
    def snapshot(self) -> dict:
        """Every non-zero counter, for comparing live and rebuilt read models (a gauge that went up
        and down again is 0 live and absent when rebuilt: the same figure)."""
        docs = {d["_id"]: {k: v for k, v in d.items() if k != "_id" and v} for d in self.store.all_counters()}
        return {doc_id: doc for doc_id, doc in docs.items() if doc}

    # -------------------------------------------------------------- queries
    def figures(self, dim: str, value: str, period: str) -> dict:
        return self.figures_of(dim, [value], period)[value]

    def figures_of(self, dim: str, values: list[str], period: str) -> dict[str, dict]:
        """Figures of several values of one dimension: two counter documents each, read by _id."""
        docs = self.store.cells(dim, values, [period, "NOW"])
        return {value: figures(docs[(value, period)], docs[(value, "NOW")]) for value in values}

    def _procedures(self, query: dict) -> list[dict]:
        """Every procedure of the catalog for this query: intake answers 100 at most per page."""
        items: list[dict] = []
        page = 1
        while True:
            got = self.intake.list_procedures({**query, "page": page, "page_size": 100})
            items += got["items"]
            if not got["items"] or len(items) >= got["total"]:
                return items
            page += 1

    def _departments(self, agency_id: str, period: str) -> list[dict]:
        """Each department of the agency with its workflow stages completed and late."""
        departments = self.intake.get_agency(agency_id).get("departments", [])
        found = self.figures_of("department", [d["id"] for d in departments], period)
        return [
            {"id": d["id"], "name": d["name"], **{m: found[d["id"]][m] for m in STAGE_METRICS}} for d in departments
        ]

    @rpc
    def public_statistics(self, period: str | None = None) -> dict:
        """R8: for every level-3+ procedure, usage and handled on time / overdue; and the province.
        Read from a table computed once per change of the counters (and of the catalog, within
        PUBLIC_TABLE_SECONDS): one read by _id however many procedures there are."""
        period = _period(period)
        token = self.store.counters_token()
        table = self.store.public_table(period)
        fresh = (
            table
            and table["token"] == token
            and (_events.utcnow() - table["at"]).total_seconds() < PUBLIC_TABLE_SECONDS
        )
        if not fresh:
            table = {"token": token, "at": _events.utcnow(), **self._public_statistics(period)}
            self.store.save_public_table(period, table)
        return {"period": table["period"], "procedures": table["procedures"], "province": table["province"]}

    @timer(interval=5)
    def warm_public_statistics(self) -> None:
        """Keep the tables people read most (all time, this year, this quarter) computed ahead."""
        now = _events.utcnow().astimezone(VN_TZ)
        for period in ("ALL", f"Y{now.year}", f"Q{now.year}-{(now.month - 1) // 3 + 1}"):
            self.public_statistics(period)

    def _public_statistics(self, period: str) -> dict:
        procedures = [p for p in self.intake.catalog_facets()["procedures"] if p["level"] >= 3]
        found = self.figures_of("procedure", [p["code"] for p in procedures], period)
        rows = []
        for p in procedures:
            f = found[p["code"]]
            rows.append(
                {
                    "procedure_code": p["code"],
                    "name": p["name"],
                    "level": p["level"],
                    "agency_id": p["agency_id"],
                    "usage": f["received"],
                    "on_time": f["processed_early"] + f["processed_on_time"],
                    "overdue": f["processed_late"] + f["pending_overdue"],
                }
            )
        return {"period": period, "procedures": rows, "province": self.figures("all", "*", period)}

    def _target(self, period: str) -> float:
        return self.settings.online_target(period_year(period, _events.utcnow()))

    @rpc
    def dashboard(self, actor: dict, dim: str = "all", value: str = "*", period: str | None = None) -> dict:
        """Agencies see their own figures (and their departments'); the province office sees any."""
        who = Actor.model_validate(actor)
        if who.role not in OFFICIALS:
            raise catalogue.error("officials_only", None, "Chỉ cán bộ mới xem được bảng điều hành")
        if dim not in ("all", "agency", "procedure", "sector", "level", "department"):
            raise catalogue.error("invalid_dimension", {"dim": dim})
        if (
            who.role != "operator"
            and not (dim == "agency" and value == who.agency_id)
            and not (
                dim == "department"
                and who.agency_id
                and any(d["id"] == value for d in self.intake.get_agency(who.agency_id).get("departments", []))
            )
        ):
            raise catalogue.error("other_agency", None, "Cơ quan chỉ xem được số liệu của mình")
        period = _period(period)
        figures = self.figures(dim, value, period)
        target = self._target(period)
        out = {
            "dim": dim,
            "value": value,
            "period": period,
            "figures": figures,
            "online_target_percent": target,
            "online_target_met": figures["online_share"] >= target,
        }
        if dim == "agency":
            out["departments"] = self._departments(value, period)
        return out

    @rpc
    def report(self, actor: dict, scope: str, period: str, fmt: str = "json") -> dict:
        """R26: a quarterly (Q2026-1) or yearly (Y2026) report for an agency (its procedures, and
        the late workflow stages of each of its departments) or the province (its agencies), as
        json, csv, xlsx or html (printable, with a chart)."""
        who = Actor.model_validate(actor)
        if not period or period[:1] not in "QY" or len(period) < 5:
            raise catalogue.error("invalid_period", {"period": period}, "Báo cáo theo quý (Q2026-1) hoặc năm (Y2026)")
        departments: list[dict] = []
        if scope == "province":
            if who.role != "operator":
                raise catalogue.error("forbidden_role", None, "Báo cáo toàn tỉnh do Văn phòng UBND tỉnh lập")
            agencies = self.intake.list_agencies()
            found = self.figures_of("agency", [a["id"] for a in agencies], period)
            rows = [{"name": a["name"], **found[a["id"]]} for a in agencies]
            total = {"name": "Toàn tỉnh", **self.figures("all", "*", period)}
            title = f"Báo cáo tình hình cung cấp dịch vụ công trực tuyến toàn tỉnh — {period_label(period)}"
        else:
            if who.role not in OFFICIALS or (who.role != "operator" and who.agency_id != scope):
                raise catalogue.error("other_agency", None, "Cơ quan chỉ lập báo cáo của mình")
            agency = self.intake.get_agency(scope)
            procedures = self._procedures({"agency": scope})
            found = self.figures_of("procedure", [p["code"] for p in procedures], period)
            rows = [{"name": f"{p['code']} {p['name']}", **found[p["code"]]} for p in procedures]
            total = {"name": agency["name"], **self.figures("agency", scope, period)}
            departments = self._departments(scope, period)
            title = f"Báo cáo dịch vụ công trực tuyến — {agency['name']} — {period_label(period)}"
        report = {
            "title": title,
            "period": period,
            "scope": scope,
            "rows": rows,
            "total": total,
            "departments": departments,
            "online_target": self._target(period),
            "generated_at": _events.utcnow().isoformat(),
        }
        if fmt == "json":
            return report
        render = {
            "csv": (exports.to_csv, "text/csv; charset=utf-8", "csv"),
            "xlsx": (exports.to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
            "html": (exports.to_html, "text/html; charset=utf-8", "html"),
        }.get(fmt)
        if render is None:
            raise catalogue.error("invalid_format", {"format": fmt}, "Định dạng: json, csv, xlsx, html")
        content = render[0](report)
        return files.download(f"bao-cao-{scope}-{period}.{render[2]}", render[1], content)
