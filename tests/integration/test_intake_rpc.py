"""Intake RPCs through the real broker and server (in-process container)."""

import uuid
from datetime import timedelta
from typing import ClassVar

import pytest
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ServiceRpcProxy

from devtools.demo_data import seed
from ops.parked import replay
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.events import EventPayload, handles, new_event, utcnow
from services.common.mongo import MongoDatabase
from services.intake.dependencies import IntakeStore
from services.intake.service import IntakeService
from tests.helpers import PDF, EventTap, b64, new_citizen

ADMIN_GR = {"id": "off-gr-admin", "role": "agency_admin", "agency_id": "UBND-GR"}
ADMIN_STP = {"id": "off-stp-admin", "role": "agency_admin", "agency_id": "STP"}


@pytest.fixture
def intake(intake_config, intake_db):
    seed(IntakeStore(intake_db))
    container = ServiceContainer(IntakeService, intake_config)
    container.start()
    with ServiceRpcProxy("intake", intake_config, timeout=30) as proxy:
        yield proxy
    container.stop()


def citizen(intake) -> dict:
    account = intake.register(new_citizen())
    return {"id": account["id"], "role": "citizen"}


def marriage(purpose="Kết hôn"):
    return {
        "procedure_code": "TP-HT-02",
        "delivery_method": "in_person",
        "form_data": {
            "full_name": "An",
            "national_id": "079090001234",
            "date_of_birth": "1990-01-01",
            "residence": "Quy Nhơn",
            "marital_status": "chưa kết hôn",
            "purpose": purpose,
        },
    }


