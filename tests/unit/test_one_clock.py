"""Every service and the gateway take the time from services.common.clock: ``now()`` (movable by
tests, for deadlines and dates) or ``wall_now()`` (the real instant, for tokens and signatures
compared with other parties' clocks). A direct read of the system clock elsewhere would escape
the tests that move the portal's clock."""

import re

from services.common.config import ROOT

SYSTEM_CLOCK = re.compile(r"datetime\.(now|utcnow|today)\(|\bdate\.today\(|\btime\.time\(\)")


def test_only_the_clock_module_reads_the_system_clock():
    found = []
    for folder in ("services", "gateway"):
        for path in sorted((ROOT / folder).glob("**/*.py")):
            if path == ROOT / "services" / "common" / "clock.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if SYSTEM_CLOCK.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []


def test_the_pattern_sees_each_way_of_reading_it():
    for line in ("datetime.now(UTC)", "datetime.utcnow()", "date.today()", "int(time.time())"):
        assert SYSTEM_CLOCK.search(line), line
    assert not SYSTEM_CLOCK.search("clock.now()") and not SYSTEM_CLOCK.search("time.monotonic()")
