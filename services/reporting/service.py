"""Reporting service (R8, R15, R25–R27): consumes every service's events, keeps the raw events,
folds them into pre-aggregated counters, and answers statistics and reports from those counters
only — the cost of a query does not grow with the number of dossiers. ``rebuild`` recomputes
every read model from the stored events."""
from __future__ import annotations

import base64
import hashlib
import time as _time

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc

from services.common.errors import Forbidden, ServiceUnavailable, ValidationFailed
from services.common.events import Actor, utcnow
from services.common.mongo import MongoDatabase
from services.common.service_base import PortalService

from . import exports
from .batching import batch_event_handler
from .dependencies import ReportingStore
from .writer import Writer, rebuild_wait_seconds

METRICS = ["received", "received_online_l3", "received_online_l4", "received_postal", "received_in_person",
           "received_ministry_system", "processed_early",
           "processed_on_time", "processed_late", "returned_for_supplement", "refused", "withdrawn", "payments",
           "payments_vnd", "refunds", "refunds_vnd", "postal_returns_on_time", "postal_returns_late",
           "feedback_received", "feedback_answered_on_time", "feedback_answered_late", "ratings", "rating_points"]
GAUGES = ["pending_on_time", "pending_overdue"]
SOURCES = [("intake", "dossier_submitted"), ("processing", "case_status_changed"),
           ("processing", "case_deadline_flagged"), ("payment", "payment_succeeded"), ("payment", "refund_completed"),
           ("postal", "shipment_delivered"), ("feedback", "feedback_received"), ("feedback", "feedback_answered"),
           ("feedback", "dossier_rated")]
# A batch is what the writer stores with one insert_many and folds with one journaled commit:
# larger batches spread the commit's fixed cost (counter documents) over more events.
BATCH_SIZE = 2000
BATCH_WAIT_SECONDS = 0.2
STAFF = ("operator", "agency_admin", "leader", "reception", "specialist")


def _period(value: str | None) -> str:
    value = value or "ALL"
    if value == "ALL" or value[:1] in "DMQY" and len(value) > 4:
        return value
    raise ValidationFailed("Kỳ không hợp lệ: ALL, Y2026, Q2026-1, M2026-03 hoặc D2026-03-15", {"period": value},
                           "invalid_period")


class WriterState(DependencyProvider):
    """The same Writer for every worker of this container: what the writer keeps between batches."""

    def setup(self) -> None:
        self.writer = Writer({event_type: source for source, event_type in SOURCES}, self.container.service_name)

    def get_dependency(self, worker_ctx) -> Writer:
        return self.writer


