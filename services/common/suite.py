"""Run the whole suite locally: every service and the gateway, one process each.

    python -m services.common.suite run [--seed]

Each process is ``nameko run`` with the component's config.yaml, exactly as a
container runs it in deploy/. Used by ``make run`` and by the end-to-end tests.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from .config import ROOT

# component → nameko service path. Add a line here when a service is added.
COMPONENTS = {
    "intake": "services.intake.service:IntakeService",
    "processing": "services.processing.service:ProcessingService",
    "notification": "services.notification.service:NotificationService",
    "payment": "services.payment.service:PaymentService",
    "feedback": "services.feedback.service:FeedbackService",
    "postal": "services.postal.service:PostalService",
    "reporting": "services.reporting.service:ReportingService",
    "ministry": "services.ministry.service:MinistryService",
    "gateway": "gateway.service:GatewayService",
}


# Local stand-ins for outside parties, started by `make run` and the tests.
LOCAL_STAND_INS = ["mail_sink", "provider_simulator"]


def config_file(component: str) -> Path:
    return ROOT / ("gateway" if component == "gateway" else f"services/{component}") / "config.yaml"


def start(component: str, env: dict | None = None, log_dir: Path | None = None) -> subprocess.Popen:
    """Start a component (or a local stand-in: ``mail_sink``, ``provider_simulator``) as its own process."""
    if component == "provider_simulator":
        full = {**os.environ, **(env or {})}
        cmd = [sys.executable, "-m", "services.payment.simulator",
               "--port", full.get("PROVIDER_URL", "http://127.0.0.1:8090").rsplit(":", 1)[-1].strip("/"),
               "--secret", full.get("PROVIDER_SECRET", "dev-only-provider-secret")]
    elif component == "mail_sink":
        full = {**os.environ, **(env or {})}
        cmd = [sys.executable, "-m", "services.notification.mail_sink", "--port", full.get("SMTP_PORT", "8025"),
               "--dir", full.get("MAIL_DIR", str(ROOT / "var" / "mail"))]
    else:
        cmd = [sys.executable, "-m", "nameko", "run", "--config", str(config_file(component)), COMPONENTS[component]]
    out = None
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
        out = open(log_dir / f"{component}.log", "ab")
    # Eventlet's own deprecation notice would fill every log; real warnings still show.
    full_env = {"PYTHONWARNINGS": "ignore::DeprecationWarning", **os.environ, **(env or {})}
    return subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=out,
                            stderr=subprocess.STDOUT if out else None)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_url(env: dict | None = None) -> str:
    address = (env or {}).get("GATEWAY_ADDRESS") or os.environ.get("GATEWAY_ADDRESS", "127.0.0.1:8000")
    return f"http://{address}"


def wait_healthy(url: str, timeout: float = 60.0, procs: dict | None = None) -> dict:
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        for name, p in (procs or {}).items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with code {p.returncode}")
        try:
            r = requests.get(f"{url}/health", timeout=5)
            last = r.json()
            if r.status_code == 200:
                return last
        except (requests.RequestException, ValueError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"suite not healthy after {timeout}s: {last}")


def stop(procs: dict) -> None:
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 15
    for p in procs.values():
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()


def run(seed: bool) -> int:
    if seed:
        subprocess.run([sys.executable, "-m", "services.intake.demo_data"], cwd=ROOT, check=True)
    procs = {name: start(name, log_dir=ROOT / "var" / "log") for name in LOCAL_STAND_INS + list(COMPONENTS)}
    url = gateway_url()
    try:
        wait_healthy(url, procs=procs)
        print(f"\nPortal is running: {url}\n  API:     {url}/api/v1/procedures\n  OpenAPI: {url}/api/v1/openapi.json\n"
              f"  Health:  {url}/health\n  Logs:    var/log/\n  Mail:    var/mail/ (every email the portal sends, as .eml)\nCtrl-C to stop.", flush=True)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        dead = [n for n, p in procs.items() if p.poll() is not None]
        print(f"stopped: {', '.join(dead)} exited; see var/log/", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(procs)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.suite")
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run every service and the gateway")
    r.add_argument("--seed", action="store_true", help="load demo data first")
    args = parser.parse_args()
    return run(args.seed)


if __name__ == "__main__":
    sys.exit(main())
