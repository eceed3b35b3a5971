"""D·engage's per-account limits: requests in flight (`concurrency`) and token buckets.

Concurrency: at most `limit` requests of one account are being processed at once; one more is
refused with 429. A request is in flight from its admission until it is answered (a processing
delay, when configured, keeps it there), a reset of the fake meanwhile included: it is still being
processed, so it still counts, and its end is always counted off. Which limits are in force, with
what numbers, is the `LimitBook`'s to say.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pushfake.core.limits import Limit, LimitBook, refusal
from pushfake.dengage.errors import DengageError


class AccountLimits:
    def __init__(self, book: LimitBook) -> None:
        self._book = book
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def admitted(self, account_id: str, userkey: str, too_many: str) -> Iterator[None]:
        """Count a request in flight for the account, or refuse it with 429 (`too_many`: the
        operation's words for it); then take a token from the account's buckets, if any."""
        concurrency = self._book.of_kind("dengage", "concurrency")
        with self._lock:
            if concurrency is not None and self._in_flight.get(account_id, 0) >= concurrency["limit"]:
                raise refused(concurrency, too_many)
            bucket = self._book.take("dengage", account_id, userkey)
            if bucket is not None:
                raise refused(bucket[0], too_many, bucket[1])
            self._in_flight[account_id] = self._in_flight.get(account_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._in_flight[account_id] - 1
                if left:
                    self._in_flight[account_id] = left
                else:
                    del self._in_flight[account_id]  # an account seen once holds no entry for ever

    def reset(self) -> None:
        """Nothing to forget: the requests in flight are still in flight (see the module's doc)."""


def refused(limit: Limit, message: str, wait: float | None = None) -> DengageError:
    """A limit's 429 (`core.limits.refusal`)."""
    said = refusal(limit, message, wait)
    return DengageError(429, said.message, retry_after=said.retry_after, limit=said.limit)
