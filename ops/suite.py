"""Run the whole suite locally: every service and the gateway, each its own process.

    python -m ops.suite run [--seed] [--replicas intake=2 ...]   # what `make run` does
    python -m ops.suite ctl status|restart portal:NAME|start portal:NAME  # supervisorctl on that run

Each component is ``nameko run`` with its config.yaml, exactly as a container runs
it in deploy/. ``run`` hands them to supervisord (ops/supervise.py): a component
that exits is restarted and the restart is logged; SIGINT (Ctrl-C) or SIGTERM
(``kill <pid>``, the way to stop a run started in the background, where SIGINT is
ignored) stops everything. ``start`` / ``stop`` run single processes for the
end-to-end tests and the benchmarks.
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

from services.common.config import ROOT

from .supervise import Program, Supervisor

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

RUN_DIR = ROOT / "var" / "run" / "suite"
LOG_DIR = ROOT / "var" / "log"


def config_file(component: str) -> Path:
    return ROOT / ("gateway" if component == "gateway" else f"services/{component}") / "config.yaml"


def command(component: str, env: dict | None = None) -> list[str]:
    """The command line of a component or of a local stand-in (``mail_sink``, ``provider_simulator``)."""
    full = {**os.environ, **(env or {})}
    if component == "provider_simulator":
        return [
            sys.executable,
            "-m",
            "devtools.payment_provider",
            "--port",
            full.get("PROVIDER_URL", "http://127.0.0.1:8090").rsplit(":", 1)[-1].strip("/"),
            "--secret",
            full.get("PROVIDER_SECRET", "dev-only-provider-secret"),
        ]
    if component == "mail_sink":
        return [
            sys.executable,
            "-m",
            "devtools.mail_sink",
            "--port",
            full.get("SMTP_PORT", "8025"),
            "--dir",
            full.get("MAIL_DIR", str(ROOT / "var" / "mail")),
        ]
    return [sys.executable, "-m", "nameko", "run", "--config", str(config_file(component)), COMPONENTS[component]]


def child_env(env: dict | None = None) -> dict:
    # Eventlet's own deprecation notice would fill every log; real warnings still show.
    return {"PYTHONWARNINGS": "ignore::DeprecationWarning", **os.environ, **(env or {})}


def start(component: str, env: dict | None = None, log_dir: Path | None = None) -> subprocess.Popen:
    """Start one component (or local stand-in) as its own, unsupervised process."""
    out = None
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
        out = open(log_dir / f"{component}.log", "ab")
    return subprocess.Popen(
        command(component, env), cwd=ROOT, env=child_env(env), stdout=out, stderr=subprocess.STDOUT if out else None
    )


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


def supervisor(
    env: dict | None = None,
    replicas: dict[str, int] | None = None,
    run_dir: Path = RUN_DIR,
    log_dir: Path = LOG_DIR,
    output: Path | None = None,
) -> Supervisor:
    """The whole suite (stand-ins, services, gateway) as supervisord programs."""
    programs = [
        Program(name, command(name, env), (replicas or {}).get(name, 1)) for name in LOCAL_STAND_INS + list(COMPONENTS)
    ]
    return Supervisor(programs, run_dir, log_dir, ROOT, env=child_env(env), output=output)


class _Stop(Exception):
    pass


def _stop_on_signal(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def run(seed: bool, replicas: dict[str, int] | None = None, run_dir: Path = RUN_DIR, log_dir: Path = LOG_DIR) -> int:
    # Installed even where the shell left SIGINT ignored (a background job): then SIGTERM is the way.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    sup = supervisor(replicas=replicas, run_dir=run_dir, log_dir=log_dir)
    url = gateway_url()
    stopped_by = None
    try:
        if seed:
            subprocess.run([sys.executable, "-m", "devtools.demo_data"], cwd=ROOT, check=True)
        sup.start()
        try:
            wait_healthy(url, timeout=120, procs={"supervisord": sup.proc})
            print(
                f"\nPortal is running: {url}\n  API:     {url}/api/v1/procedures\n"
                f"  OpenAPI: {url}/api/v1/openapi.json\n  Health:  {url}/health\n  Logs:    {log_dir}/\n"
                f"  Mail:    var/mail/ (every email the portal sends, as .eml)\n"
                f"A component that exits is restarted (python -m ops.suite ctl status).\n"
                f"Stop: Ctrl-C, or kill {os.getpid()} (SIGTERM) when started in the background.",
                flush=True,
            )
        except RuntimeError as exc:
            if not sup.alive():
                raise
            print(f"not healthy yet ({exc}); still supervising, see {log_dir}/", file=sys.stderr, flush=True)
        while sup.alive():
            time.sleep(1)
        print(f"supervisord exited with code {sup.proc.returncode}; see {run_dir}/supervisord.log", file=sys.stderr)
        return 1
    except _Stop as exc:
        stopped_by = str(exc)
        return 0
    finally:
        # A second Ctrl-C must not cut the orderly stop short; supervisord bounds it (stopwaitsecs).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = sup.stop()
        if stopped_by:
            print(f"{stopped_by}: stopped every component (supervisord exit code {code})", flush=True)


def ctl(args: list[str], run_dir: Path = RUN_DIR) -> int:
    return subprocess.call(
        [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(run_dir / "supervisord.conf"), *args]
    )


def parse_replicas(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, _, count = item.partition("=")
        if name not in COMPONENTS or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"--replicas wants COMPONENT=N with a known component, got {item!r}")
        out[name] = int(count)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.suite")
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run every service and the gateway under supervision")
    r.add_argument("--seed", action="store_true", help="load demo data first")
    r.add_argument(
        "--replicas",
        action="append",
        default=[],
        metavar="COMPONENT=N",
        help="run N processes of a component on the same queues (repeatable)",
    )
    r.add_argument("--run-dir", type=Path, default=RUN_DIR, help="supervisord's config, socket and log")
    r.add_argument("--log-dir", type=Path, default=LOG_DIR, help="one log file per process")
    c = sub.add_parser("ctl", help="supervisorctl on a running `run` (status, restart NAME, start NAME, …)")
    c.add_argument("--run-dir", type=Path, default=RUN_DIR)
    c.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.cmd == "ctl":
        return ctl(args.args, args.run_dir)
    try:
        replicas = parse_replicas(args.replicas)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    return run(args.seed, replicas, args.run_dir, args.log_dir)


if __name__ == "__main__":
    sys.exit(main())
