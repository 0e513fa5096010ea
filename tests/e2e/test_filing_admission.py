"""A gateway with its filing slots taken answers 503 service_busy with Retry-After at once, in the
one envelope, and the same request sent again (same Idempotency-Key) is filed exactly once.

Deterministic without timing: a second gateway process (one filing slot, no waiting) runs on a
virtual host of its own where ``intake``'s RPC queue exists but nobody consumes it, so the first
filing holds the slot for as long as the test wants; the suite's own intake is never disturbed."""

import os
import threading
import time

import pika
import pytest
import requests

from ops import suite as suite_mod
from tests.e2e.test_citizen_journey import MARRIAGE_FORM
from tests.helpers import PDF, PNG, amqp_params, b64

FILING = {
    "procedure_code": "TP-HT-02",
    "form_data": MARRIAGE_FORM,
    "delivery_method": "in_person",
    "attachments": [
        {
            "document_code": "TK-XNHN",
            "filename": "to-khai.pdf",
            "content_type": "application/pdf",
            "content_b64": b64(PDF),
        },
        {"document_code": "BA-LYHON", "filename": "ban-an.png", "content_type": "image/png", "content_b64": b64(PNG)},
    ],
}


@pytest.fixture
def held_gateway(suite, infra):
    """A gateway (FILING_MAX_IN_FLIGHT=1, FILING_MAX_WAITING=0) whose intake never answers, and a
    function telling how many RPCs wait in that intake's queue."""
    if os.environ.get("AMQP_URI"):
        pytest.skip("needs a virtual host of its own on the local broker")
    amqp = infra["amqp_for"]("busy")
    conn = pika.BlockingConnection(amqp_params(amqp))
    channel = conn.channel()
    channel.exchange_declare("nameko-rpc", exchange_type="topic", durable=True)
    channel.queue_declare("rpc-intake", durable=True)
    channel.queue_bind("rpc-intake", "nameko-rpc", "intake.*")
    # Its own gateway database and no services to watch: it must leave no incident or outage record
    # where the suite's gateway would find it.
    env = {
        **suite["env"],
        "AMQP_URI": amqp,
        "GATEWAY_ADDRESS": f"127.0.0.1:{suite_mod.free_port()}",
        "DB_PREFIX": f"{infra['db_prefix']}_busy",
        "HEALTH_SERVICES": "",
        "FILING_MAX_IN_FLIGHT": "1",
        "FILING_MAX_WAITING": "0",
        "RPC_TIMEOUT": "120",
    }
    proc = suite_mod.start("gateway", env, suite["log_dir"] / "held-gateway")
    url = suite_mod.gateway_url(env)
    try:
        for _ in range(300):  # its /health would wait on the silent intake: the OpenAPI says it is up
            if proc.poll() is not None:
                raise RuntimeError(f"held gateway exited with {proc.returncode}")
            try:
                if requests.get(f"{url}/api/v1/openapi.json", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        yield f"{url}/api/v1", lambda: channel.queue_declare("rpc-intake", passive=True).method.message_count
    finally:
        suite_mod.stop({"gateway": proc})
        conn.close()


def test_busy_filing_is_answered_503_at_once_and_a_retry_files_once(suite, citizen, held_gateway):
    held_api, waiting_rpcs = held_gateway
    _, auth = citizen
    first: dict = {}

    def file_first():
        try:
            first["response"] = requests.post(
                f"{held_api}/dossiers", json=FILING, timeout=300, headers={**auth, "Idempotency-Key": "held-1"}
            )
        except requests.RequestException as exc:  # the held gateway is stopped under it
            first["error"] = exc

    holder = threading.Thread(target=file_first, daemon=True)
    holder.start()
    for _ in range(600):  # until the first filing has taken the one slot and waits on intake
        if waiting_rpcs() >= 1:
            break
        time.sleep(0.1)
    assert waiting_rpcs() == 1

    r = requests.post(f"{held_api}/dossiers", json=FILING, headers={**auth, "Idempotency-Key": "busy-1"}, timeout=60)
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "service_busy" and error["message"]
    assert int(r.headers["Retry-After"]) == error["details"]["retry_after_seconds"] >= 1
    assert waiting_rpcs() == 1  # refused before anything was sent to intake

    # The client does as told: the same request again, to the suite's gateway here, is filed once.
    api = suite["api"]
    again = requests.post(f"{api}/dossiers", json=FILING, headers={**auth, "Idempotency-Key": "busy-1"}, timeout=60)
    assert again.status_code == 201, again.text
    replay = requests.post(f"{api}/dossiers", json=FILING, headers={**auth, "Idempotency-Key": "busy-1"}, timeout=60)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["dossier"]["code"] == again.json()["dossier"]["code"]
    mine = requests.get(f"{api}/dossiers", headers=auth, timeout=30).json()
    assert [d["code"] for d in mine["items"]] == [again.json()["dossier"]["code"]]
