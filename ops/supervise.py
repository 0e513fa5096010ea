"""The suite's processes under supervisord (the ``supervisor`` package from PyPI).

We configure rather than write a supervisor: supervisord restarts a process that
exits, logs every exit and spawn, backs off when a process keeps dying as it starts,
and stops its processes (SIGTERM, then SIGKILL after ``stopwaitsecs``) when it is
sent SIGTERM or SIGINT. Its processes are put in their own process groups, so a
Ctrl-C meant for the runner never reaches them directly.

How it restarts (supervisord's rules, with our numbers):

* a process that ran at least ``START_SECONDS`` and then exited, for whatever
  reason (``kill -9`` included), is started again at once;
* one that exits sooner failed to start: it is retried after 1 s, then 2 s, 3 s, …
  and given up after ``START_RETRIES`` attempts in a row (state FATAL, logged
  "gave up"; ``python -m ops.suite ctl start portal:NAME`` tries again), which is what a
  refused production start or a broken configuration should get.
"""

from __future__ import annotations

import configparser
import os
import pwd
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

START_SECONDS = 10
START_RETRIES = 20
STOP_WAIT_SECONDS = 20
GROUP = "portal"  # supervisorctl names: portal:intake, portal:intake-0 with replicas


@dataclass(frozen=True)
class Program:
    name: str
    command: list[str]
    replicas: int = 1


def _escape(value: str) -> str:
    # supervisord expands %(name)s in its values, so a literal % must be doubled.
    return value.replace("%", "%%")


@dataclass(frozen=True)
class Policy:
    start_seconds: int = START_SECONDS
    start_retries: int = START_RETRIES
    stop_wait_seconds: int = STOP_WAIT_SECONDS


def render_config(
    programs: list[Program],
    run_dir: Path,
    log_dir: Path,
    cwd: Path,
    socket: Path,
    password: str,
    policy: Policy = Policy(),
) -> str:
    lines = [
        "[supervisord]",
        "nodaemon=true",
        # The same user either way; said explicitly so that root is not warned about dropping privileges.
        f"user={pwd.getpwuid(os.geteuid()).pw_name}",
        f"logfile={_escape(str(run_dir / 'supervisord.log'))}",
        f"pidfile={_escape(str(run_dir / 'supervisord.pid'))}",
        f"childlogdir={_escape(str(log_dir))}",
        f"directory={_escape(str(cwd))}",
        "loglevel=info",
        "",
        "[unix_http_server]",
        f"file={_escape(str(socket))}",
        "chmod=0700",
        "username=suite",
        f"password={password}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_escape(str(socket))}",
        "username=suite",
        f"password={password}",
    ]
    for p in programs:
        if any("\n" in arg for arg in p.command):
            raise ValueError(f"{p.name}: supervisord reads one line per command")
        many = p.replicas > 1
        log_name = "%(program_name)s-%(process_num)d.log" if many else f"{p.name}.log"
        lines += [
            "",
            f"[program:{p.name}]",
            f"command={_escape(shlex.join(p.command))}",
            f"directory={_escape(str(cwd))}",
            f"numprocs={p.replicas}",
            f"process_name={'%(program_name)s-%(process_num)d' if many else '%(program_name)s'}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={policy.start_seconds}",
            f"startretries={policy.start_retries}",
            "stopsignal=TERM",
            f"stopwaitsecs={policy.stop_wait_seconds}",
            # nameko's own children (none today) would otherwise outlive a stop
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_escape(str(log_dir))}/{log_name}",
            "stdout_logfile_maxbytes=50MB",
            "stdout_logfile_backups=3",
        ]
    # One group: supervisord stops group after group, but the processes of a group together.
    lines += ["", f"[group:{GROUP}]", f"programs={','.join(p.name for p in programs)}"]
    return "\n".join(lines) + "\n"


class Supervisor:
    """One supervisord for a set of programs; its files live in ``run_dir``."""

    def __init__(
        self,
        programs: list[Program],
        run_dir: Path,
        log_dir: Path,
        cwd: Path,
        env: dict | None = None,
        output: Path | None = None,
        policy: Policy = Policy(),
    ):
        self.programs = programs
        self.policy = policy
        self.run_dir = run_dir
        self.log_dir = log_dir
        self.cwd = cwd
        self.env = env
        self.output = output  # where supervisord's own log lines also go; None: this terminal
        self.proc: subprocess.Popen | None = None
        socket = run_dir / "supervisor.sock"
        # A unix socket path is limited to 107 bytes; deep checkouts get a short one.
        self.socket = socket if len(str(socket)) < 100 else Path(tempfile.mkdtemp(prefix="sv")) / "s.sock"
        self.config = run_dir / "supervisord.conf"
        self.password = secrets.token_hex(16)

    @classmethod
    def attach(cls, run_dir: Path) -> Supervisor:
        """The supervisord another process (``python -m ops.suite run``) started in ``run_dir``."""
        parser = configparser.RawConfigParser()
        parser.read(run_dir / "supervisord.conf")
        main, server = parser["supervisord"], parser["unix_http_server"]
        sup = cls([], run_dir, Path(main["childlogdir"].replace("%%", "%")), Path(main["directory"].replace("%%", "%")))
        sup.socket = Path(server["file"].replace("%%", "%"))
        sup.password = server["password"]
        return sup

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.config.touch(mode=0o600)
        self.config.chmod(0o600)  # it holds the socket's password
        self.config.write_text(
            render_config(self.programs, self.run_dir, self.log_dir, self.cwd, self.socket, self.password, self.policy)
        )
        out = open(self.output, "ab") if self.output else None
        # Its own session: a terminal's Ctrl-C reaches only the runner, which stops us in order.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config)],
            cwd=self.cwd,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        if out:
            out.close()  # the child has its own descriptor

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rpc(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(
            "http://127.0.0.1", transport=SupervisorTransport("suite", self.password, f"unix://{self.socket}")
        )

    def processes(self) -> list[dict]:
        """supervisord's view: name, group, statename (RUNNING, STARTING, BACKOFF, FATAL, …), pid."""
        return self.rpc().supervisor.getAllProcessInfo()

    def wait_ready(self, timeout: float = 30) -> None:
        """Until supervisord answers on its socket."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise RuntimeError(f"supervisord exited ({self.proc.returncode if self.proc else None})")
            try:
                self.processes()
                return
            except (OSError, xmlrpc.client.Fault):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def pids(self, program: str) -> list[int]:
        """The live processes of a program (``intake``, or ``intake-0``, ``intake-1`` … with replicas)."""
        return [
            p["pid"] for p in self.processes() if re.fullmatch(rf"{re.escape(program)}(-\d+)?", p["name"]) and p["pid"]
        ]

    def stop(self) -> int | None:
        """SIGTERM to supervisord: it stops every process, then exits."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.policy.stop_wait_seconds + 30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode
