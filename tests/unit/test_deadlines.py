"""Deadlines as a pure function of clock events (R15, R23), checked by hand across Tết 2026."""
from datetime import datetime

import pytest

from services.common.calendar import VN_TZ, default_calendar
from services.common.calendar import deadline_flags
from services.processing.deadlines import classify, compute_due, is_paused
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
    # 11, 12, 13 Feb, (16–20 Tết), 23, 24, 25, 26, 27 Feb, 2, 3 Mar → Tue 3/3 09:00
    assert compute_due(CAL, 10, EVENTS[:1]) == vn(2026, 3, 3, 9)


def test_restart_rule_counts_the_full_time_again_from_the_supplement():
    # from Tue 24/2 15:00: 25, 26, 27 Feb, 2, 3, 4, 5, 6, 9, 10 Mar → Tue 10/3 15:00
    assert compute_due(CAL, 10, EVENTS, "restart") == vn(2026, 3, 10, 15)


def test_resume_rule_counts_only_what_was_left():
    # left at the pause: 14 h of 12/2 + 13/2 + 23/2–2/3 (6 days) + 9 h of 3/3 = 191 h.
    # from Tue 24/2 15:00: 9 h, then 25, 26, 27/2, 2, 3, 4, 5/3 (168 h) → 14 h into Fri 6/3.
    assert compute_due(CAL, 10, EVENTS, "resume") == vn(2026, 3, 6, 14)


def test_extension_moves_the_due_time_but_not_the_statutory_one():
    extended = [*EVENTS[:1], {"kind": "extend", "at": vn(2026, 3, 4, 8), "new_due_at": vn(2026, 3, 7)}]
    assert compute_due(CAL, 10, extended) == vn(2026, 3, 7)
    assert compute_due(CAL, 10, extended, with_extensions=False) == vn(2026, 3, 3, 9)


def test_replay_is_deterministic_and_serialisable():
    as_text = [{**e, "at": e["at"].isoformat()} for e in EVENTS]
    assert compute_due(CAL, 10, as_text, "resume") == compute_due(CAL, 10, EVENTS, "resume")
    assert compute_due(CAL, 10, []) is None
    assert is_paused(EVENTS[:2]) and not is_paused(EVENTS)


@pytest.mark.parametrize("finished,expected", [
    (vn(2026, 3, 2, 8), "early"),      # more than a working day to spare
    (vn(2026, 3, 2, 10), "on_time"),   # less than a day left
    (vn(2026, 3, 3, 9), "on_time"),    # exactly at the due time
    (vn(2026, 3, 3, 9, 1), "late"),
])
def test_classification(finished, expected):
    assert classify(CAL, finished, vn(2026, 3, 3, 9)) == expected


def test_flags():
    due = vn(2026, 3, 3, 9)
    assert deadline_flags(CAL, vn(2026, 2, 26, 9), due, 1) == {"overdue": False, "at_risk": False}
    assert deadline_flags(CAL, vn(2026, 3, 2, 10), due, 1) == {"overdue": False, "at_risk": True}
    assert deadline_flags(CAL, vn(2026, 3, 3, 10), due, 1) == {"overdue": True, "at_risk": False}


def test_history_chain_detects_edits():
    records, prev = [], GENESIS
    for version, to in enumerate(["submitted", "received", "in_review"], start=1):
        changes = {"status": to, "version": version, "at": vn(2026, 1, 5, 8, version)}
        entry = make_entry("D1", version, prev, changes, action=to, actor={"id": "u"}, at=changes["at"])
        records.append({"doc_id": "D1", "version": version, "set": {**changes, "history_head": entry["hash"]},
                        "history": entry})
        prev = entry["hash"]
    assert verify(records)["valid"] and verify(records)["checked"] == 3
    tampered = [dict(r) for r in records]
    tampered[1] = {**records[1], "set": {**records[1]["set"], "status": "approved"}}
    report = verify(tampered)
    assert report == {"valid": False, "checked": 1, "broken_at": 2, "reason": "entry content altered"}
    assert verify([records[0], records[2]])["broken_at"] == 2
