"""The one working-day calendar (ngày làm việc) and the one way deadlines are counted.

Working days are Monday–Friday, minus Vietnamese public holidays (from the ``holidays``
package, which knows the lunar ones and the substituted days off), minus announced extra days
off, plus announced make-up working days — the last two from a data file
(``data/calendar_vn.yaml`` or ``CALENDAR_FILE``), because they change every year. Check an
edited file with ``python -m services.common.calendar check [FILE]``.

How a period in working days is counted (Bộ luật Dân sự 2015, Art. 147–148): it starts on the
day *after* the event and ends at the end — 24:00 local time, Asia/Ho_Chi_Minh — of its last
day. An event on a non-working day counts as happening on the next working day (Nghị định
45/2020/NĐ-CP: a dossier filed online outside working days is received on the next one), so:

* a dossier received at any time of day D with N working days is due at the end of the N-th
  working day after D (:meth:`WorkingCalendar.add_working_days`); N = 0 means D itself;
* it is finished early on an earlier local day, on time on the due day, late after it;
* "working days left" on day T counts the working days from T to the due day, both included,
  so on the due day one is left; a deadline is *at risk* with ``at_risk_days`` or fewer left
  and *overdue* from the day after the due day (:func:`deadline_flags`).

Only the postal return (R29) is counted in hours; it does not use this module.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import holidays
import yaml

VN_TZ = timezone(timedelta(hours=7), "ICT")
DEFAULT_FILE = Path(__file__).with_name("data") / "calendar_vn.yaml"


class CalendarFileError(ValueError):
    """The day-swap file is not usable; the message says why, in Vietnamese, for operators."""


class WorkingCalendar:
    def __init__(
        self,
        extra_days_off: Iterable[date] = (),
        make_up_working_days: Iterable[date] = (),
        country: str = "VN",
        tz: timezone = VN_TZ,
    ):
        self.tz = tz
        self.extra_days_off = frozenset(extra_days_off)
        self.make_up_working_days = frozenset(make_up_working_days)
        self._holidays = holidays.country_holidays(country)

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> WorkingCalendar:
        path = Path(path or os.environ.get("CALENDAR_FILE") or DEFAULT_FILE)
        off, make_up = read_swaps(path)
        return cls(off, make_up)

    # ------------------------------------------------------------- days
    def is_working_day(self, day: date) -> bool:
        if day in self.make_up_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= 5:
            return False
        return day not in self._holidays

    def holiday_name(self, day: date) -> str | None:
        return self._holidays.get(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def first_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the next one (when an event on a day off counts)."""
        return day if self.is_working_day(day) else self.next_working_day(day)

    def add_working_days(self, day: date, n: int) -> date:
        """The due day of a period of ``n`` working days that starts with an event on ``day``."""
        if n < 0:
            raise ValueError("n must be >= 0")
        due = self.first_working_day(day)
        for _ in range(n):
            due = self.next_working_day(due)
        return due

    def working_days_after(self, start: date, end: date) -> int:
        """Working days d with start < d ≤ end (what is left of a period paused on ``start``)."""
        count, day = 0, start + timedelta(days=1)
        while day <= end:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def working_days_left(self, today: date, due: date) -> int:
        """Working days from ``today`` to ``due``, both included; 0 once past due."""
        return self.working_days_after(today - timedelta(days=1), due)

    def at_risk_from(self, due: date, at_risk_days: int) -> date:
        """The first day with ``at_risk_days`` or fewer working days left to ``due`` (the day the
        at-risk flag goes up; the overdue one goes up the day after ``due``)."""
        if at_risk_days <= 0:
            return due + timedelta(days=1)
        day, counted = due, 0
        while True:
            counted += self.is_working_day(day)
            if counted > at_risk_days:
                return day + timedelta(days=1)
            day -= timedelta(days=1)

    # ---------------------------------------------------------- instants
    def local_date(self, instant: datetime) -> date:
        if instant.tzinfo is None:
            raise ValueError("calendar arithmetic needs timezone-aware datetimes")
        return instant.astimezone(self.tz).date()

    def end_of_day(self, day: date) -> datetime:
        """24:00 local time of ``day`` — the instant a period ending on that day runs out."""
        return datetime.combine(day + timedelta(days=1), time(0, tzinfo=self.tz))

    def due_date(self, event: datetime, n: int) -> date:
        """The due day of ``n`` working days counted from an event at ``event`` (any time of day)."""
        return self.add_working_days(self.local_date(event), n)

    def classify(self, finished: datetime, due: date) -> str:
        """R15: early (an earlier local day), on time (the due day) or late (after it)."""
        day = self.local_date(finished)
        return "early" if day < due else "on_time" if day == due else "late"


