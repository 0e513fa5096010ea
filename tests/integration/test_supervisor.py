"""`make run` supervision (ops/supervise.py) with real processes under a real supervisord:
a killed process comes back and the restart is logged, one that keeps dying at start is
retried with backoff and then given up, and SIGTERM stops everything.

Issue #14 item 9: under the old runner, one component exiting stopped the whole portal.
"""

import os
import shutil
import signal
import sys
import uuid

import pytest

from ops.supervise import Policy, Program, Supervisor
from services.common.config import ROOT
from tests.helpers import wait_for

FOREVER = "[time.sleep(1) for _ in iter(int, 1)]"
SLEEPER = [sys.executable, "-c", f"import time; {FOREVER}"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]
# Ignores SIGTERM: the stop must end it with SIGKILL after stop_wait_seconds.
STUBBORN = [sys.executable, "-c", f"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); {FOREVER}"]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too; supervisord reaps its own children
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(") ", 1)[1][0] != "Z"


def states(sup):
    return {p["name"]: p["statename"] for p in sup.processes()}


@pytest.fixture
def supervised():
    started = []

    def start(programs, policy=Policy(start_seconds=1, start_retries=3, stop_wait_seconds=3)):
        run_dir = ROOT / "var" / "run" / f"test-sv-{uuid.uuid4().hex[:6]}"
        sup = Supervisor(
            programs,
            run_dir,
            run_dir / "log",
            ROOT,
            env=dict(os.environ),
            output=run_dir / "supervisord.out",
            policy=policy,
        )
        started.append(sup)
        sup.start()
        sup.wait_ready()
        return sup

    yield start
    for sup in started:
        sup.stop()
        shutil.rmtree(sup.run_dir, ignore_errors=True)


def log_of(sup):
    return (sup.run_dir / "supervisord.log").read_text()


def test_a_killed_process_is_restarted_and_the_restart_logged(supervised):
    sup = supervised([Program("sleeper", SLEEPER), Program("pair", SLEEPER, replicas=2)])
    first = wait_for(lambda: sup.pids("sleeper"), what="sleeper to start")[0]
    pair = wait_for(lambda: len(sup.pids("pair")) == 2 and sup.pids("pair"), what="both replicas")
    os.kill(first, signal.SIGKILL)
    os.kill(pair[0], signal.SIGKILL)
    again = wait_for(lambda: [p for p in sup.pids("sleeper") if p != first], what="sleeper to come back")
    wait_for(
        lambda: len(set(sup.pids("pair")) - set(pair)) == 1 and len(sup.pids("pair")) == 2,
        what="the killed replica to come back",
    )
    assert pair[1] in sup.pids("pair")  # its sibling was left alone
    text = log_of(sup)
    assert "exited: sleeper (terminated by SIGKILL; not expected)" in text
    assert f"spawned: 'sleeper' with pid {again[0]}" in text
    assert "exited: pair-0 (terminated by SIGKILL; not expected)" in text


def test_a_process_that_keeps_dying_at_start_is_retried_with_backoff_then_given_up(supervised):
    sup = supervised([Program("crasher", CRASHER), Program("sleeper", SLEEPER)])
    wait_for(lambda: states(sup)["crasher"] == "FATAL", what="supervisord to give up")
    text = log_of(sup)
    # the first start and start_retries retries, each after a longer pause (1 s, 2 s, 3 s: BACKOFF)
    assert text.count("spawned: 'crasher'") == 4
    assert text.count("exited: crasher (exit status 3; not expected)") == 4
    assert "gave up: crasher entered FATAL state" in text
    assert states(sup)["sleeper"] == "RUNNING"  # the others keep running


def test_sigterm_stops_every_process(supervised):
    sup = supervised([Program("sleeper", SLEEPER, replicas=2), Program("stubborn", STUBBORN)])
    wait_for(lambda: set(states(sup).values()) == {"RUNNING"}, what="everything running")
    pids = sup.pids("sleeper") + sup.pids("stubborn")
    assert len(pids) == 3
    assert sup.stop() == 0
    assert not any(alive(pid) for pid in pids)
    assert "killing 'stubborn'" in log_of(sup) and "with SIGKILL" in log_of(sup)
