"""The agencies' queues read by _id (services/processing/queue_index.py) give exactly the pages a
filter-and-sort over every case gives, on the real Mongo-wire server, however the states arrive."""

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.mongo import make_client
from services.processing.queue_index import NO_DUE, QueueIndex

CLOCK = ("received", "in_review", "proposed")
STATUSES = ("submitted", "received", "in_review", "proposed", "delivered")


@pytest.fixture
def index(infra):
    client = make_client(infra["mongo_uri"])
    yield QueueIndex(client[f"{infra['db_prefix']}_queue_{uuid.uuid4().hex[:6]}"])
    client.close()


def case(rng, code, version, agency):
    status = rng.choice(STATUSES)
    due = None if status == "submitted" else date(2026, 3, 2) + timedelta(days=rng.randrange(20))
    submitted = datetime(2026, 2, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(50_000))
    return {
        "code": code,
        "version": version,
        "agency_id": agency,
        "status": status,
        "department_id": rng.choice(["D1", "D2", None]),
        "submitted_at": submitted,
        "due_date": due.isoformat() if due else None,
        "due_at": datetime(due.year, due.month, due.day, 17, tzinfo=UTC) if due else None,
    }


def expected(cases, agency, status=None, department=None, day_filter=None):
    rows = [
        c
        for c in cases.values()
        if c["agency_id"] == agency
        and (status is None or c["status"] == status)
        and (department is None or c["department_id"] == department)
        and (day_filter is None or (c["due_date"] and c["status"] in CLOCK and day_filter(c["due_date"])))
    ]
    rows.sort(
        key=lambda c: (
            c["due_date"] is not None,
            c["due_at"] or datetime.min.replace(tzinfo=UTC),
            c["submitted_at"],
            c["code"],
        )
    )
    return [c["code"] for c in rows]


def test_pages_equal_a_full_filter_and_sort(index):
    rng = random.Random(7)
    latest = {}
    for n in range(300):
        code = f"52-Q-{n:04d}"
        for version in range(1, rng.randrange(1, 4) + 1):  # a case changes, its day and status move
            latest[code] = case(rng, code, version, rng.choice(["GR", "GR", "STP"]))
            index.note(latest[code])
    stale = case(rng, "52-Q-0000", 1, "GR")  # an old state noted again (a retry) changes nothing
    index.note(stale)
    assert index.fold() >= 300
    today = date(2026, 3, 10)
    for agency in ("GR", "STP"):
        for kwargs, day_filter in [
            ({}, None),
            ({"status": "in_review"}, None),
            ({"department": "D1"}, None),
            ({"status": "received", "department": "D2"}, None),
            ({"overdue_before": today, "clock_statuses": CLOCK}, lambda d: d < today.isoformat()),
            (
                {"due_between": (today, today + timedelta(days=2)), "clock_statuses": CLOCK},
                lambda d: today.isoformat() <= d <= (today + timedelta(days=2)).isoformat(),
            ),
        ]:
            want = expected(latest, agency, kwargs.get("status"), kwargs.get("department"), day_filter)
            got, total = [], None
            for page in range(0, len(want) // 7 + 2):
                codes, total = index.page(agency, page * 7, 7, **kwargs)
                got += codes
            assert got == want and total == len(want), (agency, kwargs)


def test_a_fold_cut_short_is_redone_to_the_same_result(index):
    rng = random.Random(11)
    cases = {f"52-R-{n}": case(rng, f"52-R-{n}", 1, "GR") for n in range(40)}
    for c in cases.values():
        index.note(c)
    entries = list(index.inbox.find())
    index._fold(entries[:25])
    # as if the folder had died after writing the day documents: where each case is not written, the
    # inbox not emptied
    index.where.delete_many({})
    index.inbox.insert_many(entries[:25])
    assert index.fold() == 40
    codes, total = index.page("GR", 0, 100)
    assert codes == expected(cases, "GR") and total == 40
    assert sum(len(d["entries"]) for d in index.days.find()) == 40  # no case twice
    assert NO_DUE in {d["day"] for d in index.days.find()} or all(c["due_date"] for c in cases.values())
