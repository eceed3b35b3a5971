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
- one **request-target limit** for both of uvicorn's parsers (`MAX_TARGET_BYTES`, httptools'
  own; h11 would take more): the request line is watched before the parser sees it, from where
  the parser starts it (after the previous request's body, however the pieces fall) until its
  target ends, and a target past the limit, whole or not yet, is answered 414 and the connection
  closed;
- **refusals in words the app chooses**: what the parser cannot take (that 414, and the 400 for
  a malformed request line or header) is answered by the app's `refuse(target, reason)`, not by
  uvicorn's plain text, in the shape of the API the target's path names;
- a **connection cap** below the process's file-descriptor limit: a connection over it evicts
  the connection idle the longest (waiting for headers, or between requests), so a health check
  still gets in; with none idle, the newcomer is closed. asyncio accepts up to the listen
  backlog's number of connections in one go before any of them is seen here, so the backlog
  (`accept_burst`) is kept small and left out of the cap too.

Attributes both of uvicorn's HTTP protocols have (`cycle`, `transport`, `connections`,
`server_state`, `send_400_response`) are used, and where a request line starts after another
request in the same piece, each parser's own view of it: h11's unparsed bytes (`conn.trailing_data`),
httptools' target as it parses it (`on_url`, `url`).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 60.0
DRAIN_MULTIPLE = 4  # an oversized body up to this many times the limit is read before closing
MAX_TARGET_BYTES = 65_535  # httptools cannot parse a longer URL; h11 is held to the same
TARGET_TOO_LONG = "request-target-too-long"  # the reasons `refuse` is given
MALFORMED_REQUEST = "malformed-request"
TARGET_HINT_BYTES = 1024  # how much of a target is kept to tell its path by

# refuse(target, reason) -> (status, headers, body): the answer to a request the parser cannot
# take; `target` is what was read of its request target (empty when none was).
Refuse = Callable[[bytes, str], tuple[int, list[tuple[bytes, bytes]], bytes]]


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


def request_target(line: bytes | bytearray) -> bytes:
    """The target of a request line (or of as much of one as was read): between its first two
    spaces."""
    first = line.find(b" ")
    if first < 0:
        return b""
    second = line.find(b" ", first + 1)
    return bytes(line[first + 1:second if second >= 0 else len(line)]).rstrip(b"\r")


class TargetTooLong(Exception):
    """Raised in httptools' `on_url` to stop its parser on a target past the limit."""


