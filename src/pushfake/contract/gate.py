"""The one door every request of a contract run goes through (a `requests` transport adapter).

It keeps the promises made to the owner of a real account: a request the safety policy refuses
never leaves, the request budget is never exceeded, requests are spaced to the rate cap, and a
429 is honoured with back-off (its Retry-After when it has one). In a dry run nothing leaves at
all. Every request, sent or not, is logged with a curl command that reproduces it.

Refusals reach the caller as `Withheld` (a `requests` exception), so a check can tell "not sent"
from "answered" and report it as such.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import requests.adapters

from pushfake.contract import wire

Policy = Callable[[requests.PreparedRequest], "str | None"]  # a reason to withhold, or None
MAX_BACKOFF = 60.0
RETRIES_ON_429 = 3


class Withheld(requests.RequestException):
    """The gate kept the request back; `reason` says why."""

    def __init__(self, reason: str, request: requests.PreparedRequest) -> None:
        super().__init__(reason, request=request)
        self.reason = reason


class BudgetExhausted(Withheld):
    """The run's request budget is spent."""


class DryRun(Withheld):
    """A dry run: the request was listed, not sent."""


@dataclass
class Exchange:
    """One request of the run, as the report shows it."""

    seq: int
    method: str
    url: str
    curl: str
    outcome: str  # "answered", "withheld", "dry run", "over budget", "error"
    status: int | None = None
    reason: str | None = None
    retries: int = 0
    elapsed: float = 0.0
    answer: str = ""  # the start of the response body
    messages: tuple[str, ...] = ()  # every "message" text in a JSON answer (warnings, errors)


@dataclass
class Gate:
    """The run's limits and log. `sleep` and `monotonic` are injectable for tests."""

    policy: Policy | None = None
    budget: int | None = None
    rate: float | None = None
    dry_run: bool = False
    backoff_on_429: bool = False
    secrets: dict[str, str] = field(default_factory=dict)  # {variable: value} the log writes as a placeholder
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    log: list[Exchange] = field(default_factory=list)
    sent: int = 0
    _last: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else max(self.budget - self.sent, 0)

    def counts(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for exchange in self.log:
            totals[exchange.outcome] = totals.get(exchange.outcome, 0) + 1
        return totals

    def _record(self, request: requests.PreparedRequest, outcome: str, **extra: Any) -> Exchange:
        exchange = Exchange(seq=len(self.log) + 1, method=request.method or "GET", url=request.url or "",
                            curl=wire.curl(request, self.secrets), outcome=outcome, **extra)
        self.log.append(exchange)
        return exchange

    def _pace(self) -> None:
        if self.rate is None:
            return
        now = self.monotonic()
        if self._last is not None:
            wait = self._last + 1.0 / self.rate - now
            if wait > 0:
                self.sleep(wait)
                now += wait
        self._last = now

    def _spend(self, request: requests.PreparedRequest) -> None:
        if self.budget is not None and self.sent >= self.budget:
            self._record(request, "over budget", reason=f"the budget of {self.budget} requests is spent")
            raise BudgetExhausted(f"the request budget ({self.budget}) is spent", request)
        self.sent += 1

    def send(self, request: requests.PreparedRequest, inner: requests.adapters.BaseAdapter,
             **kwargs: Any) -> requests.Response:
        with self._lock:
            reason = self.policy(request) if self.policy is not None else None
            if reason is not None:
                self._record(request, "withheld", reason=reason)
                raise Withheld(f"withheld by safe mode: {reason}", request)
            if self.dry_run:
                self._record(request, "dry run")
                raise DryRun("dry run: listed, not sent", request)
            retries = 0
            while True:
                self._spend(request)
                self._pace()
                started = self.monotonic()
                try:
                    response = inner.send(request, **kwargs)
                except requests.RequestException as exc:
                    self._record(request, "error", reason=str(exc)[:200], retries=retries)
                    raise
                if response.status_code != 429 or not self.backoff_on_429 or retries >= RETRIES_ON_429:
                    break
                self.sleep(_backoff(response, retries))
                retries += 1
            self._record(request, "answered", status=response.status_code, retries=retries,
                         elapsed=self.monotonic() - started, answer=response.content[:300].decode("utf-8", "replace"),
                         messages=_messages(response))
            return response


def _messages(response: requests.Response) -> tuple[str, ...]:
    """The texts under every "message" (and "result") key of a JSON answer: what the answer table counts."""
    try:
        body = response.json()
    except ValueError:
        return ()
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("message", "result") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body)
    return tuple(found[:20])


def _backoff(response: requests.Response, retries: int) -> float:
    """Retry-After in seconds when the answer gives one, else 1, 2, 4 s; never above MAX_BACKOFF."""
    value = response.headers.get("Retry-After", "")
    try:
        wait = float(value)
    except ValueError:
        wait = 2.0 ** retries
    return min(max(wait, 0.0), MAX_BACKOFF)


class GatedAdapter(requests.adapters.BaseAdapter):
    """A `requests` adapter that sends through `gate` to `inner` (the network, or a fake in this
    process)."""

    def __init__(self, gate: Gate, inner: requests.adapters.BaseAdapter) -> None:
        super().__init__()
        self.gate = gate
        self.inner = inner

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        return self.gate.send(request, self.inner, **kwargs)

    def close(self) -> None:
        self.inner.close()


def session_through(gate: Gate, inner: requests.adapters.BaseAdapter) -> requests.Session:
    """A `requests.Session` whose every request goes through `gate`."""
    session = requests.Session()
    adapter = GatedAdapter(gate, inner)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "pushfake-contract"
    return session
