"""Shared fixtures: an in-process fake with a pinned clock, a client on it, a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from tests.support import LiveServer, serve_in_thread

# pytester: tests/plugin run the pytest plugin in scratch projects; redis_server: a real redis-server
pytest_plugins = ["pytester", "tests.redis_server"]


def pytest_configure(config: pytest.Config) -> None:
    """In the process that starts the others (not in an xdist worker): let the processes the suite
    starts cache their bytecode, as Python does unless PYTHONDONTWRITEBYTECODE is set. The suite
    starts dozens of them (xdist workers, `pushfake contract` and `serve` runs, scratch pytest
    projects), and pytest rewrites the asserts of every pushfake module each of them imports:
    without a cache that is 1.5 s of CPU per pytest process. The caches go to `__pycache__`
    folders, which git ignores.

    Then, before the workers start, write those caches once: in a fresh clone every worker and
    every process it starts would otherwise compile (and pytest rewrite) the same modules at the
    same moment, about a minute of CPU on 2 CPUs before any cache exists."""
    if not hasattr(config, "workerinput"):
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        if config.getoption("numprocesses", None):
            _write_caches()


# What the workers and the processes they start import: the fake, its server and CLI, the
# plugins, and the contract suite (Schemathesis and Hypothesis, whose packages pytest rewrites).
CACHED_MODULES = ("pushfake.app", "pushfake.cli", "pushfake.serve.server", "pushfake.contract.pytest.suite",
                  "pytest_pushfake.plugin")


def _write_caches() -> None:
    """Plain bytecode for the project's own sources (what `pushfake serve` and the other child
    processes import), then the modules above imported here, where pytest's rewriting hook writes
    its caches (this process may have been started with PYTHONDONTWRITEBYTECODE)."""
    import compileall
    import importlib
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for folder in ("src", "pytest_plugin", "tests"):
        compileall.compile_dir(root / folder, quiet=2, workers=0)
    was, sys.dont_write_bytecode = sys.dont_write_bytecode, False
    try:
        for name in CACHED_MODULES:
            importlib.import_module(name)
    finally:
        sys.dont_write_bytecode = was


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the CPUs this process may use. About a fifth of the suite's
    time is spent waiting on the processes it starts (servers, `pushfake contract` runs, Redis),
    and a spare worker keeps every CPU busy meanwhile (measured on 2 CPUs: 141 s against 164 s)."""
    return len(os.sched_getaffinity(0)) + 1


FIRST = "tests/test_wheel_install.py"  # builds and installs the release: 14 s on 2 CPUs under the suite


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The wheel test first. Last in the collection, it started when the other xdist workers had
    nothing left to take, and the whole run waited 10 s on it alone; first, the others take the
    tests queued behind it."""
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Fake:
    return Fake(seed=7, clock=clock)


@pytest.fixture
def client(fake: Fake) -> Iterator[TestClient]:
    with TestClient(create_app(fake), raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """A real uvicorn server on a free loopback port, in a thread, with the default world."""
    with serve_in_thread(Fake(seed=7)) as server:
        yield server
