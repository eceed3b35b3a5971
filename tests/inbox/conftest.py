"""Fixtures for the inbox's browser tests: the machine's Chromium driven by Playwright, one
browser for the session, a real `pushfake serve` subprocess, and a fresh page per test.

Playwright never downloads a browser here: it is pointed at Debian's `chromium`
(`$PUSHFAKE_CHROMIUM` to use another), and a missing one fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP = {"width": 1280, "height": 900}
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def chromium_path() -> str:
    """The Chromium to drive: `$PUSHFAKE_CHROMIUM`, else Debian's `/usr/bin/chromium`, else `chromium` on PATH."""
    wanted = os.environ.get("PUSHFAKE_CHROMIUM")
    found = shutil.which(wanted) if wanted else shutil.which("/usr/bin/chromium") or shutil.which("chromium")
    wanted = wanted or "/usr/bin/chromium"
    if found is None:
        pytest.fail(f"no Chromium at {wanted!r}: the inbox browser tests drive the machine's Chromium "
                    "(`apt-get install chromium` on Debian, or set PUSHFAKE_CHROMIUM to a Chromium binary); "
                    "Playwright is never allowed to download its own", pytrace=False)
    return found


@dataclass
class Served:
    """A `pushfake serve` subprocess and where it listens (always loopback, so the control plane is open)."""

    process: subprocess.Popen[bytes]
    url: str
    output: IO[str]

    def banner(self) -> str:
        self.output.seek(0)
        return self.output.read()

    def stop(self) -> int:
        """SIGINT (Ctrl-C) and a bounded wait; the exit status, or an AssertionError if it hung."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
            raise AssertionError(f"pushfake serve did not stop within {STOP_TIMEOUT:.0f} s of SIGINT") from None
        finally:
            self.output.close()


def pushfake_command() -> list[str]:
    """The installed `pushfake` script next to this interpreter (what a user runs), else `-m pushfake`."""
    script = Path(sys.executable).with_name("pushfake")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pushfake"]


def spawn_serve(*args: str) -> Served:
    """Start `pushfake serve --port 0 ARGS` and read the port from its `listening on` line."""
    # stdout goes to a file, not a pipe: a pipe nobody reads could stall the server once full
    output = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed by Served.stop
    process = subprocess.Popen([*pushfake_command(), "serve", "--port", "0", *args],
                               stdout=output, stderr=subprocess.STDOUT)
    served = Served(process, "", output)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        for line in served.banner().splitlines():
            if " listening on http://127.0.0.1:" in line:
                served.url = line.split(" listening on ", 1)[1].strip()
                return served
        time.sleep(0.05)
    text = served.banner()
    if process.poll() is None:
        served.stop()
    else:
        output.close()
    raise AssertionError(f"pushfake serve did not print its address within {START_TIMEOUT:.0f} s: {text!r}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the browser tests (start-up costs about a second). Module-scoped: the
    sync API keeps an event loop running in this thread, which `asyncio.run` in later tests refuses."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(name="spawn_serve")
def _spawn_serve() -> Callable[..., Served]:
    """`spawn_serve(*args)` starts another `pushfake serve --port 0`; the caller stops it."""
    return spawn_serve


@pytest.fixture(scope="package")
def serve() -> Iterator[Served]:
    """One live `pushfake serve --seed 7` for the inbox tests; it must stop cleanly on SIGINT."""
    served = spawn_serve("--seed", "7")
    try:
        yield served
    finally:
        status = served.stop()
    assert status == 0, f"pushfake serve exited with status {status}"


@pytest.fixture(scope="package")
def api(serve: Served) -> Iterator[httpx.Client]:
    """An HTTP client on the live server, for the vendors' APIs and the control plane."""
    with httpx.Client(base_url=serve.url, timeout=10.0) as client:
        yield client


@pytest.fixture
def fresh(api: httpx.Client) -> httpx.Client:
    """The live fake back to its default world (data, faults, limits, gateway settings) and a running
    clock, for each test."""
    for path, body in (("/_pushfake/clock/unfreeze", None), ("/_pushfake/reset", {})):
        response = api.post(path, json=body)
        assert response.status_code == 200, response.text
    return api


@pytest.fixture
def page(browser: Browser, fresh: httpx.Client) -> Iterator[Page]:
    """A fresh browser context and page at 1280x900 on a freshly reset fake."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    """Where test artifacts go: `$PUSHFAKE_ARTIFACTS`, else `test-artifacts/` at the repository's root."""
    place = Path(os.environ.get("PUSHFAKE_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
    place.mkdir(parents=True, exist_ok=True)
    return place
