"""Level-4 fees through the simulated provider over HTTP (R10, R11): pay, callbacks verified,
receipts, refunds by the rules, reconciliation."""

import concurrent.futures
import time
import uuid

import requests

from services.payment.signing import signed
from tests.e2e.test_level4_signature import signed_filing
from tests.e2e.test_processing_journey import case_of, command, official, wait_for
from tests.helpers import PDF, b64

OPERATOR = "off-province-operator"


def file_signed(suite, citizen):
    api, (profile, auth), pki = suite["api"], citizen, suite["pki"]
    body = signed_filing(api, auth, pki.citizen(profile["national_id"]), pki.intermediate.pem)
    r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["dossier"]["code"]


def pay(suite, auth, code, outcome="success"):
    api = suite["api"]
    r = requests.post(f"{api}/dossiers/{code}/payments", headers={**auth, "Idempotency-Key": f"pay-{code}"}, timeout=30)
    assert r.status_code == 201, r.text
    payment = r.json()
    assert payment["status"] == "started" and payment["amount_vnd"] == 200000
    sim = requests.post(
        payment["redirect_url"], json={"outcome": outcome}, timeout=30, headers={"Accept": "application/json"}
    ).json()
    return payment, sim


def test_full_level4_journey_sign_file_pay_process_deliver(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    code = file_signed(suite, citizen)
    reception, specialist, leader = (
        official(api, n) for n in ("off-stp-reception", "off-stp-specialist", "off-stp-leader")
    )
    case = case_of(api, reception, code)
    assert case["fee_status"] == "unpaid"
    r = command(api, reception, code, "receive", expect=409)
    assert r["error"]["code"] == "fee_unpaid"
    payment, sim = pay(suite, auth, code)
    assert sim["callback_status"] == 200
    assert requests.get(f"{api}/payments/{payment['id']}", headers=auth, timeout=10).json()["status"] == "succeeded"
    assert wait_for(
        lambda: requests.get(f"{api}/cases/{code}", headers=reception, timeout=10).json()["fee_status"] == "paid_online"
    )
    receipt = requests.get(f"{api}/payments/{payment['id']}/receipt", headers=auth, timeout=10)
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF-")
    command(api, reception, code, "receive")
    command(api, reception, code, "assign", department_id="STP-HCTP")
    command(api, specialist, code, "propose", summary="Không có án tích")
    command(
        api,
        leader,
        code,
        "approve",
        result_document={"filename": "phieu-lltp.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    command(api, reception, code, "mark_result_ready")
    # The agency did its part; the citizen has not collected the result: no refund (R11, Art. 7.3).
    assert _refund_refused(api, payment["id"])  # at once: no window while events travel
    r = requests.get(f"{api}/dossiers/{code}/result", headers=auth, timeout=10)
    assert r.status_code == 200 and r.content == PDF


def _refund_refused(api, payment_id):
    r = requests.post(
        f"{api}/payments/{payment_id}/refunds",
        headers=official(api, OPERATOR),
        timeout=10,
        json={"reason": "Công dân không đến nhận kết quả, đề nghị hoàn phí"},
    )
    assert r.status_code != 201, "a refund went through after the result was produced"
    return r.status_code == 409 and r.json()["error"]["code"] == "no_refund_result_produced"


def test_callbacks_forged_replayed_mismatched_and_duplicated(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    code = file_signed(suite, citizen)
    payment, sim = pay(suite, auth, code)
    genuine = sim["callback"]
    url = f"{api}/payments/callback"
    assert requests.post(url, data=genuine, timeout=10).json()["result"] == "duplicate"  # handled once
    forged = dict(genuine, signature="0" * 64)
    r = requests.post(url, data=forged, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_callback"
    wrong_key = signed(
        {k: v for k, v in genuine.items() if k != "signature"} | {"event_id": uuid.uuid4().hex}, "not-the-shared-secret"
    )
    assert requests.post(url, data=wrong_key, timeout=10).status_code == 401
    mismatched = signed(
        {k: v for k, v in genuine.items() if k != "signature"} | {"amount": "1000", "event_id": uuid.uuid4().hex},
        suite["env"]["PROVIDER_SECRET"],
    )
    r = requests.post(url, data=mismatched, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["details"]["reason"] == "amount or currency"
    flip = signed(
        {k: v for k, v in genuine.items() if k != "signature"} | {"status": "fail", "event_id": uuid.uuid4().hex},
        suite["env"]["PROVIDER_SECRET"],
    )
    assert requests.post(url, data=flip, timeout=10).status_code == 401  # cannot undo a success
    assert requests.get(f"{api}/payments/{payment['id']}", headers=auth, timeout=10).json()["status"] == "succeeded"
    r = requests.post(f"{api}/dossiers/{code}/payments", headers=auth, timeout=10)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_paid"


def test_failed_cancelled_and_expired(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    for outcome, status in (("fail", "failed"), ("cancel", "cancelled")):
        code = file_signed(suite, citizen)
        payment, _ = pay(suite, auth, code, outcome)
        assert requests.get(f"{api}/payments/{payment['id']}", headers=auth, timeout=10).json()["status"] == status
    code = file_signed(suite, citizen)
    r = requests.post(f"{api}/dossiers/{code}/payments", headers=auth, timeout=30)
    unpaid = r.json()
    assert unpaid["status"] == "started"
    operator = official(api, OPERATOR)
    requests.post(f"{api}/operator/payments/expire", headers=operator, timeout=10)  # not yet: nothing expires
    assert requests.get(f"{api}/payments/{unpaid['id']}", headers=auth, timeout=10).json()["status"] == "started"
    time.sleep(8.5)  # the suite runs with PAYMENT_EXPIRY_SECONDS=8
    requests.post(f"{api}/operator/payments/expire", headers=operator, timeout=10)
    assert requests.get(f"{api}/payments/{unpaid['id']}", headers=auth, timeout=10).json()["status"] == "expired"
    late = requests.post(
        unpaid["redirect_url"], json={"outcome": "success"}, timeout=30, headers={"Accept": "application/json"}
    ).json()
    assert late["callback_status"] == 200  # paid after expiry: accepted only to give the money back
    after = requests.get(f"{api}/payments/{unpaid['id']}", headers=auth, timeout=10).json()
    assert after["status"] == "expired" and after["refunded_vnd"] == after["amount_vnd"]
    refunds = requests.get(f"{api}/payments/{unpaid['id']}/refunds", headers=auth, timeout=10).json()
    assert [(r["status"], r["automatic"]) for r in refunds] == [("refunded", True)]
    assert requests.post(f"{api}/payments/callback", data=late["callback"], timeout=10).json()["result"] == "duplicate"
    again = requests.post(f"{api}/dossiers/{code}/payments", headers=auth, timeout=30).json()
    assert again["id"] != unpaid["id"] and again["status"] == "started"


def test_refund_on_refusal_and_no_over_refund_under_concurrency(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    reception, specialist, leader = (
        official(api, n) for n in ("off-stp-reception", "off-stp-specialist", "off-stp-leader")
    )
    code = file_signed(suite, citizen)
    payment, _ = pay(suite, auth, code)
    wait_for(lambda: case_of(api, reception, code)["fee_status"] == "paid_online")
    command(api, reception, code, "receive")
    command(api, reception, code, "assign", department_id="STP-HCTP")
    command(api, specialist, code, "draft_refusal", reasons=["Người yêu cầu không thuộc đối tượng được cấp"])
    command(
        api,
        leader,
        code,
        "sign_refusal",
        refusal_document={"filename": "tu-choi.pdf", "content_type": "application/pdf", "content_b64": b64(PDF)},
    )
    command(api, reception, code, "return_with_reasons")
    # The automatic refund is created at once and completes when the provider confirms it.
    # ("submitted" lasts while the provider is being asked: not an outcome yet.)
    refunds = wait_for(
        lambda: (lambda rs: rs if rs and all(r["status"] not in ("created", "submitted") for r in rs) else None)(
            requests.get(f"{api}/payments/{payment['id']}/refunds", headers=auth, timeout=10).json()
        )
    )
    assert [(r["amount_vnd"], r["status"], r["automatic"]) for r in refunds] == [(200000, "refunded", True)]

    # A second payment: two leaders refund 150 000 each at once; only 200 000 was paid.
    code2 = file_signed(suite, citizen)
    payment2, _ = pay(suite, auth, code2)
    leaders = [official(api, "off-stp-leader"), official(api, OPERATOR)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda h: requests.post(
                    f"{api}/payments/{payment2['id']}/refunds",
                    headers=h,
                    timeout=30,
                    json={"amount_vnd": 150000, "reason": "Hoàn một phần"},
                ),
                leaders,
            )
        )
    assert sorted(r.status_code for r in results) == [201, 422]
    assert requests.get(f"{api}/payments/{payment2['id']}", headers=auth, timeout=10).json()["refunded_vnd"] == 150000
    r = requests.post(
        f"{api}/payments/{payment2['id']}/refunds",
        headers=leaders[1],
        timeout=30,
        json={"amount_vnd": 50000, "reason": "Hoàn phần còn lại"},
    )
    assert r.status_code == 201 and r.json()["status"] == "refunded"


def test_reconciliation_finds_a_planted_mismatch(suite, citizen):
    api, (_, auth) = suite["api"], citizen
    code = file_signed(suite, citizen)
    pay(suite, auth, code)
    provider = suite["env"]["PROVIDER_URL"]
    requests.post(
        f"{provider}/api/statement/plant",
        timeout=10,
        json={
            "txn": "SIMPLANTED01",
            "kind": "payment",
            "reference": "PAYUNKNOWN0000001",
            "amount": 99000,
            "currency": "VND",
            "at": suite["clock"].now().isoformat(),
        },
    ).raise_for_status()
    today = suite["clock"].local_today().isoformat()
    report = requests.get(
        f"{api}/operator/reconciliation", params={"date": today}, headers=official(api, OPERATOR), timeout=30
    ).json()
    planted = [m for m in report["mismatches"] if m["reference"] == "PAYUNKNOWN0000001"]
    assert planted and planted[0]["kind"] == "missing_at_portal" and planted[0]["provider_amount"] == 99000
    assert report["portal_payments"] >= 1
    # everything else of the day (payments, refunds, the late payment refunded) matches exactly
    assert [m["reference"] for m in report["mismatches"]] == ["PAYUNKNOWN0000001"], report["mismatches"]
    # The operators' command prints the same report (and exits 1: there is a mismatch).
    import os
    import subprocess
    import sys

    from services.common.config import ROOT

    out = subprocess.run(
        [sys.executable, "-m", "services.payment.reconcile", today],
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **suite["env"]},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and "PAYUNKNOWN0000001" in out.stdout and "missing_at_portal" in out.stdout
