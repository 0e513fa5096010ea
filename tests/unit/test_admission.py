"""The gateway's in-flight limit for filings (gateway/admission.py): green threads, no network,
no clock read by any assertion."""

import json

import eventlet
import pytest
from eventlet.event import Event

import gateway.service  # noqa: F401  (registers the routes)
from gateway.admission import InFlightLimit, ServiceBusy
from gateway.exceptions import error_response
from gateway.openapi import build_openapi


def hold(limit: InFlightLimit, log: list, name: str, release: Event) -> None:
    """Take a slot, note it, keep it until ``release`` fires."""
    with limit.slot():
        log.append(name)
        release.wait()


def settle() -> None:
    for _ in range(5):
        eventlet.sleep(0)


def test_limit_then_fifo_queue_then_busy():
    limit = InFlightLimit("intake", limit=2, max_waiting=2, max_wait=3600)
    log, gates = [], {n: Event() for n in "abcd"}
    threads = []
    for name in "abcd":
        threads.append(eventlet.spawn(hold, limit, log, name, gates[name]))
        settle()
    assert log == ["a", "b"] and limit.in_flight == 2 and limit.waiting == 2

    with pytest.raises(ServiceBusy) as busy:  # two in flight, two waiting: the fifth is refused at once
        with limit.slot():
            pass
    assert busy.value.status == 503 and busy.value.code == "service_busy"
    assert busy.value.details["retry_after_seconds"] >= 1

    gates["b"].send()
    settle()
    assert log == ["a", "b", "c"]  # the first waiter got the freed slot, in arrival order
    gates["a"].send()
    settle()
    assert log == ["a", "b", "c", "d"] and limit.in_flight == 2 and limit.waiting == 0
    gates["c"].send()
    gates["d"].send()
    for t in threads:
        t.wait()
    assert limit.in_flight == 0 and limit.waiting == 0


def test_a_waiter_not_served_in_time_is_refused_and_leaves_the_queue():
    limit = InFlightLimit("intake", limit=1, max_waiting=5, max_wait=0.01)
    gate = Event()
    holder = eventlet.spawn(hold, limit, [], "a", gate)
    settle()
    with pytest.raises(ServiceBusy):
        with limit.slot():
            pass
    assert limit.waiting == 0 and limit.in_flight == 1
    gate.send()
    holder.wait()
    with limit.slot():  # the slot is free again
        assert limit.in_flight == 1
    assert limit.in_flight == 0


def test_an_error_inside_gives_the_slot_back():
    limit = InFlightLimit("intake", limit=1, max_waiting=0, max_wait=1)
    with pytest.raises(RuntimeError):
        with limit.slot():
            raise RuntimeError("the RPC failed")
    assert limit.in_flight == 0


def test_a_waiter_killed_while_waiting_leaves_no_slot_taken():
    limit = InFlightLimit("intake", limit=1, max_waiting=5, max_wait=3600)
    gate = Event()
    holder = eventlet.spawn(hold, limit, [], "a", gate)
    settle()
    waiter = eventlet.spawn(hold, limit, [], "b", Event())
    settle()
    assert limit.waiting == 1
    waiter.kill()
    settle()
    assert limit.waiting == 0
    gate.send()
    holder.wait()
    assert limit.in_flight == 0


def test_busy_answer_is_the_envelope_with_retry_after():
    limit = InFlightLimit("intake", limit=1, max_waiting=0, max_wait=1)
    response = error_response(limit.busy())
    body = json.loads(response.get_data())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(body["error"]["details"]["retry_after_seconds"])
    assert body["error"]["code"] == "service_busy" and body["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/dossiers", "/api/v1/desk/dossiers"])
def test_filing_routes_document_the_busy_answer(path):
    answer = build_openapi()["paths"][path]["post"]["responses"]["503"]
    assert "service_busy" in answer["description"] and "Retry-After" in answer["headers"]


@pytest.mark.parametrize(
    "bad",
    [
        dict(limit=0, max_waiting=1, max_wait=1),
        dict(limit=1, max_waiting=-1, max_wait=1),
        dict(limit=1, max_waiting=1, max_wait=0),
    ],
)
def test_nonsense_settings_are_refused(bad):
    with pytest.raises(ValueError):
        InFlightLimit("intake", **bad)
