"""Issue #14 item 10 with real `nameko run` processes: with PORTAL_ENV=production every component
refuses to start on development secrets or the guest broker user, saying which; with real
secrets it starts. (Before: a token signed with the README's development TOKEN_SECRET was valid
and nothing stopped such a start.)"""

import os
import secrets
import subprocess
import time
import uuid

import pytest
import requests
from nameko.exceptions import UnknownService
from nameko.standalone.rpc import ServiceRpcProxy

from ops import suite
from services.common.production import SECRETS

pytestmark = pytest.mark.integration

SECRET_OF = {
    "gateway": ["TOKEN_SECRET", "POSTAL_OPERATORS"],
    "intake": ["TRACKING_SECRET_KEY"],
    "payment": ["PROVIDER_SECRET"],
    "ministry": ["MINISTRY_SYSTEMS"],
}


def production_env(infra, **extra):
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return {
        **env,
        "PORTAL_ENV": "production",
        "MONGO_URI": infra["mongo_uri"],
        "DB_PREFIX": f"{infra['db_prefix']}_prod",
        **extra,
    }


def test_every_component_refuses_development_secrets_and_says_which(infra):
    # Nothing listens on port 1: a component that did not refuse would wait for the broker
    # forever, and communicate() below would time out.
    env = suite.child_env(production_env(infra, AMQP_URI="pyamqp://guest:guest@127.0.0.1:1/"))
    procs = {
        name: subprocess.Popen(
            suite.command(name, env),
            cwd=suite.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in suite.COMPONENTS
    }
    try:
        for name, proc in procs.items():
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode != 0, f"{name} started:\n{out}"
            assert f"{name}: không khởi động với PORTAL_ENV=production" in out, out
            for secret in SECRET_OF.get(name, []):
                assert f"{secret} đang là giá trị dành cho phát triển" in out, out
            assert "AMQP_URI dùng tài khoản guest mặc định của RabbitMQ" in out
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_with_real_secrets_a_production_start_succeeds(infra, private_broker):
    vhost = f"prod-{uuid.uuid4().hex[:6]}"
    private_broker.vhost(vhost)
    amqp = private_broker.add_user(vhost, f"portal-{uuid.uuid4().hex[:6]}", secrets.token_hex(16))
    address = f"127.0.0.1:{suite.free_port()}"
    env = production_env(
        infra,
        AMQP_URI=amqp,
        GATEWAY_ADDRESS=address,
        TOKEN_SECRET=secrets.token_urlsafe(48),
        POSTAL_OPERATORS=f"vnpost:{secrets.token_hex(8)}:{secrets.token_hex(16)}",
        TRACKING_SECRET_KEY=secrets.token_hex(24),
        HEALTH_SERVICES="intake",
    )
    log_dir = suite.ROOT / "var" / "log" / f"test-{infra['db_prefix']}" / "prod"
    procs = {name: suite.start(name, env, log_dir) for name in ("intake", "gateway")}
    try:
        deadline = time.monotonic() + 90
        while True:
            assert all(p.poll() is None for p in procs.values()), f"a component exited; see {log_dir}"
            try:
                with ServiceRpcProxy("intake", {"AMQP_URI": amqp}, timeout=10) as intake:
                    assert intake.ping()["service"] == "intake"
                r = requests.get(f"http://{address}/health", timeout=10)
                if r.status_code == 200:
                    break
            except (UnknownService, requests.RequestException):
                pass
            assert time.monotonic() < deadline, "no production start within 90 s"
            time.sleep(0.5)
        assert r.json()["services"] == {"intake": {"status": "ok", "detail": None}}
    finally:
        suite.stop(procs)
