"""A RabbitMQ node of the test's own (Debian's rabbitmq-server), so that a test can stop
and restart the broker without touching the shared one on 5672 that other sessions use.

Everything of the node lives under ``base``: its Erlang cookie (HOME), mnesia, logs; its
AMQP and distribution ports are free ones; no plugins. The server scripts are run
directly, not through Debian's wrapper that switches to the rabbitmq user, so the
node belongs to whoever runs the tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from ops.suite import free_port

SBIN = Path("/usr/lib/rabbitmq/bin")


def _tool(name: str) -> str:
    direct = SBIN / name
    return str(direct) if direct.exists() else (shutil.which(name) or name)


class RabbitNode:
    def __init__(self, base: Path, name: str | None = None):
        self.name = f"{name or 'rel-' + uuid.uuid4().hex[:6]}@localhost"
        self.base = base
        self.port = free_port()
        self.dist_port = free_port()
        self.proc: subprocess.Popen | None = None

    def _env(self) -> dict:
        b = self.base
        return {
            **os.environ,
            "HOME": str(b / "home"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(b / "mnesia"),
            "RABBITMQ_LOG_BASE": str(b / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(b / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(b / "node.pid"),
            # Not the machine's /etc/rabbitmq files: this node is configured by the variables above.
            "RABBITMQ_CONFIG_FILE": str(b / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(b / "advanced.config"),
        }

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [_tool("rabbitmqctl"), "-n", self.name, *args],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, timeout: float = 120) -> RabbitNode:
        for sub in ("home", "mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "enabled_plugins").write_text("[].\n")
        out = open(self.base / "server.out", "ab")
        self.proc = subprocess.Popen(
            [_tool("rabbitmq-server")], env=self._env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.await_startup(timeout)
        return self

    def await_startup(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited ({self.proc.returncode}); see {self.base}/server.out")
            if self.ctl("await_startup", "--timeout", "10", timeout=30).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {self.name} not up after {timeout}s; see {self.base}")
            time.sleep(1)

    def vhost(self, name: str) -> str:
        """A virtual host of its own for one user of the node (durable queues outlive a suite)."""
        for args in (("add_vhost", name), ("set_permissions", "-p", name, "guest", ".*", ".*", ".*")):
            result = self.ctl(*args)
            assert result.returncode == 0, result.stderr
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/{name}"

    def add_user(self, vhost: str, user: str, password: str) -> str:
        """A user other than guest (production mode refuses guest), allowed on ``vhost``."""
        for args in (("add_user", user, password), ("set_permissions", "-p", vhost, user, ".*", ".*", ".*")):
            result = self.ctl(*args)
            assert result.returncode == 0, result.stderr
        return f"pyamqp://{user}:{password}@127.0.0.1:{self.port}/{vhost}"

    def stop_app(self) -> None:
        """The broker goes away (every connection closed, the port refuses) but the node stays."""
        result = self.ctl("stop_app")
        assert result.returncode == 0, result.stderr

    def start_app(self) -> None:
        result = self.ctl("start_app")
        assert result.returncode == 0, result.stderr
        self.await_startup(60)

    def shutdown(self) -> None:
        if self.proc is None:
            return
        self.ctl("shutdown", timeout=60)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None
