"""Folding events into read models: exact counts, and the same result in any order (rebuild = live)."""

import random
from collections import Counter
from datetime import UTC, datetime

from services.reporting.folding import Fold, bucket
from services.reporting.periods import key, periods


def ev(type_, payload, at="2026-03-02T02:00:00+00:00"):
    return {"type": type_, "payload": payload, "occurred_at": at}


SUBMIT = {"agency_id": "STP", "procedure_code": "TP-LLTP-01", "sector": "Tư pháp", "level": 4}
EVENTS = [
    ev("dossier_submitted", {"code": "A", **SUBMIT, "handled_as_level": 4, "channel": "online"}),
    ev("dossier_submitted", {"code": "B", **SUBMIT, "handled_as_level": 3, "channel": "online"}),
    ev("dossier_submitted", {"code": "C", **SUBMIT, "handled_as_level": 3, "channel": "postal"}),
    ev("case_status_changed", {"code": "A", "action": "receive", "to": "received", "case_version": 2}),
    ev("case_status_changed", {"code": "B", "action": "receive", "to": "received", "case_version": 2}),
    ev("case_deadline_flagged", {"code": "B", "flags": {"overdue": True}, "case_version": 3}),
    ev(
        "case_status_changed",
        {"code": "A", "action": "mark_result_ready", "to": "result_ready", "case_version": 6, "timing_class": "early"},
    ),
    ev(
        "case_status_changed",
        {"code": "C", "action": "request_supplement", "to": "returned_for_supplement", "case_version": 2},
    ),
    ev("case_status_changed", {"code": "C", "action": "withdraw", "to": "withdrawn", "case_version": 3}),
    ev("payment_succeeded", {"code": "A", "amount_vnd": 200000, "payment_id": "P"}),
    ev("refund_completed", {"code": "A", "amount_vnd": 50000, "refund_id": "R", "payment_id": "P"}),
    ev("shipment_delivered", {"kind": "return", "dossier_code": "A", "late": False}),
    ev("feedback_received", {"agency_id": "STP", "procedure_code": "TP-LLTP-01", "id": "F"}),
    ev("feedback_answered", {"agency_id": "STP", "on_time": True, "id": "F"}),
    ev("dossier_rated", {"code": "A", "agency_id": "STP", "score": 4}),
]


def fold(events):
    states: dict = {}
    f = Fold(lambda code: states.get(code))
    for e in sorted(events, key=lambda e: e["occurred_at"]):
        f.apply(e)
    return {k: v for k, v in f.deltas.items() if v}, f.states


def test_exact_counts():
    deltas, states = fold(EVENTS)
    q1 = "Q2026-1"
    for metric, value in [
        ("received", 3),
        ("received_online_l4", 1),
        ("received_online_l3", 1),
        ("received_postal", 1),
        ("processed_early", 1),
        ("returned_for_supplement", 1),
        ("withdrawn", 1),
        ("payments", 1),
        ("payments_vnd", 200000),
        ("refunds_vnd", 50000),
        ("postal_returns_on_time", 1),
        ("feedback_received", 1),
        ("feedback_answered_on_time", 1),
        ("ratings", 1),
        ("rating_points", 4),
    ]:
        assert deltas[key(metric, "agency", "STP", q1)] == value, metric
        assert deltas[key(metric, "all", "*", "Y2026")] == value, metric
    assert deltas[key("received", "sector", "Tư pháp", "M2026-03")] == 3
    assert deltas[key("pending_overdue", "agency", "STP", "NOW")] == 1  # B
    assert key("pending_on_time", "agency", "STP", "NOW") not in deltas  # A closed its clock, net 0
    assert states["B"]["overdue"] is True and states["C"]["status"] == "withdrawn"


def shuffled_folds(events, seed):
    """The deltas of 20 random arrival orders, deliberately not sorted: events arrive out of order
    and wait for their filing."""
    rng = random.Random(seed)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        f = Fold(lambda code: None)
        for e in shuffled:
            f.apply(e)
        assert not f.deferred
        yield {k: v for k, v in f.deltas.items() if v}


def test_any_order_gives_the_same_read_models():
    expected, _ = fold(EVENTS)
    for deltas in shuffled_folds(EVENTS, 7):
        # gauges excluded: these events share one instant, so a flag may pass the transition it follows
        counts = {k: v for k, v in deltas.items() if not k.split("|")[0].startswith(("pending", "awaiting"))}
        assert counts == {k: v for k, v in expected.items() if not k.split("|")[0].startswith(("pending", "awaiting"))}


