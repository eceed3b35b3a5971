"""Slow or greedy clients cannot exhaust a live server (`pushfake.core.server_limits`): real sockets
against uvicorn on 127.0.0.1, each test bounded in time. Headers and bodies have deadlines, the
connections a cap that evicts the longest-idle one, and an oversized body is read up to a few
times the limit so the client reads its 413, past that the connection closes."""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import pytest

from pushfake import Fake
from pushfake.core.journal import Entry
from pushfake.core.server_limits import DRAIN_MULTIPLE, ServerLimits, default_max_connections
from tests.leanplum.helpers import APP, PROD
from tests.support import LiveServer, serve_in_thread, stop_process

HEALTH = b"GET /_pushfake/health HTTP/1.1\r\nHost: pushfake\r\n\r\n"
LIMITS = ServerLimits(header_timeout=0.5, body_timeout=1.0, max_connections=8)


@contextlib.contextmanager
def serving(limits: ServerLimits = LIMITS) -> Iterator[LiveServer]:
    with serve_in_thread(Fake(seed=7), limits) as live:
        yield live


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def health_seconds(port: int) -> float:
    """Seconds until a new connection's health check is answered 200 (fails after 3 s)."""
    started = time.perf_counter()
    with connect(port) as sock:
        sock.settimeout(3)
        sock.sendall(HEALTH)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    return time.perf_counter() - started


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (reading what it sends first)."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


def test_a_health_check_answers_quickly_beside_slow_loris_clients():
    with serving() as live, contextlib.ExitStack() as stack:
        slow = [stack.enter_context(connect(live.port)) for _ in range(6)]
        for sock in slow:
            sock.sendall(b"GET /_pushfake/health HTTP/1.1\r\nHost: pushfake\r\n")  # never the blank line
        assert health_seconds(live.port) < 1.0
        for _ in range(3):  # trickling a header line now and then does not keep them open
            time.sleep(0.15)
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-Slow: 1\r\n")
        assert all(closed_by_server(sock, 2.0) for sock in slow), "the header deadline closes them"
        assert health_seconds(live.port) < 1.0


def test_a_keep_alive_connection_cannot_trickle_its_next_request():
    with serving() as live, connect(live.port) as sock:
        sock.sendall(HEALTH)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 3 and not closed:
            try:
                sock.sendall(b"G")  # a byte at a time re-arms uvicorn's own keep-alive timer
            except OSError:
                closed = True
            closed = closed or closed_by_server(sock, 0.1)
        assert closed and time.monotonic() - started < 2.0


def test_past_the_connection_cap_the_longest_idle_connection_makes_room():
    with serving() as live, contextlib.ExitStack() as stack:
        idle = [stack.enter_context(connect(live.port)) for _ in range(20)]
        time.sleep(0.1)
        assert health_seconds(live.port) < 1.0
        assert sum(closed_by_server(sock, 0.05) for sock in idle) >= 20 - LIMITS.connections + 1


def test_a_body_that_stalls_is_cut_off_and_journaled():
    with serving() as live, connect(live.port) as sock:
        sock.sendall(b"POST /api?action=start HTTP/1.1\r\nHost: pushfake\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"appId\": ")
        started = time.monotonic()
        assert closed_by_server(sock, 3.0)
        assert 0.8 < time.monotonic() - started < 2.5
        deadline = time.monotonic() + 2
        while not live.fake.journal.find() and time.monotonic() < deadline:
            time.sleep(0.02)
        (entry,) = live.fake.journal.find()
        assert entry.status == 400


def test_a_large_answer_the_client_never_reads_is_not_held_for_ever():
    with serving() as live:
        for n in range(400):  # a journal listing of ~25 MB: more than the socket buffers take
            live.fake.journal.add(Entry(live.fake.journal.next_seq(), 0.0, "leanplum", "POST", "/api", "start",
                                        None, None, b"{}", b"x" * 65_536))
        with connect(live.port) as sock:
            sock.sendall(b"GET /_pushfake/journal HTTP/1.1\r\nHost: pushfake\r\n\r\n")
            time.sleep(3.5)  # read nothing for more than twice the body deadline
            sock.settimeout(5)
            received = 0
            with contextlib.suppress(OSError):
                while chunk := sock.recv(1 << 20):
                    received += len(chunk)
        assert received < 20_000_000, "the server cut the connection instead of waiting for the reader"
        assert health_seconds(live.port) < 1.0


def _post_raw(port: int, size: int, *, chunk: int = 256 * 1024) -> tuple[bytes, int]:
    """POST a JSON body of `size` bytes to Leanplum start; (the answer read, bytes sent)."""
    head = (f"POST /api?action=start&appId={APP}&clientKey={PROD} HTTP/1.1\r\nHost: pushfake\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n").encode()
    payload = b" " * chunk
    sent = 0
    with connect(port) as sock:
        sock.settimeout(5)
        sock.sendall(head)
        try:
            while sent < size:
                sent += sock.send(payload[: min(chunk, size - sent)])
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        answer = b""
        with contextlib.suppress(OSError):
            while chunk_read := sock.recv(65536):
                answer += chunk_read
                if b"\r\n\r\n" in answer:
                    break
    return answer, sent


def test_an_oversized_body_is_drained_so_the_client_reads_the_413():
    with serving() as live:
        limit = live.fake.leanplum.settings.max_body_bytes
        answer, sent = _post_raw(live.port, 3 * limit)
        assert sent == 3 * limit
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_body_far_past_the_limit_is_not_read_to_its_end():
    with serving(ServerLimits(header_timeout=5, body_timeout=10, max_connections=8)) as live:
        limit = live.fake.leanplum.settings.max_body_bytes
        size = 64 * limit
        started = time.monotonic()
        _, sent = _post_raw(live.port, size)
        assert sent < size, "the server closed the connection instead of reading 64 MiB"
        assert sent <= (DRAIN_MULTIPLE + 2) * limit + 8 * 1024 * 1024  # what socket buffers hold, at most
        assert time.monotonic() - started < 5


def test_the_default_connection_cap_sits_below_the_open_files_limit():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = default_max_connections()
    assert 8 <= cap <= 4096 and (soft == resource.RLIM_INFINITY or cap <= soft - 32)


@pytest.mark.parametrize("value", [0, -1, 1e9, True])
def test_a_bad_limit_is_refused(value):
    with pytest.raises(ValueError, match="header_timeout"):
        ServerLimits(header_timeout=value)


def test_serve_under_a_low_open_files_limit_still_answers_its_health_check():
    """The case seen: `ulimit -n 256` and slow clients made the health check time out."""
    fd_limit = 128

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", "pushfake", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=err, text=True, preexec_fn=low_limit)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert " listening on http://" in first, first
        port = int(first.strip().rsplit(":", 1)[1])
        with contextlib.ExitStack() as stack:
            slow = []
            for _ in range(fd_limit + 40):  # more than the server could ever hold open
                sock = stack.enter_context(connect(port))
                sock.sendall(b"GET /_pushfake/health HTTP/1.1\r\n")
                slow.append(sock)
            time.sleep(0.3)
            assert health_seconds(port) < 2.0
    finally:
        stop_process(process)
        if process.stdout is not None:
            process.stdout.close()
        err.seek(0)
        log = err.read().decode("utf-8", "replace")
        err.close()
    assert "Too many open files" not in log, log[-2000:]
