"""The whole suite as real processes (``nameko run`` per component), seeded
with the demo catalog, behind a gateway on a free port."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from ops import suite as suite_mod
from services.common.calendar import default_calendar
from services.common.clock import write_offset
from services.common.config import ROOT
from tests.helpers import SuiteClock, new_citizen, quiet_working_tuesday
from tests.pki import Pki

# (system id, secret, access, procedures) of the ministry systems the tests call as (R31)
MINISTRY_SYSTEMS = [
    ("moj-hotich", "moj-test-secret", "rw", "TP-HT-01|TP-HT-02"),
    ("bca-readall", "bca-test-secret", "r", "*"),
    ("moj-read-kethon", "moj-kh-test-secret", "r", "TP-HT-02"),
    ("mof-writeonly", "mof-test-secret", "w", "KH-HKD-01"),
]


def suite_env(infra: dict, amqp_uri: str, db_prefix: str) -> dict:
    """The environment of a whole suite for the tests, on free ports."""
    env = {
        "AMQP_URI": amqp_uri,
        "MONGO_URI": infra["mongo_uri"],
        "DB_PREFIX": db_prefix,
        "GATEWAY_ADDRESS": f"127.0.0.1:{suite_mod.free_port()}",
        "LOGIN_MAX_ATTEMPTS": "5",
        "MAX_ATTACHMENT_BYTES": str(1024 * 1024),
        "MAX_BODY_BYTES": str(8 * 1024 * 1024),
        "RPC_TIMEOUT": "15",
        "SMTP_PORT": str(suite_mod.free_port()),
        "MAIL_DIR": str(ROOT / "var" / "mail" / f"test-{db_prefix}"),
        "DELIVERY_BACKOFF_SECONDS": "0.5",
        "TRUSTED_CA_FILE": str(ROOT / "var" / f"test-ca-{db_prefix}.pem"),
        "PROVIDER_URL": f"http://127.0.0.1:{suite_mod.free_port()}",
        "PROVIDER_SECRET": "test-provider-secret",
        "PAYMENT_EXPIRY_SECONDS": "8",
        "POSTAL_OPERATORS": "vnpost:vnpost-test-key:vnpost-test-secret,viettelpost:vtp-test-key:vtp-test-secret",
        "LOG_LEVEL": "INFO",  # the personal-data scan reads what operators would see
        "INCIDENT_AFTER_SECONDS": "3",
        "OPERATIONS_EMAIL": "van-hanh@test.cong-dvc.vn",
        "MINISTRY_SYSTEMS": ",".join(f"{s}:{k}:{a}:{p}" for s, k, a, p in MINISTRY_SYSTEMS),
    }
    # The whole suite runs on the injectable clock, set to an ordinary Tuesday 09:00 local time, so
    # no test depends on the hour or the day it runs at (and none straddles a midnight by chance).
    clock_file = ROOT / "var" / f"clock-{db_prefix}"
    write_offset(clock_file, quiet_working_tuesday(datetime.now(UTC), default_calendar()))
    env["PORTAL_CLOCK_FILE"] = str(clock_file)
    env["PAYMENT_CALLBACK_URL"] = f"http://{env['GATEWAY_ADDRESS']}/api/v1/payments/callback"
    env["PAYMENT_RETURN_URL"] = f"http://{env['GATEWAY_ADDRESS']}/ho-so-cua-toi/DOSSIER_CODE"
    return env


@pytest.fixture(scope="session")
def suite(infra):
    env = suite_env(infra, infra["amqp_for"]("e2e"), infra["db_prefix"])
    pki = Pki()
    Path(env["TRUSTED_CA_FILE"]).write_text(pki.trust_pem)
    subprocess.run(
        [sys.executable, "-m", "devtools.demo_data"],
        cwd=ROOT,
        check=True,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
    )
    log_dir = ROOT / "var" / "log" / f"test-{infra['db_prefix']}"
    procs = {
        name: suite_mod.start(name, env, log_dir) for name in suite_mod.LOCAL_STAND_INS + list(suite_mod.COMPONENTS)
    }
    url = suite_mod.gateway_url(env)
    try:
        suite_mod.wait_healthy(url, timeout=90, procs=procs)
        yield {
            "url": url,
            "api": f"{url}/api/v1",
            "env": env,
            "procs": procs,
            "log_dir": log_dir,
            "pki": pki,
            "clock": SuiteClock(env["PORTAL_CLOCK_FILE"]),
        }
    finally:
        suite_mod.stop(procs)
        Path(env["PORTAL_CLOCK_FILE"]).unlink(missing_ok=True)


@pytest.fixture
def citizen(suite):
    """A freshly registered, signed-in citizen: (profile, auth headers)."""
    api = suite["api"]
    profile = new_citizen()
    r = requests.post(f"{api}/auth/register", json=profile, timeout=30)
    assert r.status_code == 201, r.text
    r = requests.post(
        f"{api}/auth/login", json={"login": profile["email"], "password": profile["password"]}, timeout=30
    )
    assert r.status_code == 200, r.text
    return profile, {"Authorization": f"Bearer {r.json()['access_token']}"}
