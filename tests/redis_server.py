"""A real `redis-server` for the tests: one per pytest session (so one per xdist worker), on a
free loopback port, its data in a temp directory, never persisted, stopped by its own pid.

No mock of Redis: every Redis behaviour the fake claims is tested against this server. Starting
one takes ~10 ms, so a session-wide server costs nothing; `redis_url` empties it before each test.
Bench scripts start theirs with `running_redis` too.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import stop_process

START_TIMEOUT = 10.0
PORT_ATTEMPTS = 5  # a port found free can be taken before redis-server binds it


@dataclass
class RedisServer:
    process: subprocess.Popen[Any]
    port: int
    dir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        return self.process.pid


def redis_server_path() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no `redis-server` on PATH: the Redis tests run a real one "
                           "(`apt-get install redis-server` on Debian, which `.ci/run` does)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start(executable: str, directory: Path) -> RedisServer | None:
    """One attempt on one port: the server once it answers PING, None if it could not bind."""
    port = _free_port()
    argv = [executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
            "--logfile", str(directory / "redis.log")]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _answers_ping(port):
            return RedisServer(process, port, directory)
        if process.poll() is not None:
            return None  # most likely the port was taken meanwhile
        time.sleep(0.005)
    stop_process(process)
    raise RuntimeError(f"redis-server on port {port} did not answer PING within {START_TIMEOUT:.0f} s")


@contextmanager
def running_redis(directory: Path | None = None) -> Iterator[RedisServer]:
    """A `redis-server` on a free loopback port with its data dir in `directory` (a new temp dir
    by default, removed after), answering PING; stopped by its pid when the block ends."""
    executable = redis_server_path()
    with ExitStack() as stack:
        where = Path(directory or stack.enter_context(tempfile.TemporaryDirectory(prefix="pushfake-redis-")))
        where.mkdir(parents=True, exist_ok=True)
        for _ in range(PORT_ATTEMPTS):
            server = _start(executable, where.resolve())
            if server is not None:
                break
        else:
            log = where / "redis.log"
            raise RuntimeError(f"redis-server did not start in {PORT_ATTEMPTS} attempts: "
                               f"{log.read_text()[-500:] if log.exists() else 'no log'}")
        try:
            yield server
        finally:
            stop_process(server.process)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """This session's (this xdist worker's) own `redis-server`; without one on PATH, the test fails
    saying so."""
    try:
        redis_server_path()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


def emptied(server: RedisServer) -> str:
    """`server`'s URL once every key of every DB is gone."""
    import redis

    with redis.Redis.from_url(server.url) as client:
        client.flushall()
    return server.url


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's server, emptied before the test: no test sees another's keys."""
    return emptied(redis_server)