def test_periods_follow_vietnamese_days():
    # 31/12/2025 18:00 UTC is already 1/1/2026 in Vietnam
    assert periods(datetime(2025, 12, 31, 18, tzinfo=UTC)) == ["D2026-01-01", "M2026-01", "Q2026-1", "Y2026", "ALL"]


def test_waiting_events_survive_batches_and_orphans_are_folded_with_what_they_carry():
    """Events ahead of their filing are stored between batches (not re-read forever from the
    queue), folded when the filing arrives in a later batch; an orphan is folded on release."""
    store: dict = {}
    first = Fold(lambda code: None, lambda code: store.get(code, []))
    early = [e for e in EVENTS if e["type"] != "dossier_submitted" and e["payload"].get("code") == "A"]
    for e in early:
        assert first.apply(e) is False
    store.update(first.deferred)
    assert not first.deltas and len(store["A"]) == len(early)

    second = Fold(lambda code: None, lambda code: store.get(code, []))
    second.apply(EVENTS[0])  # A's filing
    assert second.released == {"A"} and "A" not in second.deferred
    expected, _ = fold([EVENTS[0], *early])
    assert {k: v for k, v in second.deltas.items() if v} == expected

    orphan = ev("payment_succeeded", {"code": "Z", "amount_vnd": 5000, "payment_id": "PZ"})
    third = Fold(lambda code: None, lambda code: [orphan] if code == "Z" else [])
    third.release_orphans("Z")
    assert third.released == {"Z"} and third.deltas[key("payments_vnd", "all", "*", "ALL")] == 5000


# ---------------------------------------------------------------- issue #12: reception, stages, waiting
L4 = {"agency_id": "STP", "procedure_code": "TP-LLTP-01", "sector": "Tư pháp", "level": 4}
STAGE = {"code": "review", "name": "Thẩm định", "kind": "review", "due_date": "2026-03-09"}
RECEPTION = [
    # F: level 4 waiting for its fee, paid online, then received late; its review stage done late in HC
    ev("dossier_submitted", {"code": "F", **L4, "handled_as_level": 4, "channel": "online", "awaiting_fee": True}),
    ev(
        "case_status_changed",
        {"code": "F", "action": "fee_paid", "from": "submitted", "to": "submitted", "case_version": 1},
        at="2026-03-02T03:00:00+00:00",
    ),
    ev(
        "case_status_changed",
        {
            "code": "F",
            "action": "receive",
            "from": "submitted",
            "to": "received",
            "case_version": 2,
            "due_date": "2026-03-10",
            "reception_due_date": "2026-03-02",
            "reception_late": True,
        },
        at="2026-03-03T02:00:00+00:00",
    ),
    ev(
        "case_status_changed",
        {
            "code": "F",
            "action": "propose",
            "from": "in_review",
            "to": "proposed",
            "case_version": 4,
            "stage_completed": {**STAGE, "department_id": "STP-HC", "late": True},
        },
        at="2026-03-05T02:00:00+00:00",
    ),
    # G: filed at the desk, received on time; a stage with no department, on time
    ev("dossier_submitted", {"code": "G", **L4, "handled_as_level": 3, "channel": "in_person"}),
    ev(
        "case_status_changed",
        {
            "code": "G",
            "action": "receive",
            "from": "submitted",
            "to": "received",
            "case_version": 2,
            "reception_due_date": "2026-03-03",
            "reception_late": False,
            "stage_completed": {
                **STAGE,
                "code": "reception",
                "kind": "reception",
                "department_id": None,
                "late": False,
            },
        },
        at="2026-03-02T04:00:00+00:00",
    ),
    # H: waits for reception past its reception due date, then is withdrawn
    ev("dossier_submitted", {"code": "H", **L4, "handled_as_level": 3, "channel": "online"}),
    ev(
        "case_deadline_flagged",
        {
            "code": "H",
            "flags": {"reception_at_risk": True, "reception_overdue": True, "at_risk": False, "overdue": False},
            "newly": ["reception_overdue"],
            "case_version": 1,
        },
        at="2026-03-04T02:00:00+00:00",
    ),
    ev(
        "case_status_changed",
        {"code": "H", "action": "withdraw", "from": "submitted", "to": "withdrawn", "case_version": 2},
        at="2026-03-05T02:00:00+00:00",
    ),
    # K: still waiting for reception, overdue for it; M: still waiting for its fee; N: waiting, in time
    ev("dossier_submitted", {"code": "K", **L4, "handled_as_level": 3, "channel": "online"}),
    ev(
        "case_deadline_flagged",
        {"code": "K", "flags": {"reception_overdue": True}, "case_version": 1},
        at="2026-03-04T02:00:00+00:00",
    ),
    ev("dossier_submitted", {"code": "M", **L4, "handled_as_level": 4, "channel": "online", "awaiting_fee": True}),
    ev("dossier_submitted", {"code": "N", **L4, "handled_as_level": 3, "channel": "online"}),
]
GAUGE_NAMES = ("awaiting_fee", "awaiting_reception", "awaiting_reception_overdue", "pending_on_time", "pending_overdue")


