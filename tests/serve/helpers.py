"""`pushfake serve` as a subprocess whose stdout and stderr are read as they come, so a test can
wait for an access-log or watch line while the server runs."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO
from dataclasses import dataclass, field

from pushfake.serve.options import OPTIONS
from tests.support import stop_process

TIMEOUT = 10.0
# Until the banner: `--workers N` spawns N processes that each import the fake and join the world,
# which on 2 loaded CPUs (the whole suite at once) took more than 10 s. The wait ends at the line.
START_TIMEOUT = 60.0


@dataclass
class Running:
    process: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The server's URL through 127.0.0.1 (whatever address it bound)."""
        first = self.wait_for(self.out, lambda line: " listening on http://" in line, START_TIMEOUT)
        return f"http://127.0.0.1:{first.strip().rsplit(':', 1)[1]}"

    def wait_for(self, lines: list[str], matches: Callable[[str], bool], timeout: float = TIMEOUT, *,
                 nth: int = 1) -> str:
        """The `nth` line of `lines` (self.out or self.err) that `matches`, waiting for it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [line for line in lines if matches(line)]
                if len(found) >= nth:
                    return found[nth - 1]
                left = deadline - time.monotonic()
                if left <= 0 or not any(reader.is_alive() for reader in self.readers):
                    raise AssertionError(f"no such line; stdout: {self.out}\nstderr: {self.err}")
                self.changed.wait(min(left, 0.1))

    def _read(self, stream: IO[str], into: list[str]) -> None:
        with stream:
            for line in stream:
                with self.changed:
                    into.append(line)
                    self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def stop(self) -> None:
        """SIGTERM (then SIGKILL), and every line it wrote read."""
        stop_process(self.process)
        for reader in self.readers:
            reader.join(TIMEOUT)


def launch(*args: str, env: dict[str, str] | None = None) -> Running:
    """`pushfake serve ARGS` with `env` over an environment cleared of every serve variable."""
    environ = {k: v for k, v in os.environ.items() if k not in {o.env for o in OPTIONS}}
    process = subprocess.Popen([sys.executable, "-m", "pushfake", "serve", *args], env={**environ, **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    running = Running(process)
    for stream, into in ((process.stdout, running.out), (process.stderr, running.err)):
        running.readers.append(threading.Thread(target=running._read, args=(stream, into), daemon=True))
        running.readers[-1].start()
    return running


@contextlib.contextmanager
def running(*args: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    """A server for the block, stopped after it; its stderr must end without a traceback."""
    server = launch(*args, env=env)
    try:
        server.url  # noqa: B018 - waits until it listens
        yield server
    finally:
        server.stop()
    assert "Traceback" not in "".join(server.err), "".join(server.err)
