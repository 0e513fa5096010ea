"""A small W3C WebDriver client over HTTP (requests) for Debian's chromium + chromedriver.

Selenium would pull in trio, which cannot be imported once eventlet has patched the socket
module (as the test process does), so the tests speak the WebDriver protocol directly."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def find_browser() -> tuple[str, str] | None:
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    return (driver, browser) if driver and browser else None


class Browser:
    def __init__(self, driver: str, binary: str, port: int, width: int = 1280, height: int = 900):
        self.proc = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 20
        while True:
            try:
                if requests.get(f"{self.base}/status", timeout=2).json()["value"]["ready"]:
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if time.time() > deadline:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.2)
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--lang=vi",
                    f"--window-size={width},{height}",
                ],
            },
        }
        self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        r = requests.request(
            method, f"{self.base}{path}", json=body if body is not None or method != "POST" else {}, timeout=60
        )
        value = r.json().get("value")
        if r.status_code >= 400:
            raise AssertionError(f"WebDriver {method} {path}: {value}")
        return value

    def cmd(self, method: str, path: str, body: dict | None = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    # ------------------------------------------------------------------ pages
    def get(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return self.cmd("GET", "/url")

    @property
    def source(self) -> str:
        return self.cmd("GET", "/source")

    def js(self, script: str, *args: Any) -> Any:
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script: str, *args: Any) -> Any:
        """A script that calls its last argument (the callback) with its answer."""
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def timeouts(self, script_ms: int) -> None:
        self.cmd("POST", "/timeouts", {"script": script_ms})

    def find(self, css: str, timeout: float = 10.0) -> str:
        deadline = time.time() + timeout
        while True:
            try:
                return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]
            except AssertionError:
                if time.time() > deadline:
                    raise AssertionError(f"no element {css!r} on {self.url}") from None
                time.sleep(0.2)

    def find_all(self, css: str) -> list[str]:
        """Every element matching ``css`` now (no waiting: for asserting absence)."""
        return [e[ELEMENT] for e in self.cmd("POST", "/elements", {"using": "css selector", "value": css})]

    def text(self, css: str, timeout: float = 10.0) -> str:
        return self.cmd("GET", f"/element/{self.find(css, timeout)}/text")

    def type(self, css: str, value: str) -> None:
        element = self.find(css)
        self.cmd("POST", f"/element/{element}/clear")
        self.cmd("POST", f"/element/{element}/value", {"text": value})

    def upload(self, css: str, path: Path) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": str(path)})

    def click(self, css: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/click")

    def go(self, css: str, timeout: float = 30.0) -> None:
        """Click something that loads a new page, and wait until that page has loaded (a click
        alone returns before the navigation it starts)."""
        self.js("window.__leaving = true")
        self.click(css)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.js("return window.__leaving === undefined && document.readyState === 'complete'"):
                    return
            except AssertionError:
                pass  # between documents
            time.sleep(0.1)
        raise AssertionError(f"clicking {css!r} did not load a new page (still {self.url})")

    def wait_text(self, css: str, expected: str, timeout: float = 20.0) -> str:
        deadline, seen = time.time() + timeout, ""
        while time.time() < deadline:
            try:
                seen = self.text(css, timeout=1)
                if expected in seen:
                    return seen
            except AssertionError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{css!r} never showed {expected!r} (last: {seen!r}) on {self.url}")

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.cmd("GET", "/screenshot")))

    def resize(self, width: int, height: int) -> None:
        self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def quit(self) -> None:
        try:
            self.cmd("DELETE", "")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=10)
