"""Work due at a time on the fake's clock (scheduled sends, the gateway's attempts and retries).

The work itself lives in the store's agenda `("scheduler", "due")` as data, `(kind, payload)`,
never as a callable: whichever fake on the store finds it due runs the handler it registered for
that kind (`handle`), so work scheduled through one fake is done by another, and the store's
reset forgets it all.

With a `ManualClock`, `run_due` runs whatever is due after the test moves the clock
(`Fake.advance`). In a live server, `run_forever` sleeps until the next item is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.store import Store

Handler = Callable[[Any], None]


class Scheduler:
    """`on_error(exc)` hears of a handler that raised; the scheduler goes on with the next item
    (one broken item must not stop every later delivery)."""

    def __init__(self, clock: Clock, store: Store, on_error: Callable[[Exception], None] | None = None) -> None:
        self._clock = clock
        self._store = store
        self._agenda = store.agenda("scheduler", "due")
        self._on_error = on_error
        self._handlers: dict[str, Handler] = {}  # wiring: what this fake does with each kind
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle(self, kind: str, handler: Handler) -> None:
        """Run `handler(payload)` for each item of `kind` that falls due."""
        self._handlers[kind] = handler

    def call_at(self, when: float, kind: str, payload: Any = None) -> None:
        """Work of `kind` due at `when`; `payload` is plain data (ids, numbers, records)."""
        self._agenda.add(when, (kind, payload))
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
        return self._agenda.next_due()

    def run_due(self, limit: int | None = None) -> int:
        """Run the items due by now (at most `limit`), in time order; returns how many ran."""
        ran = 0
        agenda, transaction = self._agenda, self._store.transaction
        while limit is None or ran < limit:
            with transaction():
                due = agenda.pop_due(self._clock.now())
            if due is None:
                return ran
            kind, payload = due[1]
            try:
                handler = self._handlers.get(kind)
                if handler is None:
                    raise LookupError(f"no handler for scheduled work of kind {kind!r}")
                handler(payload)
            except Exception as exc:
                if self._on_error is None:
                    raise
                self._on_error(exc)
            ran += 1
        return ran

    async def run_forever(self, idle_seconds: float = 1.0, batch: int = 1) -> None:
        """Run items as they fall due, giving the event loop a turn every `batch` of them;
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