TK = [{"document_code": "TK-XNHN", "filename": "tk.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)}]


def test_catalog_filters_and_pagination(intake):
    page = intake.list_procedures({"page_size": 100})
    assert page["total"] >= 12
    l4 = intake.list_procedures({"level": 4})
    assert l4["total"] == len(l4["items"]) and all(p["level"] == 4 for p in l4["items"])
    assert intake.list_procedures({"field": "Hộ tịch"})["total"] == 3
    assert intake.list_procedures({"q": "GIẤY PHÉP"})["total"] >= 2  # case-insensitive free text
    with pytest.raises(ValidationFailed):
        intake.list_procedures({"page_size": 1000})


def test_new_version_published_and_dossier_keeps_its_version(intake):
    """R7: agencies update procedures; a dossier keeps the version it was filed under."""
    who = citizen(intake)
    old = intake.file_dossier(who, marriage(), TK)["dossier"]
    current = intake.get_procedure("TP-HT-02")
    changed = {k: v for k, v in current.items() if k not in ("version", "published_at")}
    changed["processing_days"] = 2
    changed["fees"] = [{"name": "Lệ phí", "amount_vnd": 20000}]
    with pytest.raises(Forbidden):
        intake.publish_procedure(ADMIN_STP, changed)  # another agency's admin
    v2 = intake.publish_procedure(ADMIN_GR, changed)
    assert v2["version"] == current["version"] + 1
    new = intake.file_dossier(who, marriage("Khác"), TK)["dossier"]
    assert (old["procedure_version"], old["fee_vnd"]) == (current["version"], 15000)
    assert (new["procedure_version"], new["fee_vnd"]) == (v2["version"], 20000)
    assert intake.get_procedure("TP-HT-02", current["version"])["processing_days"] == 3
    assert intake.get_procedure("TP-HT-02")["processing_days"] == 2


def test_publish_rejects_bad_procedures(intake):
    base = {k: v for k, v in intake.get_procedure("TP-HT-02").items() if k not in ("version", "published_at")}
    with pytest.raises(ValidationFailed) as info:  # R6: forms ⇒ at least level 2
        intake.publish_procedure(ADMIN_GR, {**base, "level": 1, "eform_schema": None})
    assert "R6" in str(info.value.details)
    with pytest.raises(ValidationFailed):
        intake.publish_procedure(ADMIN_GR, {**base, "eform_schema": None})  # level 3 needs an eForm
    with pytest.raises(ValidationFailed) as info:
        intake.publish_procedure(ADMIN_GR, {**base, "eform_schema": {"type": 12}})
    assert info.value.code == "invalid_eform_schema"


def test_no_takeover_of_another_agencys_procedure(intake):
    """The owner is the stored one, not the one the body names (a cross-agency takeover got 201)."""
    current = intake.get_procedure("TP-HT-02")
    body = {k: v for k, v in current.items() if k not in ("version", "published_at")}
    with pytest.raises(Forbidden) as info:
        intake.publish_procedure(ADMIN_STP, {**body, "agency_id": "STP"})
    assert info.value.code == "not_agency_admin"
    with pytest.raises(Forbidden) as info:  # its own admin cannot hand it over either
        intake.publish_procedure(ADMIN_GR, {**body, "agency_id": "STP"})
    assert info.value.code == "owner_change_province_only"
    with pytest.raises(Forbidden) as info:
        intake.publish_procedure(ADMIN_GR, {**body, "code": "TP-NEW-99"})
    assert info.value.code == "new_procedure_province_only"
    after = intake.get_procedure("TP-HT-02")
    assert (after["agency_id"], after["version"]) == ("UBND-GR", current["version"])
    operator = {"id": "op", "role": "operator"}
    assert intake.publish_procedure(operator, {**body, "code": "TP-NEW-99"})["agency_id"] == "UBND-GR"


def test_processing_time_never_exceeds_the_announced_one(intake):
    """R34 / Art. 9.1: the province's decision sets the ceiling; agencies may only shorten it."""
    current = intake.get_procedure("TP-HT-02")
    body = {k: v for k, v in current.items() if k not in ("version", "published_at")}
    assert current["announcement"]["processing_days"] == 3 and current["announcement"]["decision_number"]
    with pytest.raises(ValidationFailed) as info:
        intake.publish_procedure(ADMIN_GR, {**body, "processing_days": 4})
    assert info.value.code == "processing_time_exceeds_announced"
    with pytest.raises(Forbidden) as info:  # the announcement is the province's
        intake.publish_procedure(ADMIN_GR, {**body, "announcement": {**body["announcement"], "processing_days": 9}})
    assert info.value.code == "announcement_province_only"
    shorter = intake.publish_procedure(ADMIN_GR, {**body, "announcement": None, "processing_days": 1})
    assert shorter["processing_days"] == 1 and shorter["announcement"] == current["announcement"]


def test_declared_workflows_are_checked_and_versioned(intake):
    """R32, R33: stages with roles and budgets; bad definitions get 422 naming the problem."""
    stages = [
        {"code": "tn", "name": "Tiếp nhận", "kind": "reception", "roles": ["reception"], "days": 1},
        {"code": "td", "name": "Thẩm định", "kind": "review", "roles": ["specialist"], "days": 2},
        {"code": "pd", "name": "Phê duyệt", "kind": "approval", "roles": ["leader"], "days": 1},
        {"code": "tkq", "name": "Trả kết quả", "kind": "result", "roles": ["reception"], "days": None},
    ]
    before = intake.get_procedure("TP-HT-02")
    for bad, problem in [
        ([{**stages[0], "roles": ["janitor"]}, *stages[1:]], "workflow_unknown_role"),
        ([stages[0], {**stages[1], "days": 3}, *stages[2:]], "workflow_budget_exceeds_processing_time"),
        (stages[:3], "workflow_no_final_stage"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            intake.declare_workflow(ADMIN_GR, "TP-HT-02", {"workflow": {"stages": bad}})
        assert info.value.code == problem and problem in str(info.value.details)
    with pytest.raises(Forbidden):
        intake.declare_workflow(ADMIN_STP, "TP-HT-02", {"workflow": {"stages": stages}})
    declared = intake.declare_workflow(ADMIN_GR, "TP-HT-02", {"workflow": {"stages": stages}})
    assert declared["version"] == before["version"] + 1 and declared["workflow"]["stages"][1]["days"] == 2
    assert intake.get_procedure("TP-HT-02", before["version"])["workflow"] is None  # earlier dossiers keep theirs


def test_due_date_preview(intake):
    """The issue's worked example: TP-HT-02 (3 days) received Fri 13/2/2026 → Wed 25/2 (Tết 16–20/2)."""
    preview = intake.due_date_preview("TP-HT-02", "2026-02-13T16:59:00+07:00")
    assert preview["due_date"] == "2026-02-25" and preview["working_days"] == 3
    assert preview["due_at"] == "2026-02-26T00:00:00+07:00"  # 24:00 local of the due day
    assert intake.due_date_preview("TP-HT-02", "2026-02-14T09:00:00+07:00")["reception_day"] == "2026-02-23"
    with pytest.raises(ValidationFailed):
        intake.due_date_preview("TP-HT-02", "2026-02-13T16:59:00")


def test_register_authenticate_and_duplicates(intake):
    profile = new_citizen()
    acc = intake.register(profile)
    assert acc["role"] == "citizen" and "password_hash" not in acc and "password" not in acc
    for login in (profile["email"], profile["email"].upper(), profile["national_id"]):
        assert intake.authenticate({"login": login, "password": profile["password"]})["id"] == acc["id"]
    with pytest.raises(Conflict) as info:
        intake.register({**profile, "email": f"x{uuid.uuid4().hex[:5]}@example.vn"})
    assert info.value.details == {"fields": ["national_id"]}


def test_concurrent_registrations_make_one_account(intake, intake_db, intake_config):
    import eventlet

    profile = new_citizen()
    pool = eventlet.GreenPool(5)

    def attempt(_):
        # one proxy per green thread: a standalone proxy is not shared between them
        with ServiceRpcProxy("intake", intake_config, timeout=30) as own:
            try:
                return own.register(profile)["id"]
            except Conflict:
                return None

    ids = [i for i in pool.imap(attempt, range(5)) if i]
    assert len(ids) == 1
    assert intake_db.accounts.count_documents({"email": profile["email"]}) == 1


class Filed(EventPayload):
    """Stand-ins for intake's events: only their ids are looked at."""

    source: ClassVar[str] = "intake"
    type: ClassVar[str] = "dossier_submitted"
    code: str


class Withdrawn(Filed):
    type: ClassVar[str] = "dossier_withdrawn"


def test_commit_left_by_a_crash_is_projected_and_published(intake, intake_config, intake_db):
    """A crash after the commit but before projecting/publishing loses nothing."""
    tap = EventTap(intake_config["AMQP_URI"], "intake", "dossier_submitted", "dossier_withdrawn")
    try:
        code = f"52-CRASH-{uuid.uuid4().hex[:8].upper()}"
        long_ago = utcnow() - timedelta(minutes=5)
        created = new_event(Filed(code=code), {"id": "c", "role": "citizen"}, code)
        withdrawn = new_event(Withdrawn(code=code), {"id": "c", "role": "citizen"}, code)
        # Only the claims and transition records were committed; the dossier was never written.
        intake_db.dossiers_pending.insert_many(
            [
                {"_id": f"{code}#1", "doc_id": code, "version": 1, "at": long_ago},
                {"_id": f"{code}#2", "doc_id": code, "version": 2, "at": long_ago + timedelta(seconds=1)},
            ]
        )
        intake_db.dossiers_transitions.insert_many(
            [
                {
                    "_id": f"{code}#1",
                    "doc_id": code,
                    "version": 1,
                    "published": False,
                    "at": long_ago,
                    "set": {"code": code, "status": "submitted", "version": 1},
                    "events": [created],
                },
                {
                    "_id": f"{code}#2",
                    "doc_id": code,
                    "version": 2,
                    "published": False,
                    "at": long_ago + timedelta(seconds=1),
                    "set": {"status": "withdrawn", "version": 2},
                    "events": [withdrawn],
                },
            ]
        )
        got = tap.drain(wait=10, until=2)
        assert [e["event_id"] for e in got] == [created["event_id"], withdrawn["event_id"]]
        doc = intake_db.dossiers.find_one({"_id": code})
        assert (doc["status"], doc["version"]) == ("withdrawn", 2)
        assert intake_db.dossiers_pending.count_documents({"doc_id": code}) == 0  # markers gone: published
        assert tap.drain(wait=3) == []  # published once
    finally:
        tap.close()


def test_a_staged_supplement_changes_nothing_until_committed(intake):
    """R36 / Art. 15.4: files and corrections are checked and kept aside; the dossier changes only when
    the case accepted the supplement (commit), once, however often the commit is repeated."""
    who = citizen(intake)
    d = intake.file_dossier(who, marriage(), TK)["dossier"]
    ba = {
        "document_code": "BA-LYHON",
        "filename": "ban-an.pdf",
        "content_type": "application/pdf",
        "content_b64": b64(PDF),
    }
    staged = intake.stage_supplement(who, d["code"], [ba], {"purpose": "Du học", "residence": "Quy Nhơn"})
    assert staged["amendments"] == [
        {"field": "purpose", "old": "Kết hôn", "new": "Du học"}
    ]  # unchanged fields left out
    before = intake.get_dossier(who, d["code"])
    assert len(before["attachments"]) == 1 and before["form_data"]["purpose"] == "Kết hôn"
    intake.commit_supplement(d["code"], staged["staging_id"])
    intake.commit_supplement(d["code"], staged["staging_id"])  # repeated (the event after the call): once
    after = intake.get_dossier(who, d["code"])
    assert [a["id"] for a in after["attachments"]] == [f"{d['code']}-1", staged["attachments"][0]["id"]]
    assert after["form_data"]["purpose"] == "Du học"
    assert [(a["field"], a["old"], a["new"]) for a in after["amendments"]] == [("purpose", "Kết hôn", "Du học")]
    with pytest.raises(ValidationFailed) as info:  # a document not on the procedure's list
        intake.stage_supplement(who, d["code"], [{**ba, "document_code": "SO-HO-KHAU"}], {})
    assert info.value.code == "unknown_documents"
    with pytest.raises(ValidationFailed) as info:  # the corrected form must still be valid
        intake.stage_supplement(who, d["code"], [], {"date_of_birth": "không phải ngày"})
    assert info.value.code == "invalid_form_data"
    with pytest.raises(ValidationFailed) as info:
        intake.stage_supplement(who, d["code"], [], {"no_such_field": "x"})
    assert info.value.code == "unknown_form_fields"
    with pytest.raises(NotFound):
        intake.stage_supplement({"id": "other", "role": "citizen"}, d["code"], [ba], {})


def test_tampered_attachment_is_detected_not_served(intake, intake_db):
    """R21: a file changed in the database after filing no longer matches its recorded sha256 and is
    refused, never served silently."""
    who = citizen(intake)
    d = intake.file_dossier(who, marriage(), TK)["dossier"]
    attachment = d["attachments"][0]
    assert intake.get_attachment(who, d["code"], attachment["id"])["sha256"] == attachment["sha256"]
    intake_db.attachment_chunks.update_one(
        {"_id": f"{attachment['id']}:0"}, {"$set": {"data": b"%PDF-1.4 altered after filing"}}
    )
    with pytest.raises(Conflict) as info:
        intake.get_attachment(who, d["code"], attachment["id"])
    assert info.value.code == "attachment_integrity"


def test_unsigned_level_4_is_handled_as_level_3(intake):
    """R35 / Art. 7.2a: without a digital signature, no online return (the reason is given)."""
    who = citizen(intake)
    birth = {
        "procedure_code": "TP-HT-01",
        "delivery_method": "online",
        "form_data": {
            "child_full_name": "Bé An",
            "child_date_of_birth": "2026-11-20",
            "child_sex": "nữ",
            "place_of_birth": "Bệnh viện tỉnh",
            "mother_full_name": "Lê Thị Hoa",
            "relationship_of_declarant": "mẹ",
        },
    }
    files = [
        {"document_code": "TK-KS", "filename": "tk.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
        {"document_code": "GCS", "filename": "gcs.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    ]
    with pytest.raises(ValidationFailed) as info:
        intake.file_dossier(who, birth, files)
    assert info.value.code == "online_return_needs_signature"
    assert info.value.details["allowed"] == ["in_person", "post"]
    d = intake.file_dossier(who, {**birth, "delivery_method": "in_person"}, files)["dossier"]
    assert (d["level"], d["handled_as_level"]) == (4, 3)


def test_desk_filing_by_reception(intake):
    """Art. 14.2 denominator: a paper dossier brought to the desk, for a person with or without an account."""
    reception = {"id": "off-gr-reception", "role": "reception", "agency_id": "UBND-GR"}
    profile = new_citizen()
    account = intake.register(profile)
    walk_in = {
        **marriage(),
        "applicant": {"name": "Trần Thị Bình", "national_id": "079190009999", "phone": "0912345678"},
    }
    filed = intake.file_at_desk(reception, walk_in, TK)
    d = filed["dossier"]
    assert d["channel"] == "in_person" and d["applicant_id"].startswith("walk-in:") and filed["tracking_secret"]
    assert d["filed_by"] == "off-gr-reception" and d["applicant"]["name"] == "Trần Thị Bình"
    linked = intake.file_at_desk(
        reception, {**walk_in, "applicant": {"name": profile["full_name"], "national_id": profile["national_id"]}}, TK
    )
    assert linked["dossier"]["applicant_id"] == account["id"]  # the citizen sees it in their account
    assert intake.get_dossier({"id": account["id"], "role": "citizen"}, linked["dossier"]["code"])
    with pytest.raises(Forbidden) as info:
        intake.file_at_desk({**reception, "agency_id": "STP"}, walk_in, TK)
    assert info.value.code == "other_agency"
    with pytest.raises(Forbidden):
        intake.file_at_desk({"id": "s", "role": "specialist", "agency_id": "UBND-GR"}, walk_in, TK)
    with pytest.raises(ValidationFailed):
        intake.file_at_desk(reception, {**walk_in, "applicant": {"name": "Không số định danh"}}, TK)


# ----------------------------------------------------------- consumer helper
CALLS: list = []
SUCCEEDED: list = []
BROKEN: set = set()  # event ids the listener cannot handle until the operator "fixes" it


class ProbeEvent(EventPayload):
    source: ClassVar[str] = "intake"
    type: ClassVar[str] = "probe_event"
    fail: bool = False


class Listener:
    """A tiny consumer of intake events, to exercise the idempotent-consumer helper."""

    name = "listener"
    store = MongoDatabase(IntakeStore)

    @handles(ProbeEvent, retries=2, backoff=0.01)
    def on_probe(self, envelope):
        CALLS.append(envelope.event_id)
        if envelope.payload.fail or envelope.event_id in BROKEN:
            raise RuntimeError("cannot handle this one")
        SUCCEEDED.append(envelope.event_id)


def test_consumer_dedupes_parks_and_replays(intake_config, intake_db, amqp_uri):
    from nameko.standalone.events import event_dispatcher

    CALLS.clear()
    config = {**intake_config, "MONGO_DB": intake_config["MONGO_DB"] + "_listener"}
    container = ServiceContainer(Listener, config)
    container.start()
    db = intake_db.client[config["MONGO_DB"]]
    try:
        dispatch = event_dispatcher(config)
        good = new_event(ProbeEvent(), {"id": "t", "role": "system"})
        dispatch("intake", "probe_event", good)
        dispatch("intake", "probe_event", good)  # redelivered: handled once
        bad = new_event(ProbeEvent(fail=True), {"id": "t", "role": "system"})
        dispatch("intake", "probe_event", bad)
        dispatch("intake", "probe_event", {"not": "an envelope"})

        import eventlet

        for _ in range(100):
            if db.parked_messages.count_documents({}) >= 2:
                break
            eventlet.sleep(0.1)
        assert CALLS.count(good["event_id"]) == 1
        assert CALLS.count(bad["event_id"]) == 2  # retried, then parked
        parked = {p["envelope"].get("event_id", "malformed"): p for p in db.parked_messages.find()}
        assert set(parked) == {bad["event_id"], "malformed"}
        assert parked[bad["event_id"]]["queue"] == "evt-intake-probe_event--listener.on_probe"
        assert "cannot handle this one" in parked[bad["event_id"]]["error"]

        # The operator replays the parked message to that consumer's queue only.
        db.parked_messages.delete_one({"_id": parked["malformed"]["_id"]})
        assert replay(db, config["AMQP_URI"]) == 1
        for _ in range(100):
            if CALLS.count(bad["event_id"]) >= 4:
                break
            eventlet.sleep(0.1)
        assert CALLS.count(bad["event_id"]) == 4
        assert db.parked_messages.count_documents({"replayed": True}) == 1
    finally:
        container.stop()


def test_parked_message_replayed_after_a_fix_is_handled_once(intake_config, intake_db, amqp_uri):
    """Issue #7: a message parked after its last retry, replayed once the cause is fixed, is
    handled exactly once — a second replay or a late duplicate changes nothing."""
    import eventlet
    from nameko.standalone.events import event_dispatcher

    config = {**intake_config, "MONGO_DB": intake_config["MONGO_DB"] + "_parked"}
    container = ServiceContainer(Listener, config)
    container.start()
    db = intake_db.client[config["MONGO_DB"]]
    try:
        dispatch = event_dispatcher(config)
        event = new_event(ProbeEvent(), {"id": "t", "role": "system"})
        BROKEN.add(event["event_id"])
        dispatch("intake", "probe_event", event)
        for _ in range(100):
            if db.parked_messages.count_documents({}):
                break
            eventlet.sleep(0.1)
        parked = db.parked_messages.find_one({})
        assert parked["envelope"]["event_id"] == event["event_id"] and SUCCEEDED.count(event["event_id"]) == 0

        BROKEN.discard(event["event_id"])  # the operator fixed the cause
        assert replay(db, config["AMQP_URI"], parked["_id"]) == 1
        for _ in range(100):
            if event["event_id"] in SUCCEEDED:
                break
            eventlet.sleep(0.1)
        assert replay(db, config["AMQP_URI"], parked["_id"]) == 0  # already replayed
        dispatch("intake", "probe_event", event)  # a late duplicate
        eventlet.sleep(1)
        assert SUCCEEDED.count(event["event_id"]) == 1
        assert db.processed_events.find_one({"_id": event["event_id"]})["status"] == "done"
    finally:
        container.stop()
