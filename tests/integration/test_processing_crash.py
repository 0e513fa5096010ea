"""A processing worker killed (SIGKILL) in the middle of a burst loses nothing and doubles
nothing once restarted; an event delivered twice opens one case (R20)."""

import json
import os
import signal
import time
import uuid
from datetime import UTC, datetime

import pika
import pytest
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ServiceRpcProxy

from ops import suite
from services.common.event_contracts import DossierSubmitted
from services.common.events import new_event
from tests.helpers import EventTap, amqp_params

N = 100


def submitted(code):
    return new_event(
        DossierSubmitted(
            code=code,
            procedure_code="TP-HT-02",
            procedure_version=1,
            procedure_name="Xác nhận tình trạng hôn nhân",
            agency_id="UBND-GR",
            level=3,
            handled_as_level=3,
            channel="online",
            processing_days=3,
            applicant_id="c1",
            delivery_method="in_person",
            fee_vnd=15000,
            submitted_at=datetime.now(UTC),
        ),
        {"id": "c1", "role": "citizen"},
        dossier_code=code,
    )


@pytest.fixture
def processing_proc(infra, mongo):
    env = {
        "AMQP_URI": infra["amqp_for"](f"crash{uuid.uuid4().hex[:4]}"),
        "MONGO_URI": infra["mongo_uri"],
        "DB_PREFIX": f"{infra['db_prefix']}c{uuid.uuid4().hex[:4]}",
    }
    log_dir = suite.ROOT / "var" / "log" / f"test-{infra['db_prefix']}"
    state = {"env": env, "proc": None, "db": mongo[f"{env['DB_PREFIX']}_processing"]}

    def start():
        state["proc"] = suite.start("processing", env, log_dir)
        deadline = time.time() + 60
        while True:  # consumers are declared once the service answers
            try:
                with ServiceRpcProxy("processing", {"AMQP_URI": env["AMQP_URI"]}, timeout=10) as proxy:
                    proxy.ping()
                return state["proc"]
            except (UnknownService, RpcTimeout):  # a restarted worker drains the burst before the ping
                if time.time() > deadline or state["proc"].poll() is not None:
                    raise
                time.sleep(0.3)

    state["start"] = start
    yield state
    if state["proc"] and state["proc"].poll() is None:
        state["proc"].terminate()
        state["proc"].wait(15)


def publish(amqp_uri, envelopes):
    conn = pika.BlockingConnection(amqp_params(amqp_uri))
    ch = conn.channel()
    ch.exchange_declare("intake.events", exchange_type="topic", durable=True)
    for env in envelopes:
        ch.basic_publish(
            "intake.events",
            "dossier_submitted",
            json.dumps(env).encode(),
            pika.BasicProperties(content_type="application/json", content_encoding="utf-8", delivery_mode=2),
        )
    conn.close()


def wait_until(fn, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return True
        time.sleep(0.2)
    return fn()


def test_killed_worker_loses_nothing(processing_proc):
    env, db = processing_proc["env"], processing_proc["db"]
    proc = processing_proc["start"]()
    tap = EventTap(env["AMQP_URI"], "processing", "case_opened")
    try:
        codes = [f"52-CRASH-{i:04d}-{uuid.uuid4().hex[:4].upper()}" for i in range(N)]
        publish(env["AMQP_URI"], [submitted(c) for c in codes])
        assert wait_until(lambda: db.cases_transitions.count_documents({}) >= 15, 60)
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst
        proc.wait(10)
        done_at_kill = db.cases.count_documents({})
        assert done_at_kill < N, "the burst finished before the kill; nothing was tested"

        processing_proc["start"]()
        assert wait_until(lambda: db.cases.count_documents({}) == N, 120), db.cases.count_documents({})
        assert db.cases_transitions.count_documents({}) == N  # one opening each, none doubled
        # every opening is published, including those committed just before the kill
        assert wait_until(lambda: db.cases_pending.count_documents({}) == 0, 60)  # no marker left: all published
        seen = {e["dossier_code"] for e in tap.drain(wait=3)}
        assert seen == set(codes)
        for record in db.cases_transitions.find({}, {"history": 1}):
            assert record["history"]["hash"]
    finally:
        tap.close()


def test_event_delivered_twice_opens_one_case(processing_proc):
    env, db = processing_proc["env"], processing_proc["db"]
    processing_proc["start"]()
    code = f"52-TWICE-{uuid.uuid4().hex[:8].upper()}"
    envelope = submitted(code)
    publish(env["AMQP_URI"], [envelope, envelope])
    assert wait_until(lambda: db.cases.count_documents({"_id": code}) == 1, 30)
    time.sleep(1.5)
    assert db.cases_transitions.count_documents({"doc_id": code}) == 1
    assert db.processed_events.find_one({"_id": envelope["event_id"]})["status"] == "done"
