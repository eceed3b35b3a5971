"""D·engage's per-account limits: requests in flight (`concurrency`) and token buckets.

Concurrency: at most `limit` requests of one account are being processed at once; one more is
refused with 429. A request is in flight from its admission until it is answered (a processing
delay, when configured, keeps it there). The counts live in the store (`dengage/in-flight`, by
account), so every fake on one store counts the same requests. A reset of the fake empties them
with the rest of the world: a request still being processed is no longer counted, and its end is
counted off what is there, never below zero, so a reset never leaks a place. Which limits are in
force, with what numbers, is the `LimitBook`'s to say.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pushfake.core.limits import Limit, LimitBook, refusal
from pushfake.dengage.errors import DengageError


class AccountLimits:
    def __init__(self, book: LimitBook) -> None:
        self._book = book
        self._store = book.store
        self._in_flight = book.store.table("dengage", "in-flight")  # account id -> requests being processed

    @contextmanager
    def admitted(self, account_id: str, userkey: str, too_many: str) -> Iterator[None]:
        """Count a request in flight for the account, or refuse it with 429 (`too_many`: the
        operation's words for it); then take a token from the account's buckets, if any."""
        concurrency = self._book.of_kind("dengage", "concurrency")
        with self._store.transaction():
            count = self._in_flight.get(account_id) or 0
            if concurrency is not None and count >= concurrency["limit"]:
                raise refused(concurrency, too_many)
            bucket = self._book.take("dengage", account_id, userkey)
            if bucket is not None:
                raise refused(bucket[0], too_many, bucket[1])
            self._in_flight.put(account_id, count + 1)
        try:
            yield
        finally:
            with self._store.transaction():
                left = (self._in_flight.get(account_id) or 0) - 1
                if left > 0:
                    self._in_flight.put(account_id, left)
                else:
                    self._in_flight.delete(account_id)  # an account seen once holds no row for ever


def refused(limit: Limit, message: str, wait: float | None = None) -> DengageError:
    """A limit's 429 (`core.limits.refusal`)."""
    said = refusal(limit, message, wait)
    return DengageError(429, said.message, retry_after=said.retry_after, limit=said.limit)
