"""Benchmark: payments per second through the gateway, callback verification included.

    .venv/bin/python bench/bench_payments.py [--count 100] [--concurrency 4]

Starts the suite with the simulated provider in throw-away databases, registers citizens with
certificates from a throw-away CA, files signed level-4 dossiers (not timed), then times, per
payment: POST /dossiers/{code}/payments (provider session) → the provider's page is paid →
its HMAC-signed callback to the gateway is verified and applied → GET /payments/{id} shows
``succeeded``. Beside it, the storage floor of the same run: the documents one payment left in
payment's database written again straight with pymongo at the same concurrency
(bench.harness.rewrite). ``--quick`` is what ``make bench`` runs.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import base64  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import base_env, documents_of, report, rewrite, run_pool, running, seed  # noqa: E402
from ops import suite  # noqa: E402
from tests.pki import Pki  # noqa: E402

PDF = b"%PDF-1.4\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
FORM = {
    "full_name": "Người Thử",
    "national_id": "079090001234",
    "date_of_birth": "1990-01-01",
    "place_of_birth": "Quy Nhơn",
    "permanent_address": "Quy Nhơn",
    "record_type": 1,
    "copies": 1,
    "purpose": "Thử tải",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="40 payments")
    args = ap.parse_args()
    if args.quick:
        args.count = 40
    pki = Pki()
    port = suite.free_port()
    env = base_env(
        GATEWAY_ADDRESS=f"127.0.0.1:{port}",
        LOGIN_MAX_ATTEMPTS_PER_IP="100000",
        PROVIDER_URL=f"http://127.0.0.1:{suite.free_port()}",
        PROVIDER_SECRET="bench-secret",
        SMTP_PORT=str(suite.free_port()),
        PAYMENT_CALLBACK_URL=f"http://127.0.0.1:{port}/api/v1/payments/callback",
    )
    ca = ROOT / "var" / f"{env['DB_PREFIX']}-ca.pem"
    ca.write_text(pki.trust_pem)
    env.update(TRUSTED_CA_FILE=str(ca), MAIL_DIR=str(ROOT / "var" / "mail" / env["DB_PREFIX"]))
    seed(env)
    with running(suite.LOCAL_STAND_INS + list(suite.COMPONENTS), env) as (procs, client):
        url = suite.gateway_url(env)
        suite.wait_healthy(url, timeout=90, procs=procs)
        api = f"{url}/api/v1"
        dossiers = []
        for i in range(args.count):
            n = uuid.uuid4().int
            nid = f"{n % 10**12:012d}"
            profile = {
                "kind": "individual",
                "full_name": "Người Thử",
                "national_id": nid,
                "date_of_birth": "1990-01-01",
                "email": f"pay{n % 10**9}@example.vn",
                "phone": "0905000000",
                "password": "bench-password-123",
            }
            requests.post(f"{api}/auth/register", json=profile, timeout=60).raise_for_status()
            tok = requests.post(
                f"{api}/auth/login", json={"login": profile["email"], "password": profile["password"]}, timeout=60
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {tok}"}
            files = [("TK-LLTP", "tk.pdf", "application/pdf", PDF), ("CCCD", "c.png", "image/png", PNG)]
            metas = [{"document_code": c, "sha256": hashlib.sha256(d).hexdigest()} for c, _, _, d in files]
            payload = base64.b64decode(
                requests.post(
                    f"{api}/dossiers/signing-payload",
                    headers=auth,
                    timeout=30,
                    json={"procedure_code": "TP-LLTP-01", "form_data": FORM, "attachments": metas},
                ).json()["payload_b64"]
            )
            signer = pki.citizen(nid)
            body = {
                "procedure_code": "TP-LLTP-01",
                "form_data": FORM,
                "delivery_method": "online",
                "attachments": [
                    {"document_code": c, "filename": f, "content_type": t, "content_b64": base64.b64encode(d).decode()}
                    for c, f, t, d in files
                ],
                "signature": {
                    "certificate_pem": signer.pem,
                    "chain_pem": pki.intermediate.pem,
                    "signature_b64": signer.sign(payload),
                },
            }
            r = requests.post(f"{api}/dossiers", json=body, headers=auth, timeout=60)
            dossiers.append((auth, r.json()["dossier"]["code"]))
        time.sleep(2)  # let the payment service record every fee due
        failures, payments = [], []

        def pay(i):
            auth, code = dossiers[i]
            p = requests.post(f"{api}/dossiers/{code}/payments", headers=auth, timeout=60).json()
            payments.append((p["id"], code))
            requests.post(
                p["redirect_url"], json={"outcome": "success"}, headers={"Accept": "application/json"}, timeout=60
            )
            if requests.get(f"{api}/payments/{p['id']}", headers=auth, timeout=60).json()["status"] != "succeeded":
                failures.append(code)

        lat, elapsed = run_pool(pay, args.count, args.concurrency)
        time.sleep(2)  # the last payments' events published and their markers cleared
        keys = payments[0]
        docs = documents_of(client[f"{env['DB_PREFIX']}_payment"], *keys)
        floor_lat, floor_elapsed = run_pool(
            rewrite(client[f"{env['DB_PREFIX']}_floor"], docs, keys, "floor"), args.count, args.concurrency
        )
        print(f"machine: {os.cpu_count()} cores; concurrency {args.concurrency}")
        report("payment start→pay→signed callback→status", lat, elapsed, args.count / floor_elapsed)
        report(f"  storage floor: one payment's {len(docs)} documents (x{args.concurrency})", floor_lat, floor_elapsed)
        if failures:
            print(f"  not succeeded: {len(failures)}")
    ca.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
