"""What went wrong inside the fake itself (a bug in pushfake, not a fault it was asked for).

A request that raises answers 500 in the vendor's shape, and scheduled work that raises (a
gateway attempt, a scheduled send) would otherwise die unseen while a test waits for a push
that never comes. Both are recorded here, so the control plane, `POST /_pushfake/wait` and the
pytest plugin can report them in the test that caused them.

The failures live in the store under the owner "failures" (a log and its sequence counter), so
whichever fake on a shared store failed, every fake lists it.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

from pushfake.core.store import Log, Store


@dataclass(frozen=True)
class Failure:
    seq: int
    at: float
    where: str  # "POST /api" or "scheduled work"
    error: str  # "KeyError: 'x'"
    traceback: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "where": self.where, "error": self.error,
                "traceback": self.traceback}


class Failures:
    """The latest `size` failures, oldest first; `changes` wakes long-polls."""

    def __init__(self, store: Store, size: int = 100) -> None:
        self._store = store
        self._items: Log[Failure] = store.log("failures", "items")
        self._seq = store.counter("failures", "seq")  # kept by `clear`: a long-poll waits for seqs after one
        self.size = size
        self.changes = store.changes("failures")

    def record(self, where: str, exc: BaseException, at: float) -> Failure:
        text = "".join(traceback.format_exception(exc))
        with self._store.transaction():
            failure = Failure(self._seq.next(), at, where, f"{type(exc).__name__}: {exc}", text)
            self._items.append(failure)
            while len(self._items) > self.size:
                self._items.pop_oldest()
        self.changes.notify()
        return failure

    def list(self, after: int = 0) -> list[Failure]:
        with self._store.transaction():
            items = self._items.items()
        return [f for f in items if f.seq > after]

    @property
    def last_seq(self) -> int:
        return self._seq.value

    def clear(self) -> None:
        """Forget the failures listed so far (clearFailures); their numbers are not reused."""
        with self._store.transaction():
            while self._items.pop_oldest() is not None:
                pass
