"""Slow or greedy clients cannot exhaust a live server.

uvicorn (0.55, h11) arms no timer until a connection's first request is complete, and re-arms
its keep-alive timer on every byte, so a client that trickles a header a byte at a time holds a
connection (and a file descriptor) for ever; enough of them and the listening socket cannot
accept the health check. It also reads and discards whatever body follows an early answer (a
413), without end. `guarded` wraps uvicorn's HTTP protocol with:

- a **header deadline**: a request's headers must be complete within `header_timeout` seconds
  of the connection opening or of the previous answer;
- a **body deadline**: its body, within `body_timeout` seconds of its headers (a body the app
  did not want, after an early answer, too); and while it is answered, a client that has read
  nothing of the answer for `body_timeout` seconds (the server's writes paused on it) is cut off,
  so a large answer nobody reads is not held for ever;
- a **drain cap**: after an early answer at most `drain_bytes()` more bytes of body are read
  and thrown away, so the client reads the 413 instead of a reset; past that the connection
  closes;
- a **connection cap** below the process's file-descriptor limit: a connection over it evicts
  the connection idle the longest (waiting for headers, or between requests), so a health check
  still gets in; with none idle, the newcomer is closed. asyncio accepts up to the listen
  backlog's number of connections in one go before any of them is seen here, so the backlog
  (`accept_burst`) is kept small and left out of the cap too.

Only attributes both of uvicorn's HTTP protocols have (`cycle`, `transport`, `connections`) are
used.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 60.0
DRAIN_MULTIPLE = 4  # an oversized body up to this many times the limit is read before closing


@dataclass(frozen=True, slots=True)
class ServerLimits:
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int | None = None  # None: from the file-descriptor limit (`default_max_connections`)

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 86_400:
                raise ValueError(f"{name} is a number of seconds above 0 and below a day, not {value!r}")
        if self.max_connections is not None and (
                not isinstance(self.max_connections, int) or self.max_connections < 1):
            raise ValueError(f"max_connections is a whole number >= 1, not {self.max_connections!r}")

    @property
    def connections(self) -> int:
        return self.max_connections if self.max_connections is not None else default_max_connections()


def _open_files_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else soft


def accept_burst() -> int:
    """The listen backlog: how many connections asyncio may accept at once (uvicorn's default,
    2048, alone would exhaust a 256-file limit before the cap is checked)."""
    return min(128, max(4, _open_files_limit() // 32))


def default_max_connections() -> int:
    """The open-files limit less room for what the server itself holds (an eighth, at least 32)
    and for one accept burst, and at most 4096: past that a fake in a test suite has a bug, not
    a load."""
    soft = _open_files_limit()
    return max(8, min(4096, soft - max(32, soft // 8) - accept_burst()))


def guarded(base: type[asyncio.Protocol], limits: ServerLimits, drain_bytes: Callable[[], int]
            ) -> type[asyncio.Protocol]:
    """`base` (a uvicorn HTTP protocol class) held to `limits`."""
    cap = limits.connections

    class GuardedProtocol(base):  # type: ignore[misc, valid-type]
        _pf_idle_since = 0.0
        _pf_timer: asyncio.TimerHandle | None = None
        _pf_seen: Any = None  # the request cycle this connection last saw start
        _pf_drained = 0
        _pf_paused_since: Any = None  # the cycle whose answer was found stalled at the last look

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._pf_idle_since = self.loop.time()
            self._pf_arm(limits.header_timeout, None)
            if len(self.connections) > cap and not _evict_one(self.connections, self):
                transport.close()  # every other connection is busy answering: this one waits its turn

        def connection_lost(self, exc: Exception | None) -> None:
            self._pf_cancel()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            cycle = self.cycle
            if cycle is not None and cycle.response_complete and cycle.more_body:
                self._pf_drained += len(data)  # the body of a request already answered
                if self._pf_drained > drain_bytes():
                    self._pf_close()
                    return
            super().data_received(data)
            if self.cycle is not None and self.cycle is not self._pf_seen:  # a new request's headers
                self._pf_seen, self._pf_drained = self.cycle, 0
                self._pf_arm(limits.body_timeout, self.cycle)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._pf_idle_since = self.loop.time()
            if self.cycle is not None and self.cycle is not self._pf_seen:  # a pipelined request started
                self._pf_seen, self._pf_drained = self.cycle, 0
                self._pf_arm(limits.body_timeout, self.cycle)
            elif self.cycle is None or not self.cycle.more_body:  # else the body's deadline still runs
                self._pf_arm(limits.header_timeout, self.cycle)

        @property
        def _pf_idle(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _pf_arm(self, seconds: float, cycle: Any) -> None:
            self._pf_cancel()
            self._pf_timer = self.loop.call_later(seconds, self._pf_deadline, cycle)

        def _pf_cancel(self) -> None:
            if self._pf_timer is not None:
                self._pf_timer.cancel()
                self._pf_timer = None

        def _pf_deadline(self, cycle: Any) -> None:
            """Headers still incomplete (no new request since `cycle`), the body of `cycle`, or
            its answer unread; a request still being answered is looked at again later."""
            self._pf_timer = None
            current = self.cycle
            if current is not cycle:
                return
            if getattr(self.flow, "write_paused", False):  # the client is not reading the answer
                if self._pf_paused_since is cycle:  # nor was it at the last look, without a break
                    self._pf_reset()
                    return
                self._pf_paused_since = cycle
                self._pf_arm(limits.body_timeout, cycle)
            elif self.transport.get_write_buffer_size() or not (
                    current is None or current.more_body or current.response_complete):
                self._pf_paused_since = None  # an answer still being written or read: look again
                self._pf_arm(limits.body_timeout, cycle)
            else:
                self._pf_close()

        def pause_writing(self) -> None:
            super().pause_writing()
            self._pf_paused_since = None  # a fresh stall: it must last a whole deadline

        def _pf_reset(self) -> None:
            """Cut the connection now, dropping what it still had to send: `close` would wait for
            the client to read it, and even an abort leaves the kernel's buffer to trickle out."""
            self._pf_cancel()
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()

        def _pf_close(self) -> None:
            self._pf_cancel()
            if not self.transport.is_closing():
                self.transport.close()

    def _evict_one(connections: Any, newcomer: Any) -> bool:
        idle = [c for c in connections if c is not newcomer and isinstance(c, GuardedProtocol) and c._pf_idle
                and not c.transport.is_closing()]
        if not idle:
            return False
        min(idle, key=lambda c: c._pf_idle_since)._pf_close()
        return True

    return GuardedProtocol
