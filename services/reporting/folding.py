"""Pure folding of events into counter deltas and case states (replayable, order-independent)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime

from services.common.calendar import VN_TZ

from .periods import dims, key, periods_of_day

CLOCK = ("received", "in_review", "proposed", "approved", "refusal_drafted", "refusal_signed")


def bucket(state: dict | None) -> str | None:
    """The one gauge a case is in now. Before reception: waiting for its level-4 fee, or for
    reception (past the reception due date or not); once received, pending within time or overdue."""
    status = (state or {}).get("status")
    if status == "submitted":
        if "awaiting_fee" not in state:
            return None  # filed before these gauges existed: never counted in them (a rebuild counts it)
        if state["awaiting_fee"]:
            return "awaiting_fee"
        return "awaiting_reception_overdue" if state.get("reception_overdue") else "awaiting_reception"
    if status in CLOCK:
        return "pending_overdue" if state.get("overdue") else "pending_on_time"
    return None


class Fold:
    """Collects counter deltas for a batch of events."""

    def __init__(
        self, case_state: Callable[[str], dict | None], deferred_of: Callable[[str], list[dict]] = lambda code: []
    ):
        self.case_state = case_state
        self.deferred_of = deferred_of
        self.deltas: dict[str, float] = defaultdict(float)
        self._memo: dict[tuple, list[str]] = {}
        self.states: dict[str, dict] = {}
        self._stored: dict[str, dict | None] = {}  # states read from the store, once per batch
        #: events waiting for their dossier's filing, by dossier code (to be stored), and the codes
        #: whose stored waiting events were folded in this batch (to be removed from the store)
        self.deferred: dict[str, list[dict]] = {}
        self.released: set[str] = set()

    def _stored_state(self, code: str) -> dict | None:
        if code not in self._stored:
            self._stored[code] = self.case_state(code)
        return self._stored[code]

    def _info(self, code: str | None) -> dict:
        if not code:
            return {}
        return self.states.get(code) or self._stored_state(code) or {}

    def count(self, metric: str, info: dict, at: datetime, amount: float = 1, department: str | None = None) -> None:
        """Count under the event's dimensions; a workflow stage's figures also under its department."""
        for cell in self._cells(info, at.astimezone(VN_TZ).date(), department):
            self.deltas[metric + cell] += amount

    def _cells(self, info: dict, day: date, department: str | None) -> list[str]:
        """``|dimension:value|period`` of every counter an event counts in (the same few
        combinations of dimensions and day recur through a batch: computed once each)."""
        memo = (
            info.get("agency_id"),
            info.get("procedure_code"),
            info.get("sector"),
            info.get("level"),
            department,
            day,
        )
        cells = self._memo.get(memo)
        if cells is None:
            pairs = dims(info) + ([("department", str(department))] if department else [])
            cells = self._memo[memo] = [
                key("", dim, value, period) for dim, value in pairs for period in periods_of_day(day)
            ]
        return cells

    def gauge(self, metric: str, info: dict, amount: int) -> None:
        for dim, value in dims(info):
            self.deltas[key(metric, dim, value, "NOW")] += amount

    def _state(self, code: str, version: int, changes: dict) -> None:
        old = self._info(code)
        if old and old.get("version", 0) >= version:
            return  # an older event arriving late changes nothing
        new = {**old, **changes, "version": version}
        before, after = bucket(old), bucket(new)
        if before != after:
            if before:
                self.gauge(before, old, -1)
            if after:
                self.gauge(after, new, +1)
        self.states[code] = new

    @staticmethod
    def dossier_of(event: dict) -> str | None:
        t, p = event["type"], event["payload"]
        if t == "dossier_submitted" or t.startswith("feedback_"):
            return None
        return p.get("code") or p.get("dossier_code")

    def apply(self, event: dict) -> bool:
        """Fold one event. An event about a dossier whose filing has not been folded yet waits for
        it (its dimensions come from the filing): it is kept in ``deferred`` and folded when the
        filing arrives, so the result does not depend on arrival order. Returns False when the
        event waits."""
        code = self.dossier_of(event)
        if code and not self._info(code):
            waiting = self.deferred.get(code)
            if waiting is None:
                waiting = self.deferred[code] = list(self.deferred_of(code))
            if all(e.get("event_id") != event.get("event_id") or not event.get("event_id") for e in waiting):
                waiting.append(event)
            return False
        self._apply(event)
        if event["type"] == "dossier_submitted":
            self._release(event["payload"]["code"])
        return True

    def _release(self, code: str) -> None:
        waiting = self.deferred.pop(code, None)
        if waiting is None:
            waiting = self.deferred_of(code)
        if waiting:
            self.released.add(code)
        for event in sorted(waiting, key=lambda e: e["occurred_at"]):
            self._apply(event)

    def release_orphans(self, code: str) -> None:
        """The filing never reached us: fold the waiting events with the dimensions they carry."""
        waiting = self.deferred.pop(code, None)
        waiting = self.deferred_of(code) if waiting is None else waiting
        self.released.add(code)
        for event in sorted(waiting, key=lambda e: e["occurred_at"]):
            self._apply(event)

    def _apply(self, event: dict) -> None:
        t, p = event["type"], event["payload"]
        at = (
            datetime.fromisoformat(event["occurred_at"])
            if isinstance(event["occurred_at"], str)
            else event["occurred_at"]
        )
        if t == "dossier_submitted":
            info = {k: p.get(k) for k in ("agency_id", "procedure_code", "sector", "level")}
            channel = (
                p.get("channel")
                if p.get("channel") in ("postal", "ministry_system", "in_person")
                else f"online_l{p.get('handled_as_level', 3)}"
            )
            self.count("received", info, at)
            self.count(f"received_{channel}", info, at)
            if p["code"] not in self.states and not self._stored_state(p["code"]):
                self.states[p["code"]] = {
                    **info,
                    "status": "submitted",
                    "version": 0,
                    "awaiting_fee": bool(p.get("awaiting_fee")),
                }
                self.gauge(bucket(self.states[p["code"]]), info, +1)
        elif t == "case_status_changed":
            info = self._info(p["code"]) or {k: p.get(k) for k in ("agency_id", "procedure_code", "sector", "level")}
            action = p["action"]
            if action in ("mark_result_ready", "return_with_reasons") and p.get("timing_class"):
                self.count(f"processed_{p['timing_class']}", info, at)
            if action == "request_supplement":
                self.count("returned_for_supplement", info, at)
            if action in ("reject_at_reception", "return_with_reasons"):
                self.count("refused", info, at)
            if action == "withdraw":
                self.count("withdrawn", info, at)
            if action == "receive" and p.get("reception_late") is not None:
                self.count("reception_late" if p["reception_late"] else "reception_on_time", info, at)
            stage = p.get("stage_completed")
            if stage:
                self.count("stages_completed", info, at, department=stage.get("department_id"))
                if stage.get("late"):
                    self.count("stages_late", info, at, department=stage.get("department_id"))
            old = self._info(p["code"])
            # A transition carries the flags it left (it may lower them: an apology's new day ends "overdue").
            flags = p.get("flags") or {}
            changes = {
                "status": p["to"],
                "overdue": bool(flags.get("overdue", old.get("overdue", False))) if p["to"] in CLOCK else False,
                # the reception clock restarts whenever a dossier comes back to reception
                "reception_overdue": bool(flags.get("reception_overdue", old.get("reception_overdue", False)))
                if p.get("from") == "submitted" and p["to"] == "submitted"
                else False,
            }
            if action == "fee_paid":
                changes["awaiting_fee"] = False
            self._state(p["code"], p["case_version"], changes)
        elif t == "case_deadline_flagged":
            flags = p.get("flags") or {}
            self._state(
                p["code"],
                p["case_version"],
                {"overdue": bool(flags.get("overdue")), "reception_overdue": bool(flags.get("reception_overdue"))},
            )
        elif t == "payment_succeeded":
            info = self._info(p["code"])
            self.count("payments", info, at)
            self.count("payments_vnd", info, at, p["amount_vnd"])
        elif t == "refund_completed":
            info = self._info(p["code"])
            self.count("refunds", info, at)
            self.count("refunds_vnd", info, at, p["amount_vnd"])
        elif t == "shipment_delivered" and p.get("kind") == "return":
            self.count(
                "postal_returns_late" if p.get("late") else "postal_returns_on_time",
                self._info(p.get("dossier_code")),
                at,
            )
        elif t == "feedback_received":
            self.count(
                "feedback_received", {"agency_id": p["agency_id"], "procedure_code": p.get("procedure_code")}, at
            )
        elif t == "feedback_answered":
            self.count(
                "feedback_answered_on_time" if p.get("on_time") else "feedback_answered_late",
                {"agency_id": p["agency_id"]},
                at,
            )
        elif t == "dossier_rated":
            info = self._info(p["code"]) or {"agency_id": p["agency_id"]}
            self.count("ratings", info, at)
            self.count("rating_points", info, at, p["score"])
