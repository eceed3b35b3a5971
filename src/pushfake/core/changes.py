"""Wake-ups for long-polls: whoever waits for "a delivery or request matching X" sleeps until
something changed, then looks again. Safe across threads and event loops; free when nobody
waits (one list check per change).
"""

from __future__ import annotations

import asyncio
import threading


class Changes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def subscribe(self) -> asyncio.Future[None]:
        """A future that completes at the next change. Subscribe *before* looking, so a change
        between the look and the wait is not missed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiters.append((loop, future))
        return future

    def unsubscribe(self, future: asyncio.Future[None]) -> None:
        with self._lock:
            self._waiters = [(loop, f) for loop, f in self._waiters if f is not future]

    def notify(self) -> None:
        if not self._waiters:
            return
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_done, future)


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
