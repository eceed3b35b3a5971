"""Rate limits: the vendors' documented ones, and optional token buckets.

One `LimitBook` lists every limit in force, each with an id, so they can be listed, changed,
removed and cleared alike (fixtures file, control plane, Python):

| kind             | vendor   | what it refuses (429)                                        |
|------------------|----------|--------------------------------------------------------------|
| `device-locking` | leanplum | a request for a user while another for that user is running  |
| `dev-mode-rate`  | leanplum | `devMode` requests above `perSecond` per user                 |
| `multi-size`     | leanplum | (403) a `multi` over `users` users or `actions` actions       |
| `concurrency`    | dengage  | requests above `limit` in flight per account                  |
| `token-bucket`   | either   | requests above `rate` per second (bursts of `burst`) per app / account, or per user |

The vendor rules themselves live with each vendor; this module only holds which limits are in
force, with what numbers, and the token buckets' state. Removing a built-in limit turns it off.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.spec import ApiSpec, SchemaValidator

BUILT_IN_KINDS = {"device-locking": "leanplum", "dev-mode-rate": "leanplum", "multi-size": "leanplum",
                  "concurrency": "dengage"}


@dataclass(frozen=True, slots=True)
class Limit:
    id: str
    kind: str
    vendor: str
    settings: dict[str, Any] = field(default_factory=dict)
    scope: str = "runtime"  # "fixtures" (configuration, kept by a data reset) or "runtime"

    def __getitem__(self, name: str) -> Any:
        return self.settings[name]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "vendor": self.vendor, **self.settings, "scope": self.scope}


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class LimitBook:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._configured: list[Limit] = []
        self._limits: dict[str, Limit] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    # --- configuration -----------------------------------------------------------------------
    def parse_all(self, raw_limits: list[Any], where: str = "limits") -> list[Limit]:
        """Limits from their JSON forms, as configuration; ValueError naming the place."""
        return [self._parse(raw, f"{where}[{i}]", "fixtures") for i, raw in enumerate(raw_limits)]

    def configure(self, limits: list[Limit]) -> None:
        """The configured limits (the vendors' settings and the fixtures' `limits`), in force now."""
        self._configured = list(limits)
        self.reset()

    def reset(self, keep_current: bool = False) -> None:
        """Back to the configured limits, or (`keep_current`) keep the ones in force; either way
        every bucket is full again."""
        with self._lock:
            if not keep_current:
                self._limits = {lim.id: lim for lim in self._configured}
                self._ids = itertools.count(1)
            self._buckets.clear()

    def add(self, raw: Any) -> Limit:
        """Add a limit from its JSON form; an id already in use (a built-in one) is replaced."""
        limit = raw if isinstance(raw, Limit) else self._parse(raw, "", "runtime")
        with self._lock:
            self._limits[limit.id] = limit
            self._buckets = {k: b for k, b in self._buckets.items() if k[0] != limit.id}
        return limit

    def remove(self, limit_id: str) -> bool:
        with self._lock:
            found = self._limits.pop(limit_id, None) is not None
        return found

    def clear(self) -> None:
        """No limits at all (a load test that wants none); a reset brings them back."""
        with self._lock:
            self._limits.clear()
            self._buckets.clear()

    def limits(self) -> list[Limit]:
        with self._lock:
            return list(self._limits.values())

    def get(self, limit_id: str) -> Limit | None:
        return self._limits.get(limit_id)

    def of_kind(self, vendor: str, kind: str) -> Limit | None:
        """The first limit in force of `kind` for `vendor` (the built-in ones are unique)."""
        return next((lim for lim in self._limits.values() if lim.vendor == vendor and lim.kind == kind), None)

    # --- token buckets ------------------------------------------------------------------------
    def take(self, vendor: str, app: str | None, user: str | None) -> tuple[Limit, float] | None:
        """Take one token from each bucket this request falls under; the first empty bucket's
        limit and the seconds until it has a token again, or None when every bucket allows it."""
        buckets = [lim for lim in self._limits.values() if lim.kind == "token-bucket" and lim.vendor == vendor]
        if not buckets:
            return None
        now = self._clock.now()
        with self._lock:
            for limit in buckets:
                key = (app or "") if limit["per"] != "user" else f"{app or ''}\x00{user or ''}"
                rate, burst = float(limit["rate"]), float(limit["burst"])
                bucket = self._buckets.get((limit.id, key))
                if bucket is None:
                    bucket = self._buckets[(limit.id, key)] = _Bucket(burst, now)
                bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
                bucket.at = now
                if bucket.tokens < 1.0:
                    return limit, (1.0 - bucket.tokens) / rate if rate > 0 else 60.0
                bucket.tokens -= 1.0
        return None

    def _parse(self, raw: Any, where: str, scope: str) -> Limit:
        if isinstance(raw, Limit):
            return raw
        problem = _schema().problem(raw)
        if problem is not None:
            raise ValueError(_place(where, problem.location, problem.plain or problem.detail))
        kind = raw["kind"]
        vendor = BUILT_IN_KINDS.get(kind) or raw["vendor"]  # the schema requires it for a bucket
        if raw.get("vendor", vendor) != vendor:
            raise ValueError(_place(where, "vendor", f"a {kind} limit is {vendor}'s"))
        settings = {k: v for k, v in raw.items() if k not in ("id", "kind", "vendor")}
        if kind == "token-bucket":
            settings.setdefault("per", "app")
            settings.setdefault("burst", max(1, int(float(settings["rate"]))))
        default_id = f"{vendor}-{kind}" if kind in BUILT_IN_KINDS else f"limit-{next(self._ids)}"
        return Limit(str(raw.get("id") or default_id), kind, vendor, settings, scope)


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a limit that refuses a request says; each vendor puts it into its own error."""

    message: str
    retry_after: float | None  # the Retry-After to send, or None for none
    limit: str  # the limit's id, for the journal


def refusal(limit: Limit, message: str, wait: float | None = None) -> Refusal:
    """A limit's refusal: its own `message` setting or the vendor's `message`; Retry-After only
    if the limit is configured to send it (`retryAfter: true` sends `wait`, a number sends itself)."""
    configured = limit.settings.get("retryAfter")
    if configured is True:
        configured = wait
    return Refusal(limit.settings.get("message", message), configured if configured not in (None, False) else None,
                   limit.id)


def retry_after_header(seconds: float) -> str:
    """A Retry-After value: whole seconds, rounded up, so a client that waits it gets through."""
    return str(max(0, math.ceil(seconds - 1e-9)))


def _place(where: str, location: str, detail: str) -> str:
    place = ".".join(p for p in (where, location) if p)
    return f"{place}: {detail}" if place else detail


@functools.cache
def _schema() -> SchemaValidator:
    return ApiSpec.of("control").validator("#/components/schemas/Limit")
