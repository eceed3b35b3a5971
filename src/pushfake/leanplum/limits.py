"""Leanplum's per-user limits: strict device locking and the development-mode rate.

Strict device locking: while one request for a user is being processed, another request for
the same user is refused with 429. The fake processes a request without yielding unless a
processing delay is configured, so concurrent requests collide only when they truly overlap.

Development mode: at most `dev_mode_per_second` requests per second per user, on the fake's
clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pushfake.core.clock import Clock
from pushfake.leanplum import errors
from pushfake.leanplum.errors import LeanplumError


class UserLimits:
    def __init__(self, clock: Clock, dev_mode_per_second: float, retry_after: float | None) -> None:
        self._clock = clock
        self._interval = 1.0 / dev_mode_per_second if dev_mode_per_second > 0 else 0.0
        self._retry_after = retry_after
        self._busy: set[tuple[str, str]] = set()
        self._last_dev_request: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, app_id: str, user_id: str, dev_mode: bool) -> Iterator[None]:
        """Lock the user for one request, or raise 429."""
        key = (app_id, user_id)
        with self._lock:
            if key in self._busy:
                raise LeanplumError(429, errors.CONCURRENT_REQUESTS, retry_after=self._retry_after)
            if dev_mode and self._interval:
                now = self._clock.now()
                last = self._last_dev_request.get(key)
                if last is not None and now - last < self._interval:
                    raise LeanplumError(429, errors.DEV_MODE_RATE_LIMIT, retry_after=self._retry_after)
                self._last_dev_request[key] = now
            self._busy.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._busy.discard(key)

    def reset(self) -> None:
        with self._lock:
            self._busy.clear()
            self._last_dev_request.clear()
