"""Test support: running a fake as a real server in a thread."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from hypothesis import HealthCheck, settings

from pushfake import Fake, create_app
from pushfake.app import uvicorn_config
from pushfake.serve.sockets import listening_socket
from pushfake.core.server_limits import ServerLimits


@dataclass
class LiveServer:
    url: str
    fake: Fake

    @property
    def leanplum_url(self) -> str:
        return f"{self.url}/api"

    @property
    def dengage_url(self) -> str:
        return f"{self.url}/rest"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextmanager
def serve_in_thread(fake: Fake, limits: ServerLimits | None = None, http: str = "auto") -> Iterator[LiveServer]:
    """`fake` served by uvicorn on a free loopback port until the block ends (held to `limits`,
    default `ServerLimits()`, as `pushfake serve` holds it; `http`: uvicorn's HTTP parser)."""
    server = uvicorn.Server(uvicorn_config(create_app(fake), limits=limits, http=http, log_level="warning",
                                           lifespan="on"))
    sock = listening_socket(socket.AF_INET)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live pushfake server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{sock.getsockname()[1]}", fake)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Stop a process the test started: SIGTERM, then SIGKILL if it has not ended in 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(10)


def deterministic(max_examples: int, *suppress: HealthCheck) -> settings:
    """Hypothesis settings for CI: derandomized, no example database, no deadline, not too_slow."""
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, *suppress])
