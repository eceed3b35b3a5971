"""Leanplum's per-user limits: strict device locking and the development-mode rate.

Strict device locking: while one request for a user is being processed, another request for
the same user is refused with 429. The fake processes a request without yielding unless a
processing delay is configured, so concurrent requests collide only when they truly overlap.

Development mode: at most `perSecond` requests in any one-second window per user, on the
fake's clock.

Which of them are in force, with what numbers, is the `LimitBook`'s to say.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from pushfake.core.clock import Clock
from pushfake.core.limits import Limit, LimitBook, refusal
from pushfake.leanplum import errors
from pushfake.leanplum.errors import LeanplumError

_WINDOW = 1.0 - 1e-6  # one second, forgiving the rounding of epoch floats (t + 0.1 - t < 0.1)


class UserLimits:
    def __init__(self, clock: Clock, book: LimitBook) -> None:
        self._clock = clock
        self._book = book
        self._busy: set[tuple[str, str]] = set()
        self._dev_requests: dict[tuple[str, str], deque[float]] = {}  # accepted times, last second
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, app_id: str, user_id: str, dev_mode: bool) -> Iterator[None]:
        """Lock the user for one request, or raise 429."""
        key = (app_id, user_id)
        locking = self._book.of_kind("leanplum", "device-locking")
        rate = self._book.of_kind("leanplum", "dev-mode-rate") if dev_mode else None
        with self._lock:
            if locking is not None and key in self._busy:
                raise refused(locking, errors.CONCURRENT_REQUESTS)
            if rate is not None:
                now = self._clock.now()
                recent = self._dev_requests.setdefault(key, deque())
                while recent and now - recent[0] >= _WINDOW:
                    recent.popleft()
                if len(recent) >= rate["perSecond"]:
                    raise refused(rate, errors.DEV_MODE_RATE_LIMIT, recent[0] + 1.0 - now)
                recent.append(now)
            self._busy.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._busy.discard(key)

    def reset(self) -> None:
        with self._lock:
            self._busy.clear()
            self._dev_requests.clear()


def refused(limit: Limit, message: str, wait: float | None = None) -> LeanplumError:
    """The 429 (403 for `multi-size`) a limit answers with (`core.limits.refusal`)."""
    said = refusal(limit, message, wait)
    return LeanplumError(403 if limit.kind == "multi-size" else 429, said.message, retry_after=said.retry_after,
                         limit=said.limit)
