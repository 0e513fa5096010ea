"""The error hierarchy survives RPC serialisation; envelopes are well-formed."""

import pytest
from nameko.exceptions import deserialize, serialize
from pydantic import ValidationError

from services.common.errors import ALL_ERRORS, Conflict, NotFound, PortalError, ValidationFailed
from services.common.event_contracts import DossierRated
from services.common.events import EventEnvelope, new_event, queue_name
from services.common.schemas import Payload, parse


@pytest.mark.parametrize("cls", ALL_ERRORS)
def test_every_error_round_trips_through_nameko(cls):
    err = cls("thông điệp", {"field": "x"}, "some_code")
    back = deserialize(serialize(err))
    assert type(back) is cls
    assert (back.message, back.details, back.code, back.status) == (
        "thông điệp",
        {"field": "x"},
        "some_code",
        cls.status,
    )


def test_default_code_and_empty_details_survive():
    back = deserialize(serialize(NotFound("không thấy")))
    assert back.code == "not_found" and back.details is None
    assert back.to_envelope() == {"error": {"code": "not_found", "message": "không thấy", "details": None}}


def test_statuses_are_distinct_http_codes():
    assert {c.status for c in ALL_ERRORS} == {500, 400, 401, 403, 404, 409, 413, 415, 422, 429, 503}
    assert issubclass(Conflict, PortalError)


class Sample(Payload):
    name: str
    count: int


def test_parse_forbids_unknown_fields_and_reports_each():
    with pytest.raises(ValidationFailed) as info:
        parse(Sample, {"name": "a", "count": "x", "extra": 1})
    fields = {d["field"] for d in info.value.details}
    assert fields == {"count", "extra"}


def test_event_envelope():
    rated = DossierRated(code="52-261129-ABCDEFGH", agency_id="STP", score=5)
    env = new_event(rated, {"id": "u1", "role": "citizen"}, "52-261129-ABCDEFGH")
    parsed = EventEnvelope.model_validate(env)
    assert parsed.type == "dossier_rated" and parsed.dossier_code == "52-261129-ABCDEFGH"
    assert parsed.payload == {"schema_version": 1, "code": "52-261129-ABCDEFGH", "agency_id": "STP", "score": 5}
    assert parsed.occurred_at.tzinfo is not None and len(parsed.event_id) == 36
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate({**env, "unexpected": True})
    assert new_event(rated, {"id": "u", "role": "citizen"})["event_id"] != env["event_id"]


def test_queue_name_matches_nameko_convention():
    assert (
        queue_name("intake", "dossier_submitted", "processing", "open_case")
        == "evt-intake-dossier_submitted--processing.open_case"
    )


def test_retry_stale_decides_again_on_the_newer_version_and_only_after_a_stale_version():
    from services.common.versioned import retry_stale, stale_version

    seen = []

    def attempt(doc):
        seen.append(doc["version"])
        if doc["version"] < 3:
            raise stale_version("d", doc["version"])  # another change landed first
        return doc["version"]

    assert retry_stale({"version": 1}, attempt, lambda doc: {"version": doc["version"] + 1}) == 3
    assert seen == [1, 2, 3]

    def refuse(doc):
        seen.append("refused")
        raise Conflict("đã xử lý", None, "invalid_transition")

    with pytest.raises(Conflict):
        retry_stale({"version": 1}, refuse, lambda doc: doc)
    assert seen[-2:] == [3, "refused"]
