"""Deadlines as a pure function of clock events (R15, R23), checked by hand across Tết 2026."""

from datetime import date, datetime

from services.common.calendar import VN_TZ, default_calendar
from services.processing.deadlines import compute_due, is_paused, stage_due
from services.processing.history import GENESIS, make_entry, verify

CAL = default_calendar()


def vn(*a):
    return datetime(*a, tzinfo=VN_TZ)


# Criminal record certificate, 10 working days. Received Tue 10/2/2026 09:00; a supplement is
# requested Thu 12/2 10:00; Tết Bính Ngọ closes offices Mon 16/2–Fri 20/2; the citizen
# supplements Tue 24/2 15:00.
START, PAUSE, RESUME = vn(2026, 2, 10, 9), vn(2026, 2, 12, 10), vn(2026, 2, 24, 15)
EVENTS = [{"kind": "start", "at": START}, {"kind": "pause", "at": PAUSE}, {"kind": "resume", "at": RESUME}]


def test_due_before_the_pause_skips_tet():
    # 11, 12, 13 Feb, (16–20 Tết), 23, 24, 25, 26, 27 Feb, 2, 3 Mar → Tue 3/3 (until 24:00)
    assert compute_due(CAL, 10, EVENTS[:1]) == date(2026, 3, 3)


def test_restart_rule_counts_the_full_time_again_from_the_supplement():
    # after Tue 24/2: 25, 26, 27 Feb, 2, 3, 4, 5, 6, 9, 10 Mar → Tue 10/3
    assert compute_due(CAL, 10, EVENTS, "restart") == date(2026, 3, 10)


def test_resume_rule_carries_the_whole_days_left_after_the_pause_day():
    # left after Thu 12/2 up to Tue 3/3: 13/2, 23–27/2, 2/3, 3/3 = 8 days;
    # after Tue 24/2: 25, 26, 27 Feb, 2, 3, 4, 5, 6 Mar → Fri 6/3
    assert compute_due(CAL, 10, EVENTS, "resume") == date(2026, 3, 6)


def test_extension_moves_the_due_day_but_not_the_statutory_one():
    extended = [*EVENTS[:1], {"kind": "extend", "at": vn(2026, 3, 4, 8), "new_due_date": "2026-03-06"}]
    assert compute_due(CAL, 10, extended) == date(2026, 3, 6)
    assert compute_due(CAL, 10, extended, with_extensions=False) == date(2026, 3, 3)


def test_replay_is_deterministic_and_serialisable():
    as_text = [{**e, "at": e["at"].isoformat()} for e in EVENTS]
    assert compute_due(CAL, 10, as_text, "resume") == compute_due(CAL, 10, EVENTS, "resume")
    assert compute_due(CAL, 10, []) is None
    assert is_paused(EVENTS[:2]) and not is_paused(EVENTS)


def test_stage_due_is_its_budget_but_never_after_the_case():
    assert stage_due(CAL, vn(2026, 3, 2, 15), 2, date(2026, 3, 10)) == date(2026, 3, 4)
    assert stage_due(CAL, vn(2026, 3, 2, 15), 9, date(2026, 3, 10)) == date(2026, 3, 10)
    assert stage_due(CAL, vn(2026, 3, 2, 15), None, date(2026, 3, 10)) == date(2026, 3, 10)
    assert stage_due(CAL, vn(2026, 3, 1, 15), 0, date(2026, 3, 10)) == date(2026, 3, 2)  # Sunday → Monday


def test_history_chain_detects_edits():
    records, prev = [], GENESIS
    for version, to in enumerate(["submitted", "received", "in_review"], start=1):
        changes = {"status": to, "version": version, "at": vn(2026, 1, 5, 8, version)}
        entry = make_entry("D1", version, prev, changes, action=to, actor={"id": "u"}, at=changes["at"])
        records.append(
            {"doc_id": "D1", "version": version, "set": {**changes, "history_head": entry["hash"]}, "history": entry}
        )
        prev = entry["hash"]
    assert verify(records)["valid"] and verify(records)["checked"] == 3
    tampered = [dict(r) for r in records]
    tampered[1] = {**records[1], "set": {**records[1]["set"], "status": "approved"}}
    report = verify(tampered)
    assert report == {"valid": False, "checked": 1, "broken_at": 2, "reason": "entry content altered"}
    assert verify([records[0], records[2]])["broken_at"] == 2