class ReportingService(PortalService):
    name = "reporting"

    store: ReportingStore = MongoDatabase(ReportingStore)
    writer: Writer = WriterState()
    intake = RpcProxy("intake")
    config = Config()

    # ------------------------------------------------------- ingest and fold
    @batch_event_handler(SOURCES, size=BATCH_SIZE, wait=BATCH_WAIT_SECONDS)
    def ingest(self, bodies: list | None) -> bool:
        """Store a batch of events once and fold them (see writer.py); False while another process
        is the writer. The batch consumer acknowledges the messages only after True."""
        return self.writer.run(self.store, bodies, self.config)

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
        raise ServiceUnavailable("Việc dựng lại số liệu chưa xong; hãy xem lại sau", {"request": request},
                                 "rebuild_pending")

    def extra_stats(self) -> dict:
        return {"events_folded": self.store.fold_meta().get("folded", 0), "writer": self.writer.epoch is not None,
                "writer_seconds": {k: round(v, 1) for k, v in self.writer.seconds.items()}}

    @rpc
    def snapshot(self) -> dict:
        """Every counter, for comparing live and rebuilt read models."""
        return {d["_id"]: {k: v for k, v in d.items() if k != "_id"} for d in self.store.db.counters.find()}

    # -------------------------------------------------------------- queries
    def figures(self, dim: str, value: str, period: str) -> dict:
        counts, gauges = self.store.cell(dim, value, period), self.store.cell(dim, value, "NOW")
        out = {m: counts.get(m, 0) for m in METRICS}
        out.update({g: gauges.get(g, 0) for g in GAUGES})
        online = out["received_online_l3"] + out["received_online_l4"]
        out["received_online"] = online
        out["online_share"] = round(100 * online / out["received"], 1) if out["received"] else 0.0
        out["rating_average"] = round(out["rating_points"] / out["ratings"], 2) if out["ratings"] else None
        processed = out["processed_early"] + out["processed_on_time"] + out["processed_late"]
        out["on_time_share"] = round(100 * (processed - out["processed_late"]) / processed, 1) if processed else None
        answered = out["feedback_answered_on_time"] + out["feedback_answered_late"]
        out["feedback_answered"] = answered
        return {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in out.items()}

    @rpc
    def public_statistics(self, period: str | None = None) -> dict:
        """R8: for every level-3+ procedure, usage and handled on time / overdue; and the province."""
        period = _period(period)
        page = self.intake.list_procedures({"page_size": 100})
        rows = []
        for p in page["items"]:
            if p["level"] < 3:
                continue
            f = self.figures("procedure", p["code"], period)
            rows.append({"procedure_code": p["code"], "name": p["name"], "level": p["level"],
                         "agency_id": p["agency_id"], "usage": f["received"],
                         "on_time": f["processed_early"] + f["processed_on_time"],
                         "overdue": f["processed_late"] + f["pending_overdue"]})
        return {"period": period, "procedures": rows, "province": self.figures("all", "*", period)}

    def _target(self, period: str) -> float:
        return float(self.config.get("ONLINE_FILING_TARGET_PERCENT", 50))

    @rpc
    def dashboard(self, actor: dict, dim: str = "all", value: str = "*", period: str | None = None) -> dict:
        """Agencies see their own figures; the province office sees any."""
        who = Actor.model_validate(actor)
        if who.role not in STAFF:
            raise Forbidden("Chỉ cán bộ mới xem được bảng điều hành", None, "officials_only")
        if who.role != "operator" and not (dim == "agency" and value == who.agency_id):
            raise Forbidden("Cơ quan chỉ xem được số liệu của mình", None, "other_agency")
        if dim not in ("all", "agency", "procedure", "sector", "level"):
            raise ValidationFailed("Chiều thống kê không hợp lệ", {"dim": dim}, "invalid_dimension")
        period = _period(period)
        figures = self.figures(dim, value, period)
        return {"dim": dim, "value": value, "period": period, "figures": figures,
                "online_target_percent": self._target(period),
                "online_target_met": figures["online_share"] >= self._target(period)}

    @rpc
    def report(self, actor: dict, scope: str, period: str, fmt: str = "json") -> dict:
        """R26: a quarterly (Q2026-1) or yearly (Y2026) report for an agency (its procedures) or the
        province (its agencies), as json, csv, xlsx or html (printable, with a chart)."""
        who = Actor.model_validate(actor)
        if not period or period[:1] not in "QY":
            raise ValidationFailed("Báo cáo theo quý (Q2026-1) hoặc năm (Y2026)", {"period": period}, "invalid_period")
        if scope == "province":
            if who.role != "operator":
                raise Forbidden("Báo cáo toàn tỉnh do Văn phòng UBND tỉnh lập", None, "forbidden_role")
            agencies = self.intake.list_agencies()
            rows = [{"name": a["name"], **self.figures("agency", a["id"], period)} for a in agencies]
            total = {"name": "Toàn tỉnh", **self.figures("all", "*", period)}
            title = f"Báo cáo tình hình cung cấp dịch vụ công trực tuyến toàn tỉnh — {period}"
        else:
            if who.role not in STAFF or (who.role != "operator" and who.agency_id != scope):
                raise Forbidden("Cơ quan chỉ lập báo cáo của mình", None, "other_agency")
            agency = self.intake.get_agency(scope)
            procedures = [p for p in self.intake.list_procedures({"agency": scope, "page_size": 100})["items"]]
            rows = [{"name": f"{p['code']} {p['name']}", **self.figures("procedure", p["code"], period)}
                    for p in procedures]
            total = {"name": agency["name"], **self.figures("agency", scope, period)}
            title = f"Báo cáo dịch vụ công trực tuyến — {agency['name']} — {period}"
        report = {"title": title, "period": period, "scope": scope, "rows": rows, "total": total,
                  "online_target": self._target(period), "generated_at": utcnow().isoformat()}
        if fmt == "json":
            return report
        render = {"csv": (exports.to_csv, "text/csv; charset=utf-8", "csv"),
                  "xlsx": (exports.to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           "xlsx"),
                  "html": (exports.to_html, "text/html; charset=utf-8", "html")}.get(fmt)
        if render is None:
            raise ValidationFailed("Định dạng: json, csv, xlsx, html", {"format": fmt}, "invalid_format")
        content = render[0](report)
        return {"filename": f"bao-cao-{scope}-{period}.{render[2]}", "content_type": render[1],
                "sha256": hashlib.sha256(content).hexdigest(),
                "content_b64": base64.b64encode(content).decode()}
