"""The live server behind `pushfake_server`: uvicorn in a daemon thread on a free loopback port,
one per test session (so one per xdist worker), reset through its control plane before each
test. Its world is in memory, or in Redis (`--pushfake-store`) under a namespace of the
session's own (`pytest-<xdist worker>-<pid>`), so sessions sharing a Redis never meet, and
whose keys go when the session ends."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

from pushfake import Client, Fake, create_app
from pushfake.app import uvicorn_config
from pushfake.serve.sockets import listening_socket
from pytest_pushfake.handle import Pushfake
from pytest_pushfake.settings import Settings

_START_TIMEOUT = 10.0


class LiveServer:
    def __init__(self, timeout: float, store: str = "memory") -> None:
        import uvicorn

        from pushfake.core.stores import open_store

        self._spec = store
        self._namespace = f"pytest-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
        self._store = open_store(store, self._namespace)
        self._fake = Fake(store=self._store)
        self._server = uvicorn.Server(uvicorn_config(create_app(self._fake), log_level="warning", lifespan="on"))
        self._socket = listening_socket(socket.AF_INET)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(512)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="pushfake-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the pushfake server did not start")
            time.sleep(0.005)
        self.control = Client(self.url)
        self._timeout = timeout
        self._fixtures_key: str | None = "None"  # what the server was built with: the default world

    def open(self, settings: Settings) -> Pushfake:
        """The server reset to `settings` (its fixtures loaded first if another test used others)."""
        if settings.fixtures_key != self._fixtures_key:
            fixtures = settings.fixtures
            self.control.load_fixtures(fixtures if fixtures is not None else _default_world())
            self._fixtures_key = settings.fixtures_key
        self.control.reset(seed=settings.seed, restart_clock=settings.clock is None, now=settings.clock)
        for rule in settings.faults:
            self.control.add_fault(rule)
        return Pushfake(control=self.control, url=self.url, leanplum_url=f"{self.url}/api",
                        dengage_url=f"{self.url}/rest", live=True, timeout=self._timeout,
                        on_load_fixtures=self._forget_fixtures)

    def _forget_fixtures(self) -> None:
        """A test loaded its own world: the next one loads its fixtures again."""
        self._fixtures_key = None

    def close(self) -> None:
        self.control.close()
        self._server.should_exit = True
        self._thread.join(_START_TIMEOUT)
        self._socket.close()
        from pushfake.core.stores import close_store, forget

        close_store(self._store)
        forget(self._spec, self._namespace)


def _default_world() -> Path:
    from pushfake.core.resources import default_fixtures

    return Path(str(default_fixtures()))
