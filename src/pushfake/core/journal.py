"""The request journal: every vendor request and the answer it got, newest kept, oldest dropped.

Bounded by a number of entries (a `deque` with `maxlen`), so a server under a million requests
keeps a flat memory footprint. An entry keeps parameters, body and answer as bytes, decoded
only when read: bytes are invisible to the garbage collector, while ten thousand entries of
decoded dicts made every full collection walk them (pauses of tens of milliseconds under load).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.changes import Changes

DEFAULT_SIZE = 10_000


@dataclass(slots=True)
class Entry:
    seq: int  # 1, 2, 3... in arrival order; kept when older entries are dropped, from 1 after a clear
    at: float  # the fake's clock when the request arrived
    vendor: str
    method: str
    path: str
    operation: str | None  # Leanplum action, D·engage operationId; None if it never parsed
    app: str | None  # Leanplum appId, D·engage account
    user: str | None  # Leanplum userId (or deviceId), D·engage API user
    params: bytes  # JSON of the parameters: Leanplum's query and body merged; D·engage's query and body
    body: bytes | None  # the request body as sent
    status: int = 0
    response: bytes | None = None  # the answer's body as rendered (the vendor's envelope)
    fault: str | None = None  # "<rule id>: <kind>" when a fault rule applied
    limit: str | None = None  # the id of the rate limit that refused the request
    duration_ms: float = 0.0
    items: tuple[str, ...] = field(default=())  # a Leanplum multi's actions, in order

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "at": self.at, "vendor": self.vendor, "method": self.method,
            "path": self.path, "operation": self.operation, "app": self.app, "user": self.user,
            "params": json.loads(self.params), "body": _decoded(self.body), "status": self.status,
            "response": _decoded(self.response), "fault": self.fault, "limit": self.limit,
            "durationMs": round(self.duration_ms, 3), "items": list(self.items),
        }


@dataclass(frozen=True, slots=True)
class Query:
    """Which entries a caller wants; None matches anything. `operation` also matches one
    action inside a `multi`; `after` is a `seq` (entries strictly after it)."""

    vendor: str | None = None
    operation: str | None = None
    app: str | None = None
    user: str | None = None
    status: int | None = None
    since: float | None = None
    until: float | None = None
    after: int | None = None

    def matches(self, e: Entry) -> bool:
        return ((self.vendor is None or e.vendor == self.vendor)
                and (self.operation is None or e.operation == self.operation or self.operation in e.items)
                and (self.app is None or e.app == self.app)
                and (self.user is None or e.user == self.user)
                and (self.status is None or e.status == self.status)
                and (self.since is None or e.at >= self.since)
                and (self.until is None or e.at <= self.until)
                and (self.after is None or e.seq > self.after))


class Journal:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._entries: deque[Entry] = deque(maxlen=_checked(size))
        self.enabled = True
        self.changes = Changes()  # wakes whoever long-polls for a request

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def next_seq(self) -> int:
        return next(self._seq)

    def add(self, entry: Entry) -> None:
        if self.enabled:
            with self._lock:
                self._entries.append(entry)
            self.changes.notify()

    def find(self, query: Query = Query(), limit: int | None = None) -> list[Entry]:
        """Matching entries, oldest first; with `limit`, the newest `limit` of them."""
        with self._lock:
            snapshot: Iterable[Entry] = list(self._entries)
        rows = [e for e in snapshot if query.matches(e)]
        return rows[-limit:] if limit else rows

    def last_seq(self) -> int:
        with self._lock:
            return self._entries[-1].seq if self._entries else 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._seq = itertools.count(1)


def encode_params(params: dict[str, Any]) -> bytes:
    return json.dumps(params, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _decoded(raw: bytes | None) -> Any:
    """JSON as data, other text as text (a form body, a malformed answer), nothing as None."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _checked(size: int) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"the journal size must be a whole number >= 1, got {size!r}")
    return size
