"""What went wrong inside the fake itself (a bug in pushfake, not a fault it was asked for).

A request that raises answers 500 in the vendor's shape, and scheduled work that raises (a
gateway attempt, a scheduled send) would otherwise die unseen while a test waits for a push
that never comes. Both are recorded here, so the control plane, `POST /_pushfake/wait` and the
pytest plugin can report them in the test that caused them.
"""

from __future__ import annotations

import collections
import traceback
from dataclasses import dataclass
from typing import Any

from pushfake.core.changes import Changes


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
    """The latest failures (a bounded list), oldest first; `changes` wakes long-polls."""

    def __init__(self, size: int = 100) -> None:
        self._items: collections.deque[Failure] = collections.deque(maxlen=size)
        self._seq = 0
        self.changes = Changes()

    def record(self, where: str, exc: BaseException, at: float) -> Failure:
        self._seq += 1
        failure = Failure(self._seq, at, where, f"{type(exc).__name__}: {exc}",
                          "".join(traceback.format_exception(exc)))
        self._items.append(failure)
        self.changes.notify()
        return failure

    def list(self, after: int = 0) -> list[Failure]:
        return [f for f in self._items if f.seq > after]

    @property
    def last_seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        self._items.clear()
