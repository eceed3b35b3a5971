"""Leanplum's per-user limits: strict device locking and the development-mode rate.

Strict device locking: while one request for a user is being processed, another request for
the same user is refused with 429. The fake processes a request without yielding unless a
processing delay is configured, so concurrent requests collide only when they truly overlap.

Development mode: at most `perSecond` requests in any one-second window per user, on the
fake's clock.

Which of them are in force, with what numbers, is the `LimitBook`'s to say. Which users have a
request running (`leanplum/busy`) and the development-mode requests of the last second
(`leanplum/dev-mode`), both by app and user, live in the store, so every fake on one store
locks and counts the same users.
"""

from __future__ import annotations

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
        self._store = book.store
        self._busy = book.store.table("leanplum", "busy")  # "<app>\x00<user>" -> True while a request runs
        self._dev_requests = book.store.table("leanplum", "dev-mode")  # -> times accepted in the last second

    @contextmanager
    def hold(self, app_id: str, user_id: str, dev_mode: bool) -> Iterator[None]:
        """Lock the user for one request, or raise 429; the lock goes when the request ends,
        however it ends."""
        key = f"{app_id}\x00{user_id}"
        locking = self._book.of_kind("leanplum", "device-locking")
        rate = self._book.of_kind("leanplum", "dev-mode-rate") if dev_mode else None
        with self._store.transaction():
            if locking is not None and key in self._busy:
                raise refused(locking, errors.CONCURRENT_REQUESTS)
            if rate is not None:
                now = self._clock.now()
                recent: tuple[float, ...] = self._dev_requests.get(key) or ()
                gone = 0
                while gone < len(recent) and now - recent[gone] >= _WINDOW:
                    gone += 1
                recent = recent[gone:]
                if len(recent) >= rate["perSecond"]:
                    raise refused(rate, errors.DEV_MODE_RATE_LIMIT, recent[0] + 1.0 - now)
                self._dev_requests.put(key, (*recent, now))
            self._busy.put(key, True)
        try:
            yield
        finally:
            with self._store.transaction():
                self._busy.delete(key)


def refused(limit: Limit, message: str, wait: float | None = None) -> LeanplumError:
    """The 429 (403 for `multi-size`) a limit answers with (`core.limits.refusal`)."""
    said = refusal(limit, message, wait)
    return LeanplumError(403 if limit.kind == "multi-size" else 429, said.message, retry_after=said.retry_after,
                         limit=said.limit)
