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

All of it lives in the store, so every fake on one store enforces the same limits with the same
buckets. Under the owner `IN_FORCE`, which a data-only reset keeps: the limits in force (`limits`;
None means the configured ones) and the numbering of run-time ids (`ids`); under `limits`, the
buckets, full again after any reset. The store's reset is the book's whole reset.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.spec import ApiSpec, SchemaValidator
from pushfake.core.store import Store

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


@dataclass(frozen=True, slots=True)
class Bucket:
    """One token bucket (`key`, in the book's table): the limit it belongs to, its tokens at `at`."""

    key: str
    limit: str
    tokens: float
    at: float


IN_FORCE = "limits-in-force"  # the store owner of the limits in force; `Fake.reset(keep_config)` keeps it


class LimitBook:
    def __init__(self, clock: Clock, store: Store) -> None:
        self._clock = clock
        self.store = store  # where the vendors' limits keep their own counts too
        self._ids = store.counter(IN_FORCE, "ids")
        self._in_force = store.cell(IN_FORCE, "limits")  # id -> Limit, in order; None: the configured ones
        self._buckets = store.table("limits", "buckets")  # _bucket_key(...) -> Bucket
        self._configured: list[Limit] = []

    # --- configuration -----------------------------------------------------------------------
    def parse_all(self, raw_limits: list[Any], where: str = "limits") -> list[Limit]:
        """Limits from their JSON forms, as configuration; ValueError naming the place. Only a
        check: the ids it gives are its own, the book's numbering is not touched."""
        ids = itertools.count(1)
        return [self._parse(raw, f"{where}[{i}]", "fixtures", lambda: f"limit-{next(ids)}")
                for i, raw in enumerate(raw_limits)]

    def configure(self, limits: list[Limit], *, in_force: bool = True) -> None:
        """The configured limits (the vendors' settings and the fixtures' `limits`), in force now.
        Without `in_force`, the limits in force in the store stay (a fake joining a world)."""
        self._configured = list(limits)
        if not in_force:
            return
        with self.store.transaction():
            self._in_force.set(None)

    def add(self, raw: Any) -> Limit:
        """Add a limit from its JSON form; an id already in use (a built-in one) is replaced, and
        its buckets are full again. A limit refused (ValueError) changes nothing."""
        with self.store.transaction():
            limits = self._limits()
            limit = self._parse(raw, "", "runtime", lambda: self._next_id(limits))
            self._in_force.set({**limits, limit.id: limit})
            self._drop_buckets(lambda bucket: bucket.limit == limit.id)
        return limit

    def remove(self, limit_id: str) -> bool:
        with self.store.transaction():
            limits = self._limits()
            if limit_id not in limits:
                return False
            self._in_force.set({k: v for k, v in limits.items() if k != limit_id})
        return True

    def clear(self) -> None:
        """No limits at all (a load test that wants none); a reset brings them back."""
        with self.store.transaction():
            self._in_force.set({})
            self._drop_buckets(lambda bucket: True)

    def limits(self) -> list[Limit]:
        return list(self._limits().values())

    def get(self, limit_id: str) -> Limit | None:
        return self._limits().get(limit_id)

    def of_kind(self, vendor: str, kind: str) -> Limit | None:
        """The first limit in force of `kind` for `vendor` (the built-in ones are unique)."""
        return next((lim for lim in self._limits().values() if lim.vendor == vendor and lim.kind == kind), None)

    # --- token buckets ------------------------------------------------------------------------
    def take(self, vendor: str, app: str | None, user: str | None) -> tuple[Limit, float] | None:
        """Take one token from each bucket this request falls under; the first empty bucket's
        limit and the seconds until it has a token again, or None when every bucket allows it."""
        buckets = [lim for lim in self._limits().values() if lim.kind == "token-bucket" and lim.vendor == vendor]
        if not buckets:
            return None
        now = self._clock.now()
        with self.store.transaction():
            for limit in buckets:
                key = _bucket_key(limit, app, user)
                rate, burst = float(limit["rate"]), float(limit["burst"])
                bucket = self._buckets.get(key)
                tokens = burst if bucket is None else min(burst, bucket.tokens + (now - bucket.at) * rate)
                if tokens < 1.0:
                    self._buckets.put(key, Bucket(key, limit.id, tokens, now))
                    return limit, (1.0 - tokens) / rate if rate > 0 else 60.0
                self._buckets.put(key, Bucket(key, limit.id, tokens - 1.0, now))
        return None

    # --- the limits in force -----------------------------------------------------------------
    def _limits(self) -> dict[str, Limit]:
        """The limits in force (never changed in place: a change puts a new dict in the cell)."""
        limits: dict[str, Limit] | None = self._in_force.get()
        if limits is None:
            with self.store.transaction():
                limits = self._in_force.get()
                if limits is None:
                    limits = {lim.id: lim for lim in self._configured}
                    self._in_force.set(limits)
        return limits

    def _next_id(self, limits: dict[str, Limit]) -> str:
        """The next run-time id not in force (the fixtures' limits number theirs from 1 too)."""
        while (limit_id := f"limit-{self._ids.next()}") in limits:
            pass
        return limit_id

    def _drop_buckets(self, which: Callable[[Bucket], bool]) -> None:
        for key in [bucket.key for bucket in self._buckets.values() if which(bucket)]:
            self._buckets.delete(key)

    def _parse(self, raw: Any, where: str, scope: str, next_id: Callable[[], str]) -> Limit:
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
        default_id = f"{vendor}-{kind}" if kind in BUILT_IN_KINDS else next_id()
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


def _bucket_key(limit: Limit, app: str | None, user: str | None) -> str:
    """A bucket's key: the limit's id (length first, so no id reads as another's prefix), then the
    app or account, and the user for a per-user bucket."""
    where = (app or "") if limit["per"] != "user" else f"{app or ''}\x00{user or ''}"
    return f"{len(limit.id)}:{limit.id}{where}"


def retry_after_header(seconds: float) -> str:
    """A Retry-After value: whole seconds, rounded up, so a client that waits it gets through."""
    return str(max(0, math.ceil(seconds - 1e-9)))


def _place(where: str, location: str, detail: str) -> str:
    place = ".".join(p for p in (where, location) if p)
    return f"{place}: {detail}" if place else detail


@functools.cache
def _schema() -> SchemaValidator:
    return ApiSpec.of("control").validator("#/components/schemas/Limit")