def deadline_flags(calendar: WorkingCalendar, now: datetime, due: date | None, at_risk_days: int) -> dict:
    """The one at-risk / overdue rule (see the module docstring), for case deadlines, stage and
    reception deadlines and the feedback answer clock."""
    if due is None:
        return {"at_risk": False, "overdue": False}
    today = calendar.local_date(now)
    if today > due:
        return {"at_risk": False, "overdue": True}
    return {"at_risk": calendar.working_days_left(today, due) <= at_risk_days, "overdue": False}


def as_date(value: date | datetime | str | None) -> date | None:
    """A stored due day ("YYYY-MM-DD", as documents keep it) back as a date."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(value[:10])


@functools.lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    return WorkingCalendar.from_file()


# ------------------------------------------------------------ the data file
def read_swaps(path: Path) -> tuple[list[date], list[date]]:
    """(extra days off, make-up working days) from a day-swap file, checked."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except OSError as exc:
        raise CalendarFileError(f"Không đọc được tệp lịch {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CalendarFileError(f"Tệp lịch {path} sai cú pháp YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CalendarFileError(f"Tệp lịch {path} phải có hai mục extra_days_off và make_up_working_days")
    unknown = set(data) - {"extra_days_off", "make_up_working_days"}
    if unknown:
        raise CalendarFileError(f"Mục không được hỗ trợ trong tệp lịch: {', '.join(sorted(unknown))}")

    def dates(key: str) -> list[date]:
        out = []
        for raw in data.get(key) or []:
            if isinstance(raw, date) and not isinstance(raw, datetime):
                out.append(raw)
                continue
            try:
                out.append(date.fromisoformat(str(raw)))
            except ValueError:
                raise CalendarFileError(f"{key}: '{raw}' không phải ngày dạng YYYY-MM-DD") from None
        return out

    return dates("extra_days_off"), dates("make_up_working_days")


def check_file(path: Path) -> list[str]:
    """Problems an operator should fix in a day-swap file (empty when it is fine)."""
    off, make_up = read_swaps(path)
    statutory = holidays.country_holidays("VN")
    problems = []
    for day in sorted(set(off) & set(make_up)):
        problems.append(f"{day:%d/%m/%Y} vừa là ngày nghỉ bù vừa là ngày làm bù")
    for day in sorted(off):
        if day.weekday() >= 5:
            problems.append(f"{day:%d/%m/%Y} (nghỉ bù) là thứ Bảy/Chủ nhật — vốn đã là ngày nghỉ")
        elif day in statutory:
            problems.append(f"{day:%d/%m/%Y} (nghỉ bù) đã là ngày lễ: {statutory.get(day)}")
    for day in sorted(make_up):
        if day.weekday() < 5 and day not in statutory:
            problems.append(f"{day:%d/%m/%Y} (làm bù) là ngày thường — vốn đã là ngày làm việc")
    for days in (off, make_up):
        for day in sorted({d for d in days if days.count(d) > 1}):
            problems.append(f"{day:%d/%m/%Y} ghi hai lần")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.calendar", description="Kiểm tra tệp ngày nghỉ bù / làm bù và in lịch làm việc"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    check = sub.add_parser("check", help="kiểm tra tệp lịch (mặc định: CALENDAR_FILE hoặc tệp của dự án)")
    check.add_argument("file", nargs="?")
    check.add_argument("--year", type=int, action="append", help="in các ngày nghỉ của năm này")
    args = parser.parse_args(argv)
    path = Path(args.file or os.environ.get("CALENDAR_FILE") or DEFAULT_FILE)
    try:
        problems = check_file(path)
    except CalendarFileError as exc:
        print(f"LỖI: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"LỖI: {problem}", file=sys.stderr)
    if problems:
        return 1
    cal = WorkingCalendar.from_file(path)
    years = args.year or sorted({d.year for d in cal.extra_days_off | cal.make_up_working_days})
    for year in years:
        day, off = date(year, 1, 1), []
        while day.year == year:
            if not cal.is_working_day(day) and day.weekday() < 5:
                off.append(f"  {day:%d/%m/%Y} {cal.holiday_name(day) or 'nghỉ bù'}")
            elif cal.is_working_day(day) and day.weekday() >= 5:
                off.append(f"  {day:%d/%m/%Y} làm bù (thứ Bảy/Chủ nhật đi làm)")
            day += timedelta(days=1)
        print(f"Năm {year}: ngày thường được nghỉ và ngày cuối tuần đi làm")
        print("\n".join(off) or "  (không có)")
    print(f"Tệp {path}: hợp lệ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
