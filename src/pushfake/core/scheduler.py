"""Work due at a time on the fake's clock (scheduled sends, the gateway's attempts and retries).

With a `ManualClock`, `run_due` runs whatever is due after the test moves the clock
(`Fake.advance`). In a live server, `run_forever` sleeps until the next item is due.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections.abc import Callable

from pushfake.core.clock import Clock


class Scheduler:
    """`on_error(exc)` hears of a callback that raised; the scheduler goes on with the next one
    (one broken item must not stop every later delivery)."""

    def __init__(self, clock: Clock, on_error: Callable[[Exception], None] | None = None) -> None:
        self._clock = clock
        self._on_error = on_error
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._order), callback))
        self.wake()

    def wake(self) -> None:
        """Make `run_forever` look again at what is due (new work, or the clock moved); safe
        from any thread."""
        wake, loop = self._wake, self._loop
        if wake is None or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def next_due(self) -> float | None:
        with self._lock:
            return self._heap[0][0] if self._heap else None

    def run_due(self, limit: int | None = None) -> int:
        """Run callbacks due by now (at most `limit`), in time order; returns how many ran."""
        ran = 0
        while limit is None or ran < limit:
            with self._lock:
                if not self._heap or self._heap[0][0] > self._clock.now():
                    return ran
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception as exc:
                if self._on_error is None:
                    raise
                self._on_error(exc)
            ran += 1
        return ran

    def clear(self) -> None:
        with self._lock:
            self._heap.clear()

    async def run_forever(self, idle_seconds: float = 1.0, batch: int = 1) -> None:
        """Run callbacks as they fall due, giving the event loop a turn every `batch` of them;
        cancel the task to stop."""
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        while True:
            if self.run_due(limit=batch) == batch:
                await asyncio.sleep(0)
                continue
            due = self.next_due()
            wait = idle_seconds if due is None else max(0.0, min(idle_seconds, due - self._clock.now()))
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                pass
