"""The working-day calendar and the one deadline convention (R15, R19, R23; Civil Code Art. 147–148):
a period of N working days from an event on day D ends at 24:00 local time of the N-th working day
after D; an event on a day off counts from the next working day."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.calendar import (
    DEFAULT_FILE,
    VN_TZ,
    CalendarFileError,
    WorkingCalendar,
    check_file,
    deadline_flags,
    default_calendar,
    main,
)

CAL = default_calendar()


def vn(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


KNOWN = [
    # (event, working days, due day, why)
    (vn(2026, 2, 13, 9), 5, date(2026, 2, 27), "the issue's example: Fri 13/2 +5, Tết 16–20/2/2026 off"),
    (vn(2026, 4, 24, 15), 2, date(2026, 4, 29), "the issue's example: Fri 24/4 +2, 27/4 observed Hùng Kings"),
    (vn(2026, 12, 31, 10), 1, date(2027, 1, 4), "the issue's example: Thu 31/12 +1, New Year, weekend"),
    (vn(2026, 3, 2, 0, 1), 1, date(2026, 3, 3), "Monday 00:01: the day after Monday"),
    (vn(2026, 3, 1, 23, 59), 1, date(2026, 3, 3), "Sunday 23:59 counts as Monday: due Tuesday"),
    (vn(2026, 3, 6, 16, 59), 1, date(2026, 3, 9), "Friday 16:59 +1: Monday"),
    (vn(2026, 3, 6, 23, 59), 3, date(2026, 3, 11), "Friday 23:59 +3: Wednesday"),
    (vn(2026, 2, 13, 23, 30), 1, date(2026, 2, 23), "the eve of Tết 2026 (Fri 13/2): Monday after Tết"),
    (vn(2026, 2, 14, 9), 5, date(2026, 3, 2), "filed on the Saturday before Tết: counts from Mon 23/2"),
    (vn(2026, 8, 21, 9), 1, date(2026, 8, 22), "Saturday 22/8/2026 is a make-up working day"),
    (vn(2026, 8, 22, 10), 1, date(2026, 8, 24), "received on that swap Saturday: due Monday"),
    (vn(2026, 8, 28, 9), 1, date(2026, 9, 3), "31/8 swapped, 1/9 and 2/9/2026 off"),
    (vn(2026, 11, 23, 9), 1, date(2026, 11, 25), "24/11/2026 Vietnam Cultural Day off"),
    (vn(2025, 4, 25, 10), 1, date(2025, 4, 26), "Saturday 26/4/2025 is a make-up working day"),
    (vn(2025, 4, 29, 10), 1, date(2025, 5, 5), "30/4, 1/5 and the swapped 2/5/2025 off"),
    (vn(2026, 3, 2, 10), 0, date(2026, 3, 2), "zero days: the day itself"),
    (vn(2026, 3, 1, 10), 0, date(2026, 3, 2), "zero days from a Sunday: Monday"),
    # UTC instants that are already the next local day
    (datetime(2026, 3, 1, 17, 30, tzinfo=UTC), 1, date(2026, 3, 3), "Sun 17:30 UTC is Mon 00:30 local"),
]


@pytest.mark.parametrize("event,n,due,why", KNOWN, ids=[k[3] for k in KNOWN])
def test_known_deadlines(event, n, due, why):
    assert CAL.due_date(event, n) == due, why


def test_due_instant_is_the_end_of_the_local_day():
    end = CAL.end_of_day(date(2026, 2, 27))
    assert end == vn(2026, 2, 28) and end.astimezone(UTC) == datetime(2026, 2, 27, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    "day,working",
    [
        (date(2025, 1, 27), False),
        (date(2025, 2, 3), True),
        (date(2025, 4, 26), True),
        (date(2025, 5, 2), False),
        (date(2025, 9, 1), False),
        (date(2025, 9, 2), False),
        (date(2026, 2, 16), False),
        (date(2026, 2, 20), False),
        (date(2026, 2, 23), True),
        (date(2026, 4, 27), False),
        (date(2026, 8, 22), True),
        (date(2026, 8, 31), False),
        # 2/9 is two days: with 1/9 in 2026, with 3/9 in 2027
        (date(2026, 9, 1), False),
        (date(2026, 9, 2), False),
        (date(2026, 9, 3), True),
        (date(2027, 9, 2), False),
        (date(2027, 9, 3), False),
        (date(2027, 9, 6), True),
        # 24/11: national holiday (Vietnam Cultural Day) from 2026
        (date(2025, 11, 24), True),
        (date(2026, 11, 24), False),
        (date(2027, 11, 24), False),
        (date(2026, 11, 28), False),
        (date(2026, 11, 30), True),
    ],
)
def test_known_days(day, working):
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(
    "finished,expected",
    [
        (vn(2026, 3, 2, 23, 59), "early"),
        (vn(2026, 3, 3, 0, 0), "on_time"),  # any time of the due day is on time
        (vn(2026, 3, 3, 23, 59), "on_time"),
        (vn(2026, 3, 4, 0, 1), "late"),
    ],
)
def test_classification_by_local_day(finished, expected):
    assert CAL.classify(finished, date(2026, 3, 3)) == expected


@pytest.mark.parametrize(
    "now,flags",
    [
        (vn(2026, 3, 2, 9), {"at_risk": False, "overdue": False}),  # Monday: Mon, Tue left
        (vn(2026, 3, 3, 0, 1), {"at_risk": True, "overdue": False}),  # the due day: one left
        (vn(2026, 3, 3, 23, 59), {"at_risk": True, "overdue": False}),  # never "late" before 24:00
        (vn(2026, 3, 4, 0, 1), {"at_risk": False, "overdue": True}),
    ],
)
def test_flags_by_day(now, flags):
    assert deadline_flags(CAL, now, date(2026, 3, 3), 1) == flags


def test_flags_over_a_weekend():
    # due Monday 9/3: from Saturday only Monday is left, so it is at risk already
    assert deadline_flags(CAL, vn(2026, 3, 7, 10), date(2026, 3, 9), 1)["at_risk"]
    assert not deadline_flags(CAL, vn(2026, 3, 6, 10), date(2026, 3, 9), 1)["at_risk"]


def test_swaps_come_from_data_file(tmp_path):
    f = tmp_path / "cal.yaml"
    f.write_text("extra_days_off: [2026-12-31]\nmake_up_working_days: [2026-12-26]\n")
    cal = WorkingCalendar.from_file(f)
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.is_working_day(date(2026, 12, 26))
    assert CAL.is_working_day(date(2026, 12, 31))


def test_the_project_file_is_valid_and_the_check_command_says_so(capsys):
    assert check_file(DEFAULT_FILE) == []
    assert main(["check", str(DEFAULT_FILE), "--year", "2026"]) == 0
    out = capsys.readouterr().out
    assert "22/08/2026 làm bù" in out and "24/11/2026" in out and "hợp lệ" in out


def test_check_command_finds_mistakes(tmp_path, capsys):
    f = tmp_path / "cal.yaml"
    f.write_text(
        "extra_days_off: [2026-12-26, 2026-09-02, 2026-12-30]\nmake_up_working_days: [2026-12-30, 2026-12-29]\n"
    )
    problems = check_file(f)
    assert any("30/12/2026 vừa là ngày nghỉ bù vừa là ngày làm bù" in p for p in problems)
    assert any("26/12/2026" in p and "thứ Bảy" in p for p in problems)
    assert any("02/09/2026" in p and "ngày lễ" in p for p in problems)
    assert any("29/12/2026" in p and "ngày thường" in p for p in problems)
    assert main(["check", str(f)]) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("extra_days_off: [31-12-2026]\n")
    with pytest.raises(CalendarFileError):
        check_file(bad)
    assert main(["check", str(bad)]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_naive_datetimes_refused():
    with pytest.raises(ValueError):
        CAL.due_date(datetime(2026, 1, 5, 9), 1)


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(day=days, n=st.integers(min_value=1, max_value=40), m=st.integers(min_value=0, max_value=40))
def test_additive_lands_on_a_working_day_and_counts_n(day, n, m):
    due = CAL.add_working_days(day, n)
    assert CAL.is_working_day(due) and due > day
    assert CAL.add_working_days(due, m) == CAL.add_working_days(day, n + m)
    assert CAL.working_days_after(CAL.first_working_day(day), due) == n


@settings(max_examples=150, deadline=None)
@given(event=instants, n=st.integers(min_value=0, max_value=30))
def test_the_time_of_day_never_matters(event, n):
    local = event.astimezone(VN_TZ)
    start = datetime(local.year, local.month, local.day, tzinfo=VN_TZ)
    end = start + timedelta(hours=23, minutes=59, seconds=59)
    assert CAL.due_date(start, n) == CAL.due_date(event, n) == CAL.due_date(end, n)


@settings(max_examples=150, deadline=None)
@given(today=days, due=days)
def test_days_left_counts_today_and_the_due_day(today, due):
    left = CAL.working_days_left(today, due)
    if today > due:
        assert left == 0
    else:
        assert left == sum(CAL.is_working_day(today + timedelta(days=k)) for k in range((due - today).days + 1))


@settings(max_examples=150, deadline=None)
@given(due=days, n=st.integers(min_value=1, max_value=5))
def test_at_risk_from_is_the_first_day_the_flag_holds(due, n):
    """The deadline calendar schedules the sweep on this day: the flag must hold from it, not before."""
    start = CAL.at_risk_from(due, n)
    assert CAL.working_days_left(start, due) <= n < CAL.working_days_left(start - timedelta(days=1), due)
