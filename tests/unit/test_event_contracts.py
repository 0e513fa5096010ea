"""Issue #16 part 2: one payload model per event, with a schema version; publishers build them,
consumers parse them, one decorator declares a handled event; the queues keep their names; the
JSON Schemas in docs/EVENTS.md are what the models say."""

import ast
import importlib
import inspect
from datetime import UTC, datetime
from types import SimpleNamespace
from unittest import mock

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from pydantic import ValidationError

from ops.suite import COMPONENTS
from services.common import event_contracts as contracts
from services.common.config import ROOT
from services.common.event_contracts import EVENTS, CaseStatusChanged, DossierSubmitted
from services.common.events import PARKED, PROCESSED, Event, handles, new_event
from services.common.messaging import EventHandler
from services.reporting.batching import BatchEventHandler

# The queues deployed brokers hold and the parked-message tool replays to: they must not change.
QUEUES = {
    "evt-processing-case_status_changed--intake.mirror_case_status",
    "evt-processing-case_status_changed--ministry.forward_status_change",
    "evt-intake-account_registered--notification.remember_contact",
    "evt-processing-case_status_changed--notification.notify_applicant",
    "evt-intake-dossier_submitted--notification.notify_filed",
    "evt-feedback-feedback_answered--notification.notify_feedback_answer",
    "evt-gateway-incident_opened--notification.notify_incident_opened",
    "evt-gateway-incident_resolved--notification.notify_incident_resolved",
    "evt-intake-dossier_submitted--payment.record_due",
    "evt-processing-case_status_changed--payment.follow_case",
    "evt-processing-case_status_changed--postal.create_return",
    "evt-intake-dossier_submitted--processing.open_case",
    "evt-payment-payment_succeeded--processing.fee_paid",
    "evt-postal-shipment_lost--processing.redo_after_loss",
    *(
        f"evt-{source}-{type_}--reporting.on_{type_}"
        for source, type_ in [
            ("intake", "dossier_submitted"),
            ("processing", "case_status_changed"),
            ("processing", "case_deadline_flagged"),
            ("payment", "payment_succeeded"),
            ("payment", "refund_completed"),
            ("postal", "shipment_delivered"),
            ("feedback", "feedback_received"),
            ("feedback", "feedback_answered"),
            ("feedback", "dossier_rated"),
        ]
    ),
}
CITIZEN = {"id": "c1", "role": "citizen"}


def consumed_queues() -> set[str]:
    found = set()
    for target in COMPONENTS.values():
        module, name = target.split(":")
        cls = getattr(importlib.import_module(module), name)
        for attr, member in inspect.getmembers(cls):
            for ext in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(ext, EventHandler):
                    found.add(f"evt-{ext.source_service}-{ext.event_type}--{cls.name}.{attr}")
                elif isinstance(ext, BatchEventHandler):
                    found |= {f"evt-{s}-{t}--{cls.name}.on_{t}" for s, t in ext.sources}
    return found


def test_the_queues_keep_their_names():
    assert consumed_queues() == QUEUES


def source_calls(name: str) -> list[tuple[str, ast.Call]]:
    """Every call of ``name`` (a function or a method) in services/ and gateway/."""
    out = []
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("gateway/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and name in (
                getattr(node.func, "id", None),
                getattr(node.func, "attr", None),
            ):
                out.append((str(path.relative_to(ROOT)), node))
    return out


def test_every_event_is_published_and_handled_through_its_model():
    modelled = {m.__name__ for m in (*EVENTS, *contracts.MESSAGES)}
    published = set()
    for where, call in source_calls("new_event"):
        first = call.args[0]
        model = getattr(getattr(first, "func", first), "id", None)
        published.add(model)
        assert model in modelled or where == "services/processing/service.py", (where, ast.unparse(call))
    # processing publishes its case events through workflow.case_event (the model of the decision)
    assert published >= {
        "AccountRegistered",
        "DossierSubmitted",
        "CaseOpened",
        "PaymentSucceeded",
        "RefundCompleted",
        "FeedbackReceived",
        "FeedbackAnswered",
        "FeedbackEscalated",
        "DossierRated",
        "ShipmentDelivered",
        "ShipmentLost",
        "IncidentOpened",
        "IncidentResolved",
    }
    handled = {ast.unparse(call.args[0]) for _, call in source_calls("handles")}
    assert handled <= modelled and handled
    # one way to declare a handler: nameko's decorator only inside services.common.events.handles
    assert {where for where, _ in source_calls("event_handler")} == {"services/common/events.py"}


def test_every_model_declares_its_source_type_and_version():
    assert len({(m.source, m.type) for m in EVENTS}) == len(EVENTS)
    for model in (*EVENTS, *contracts.MESSAGES):
        assert model.source and model.type and model.version >= 1 and model.__doc__, model


def test_the_docs_are_what_the_command_prints():
    committed = (ROOT / "docs" / "EVENTS.md").read_text(encoding="utf-8")
    assert committed == contracts.markdown(), (
        "docs/EVENTS.md is stale: python -m services.common.event_contracts > docs/EVENTS.md"
    )


