"""Folding events into read models: exact counts, and the same result in any order (rebuild = live)."""
import random
from datetime import datetime, timezone

from services.reporting.folding import Fold
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
    ev("case_status_changed", {"code": "A", "action": "mark_result_ready", "to": "result_ready", "case_version": 6,
                               "timing_class": "early"}),
    ev("case_status_changed", {"code": "C", "action": "request_supplement", "to": "returned_for_supplement",
                               "case_version": 2}),
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
    for metric, value in [("received", 3), ("received_online_l4", 1), ("received_online_l3", 1),
                          ("received_postal", 1), ("processed_early", 1), ("returned_for_supplement", 1),
                          ("withdrawn", 1), ("payments", 1), ("payments_vnd", 200000), ("refunds_vnd", 50000),
                          ("postal_returns_on_time", 1), ("feedback_received", 1), ("feedback_answered_on_time", 1),
                          ("ratings", 1), ("rating_points", 4)]:
        assert deltas[key(metric, "agency", "STP", q1)] == value, metric
        assert deltas[key(metric, "all", "*", "Y2026")] == value, metric
    assert deltas[key("received", "sector", "Tư pháp", "M2026-03")] == 3
    assert deltas[key("pending_overdue", "agency", "STP", "NOW")] == 1   # B
    assert key("pending_on_time", "agency", "STP", "NOW") not in deltas  # A closed its clock, net 0
    assert states["B"]["overdue"] is True and states["C"]["status"] == "withdrawn"


def test_any_order_gives_the_same_read_models():
    expected, _ = fold(EVENTS)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = EVENTS[:]
        rng.shuffle(shuffled)
        states: dict = {}
        f = Fold(lambda code: states.get(code))
        for e in shuffled:  # deliberately not sorted: events arrive out of order and wait for their filing
            f.apply(e)
        assert not f.deferred
        counts = {k: v for k, v in f.deltas.items() if v and not k.split("|")[0].startswith("pending")}
        assert counts == {k: v for k, v in expected.items() if not k.split("|")[0].startswith("pending")}


def test_periods_follow_vietnamese_days():
    # 31/12/2025 18:00 UTC is already 1/1/2026 in Vietnam
    assert periods(datetime(2025, 12, 31, 18, tzinfo=timezone.utc)) == ["D2026-01-01", "M2026-01", "Q2026-1",
                                                                         "Y2026", "ALL"]


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
