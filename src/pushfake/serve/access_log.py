"""The access log: one line per request, with the vendor operation uvicorn's own log cannot know.

`AccessLog` is an ASGI middleware around the whole app (vendor routes, control plane, inbox).
When the request ends it logs, on the `pushfake.access` logger, the method, the path with its
query (values of parameters named `token` or `clientKey` redacted: the inbox takes the admin
token once in its URL, Leanplum its session token and its app keys), the status (none when the connection was dropped before an
answer), the duration in milliseconds and `scope["pushfake.operation"]`, which the vendor
routes set (absent on the control plane and the inbox).

`AccessLogOutput` writes those records to stdout from a thread of its own through a bounded
queue, so a slow or unread stdout never stalls the event loop: past `QUEUE_SIZE` waiting lines,
new ones are dropped and counted, and the count is reported when the server stops. Lines go
out in writes a pipe takes whole, so the workers of `--workers N` share one stdout line by line.
"""

from __future__ import annotations

import json
import logging
import select
import queue
import re
import sys
import threading
import time
from datetime import UTC, datetime
from collections.abc import Iterator
from typing import Any, TextIO
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushfake.traffic import OPERATION_KEY

LOGGER = "pushfake.access"
QUEUE_SIZE = 10_000
PIPE_BUF = getattr(select, "PIPE_BUF", 512)  # the largest write a pipe takes whole (POSIX: at least 512)
REDACTED = "***"
SECRET_PARAMETERS = frozenset({"token", "clientkey"})  # the admin token (inbox URL), Leanplum's app keys
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


class AccessLog:
    """Logs each HTTP request `app` answers on `logger` (default `pushfake.access`): the message
    is the text line; `record.access` holds the fields for other formats (`JsonFormat`)."""

    def __init__(self, app: ASGIApp, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.log = logger or logging.getLogger(LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            self._log(scope, status, (time.perf_counter() - started) * 1000)

    def _log(self, scope: Scope, status: int | None, duration_ms: float) -> None:
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "path": target(scope),
            "status": status,
            "duration_ms": round(duration_ms, 3),
            "operation": _printable(scope[OPERATION_KEY]) if scope.get(OPERATION_KEY) else None,
            "client": f"{client[0]}:{client[1]}" if client else None,
        }
        self.log.info('%s "%s %s" %s %.2fms %s', fields["client"] or "-", fields["method"], fields["path"],
                      status if status is not None else "-", duration_ms, fields["operation"] or "-",
                      extra={"access": fields})


def target(scope: Scope) -> str:
    """The request's path and query as sent, secret values redacted, control characters escaped
    (a line per request stays a line)."""
    path = scope.get("raw_path") or scope["path"].encode("utf-8")
    text = path.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        text += "?" + "&".join(_redacted(part) for part in query.split("&"))
    return _printable(text)


def _printable(text: str) -> str:
    """`text` with control characters escaped (`\\x0a`) and spaces as `%20`: one field of one line."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)).replace(" ", "%20")


def _redacted(part: str) -> str:
    name, equals, _ = part.partition("=")
    return f"{name}={REDACTED}" if equals and unquote_plus(name).strip().lower() in SECRET_PARAMETERS else part


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormat(logging.Formatter):
    """`2026-12-06T22:10:00.123Z 127.0.0.1:51234 "GET /api?action=start&..." 200 1.84ms start`"""

    def format(self, record: logging.LogRecord) -> str:
        return f"{_timestamp(record.created)} {record.getMessage()}"


class JsonFormat(logging.Formatter):
    """One JSON object per line: time (ISO-8601 UTC), method, path, status, duration_ms,
    operation, client."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "access", None) or {"message": record.getMessage()}
        return json.dumps({"time": _timestamp(record.created), **fields})


FORMATS: dict[str, type[logging.Formatter]] = {"text": TextFormat, "json": JsonFormat}


class _Enqueue(logging.Handler):
    """Hands records to the writer thread; never waits (a full queue drops and counts)."""

    def __init__(self, lines: queue.Queue[logging.LogRecord | None]) -> None:
        super().__init__()
        self.lines = lines
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.put_nowait(record)
        except queue.Full:
            self.dropped += 1


class AccessLogOutput:
    """While open, the `pushfake.access` logger's records go to `stream` (stdout) in `fmt`,
    written by a daemon thread. Closing writes what is queued (waiting a few seconds at most for
    a stream nobody reads) and reports dropped lines on stderr."""

    def __init__(self, fmt: str, stream: TextIO | None = None) -> None:
        self.formatter = FORMATS[fmt]()
        self.stream = stream or sys.stdout
        self.lines: queue.Queue[logging.LogRecord | None] = queue.Queue(QUEUE_SIZE)
        self.handler = _Enqueue(self.lines)
        self.thread = threading.Thread(target=self._write, name="pushfake-access-log", daemon=True)
        self.logger = logging.getLogger(LOGGER)

    def __enter__(self) -> AccessLogOutput:
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.logger.removeHandler(self.handler)
        try:
            self.lines.put(None, timeout=2)
            self.thread.join(3)
        except queue.Full:
            pass
        if self.handler.dropped:
            print(f"pushfake: {self.handler.dropped} access log lines dropped: stdout was not read fast enough",
                  file=sys.stderr, flush=True)

    def _write(self) -> None:
        """Writes each batch of waiting lines at once, then flushes."""
        done = False
        while not done:
            batch = [self.lines.get()]
            while len(batch) < 1000:
                try:
                    batch.append(self.lines.get_nowait())
                except queue.Empty:
                    break
            text = []
            for record in batch:
                if record is None:
                    done = True
                    break
                text.append(self.formatter.format(record) + "\n")
            try:
                for chunk in _chunks(text):
                    self.stream.write(chunk)
                    self.stream.flush()
            except (OSError, ValueError):  # stdout closed: nobody to tell
                return


def _chunks(lines: list[str]) -> Iterator[str]:
    """`lines` joined into writes of at most `PIPE_BUF` bytes (a longer line alone): a pipe
    takes such a write whole, so the lines of `--workers` processes sharing one stdout never
    break into each other."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode("utf-8", "replace"))
        if chunk and size + length > PIPE_BUF:
            yield "".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += length
    if chunk:
        yield "".join(chunk)
