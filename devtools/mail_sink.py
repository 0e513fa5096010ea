"""A local SMTP server that keeps every message as a file (development and tests).

    python -m devtools.mail_sink --port 8025 --dir var/mail

Each message is written as ``<n>.eml``; nothing is relayed anywhere.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToDir:
    def __init__(self, directory: Path):
        self.directory = directory
        self.counter = itertools.count(len(list(directory.glob("*.eml"))) + 1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        with self.lock:
            n = next(self.counter)
        tmp = self.directory / f".{n}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.directory / f"{n:06d}.eml")  # appears whole, never half-written
        return "250 Message accepted for delivery"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8025)
    ap.add_argument("--dir", default="var/mail")
    args = ap.parse_args()
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(SaveToDir(directory), hostname=args.host, port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"mail sink on {args.host}:{args.port}, saving to {directory}", flush=True)
    while not stop.is_set():
        time.sleep(0.2)
    controller.stop()


if __name__ == "__main__":
    main()
