"""Wake-ups for long-polls: whoever waits for "a delivery or request matching X" sleeps until
something changed, then looks again. Safe across threads and event loops; free when nobody
waits (one list check per change).

A wake-up says only "look again": a waiter woken for nothing finds nothing new and waits again,
so a backend may wake more often than things change (after a reconnect, say), never less.
"""

from __future__ import annotations

import asyncio
import threading


class Changes:
    """Waiters in this process. `notify` says something changed; here that is `wake`, and a
    backend shared by processes (`core.redis_changes`) publishes instead, waking every process's
    waiters, this one's too, when the message comes back."""

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
        """Something changed: every waiter looks again."""
        self.wake()

    def wake(self) -> None:
        """Complete every waiting future, each on its own loop; safe from any thread."""
        if not self._waiters:
            return
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(settle, future)
            except RuntimeError:  # its loop closed meanwhile: nobody is left to wake
                pass


def settle(future: asyncio.Future[None]) -> None:
    """Complete `future` unless it already is (woken, cancelled or timed out)."""
    if not future.done():
        future.set_result(None)


async def wait_at_most(future: asyncio.Future[None], seconds: float) -> None:
    """Wait until `future` completes or `seconds` pass (then it is completed here).

    Not `asyncio.wait_for`: on Python 3.11 it loses a cancel that arrives as the awaited thing
    completes or the time runs out (it returns, or raises TimeoutError, instead), and a task
    meant to stop (the scheduler at shutdown) would go on forever. Here a cancel always
    propagates: it cancels `future` or lands on the `await` itself."""
    timer = asyncio.get_running_loop().call_later(max(0.0, seconds), settle, future)
    try:
        await future
    finally:
        timer.cancel()
