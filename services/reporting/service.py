"""Reporting service (R8, R15, R25–R27): consumes every service's events, keeps the raw events,
folds them into pre-aggregated counters, and answers statistics and reports from those counters
only — the cost of a query does not grow with the number of dossiers. ``rebuild`` recomputes
every read model from the stored events."""
from __future__ import annotations

import base64
import hashlib
import time as _time
import uuid
from datetime import timedelta

from nameko.dependency_providers import Config
from nameko.timer import timer

from services.common.errors import Forbidden, ValidationFailed
from services.common.events import Actor, EventEnvelope, utcnow
from services.common.messaging import RpcProxy, event_handler, rpc
from services.common.mongo import MongoDatabase
from services.common.service_base import PortalService

from . import exports
from .dependencies import ReportingStore
from .folding import Fold

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
STAFF = ("operator", "agency_admin", "leader", "reception", "specialist")
ORPHAN_SWEEP_SECONDS = 60
_LAST_ORPHAN_SWEEP = 0.0  # per process: how often the folder looks for events whose filing never came


def _period(value: str | None) -> str:
    value = value or "ALL"
    if value == "ALL" or value[:1] in "DMQY" and len(value) > 4:
        return value
    raise ValidationFailed("Kỳ không hợp lệ: ALL, Y2026, Q2026-1, M2026-03 hoặc D2026-03-15", {"period": value},
                           "invalid_period")


class ReportingService(PortalService):
    name = "reporting"

    store: ReportingStore = MongoDatabase(ReportingStore)
    intake = RpcProxy("intake")
    config = Config()

    # --------------------------------------------------------------- ingest
    def _ingest(self, body: dict) -> None:
        envelope = EventEnvelope.model_validate(body).model_dump(mode="json")
        self.store.record(envelope)

    @event_handler("intake", "dossier_submitted")
    def on_dossier_submitted(self, body): self._ingest(body)

    @event_handler("processing", "case_status_changed")
    def on_case_status_changed(self, body): self._ingest(body)

    @event_handler("processing", "case_deadline_flagged")
    def on_case_deadline_flagged(self, body): self._ingest(body)

    @event_handler("payment", "payment_succeeded")
    def on_payment_succeeded(self, body): self._ingest(body)

    @event_handler("payment", "refund_completed")
    def on_refund_completed(self, body): self._ingest(body)

    @event_handler("postal", "shipment_delivered")
    def on_shipment_delivered(self, body): self._ingest(body)

    @event_handler("feedback", "feedback_received")
    def on_feedback_received(self, body): self._ingest(body)

    @event_handler("feedback", "feedback_answered")
    def on_feedback_answered(self, body): self._ingest(body)

    @event_handler("feedback", "dossier_rated")
    def on_dossier_rated(self, body): self._ingest(body)

    # ----------------------------------------------------------------- fold
    @timer(interval=1)
    def fold_timer(self) -> None:
        self.fold()

    @rpc
    def fold(self, batch: int = 2000) -> int:
        """Fold pending events into the counters (one folder at a time). Every queued event is
        consumed by its pass: one that is ahead of its dossier's filing moves to ``deferred`` and
        is folded with the filing; if the filing never comes, after ORPHAN_EVENT_SECONDS."""
        owner = uuid.uuid4().hex
        if not self.store.lock(owner):
            return 0
        total = 0
        try:
            self.store.replay_journal()
            self.store.begin_fold()
            self._fold_orphans()
            while True:
                self.store.touch(owner)
                events = self.store.pending(batch)
                if not events:
                    return total
                events.sort(key=lambda e: e["occurred_at"])
                fold = Fold(self.store.case_state, self.store.deferred_of)
                for event in events:
                    fold.apply(event)
                done = [e["_id"] for e in events]
                self.store.save(fold.deltas, fold.states, done, fold.deferred, fold.released)
                total += len(done)
        finally:
            self.store.unlock(owner)

    def _fold_orphans(self) -> None:
        global _LAST_ORPHAN_SWEEP
        if _time.monotonic() - _LAST_ORPHAN_SWEEP < ORPHAN_SWEEP_SECONDS:
            return
        _LAST_ORPHAN_SWEEP = _time.monotonic()
        cutoff = utcnow() - timedelta(seconds=float(self.config.get("ORPHAN_EVENT_SECONDS", 3600)))
        codes = self.store.orphans(cutoff)
        if codes:
            fold = Fold(self.store.case_state, self.store.deferred_of)
            for code in codes:
                fold.release_orphans(code)
            self.store.save(fold.deltas, fold.states, [], {}, fold.released)

    @rpc
    def rebuild(self) -> dict:
        """Recompute every read model from the stored events."""
        owner = uuid.uuid4().hex
        while not self.store.lock(owner):
            _time.sleep(0.1)
        try:
            self.store.db.journal.delete_many({})
            self.store.db.meta.delete_many({})
            self.store.db.counters.delete_many({})
            self.store.db.case_states.delete_many({})
            self.store.db.pending.delete_many({})
            self.store.db.deferred.delete_many({})
            count, chunk = 0, []
            for event in self.store.db.events.find():
                chunk.append(event)
                if len(chunk) == 1000:
                    self.store.db.pending.insert_many(chunk, ordered=False)
                    count, chunk = count + len(chunk), []
            if chunk:
                self.store.db.pending.insert_many(chunk, ordered=False)
                count += len(chunk)
        finally:
            self.store.unlock(owner)
        self.fold()
        return {"events": count}

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