# What intake published before the models (a message of this shape may still be in a queue).
QUEUED_FILING = {
    "code": "52-260302-ABCDEFGH",
    "procedure_code": "TP-HT-02",
    "procedure_version": 3,
    "procedure_name": "Xác nhận tình trạng hôn nhân",
    "agency_id": "UBND-GR",
    "sector": "Hộ tịch",
    "field": "Hộ tịch",
    "level": 3,
    "handled_as_level": 3,
    "signed": False,
    "channel": "online",
    "processing_days": 3,
    "workflow": None,
    "supplement_clock": "restart",
    "delivery_address": None,
    "delivery_province_code": None,
    "applicant_id": "c1",
    "delivery_method": "in_person",
    "fee_vnd": 15000,
    "origin": None,
    "awaiting_fee": False,
    "submitted_at": "2026-03-02T02:00:00.123456+00:00",
    "attachments": [{"id": "52-260302-ABCDEFGH-1", "document_code": "TK", "sha256": "ab" * 32, "size": 41}],
}


def test_a_message_without_a_version_is_version_1_and_unknown_fields_are_ignored():
    body = new_event(DossierSubmitted(**{**QUEUED_FILING, "submitted_at": datetime.now(UTC)}), CITIZEN)
    body["payload"] = {**QUEUED_FILING, "added_by_a_newer_producer": {"x": 1}}
    event = Event[DossierSubmitted].model_validate(body, context={"reading": True})
    p = event.payload
    assert p.schema_version == 1 and p.code == QUEUED_FILING["code"] and p.attachments[0].size == 41
    assert p.submitted_at == datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=UTC)
    # what goes on the wire again is what came, with the instant in one notation and the version stamped
    assert DossierSubmitted(**QUEUED_FILING).wire() == {
        **QUEUED_FILING,
        "submitted_at": "2026-03-02T02:00:00.123456Z",
        "schema_version": 1,
    }


def test_a_producer_cannot_misspell_a_field_or_leave_out_a_required_one():
    with pytest.raises(ValidationError, match="has no field procedure_versoin"):
        DossierSubmitted(**{**QUEUED_FILING, "procedure_versoin": 3})
    with pytest.raises(ValidationError, match="has no field stage_compleetd"):
        CaseStatusChanged.model_validate(
            {
                "code": "X",
                "action": "receive",
                "from": "submitted",
                "to": "received",
                "case_version": 2,
                "procedure_code": "P",
                "procedure_name": "N",
                "agency_id": "A",
                "applicant_id": "c1",
                "level": 3,
                "delivery_method": "online",
                "stage_compleetd": {},
            }
        )
    with pytest.raises(ValidationError):
        DossierSubmitted(**{k: v for k, v in QUEUED_FILING.items() if k != "applicant_id"})


def test_a_case_event_carries_only_its_action_fields():
    change = CaseStatusChanged(
        code="X",
        action="fee_paid",
        from_="submitted",
        to="submitted",
        case_version=3,
        procedure_code="P",
        procedure_name="N",
        agency_id="A",
        applicant_id="c1",
        level=4,
        delivery_method="online",
        payment_id="PAY1",
        reason=None,
    )
    assert change.wire() == {
        "schema_version": 1,
        "code": "X",
        "action": "fee_paid",
        "from": "submitted",
        "to": "submitted",
        "case_version": 3,
        "procedure_code": "P",
        "procedure_name": "N",
        "agency_id": "A",
        "applicant_id": "c1",
        "level": 4,
        "delivery_method": "online",
        "payment_id": "PAY1",
        "reason": None,
    }
    assert new_event(change, CITIZEN, "X")["type"] == "case_status_changed"


class Handler:
    name = "probe"

    def __init__(self):
        self.store = SimpleNamespace(db={PROCESSED: mock.MagicMock(), PARKED: mock.MagicMock()})
        self.seen = []

    @handles(DossierSubmitted)
    def on_filed(self, event: Event[DossierSubmitted]) -> None:
        self.seen.append(event)


def test_the_handler_gets_the_parsed_payload_and_a_malformed_one_is_parked():
    worker = Handler()
    good = new_event(DossierSubmitted(**QUEUED_FILING), CITIZEN, QUEUED_FILING["code"])
    worker.on_filed(good)
    assert len(worker.seen) == 1 and isinstance(worker.seen[0].payload, DossierSubmitted)
    assert worker.seen[0].payload.handled_as_level == 3 and worker.seen[0].event_id == good["event_id"]
    assert worker.store.db[PARKED].insert_one.call_count == 0

    worker.on_filed({**good, "payload": {"code": "52-X"}})  # most of the filing is missing
    assert len(worker.seen) == 1
    (parked,), _ = worker.store.db[PARKED].insert_one.call_args
    assert parked["queue"] == "evt-intake-dossier_submitted--probe.on_filed" and "malformed" in parked["error"]