def guarded(base: type[asyncio.Protocol], limits: ServerLimits, drain_bytes: Callable[[], int],
            refuse: Refuse) -> type[asyncio.Protocol]:
    """`base` (a uvicorn HTTP protocol class) held to `limits`; what its parser cannot take is
    answered by `refuse`."""
    cap = limits.connections

    class GuardedProtocol(base):  # type: ignore[misc, valid-type]
        _pf_idle_since = 0.0
        _pf_timer: asyncio.TimerHandle | None = None
        _pf_seen: Any = None  # the request cycle this connection last saw start
        _pf_drained = 0
        _pf_paused_since: Any = None  # the cycle whose answer was found stalled at the last look
        _pf_line: bytearray | None = None  # the request line read so far; None once its target has ended
        _pf_first = -1  # where the first space of `_pf_line` is, once seen
        _pf_target = b""  # the start of the last request line's target
        _pf_refusal: str | None = None  # the reason a request is (or will be, after the answer in progress) refused

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._pf_idle_since = self.loop.time()
            self._pf_line, self._pf_first = bytearray(), -1
            self._pf_arm(limits.header_timeout, None)
            if len(self.connections) > cap and not _evict_one(self.connections, self):
                transport.close()  # every other connection is busy answering: this one waits its turn

        def connection_lost(self, exc: Exception | None) -> None:
            self._pf_cancel()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._pf_refusal is not None:
                return  # refused: nothing more is read
            cycle = self.cycle
            in_body = cycle is not None and cycle.more_body
            if self._pf_line is not None and not in_body and self._pf_watch(data):
                return
            if cycle is not None and cycle.response_complete and cycle.more_body:
                self._pf_drained += len(data)  # the body of a request already answered
                if self._pf_drained > drain_bytes():
                    self._pf_close()
                    return
            super().data_received(data)
            if self.cycle is not None and self.cycle is not self._pf_seen:  # a new request's headers
                self._pf_start_request()
                self._pf_arm(limits.body_timeout, self.cycle)
            elif in_body and self.cycle is cycle and not cycle.more_body:  # its body ended in `data`
                self._pf_next_line()

        def _pf_start_request(self) -> None:
            """A new request's headers are in: the next request line is watched from where it
            starts, after this request's body."""
            self._pf_seen, self._pf_drained = self.cycle, 0
            if self._pf_refusal is not None:
                return  # a request behind it is refused already (its target is kept for the answer)
            self._pf_target = b""
            if self.cycle.more_body:
                self._pf_line = None  # watched again once the body has ended
            else:
                self._pf_next_line()

        def _pf_next_line(self) -> None:
            """The parser is at the start of the next request: watch its line from there. Bytes
            already read past that point are where the parser keeps them: h11 holds them unparsed
            (`trailing_data`), so they start the line; httptools has parsed them, and tells its
            target piece by piece to `on_url`, which holds it to the limit instead."""
            self._pf_line, self._pf_first = None, -1
            if self._pf_refusal is not None:
                return
            trailing = getattr(getattr(self, "conn", None), "trailing_data", None)
            if trailing is not None:
                self._pf_line = bytearray()
                self._pf_watch(trailing[0])

        def on_url(self, url: bytes) -> None:
            """httptools' parser read a piece of the target: refuse it once past the limit (and
            stop the parser, whose own refusal then keeps this reason)."""
            super().on_url(url)
            if len(self.url) > MAX_TARGET_BYTES and self._pf_refusal is None:
                self._pf_target = bytes(self.url[:TARGET_HINT_BYTES])
                self._pf_refuse(TARGET_TOO_LONG)
                raise TargetTooLong

        def _pf_watch(self, data: bytes) -> bool:
            """Add `data` to the request line being read; refuse it (True) as soon as its target
            is past the limit, whole or not; stop watching once its target has ended. Blank lines
            before a request line are skipped, as parsers do. Only the new bytes are searched,
            so a trickle costs little."""
            line = self._pf_line
            assert line is not None
            if data[:1] in (b"\r", b"\n") and len(line) < 8 and not line.strip(b"\r"):  # a blank line so far
                line.clear()
                data = data.lstrip(b"\r\n")
            start, newline = len(line), data.find(b"\n")
            line += data if newline < 0 else data[:newline + 1]  # what follows the line is not kept
            first = self._pf_first
            if first < 0:
                first, newline = line.find(b" ", start), line.find(b"\n", start)
                if 0 <= newline and not 0 <= first < newline or first < 0 and len(line) > MAX_TARGET_BYTES:
                    self._pf_line = None  # no target (the parser refuses the line), or a method beyond reason
                    return False
                if first < 0:
                    return False
                self._pf_first, start = first, first + 1
            ends = [at for at in (line.find(b" ", start), line.find(b"\n", start)) if at >= 0]
            end = min(ends) if ends else len(line)
            size = end - first - 1 - (line[end - 1:end] == b"\r")
            self._pf_target = bytes(line[first + 1:first + 1 + min(size, TARGET_HINT_BYTES)])
            if size > MAX_TARGET_BYTES:
                self._pf_refuse(TARGET_TOO_LONG)
                return True
            if ends:
                self._pf_line, self._pf_first = None, -1
            return False

        def send_400_response(self, msg: str) -> None:
            """The parser's refusal of a malformed request, in the app's words (not `msg`); a
            refusal already decided (`on_url`'s) keeps its reason."""
            if self._pf_refusal is None:
                url = getattr(self, "url", None)  # httptools: the target of the request it refuses
                if url:
                    self._pf_target = bytes(url[:TARGET_HINT_BYTES])
                elif self._pf_line is not None:
                    self._pf_target = request_target(self._pf_line)[:TARGET_HINT_BYTES]
            self._pf_refuse(self._pf_refusal or MALFORMED_REQUEST)

        def _pf_refuse(self, reason: str) -> None:
            """Answer `reason` and close; after the answer in progress, if there is one (a
            pipelined request), so the two do not interleave."""
            self._pf_refusal, self._pf_line = reason, None
            if self.cycle is not None and not self.cycle.response_complete:
                return  # `on_response_complete` answers it (the body deadline still runs)
            self._pf_cancel()
            status, headers, body = refuse(self._pf_target, reason)
            head = [b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode())]
            for name, value in [*self.server_state.default_headers, *headers]:
                if name.lower() not in (b"content-length", b"connection"):
                    head.append(b"%s: %s\r\n" % (name, value))
            head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
            if not self.transport.is_closing():
                self.transport.write(b"".join(head) + body)
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._pf_idle_since = self.loop.time()
            if self._pf_refusal is not None:  # a request refused while this answer was written
                self._pf_refuse(self._pf_refusal)
                return
            if self.cycle is not None and self.cycle is not self._pf_seen:  # a pipelined request started
                self._pf_start_request()
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
