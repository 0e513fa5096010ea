"""Smoke test of the Compose stack, using the Docker SDK for Python.

    python deploy/smoke.py [--keep]

With a reachable Docker engine: builds and starts the stack (docker compose), waits until the
gateway reports every service healthy, loads the demo catalog, registers a citizen, files a
dossier through the gateway, checks that processing opened its case (the public lookup shows
it), and tears the stack down (volumes included) unless --keep. Without an engine it exits with
code 2 and says so; tests skip it with that message.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
COMPOSE = HERE / "docker-compose.yml"
sys.path.insert(0, str(HERE.parent))
from ops.suite import wait_healthy  # noqa: E402  (the same wait as `make run` and the tests)

PROJECT = "portal-smoke"
NO_ENGINE = 2


def engine_available() -> tuple[bool, str]:
    """(True, version) when a Docker engine answers, else (False, why)."""
    try:
        import docker
    except ImportError as exc:
        return False, f"Docker SDK for Python not installed ({exc})"
    try:
        client = docker.from_env(timeout=5)
        return True, client.version().get("Version", "?")
    except Exception as exc:  # no socket, no permission, engine down
        return False, f"no Docker engine reachable ({type(exc).__name__}: {exc})"


def trial_secrets() -> dict[str, str]:
    """Random secrets for every credential the Compose file would otherwise take from its dev-only
    defaults: the stack runs in production mode, which refuses those (services/common/production.py)."""
    import re
    import secrets

    names = set(re.findall(r"\$\{([A-Z0-9_]+):-[^}]*dev-only", COMPOSE.read_text()))
    out = {name: secrets.token_hex(24) for name in names}
    out["POSTAL_OPERATORS"] = f"vnpost:{secrets.token_hex(12)}:{secrets.token_hex(24)}"
    out["MINISTRY_SYSTEMS"] = f"moj-hotich:{secrets.token_hex(24)}:rw:TP-HT-01|TP-HT-02"
    return out


TRIAL_ENV = {**trial_secrets(), **os.environ}  # what the caller sets wins


def compose(*args: str) -> None:
    for cmd in (["docker", "compose"], ["docker-compose"]):
        try:
            subprocess.run([*cmd, "-p", PROJECT, "-f", str(COMPOSE), *args], check=True, env=TRIAL_ENV)
            return
        except FileNotFoundError:
            continue
    raise RuntimeError("neither `docker compose` nor `docker-compose` is installed")


def journey(api: str) -> str:
    n = uuid.uuid4().int
    citizen = {
        "kind": "individual",
        "full_name": "Người Kiểm Thử",
        "national_id": f"{n % 10**12:012d}",
        "date_of_birth": "1990-01-01",
        "email": f"smoke.{n % 10**9}@example.vn",
        "phone": "0905000000",
        "password": "mat-khau-kiem-thu-2026",
    }
    requests.post(f"{api}/auth/register", json=citizen, timeout=30).raise_for_status()
    token = requests.post(
        f"{api}/auth/login", json={"login": citizen["email"], "password": citizen["password"]}, timeout=30
    ).json()["access_token"]
    pdf = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").decode()
    body = {
        "procedure_code": "TP-HT-01",
        "delivery_method": "online",
        "form_data": {
            "child_full_name": "Bé Kiểm Thử",
            "child_date_of_birth": "2026-11-01",
            "child_sex": "nam",
            "place_of_birth": "Trạm Y tế",
            "mother_full_name": "Mẹ Kiểm Thử",
            "relationship_of_declarant": "mẹ",
        },
        "attachments": [
            {"document_code": c, "filename": f"{c}.pdf", "content_type": "application/pdf", "content_b64": pdf}
            for c in ("TK-KS", "GCS")
        ],
    }
    r = requests.post(f"{api}/dossiers", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    r.raise_for_status()
    filed = r.json()
    code, secret = filed["dossier"]["code"], filed["tracking_secret"]
    deadline = time.time() + 60
    while time.time() < deadline:  # processing opened the case: the public lookup shows its timeline
        r = requests.post(f"{api}/dossier-lookup", json={"code": code, "secret": secret}, timeout=10)
        if r.status_code == 200 and r.json().get("entries"):
            return code
        time.sleep(2)
    raise RuntimeError(f"dossier {code} never reached processing")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="leave the stack running")
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    ok, detail = engine_available()
    if not ok:
        print(f"smoke test skipped: {detail}", file=sys.stderr)
        return NO_ENGINE
    print(f"Docker engine {detail}: building and starting {PROJECT}")
    try:
        compose("up", "-d", "--build")
        wait_healthy(args.url, args.timeout)
        compose("run", "--rm", "seed")
        code = journey(f"{args.url}/api/v1")
        print(f"smoke test passed: dossier {code} filed through the gateway and opened in processing")
        return 0
    finally:
        if not args.keep:
            compose("down", "-v")


if __name__ == "__main__":
    sys.exit(main())
