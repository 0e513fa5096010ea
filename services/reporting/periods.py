"""Periods of a Vietnamese calendar day, and the counter keys the read models use."""
from __future__ import annotations

from datetime import datetime

from services.common.calendar import VN_TZ


def periods(at: datetime) -> list[str]:
    local = at.astimezone(VN_TZ)
    quarter = (local.month - 1) // 3 + 1
    return [f"D{local:%Y-%m-%d}", f"M{local:%Y-%m}", f"Q{local.year}-{quarter}", f"Y{local.year}", "ALL"]


def key(metric: str, dim: str, value: str, period: str) -> str:
    """A counter's name; counters of one (dimension, period) share a document (see cell)."""
    return f"{metric}|{dim}:{value}|{period}"


def cell(counter_key: str) -> tuple[str, str]:
    """(document id, field) of a counter: one document per dimension value and period."""
    metric, rest = counter_key.split("|", 1)
    return rest, metric


def dims(info: dict) -> list[tuple[str, str]]:
    """The dimensions an event counts under: the province, its agency, procedure, sector, level."""
    out = [("all", "*")]
    for dim, field in (("agency", "agency_id"), ("procedure", "procedure_code"), ("sector", "sector"),
                       ("level", "level")):
        if info.get(field) not in (None, ""):
            out.append((dim, str(info[field])))
    return out
