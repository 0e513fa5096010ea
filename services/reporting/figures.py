"""What the views show from the counters: the metrics, the derived shares, the online-filing
target of a period's year (R27), and periods as a person reads them."""

from __future__ import annotations

from datetime import datetime

from services.common.calendar import VN_TZ

METRICS = [
    "received",
    "received_online_l3",
    "received_online_l4",
    "received_postal",
    "received_in_person",
    "received_ministry_system",
    "reception_on_time",
    "reception_late",
    "processed_early",
    "processed_on_time",
    "processed_late",
    "returned_for_supplement",
    "refused",
    "withdrawn",
    "stages_completed",
    "stages_late",
    "payments",
    "payments_vnd",
    "refunds",
    "refunds_vnd",
    "postal_returns_on_time",
    "postal_returns_late",
    "feedback_received",
    "feedback_answered_on_time",
    "feedback_answered_late",
    "ratings",
    "rating_points",
]
#: a dossier is in exactly one of these at a time (see folding.bucket)
GAUGES = ["awaiting_fee", "awaiting_reception", "awaiting_reception_overdue", "pending_on_time", "pending_overdue"]
#: counted under the handling department as well as the standard dimensions
STAGE_METRICS = ["stages_completed", "stages_late"]


def figures(counts: dict, gauges: dict) -> dict:
    """A period's counters and the gauges now, with the shares the views show."""
    out = {m: counts.get(m, 0) for m in METRICS}
    out.update({g: gauges.get(g, 0) for g in GAUGES})
    online = out["received_online_l3"] + out["received_online_l4"]
    out["received_online"] = online
    out["online_share"] = round(100 * online / out["received"], 1) if out["received"] else 0.0
    out["rating_average"] = round(out["rating_points"] / out["ratings"], 2) if out["ratings"] else None
    processed = out["processed_early"] + out["processed_on_time"] + out["processed_late"]
    out["on_time_share"] = round(100 * (processed - out["processed_late"]) / processed, 1) if processed else None
    out["feedback_answered"] = out["feedback_answered_on_time"] + out["feedback_answered_late"]
    receptions = out["reception_on_time"] + out["reception_late"]
    out["reception_late_share"] = round(100 * out["reception_late"] / receptions, 1) if receptions else None
    out["awaiting_reception_total"] = (
        out["awaiting_fee"] + out["awaiting_reception"] + out["awaiting_reception_overdue"]
    )
    return {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in out.items()}


def online_targets(text: str) -> dict[int, float]:
    """``2025:40,2026:50`` → {2025: 40.0, 2026: 50.0}."""
    targets = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        year, sep, percent = item.partition(":")
        if not sep or not year.strip().isdigit():
            raise ValueError(f"ONLINE_FILING_TARGETS: {item!r} is not YEAR:PERCENT")
        targets[int(year)] = float(percent)
    return targets


def period_year(period: str, now: datetime) -> int:
    """The year a period belongs to; all time (ALL) is measured against this year's target."""
    if period[:1] in "DMQY" and period[1:5].isdigit():
        return int(period[1:5])
    return now.astimezone(VN_TZ).year


def period_label(period: str) -> str:
    """Y2026 → năm 2026, Q2026-1 → quý 1/2026, M2026-03 → tháng 03/2026, D2026-03-15 → ngày 15/03/2026."""
    if period[:1] == "Y":
        return f"năm {period[1:]}"
    if period[:1] == "Q":
        year, _, quarter = period[1:].partition("-")
        return f"quý {quarter}/{year}"
    if period[:1] == "M":
        year, _, month = period[1:].partition("-")
        return f"tháng {month}/{year}"
    if period[:1] == "D":
        year, month, day = period[1:].split("-")
        return f"ngày {day}/{month}/{year}"
    return "toàn thời gian"
