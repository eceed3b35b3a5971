"""The request journal: every vendor request and the answer it got, newest kept, oldest dropped.

Bounded twice, so a server under a million requests keeps a flat memory footprint whatever it
is sent: by a number of entries (`size`), and by the bytes they hold (`max_bytes`). Each entry
keeps at most `body_bytes` of its body, of its answer and of its parameters' JSON, with their
true lengths: ten thousand 1 MB requests would otherwise keep about 19 GB (body, parameters and
answer each). A request of ordinary size is kept whole.

An entry keeps parameters, body and answer as bytes, decoded only when read: bytes are
invisible to the garbage collector, while ten thousand entries of decoded dicts made every full
collection walk them (pauses of tens of milliseconds under load).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.decoding import parse_json
from pushfake.core.store import Cell, Log, Store

DEFAULT_SIZE = 10_000
DEFAULT_BYTES = 64 * 1024 * 1024  # all entries together; ten thousand ordinary requests take ~15 MB
DEFAULT_BODY_BYTES = 64 * 1024  # of each body, answer and parameters: ordinary requests are a few KB
ENTRY_OVERHEAD = 512  # what an entry costs besides its bytes (the object, its strings), for the bound
_LONG_TEXT = 256  # a parameter cut to fit keeps this many characters


@dataclass(slots=True)
class Entry:
    seq: int  # 1, 2, 3... in arrival order at every fake on the store; kept when older entries are dropped,
    # from 1 after a clear or a reset
    at: float  # the fake's clock when the request arrived
    vendor: str
    method: str
    path: str
    operation: str | None  # Leanplum action, D·engage operationId; None if it never parsed
    app: str | None  # Leanplum appId, D·engage account
    user: str | None  # Leanplum userId (or deviceId), D·engage API user
    params: bytes  # JSON of the parameters as the fake read them: Leanplum's query and body merged, each
    # value as the spec coerces it ("true" -> true) once the request got that far; D·engage's query and body
    body: bytes | None  # the request body as sent
    status: int = 0
    response: bytes | None = None  # the answer's body as rendered (the vendor's envelope)
    fault: str | None = None  # "<rule id>: <kind>" when a fault rule applied
    limit: str | None = None  # the id of the rate limit that refused the request
    # how long the fake took, in real time: a measurement of the host, not of the world, so two entries of
    # the same request compare equal whatever it was (a world replayed from a seed is the same world)
    duration_ms: float = field(default=0.0, compare=False)
    items: tuple[str, ...] = field(default=())  # a Leanplum multi's actions, in order
    users: tuple[str, ...] = field(default=())  # every user the request is about (`user` is the first)
    # True lengths; set when the journal keeps the entry (`body` / `response` / `params` may be cut)
    body_size: int = 0
    response_size: int = 0
    params_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "at": self.at, "vendor": self.vendor, "method": self.method,
            "path": self.path, "operation": self.operation, "app": self.app, "user": self.user,
            "params": json.loads(self.params), "body": _shown(self.body, self.body_size), "status": self.status,
            "response": _shown(self.response, self.response_size), "fault": self.fault, "limit": self.limit,
            "durationMs": round(self.duration_ms, 3), "items": list(self.items),
            "bodyBytes": self.body_size, "responseBytes": self.response_size,
            "truncated": [name for name, kept, size in (("params", self.params, self.params_size),
                                                         ("body", self.body, self.body_size),
                                                         ("response", self.response, self.response_size))
                          if len(kept or b"") < size],
        }

    @property
    def weight(self) -> int:
        """What the entry counts against the journal's byte bound."""
        return ENTRY_OVERHEAD + len(self.params) + len(self.body or b"") + len(self.response or b"")


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
    """`size` entries at most, holding `max_bytes` at most (the newest entry is always kept),
    each with at most `body_bytes` of its body, answer and parameters.

    Everything a request or a reset changes is in the store, under the owner "journal": the
    entries (a log), the sequence numbers, the bytes held and the count dropped (counters), the
    switch in force (a cell; None means `configured`, the fixtures' `journal.enabled`), and the wake-ups. Fakes
    on one store keep one journal; the store reset empties it and seq starts again at 1."""

    def __init__(self, store: Store, size: int = DEFAULT_SIZE, *, max_bytes: int = DEFAULT_BYTES,
                 body_bytes: int = DEFAULT_BODY_BYTES, enabled: bool = True) -> None:
        self._store = store
        self._entries: Log[Entry] = store.log("journal", "entries")
        self._seq = store.counter("journal", "seq")
        self._bytes = store.counter("journal", "bytes")  # what the entries held weigh (`Entry.weight`)
        self._dropped = store.counter("journal", "dropped")  # dropped to keep the bounds since the last clear
        self._switch: Cell[bool] = store.cell("journal", "enabled")
        self._size = _checked("size", size)
        self.max_bytes = _checked("byte bound", max_bytes)
        self.body_bytes = _checked("body bound", body_bytes)
        self.configured = enabled  # whether to journal when nothing switched it since the last reset
        self.changes = store.changes("journal")  # wakes whoever long-polls for a request

    @property
    def size(self) -> int:
        return self._size

    @property
    def enabled(self) -> bool:
        """Whether requests are journaled; setting it switches every fake on the store, until
        the next reset."""
        switched = self._switch.get()
        return self.configured if switched is None else switched

    @enabled.setter
    def enabled(self, on: bool) -> None:
        self._switch.set(bool(on))

    def configure(self, enabled: bool) -> None:
        """A new fixtures document's switch: configured here, and in force for every fake on
        the store."""
        self.configured = enabled
        self.enabled = enabled

    @property
    def bytes(self) -> int:
        return self._bytes.value

    @property
    def dropped(self) -> int:
        return self._dropped.value

    def next_seq(self) -> int:
        return self._seq.next()

    def add(self, entry: Entry) -> None:
        if self.enabled:
            self._fit(entry)
            entries, size, max_bytes = self._entries, self._size, self.max_bytes
            with self._store.transaction():
                entries.append(entry)
                held = self._bytes.add(entry.weight)
                dropped = 0
                while len(entries) > size or (held > max_bytes and len(entries) > 1):
                    held = self._bytes.add(-entries.pop_oldest().weight)  # type: ignore[union-attr]
                    dropped += 1
                if dropped:
                    self._dropped.add(dropped)
            self.changes.notify()

    def _fit(self, entry: Entry) -> None:
        """Cut what is too long to keep, recording the true lengths."""
        cap = self.body_bytes
        entry.body_size = len(entry.body or b"")
        entry.response_size = len(entry.response or b"")
        entry.params_size = len(entry.params)
        if entry.body is not None and entry.body_size > cap:
            entry.body = entry.body[:cap]
        if entry.response is not None and entry.response_size > cap:
            entry.response = entry.response[:cap]
        if entry.params_size > cap:
            entry.params = _cut_params(entry.params, cap)

    def find(self, query: Query = Query(), limit: int | None = None) -> list[Entry]:
        """Matching entries, oldest first; with `limit`, the newest `limit` of them."""
        with self._store.transaction():
            snapshot = self._entries.items()
        rows = [e for e in snapshot if query.matches(e)]
        return rows[-limit:] if limit else rows

    def last_seq(self) -> int:
        """The newest entry's seq, 0 when there is none."""
        with self._store.transaction():
            newest = self._entries.newest()
        return newest.seq if newest is not None else 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry (clearJournal): seq starts again at 1; the switch stays."""
        with self._store.transaction():
            while self._entries.pop_oldest() is not None:
                pass
            for counter in (self._seq, self._bytes, self._dropped):
                counter.add(-counter.value)

    def stats(self) -> dict[str, int]:
        with self._store.transaction():
            return {"held": len(self._entries), "dropped": self._dropped.value, "bytes": self._bytes.value,
                    "maxEntries": self._size, "maxBytes": self.max_bytes, "bodyBytes": self.body_bytes}


def encode_params(params: Any) -> bytes:
    # backslashreplace: a lone surrogate becomes its JSON escape, so journaling never fails
    return json.dumps(params, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8", "backslashreplace")


def _shown(raw: bytes | None, size: int) -> Any:
    """JSON as data, other text as text (a form body, a malformed answer, the start of one too
    long to keep), nothing as None."""
    if not raw:
        return None
    if len(raw) < size:
        return raw.decode("utf-8", errors="ignore")  # cut mid-character at worst: drop the piece
    try:
        return parse_json(raw)  # a client's body: one nested too deep for json.loads is shown as text
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _cut_params(raw: bytes, cap: int) -> bytes:
    """Parameters whose JSON is longer than `cap`, with each long value cut to its start (text)
    or replaced by its length (anything else), so what names the request stays readable."""
    params = json.loads(raw)
    if not isinstance(params, dict):
        return b"{}"
    cut: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and len(value) > _LONG_TEXT:
            value = f"{value[:_LONG_TEXT]}… ({len(value)} characters)"
        elif not isinstance(value, str) and len(encode_params(value)) > _LONG_TEXT:
            value = f"({len(encode_params(value))} bytes of JSON, not kept)"
        cut[key[:_LONG_TEXT]] = value
    out = encode_params(cut)
    return out if len(out) <= cap else encode_params({"…": f"({len(raw)} bytes of parameters, not kept)"})


def _checked(what: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"the journal's {what} must be a whole number >= 1, got {value!r}")
    return value
