"""Working-day calendar: known 2025–2026 cases and properties (R15, R19, R23)."""
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from services.common.calendar import VN_TZ, WorkingCalendar, default_calendar

CAL = default_calendar()


def vn(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


KNOWN = [
    # (start, working days, expected due, why)
    (vn(2025, 1, 24, 9), 1, vn(2025, 2, 3, 9), "Tết Ất Tỵ: 27/1–1/2/2025 off"),
    (vn(2025, 1, 24, 9), 3, vn(2025, 2, 5, 9), "Tết then three days"),
    (vn(2025, 4, 25, 10), 1, vn(2025, 4, 26, 10), "Saturday 26/4/2025 is a make-up working day"),
    (vn(2025, 4, 29, 10), 1, vn(2025, 5, 5, 10), "30/4, 1/5 and the swapped 2/5/2025 off"),
    (vn(2025, 4, 6, 8), 1, vn(2025, 4, 9, 0), "Sunday then Hùng Kings 7/4/2025: counts from 8/4"),
    (vn(2025, 8, 29, 14), 1, vn(2025, 9, 3, 14), "2/9/2025 plus Monday 1/9 off"),
    (vn(2025, 12, 31, 8), 1, vn(2026, 1, 2, 8), "New Year 1/1/2026"),
    (vn(2026, 2, 13, 9), 1, vn(2026, 2, 23, 9), "Tết Bính Ngọ: 16–20/2/2026 off"),
    (vn(2026, 2, 14, 9), 5, vn(2026, 3, 2, 0), "filed on the Saturday before Tết 2026"),
    (vn(2026, 4, 29, 9), 1, vn(2026, 5, 4, 9), "30/4 and 1/5/2026 (Thu, Fri)"),
    (vn(2026, 8, 21, 9), 1, vn(2026, 8, 22, 9), "Saturday 22/8/2026 is a make-up working day"),
    (vn(2026, 8, 28, 9), 1, vn(2026, 9, 3, 9), "31/8 swapped, 1/9 and 2/9/2026 off"),
    (vn(2025, 3, 1, 10), 1, vn(2025, 3, 4, 0), "Saturday filing: the whole of Monday counts"),
]


@pytest.mark.parametrize("start,n,due,why", KNOWN, ids=[k[3] for k in KNOWN])
def test_known_deadlines(start, n, due, why):
    assert CAL.add_working_days(start, n) == due, why
    assert CAL.working_days_between(start, due) == pytest.approx(n)


@pytest.mark.parametrize("day,working", [
    (date(2025, 1, 27), False), (date(2025, 2, 3), True), (date(2025, 4, 26), True),
    (date(2025, 5, 2), False), (date(2025, 9, 1), False), (date(2025, 9, 2), False),
    (date(2026, 2, 16), False), (date(2026, 2, 20), False), (date(2026, 2, 23), True),
    (date(2026, 4, 27), False), (date(2026, 8, 22), True), (date(2026, 8, 31), False),
    (date(2026, 11, 28), False), (date(2026, 11, 30), True),
])
def test_known_days(day, working):
    assert CAL.is_working_day(day) is working


def test_swaps_come_from_data_file(tmp_path):
    f = tmp_path / "cal.yaml"
    f.write_text("extra_days_off: [2026-12-31]\nmake_up_working_days: [2026-12-26]\n")
    cal = WorkingCalendar.from_file(f)
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.is_working_day(date(2026, 12, 26))
    assert CAL.is_working_day(date(2026, 12, 31))


def test_naive_datetimes_refused():
    with pytest.raises(ValueError):
        CAL.add_working_days(datetime(2026, 1, 5, 9), 1)


instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(timezone.utc))


@settings(max_examples=150, deadline=None)
@given(start=instants, n=st.integers(min_value=0, max_value=40))
def test_elapsed_working_time_equals_n(start, n):
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == pytest.approx(n, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(start=instants, n=st.integers(min_value=1, max_value=40), m=st.integers(min_value=0, max_value=40))
def test_additive_and_lands_on_working_day(start, n, m):
    due = CAL.add_working_days(start, n)
    assert CAL.add_working_days(due, m) == CAL.add_working_days(start, n + m)
    assert due > start
    # The due instant is within a working day, or at 00:00 closing the previous one.
    local = due.astimezone(VN_TZ)
    assert CAL.is_working_day(local.date()) or (local.hour == 0 and local.minute == 0)


@settings(max_examples=100, deadline=None)
@given(a=instants, b=instants)
def test_between_is_antisymmetric_and_bounded(a, b):
    d = CAL.working_days_between(a, b)
    assert d == pytest.approx(-CAL.working_days_between(b, a))
    assert abs(d) <= abs((b - a).total_seconds()) / 86400 + 1e-9


@settings(max_examples=150, deadline=None)
@given(start=instants, n=st.integers(min_value=0, max_value=30))
def test_fractional_addition_agrees_with_whole_days(start, n):
    assert CAL.add_working_time(start, n) == CAL.add_working_days(start, n)


@settings(max_examples=150, deadline=None)
@given(start=instants, x=st.floats(min_value=0, max_value=30, allow_nan=False))
def test_fractional_addition_is_the_inverse_of_between(start, x):
    assert CAL.working_days_between(start, CAL.add_working_time(start, x)) == pytest.approx(x, abs=1e-6)