def gauges(deltas, dim="agency", value="STP"):
    return {g: deltas.get(key(g, dim, value, "NOW"), 0) for g in GAUGE_NAMES}


def test_reception_timeliness_and_stages_by_department():
    deltas, states = fold(RECEPTION)
    q1 = "Q2026-1"
    assert deltas[key("reception_late", "agency", "STP", q1)] == 1
    assert deltas[key("reception_on_time", "agency", "STP", q1)] == 1
    assert deltas[key("received_in_person", "agency", "STP", q1)] == 1
    assert deltas[key("stages_completed", "agency", "STP", q1)] == 2
    assert deltas[key("stages_late", "agency", "STP", q1)] == 1
    assert deltas[key("stages_completed", "department", "STP-HC", q1)] == 1
    assert deltas[key("stages_late", "department", "STP-HC", "D2026-03-05")] == 1
    # the department is a dimension of the stage figures only, and only when the stage has one
    assert not [k for k in deltas if "|department:" in k and not k.startswith("stages_")]
    assert not [k for k in deltas if "|department:None" in k]
    assert states["F"]["awaiting_fee"] is False


def test_a_waiting_dossier_is_in_exactly_one_gauge_and_moves_with_fee_reception_and_flags():
    deltas, _ = fold(RECEPTION)
    # F, G received (pending within time), H withdrawn, K overdue for reception, M waits for its fee, N waits
    assert gauges(deltas) == {
        "awaiting_fee": 1,
        "awaiting_reception": 1,
        "awaiting_reception_overdue": 1,
        "pending_on_time": 2,
        "pending_overdue": 0,
    }
    assert gauges(deltas, "all", "*") == gauges(deltas)
    steps: dict = {"F": [], "H": []}
    for upto in range(1, len(RECEPTION) + 1):
        d, states = fold(RECEPTION[:upto])
        # the gauges add up, dossier by dossier, to the one bucket each case state is in
        assert {g: v for g, v in gauges(d).items() if v} == dict(Counter(filter(None, map(bucket, states.values()))))
        for code in steps:
            if code in states:
                steps[code].append(bucket(states[code]) or states[code]["status"])
    assert steps["F"] == ["awaiting_fee", "awaiting_reception"] + ["pending_on_time"] * 11
    assert steps["H"] == ["awaiting_reception", "awaiting_reception_overdue"] + ["withdrawn"] * 5


def test_new_figures_do_not_depend_on_arrival_order():
    expected, _ = fold(RECEPTION)
    for deltas in shuffled_folds(RECEPTION, 12):
        assert deltas == expected


def test_a_dossier_filed_before_the_waiting_gauges_is_never_taken_out_of_them():
    """States folded by an earlier version have no awaiting_fee: receiving one must not make the
    waiting gauge negative (a rebuild counts such dossiers properly)."""
    old = {"A": {**SUBMIT, "status": "submitted", "version": 0}}
    f = Fold(lambda code: old.get(code))
    f.apply(
        ev(
            "case_status_changed",
            {"code": "A", "action": "receive", "from": "submitted", "to": "received", "case_version": 2},
        )
    )
    assert f.deltas[key("pending_on_time", "agency", "STP", "NOW")] == 1
    assert not [k for k, v in f.deltas.items() if k.startswith("awaiting") and v]


def test_a_transition_that_lowers_a_flag_moves_the_gauge_back():
    """An apology letter's new day ends "overdue": its event carries the flags it left."""
    events = [
        ev("dossier_submitted", {"code": "Z", **SUBMIT, "handled_as_level": 3, "channel": "online"}),
        ev(
            "case_status_changed",
            {"code": "Z", "action": "receive", "from": "submitted", "to": "received", "case_version": 2},
        ),
        ev("case_deadline_flagged", {"code": "Z", "flags": {"overdue": True}, "case_version": 3}),
        ev(
            "case_status_changed",
            {
                "code": "Z",
                "action": "issue_apology",
                "from": "received",
                "to": "received",
                "case_version": 4,
                "flags": {"at_risk": False, "overdue": False},
            },
        ),
    ]
    overdue, _ = fold(events[:3])
    assert gauges(overdue)["pending_overdue"] == 1
    after, _ = fold(events)
    assert gauges(after)["pending_overdue"] == 0 and gauges(after)["pending_on_time"] == 1
