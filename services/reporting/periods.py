"""Periods of a Vietnamese calendar day, and the counter keys the read models use."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from services.common.calendar import VN_TZ


def periods(at: datetime) -> list[str]:
    return periods_of_day(at.astimezone(VN_TZ).date())


@lru_cache(maxsize=4096)
def periods_of_day(day: date) -> list[str]:
    """The periods a Vietnamese calendar day belongs to."""
    quarter = (day.month - 1) // 3 + 1
    return [f"D{day:%Y-%m-%d}", f"M{day:%Y-%m}", f"Q{day.year}-{quarter}", f"Y{day.year}", "ALL"]


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
    for dim, field in (
        ("agency", "agency_id"),
        ("procedure", "procedure_code"),
        ("sector", "sector"),
        ("level", "level"),
    ):
        if info.get(field) not in (None, ""):
            out.append((dim, str(info[field])))
    return out
