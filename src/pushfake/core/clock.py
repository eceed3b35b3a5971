"""One clock for everything time-dependent, so tests can pin and advance it.

`SystemClock` is real time (a live server); it can also be frozen, moved on and set, so a test
in another process can pin a live server's time through the control plane. How far it is moved
and where it is frozen live in its store (the cell `("clock", "time")`, under the owner `OWNER`,
which `Fake.reset` keeps), so every clock on one store (every worker of one world) shows one
time: a clock moved in one process is moved in all, and the move is announced on the store's
change channel `("clock",)`, which wakes every process's scheduler. `ManualClock` only
moves when told to, and its `sleep` returns at once after advancing, so simulated waits never
cost real time.

Both hold their time between the epoch and the last second of the year 9999 (`checked_time`,
`checked_step`): a time beyond is refused before the clock moves, and a running clock set near
the end stops there, so every date the fake formats from it stays one a date can name.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Protocol

from pushfake.core.store import MemoryStore, Store

EARLIEST = 0.0  # 1970-01-01T00:00:00Z: no clock of the fake is set before the epoch
LATEST = 253_402_300_799.0  # 9999-12-31T23:59:59Z: the last moment an ISO 8601 date-time can name
OWNER = "clock"  # the store owner of a SystemClock's state; `Fake.reset` keeps it


class TimeOutOfRange(ValueError):
    """A time (or a step of the clock) the fake cannot hold: not a finite number, before the
    epoch or past the year 9999. Raised before anything moves."""


def checked_time(when: float) -> float:
    """`when` as epoch seconds if the clock may stand there; TimeOutOfRange if not.

    Every clock, the journal, the inbox and the vendors' date fields format the time as a
    date; a time no date can name would break each of them later, far from its cause."""
    try:
        value = float(when)
    except (OverflowError, TypeError, ValueError):
        raise TimeOutOfRange(f"{when!r} is not a time between 1970 and the year 9999") from None
    if not math.isfinite(value) or not EARLIEST <= value <= LATEST:
        raise TimeOutOfRange(f"{_short(when)} is not a time between 1970 and the year 9999")
    return value


def checked_step(now: float, seconds: float) -> float:
    """Where the clock lands after moving on `seconds` from `now`; TimeOutOfRange (for a step
    that is negative, not finite, or lands past the year 9999) before anything moves."""
    try:
        step = float(seconds)
    except (OverflowError, TypeError, ValueError):
        raise TimeOutOfRange("the clock can move on by a finite number of seconds only") from None
    if not math.isfinite(step):
        raise TimeOutOfRange("the clock can move on by a finite number of seconds only")
    if step < 0:
        raise TimeOutOfRange("a clock cannot go backwards")
    if now + step > LATEST:
        raise TimeOutOfRange(f"moving on {_short(seconds)} seconds would pass the year 9999")
    return now + step


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""

    def restart(self, at: float | None = None) -> None:
        """Start again from `at` (or where it started); only a reset moves a clock backwards."""


class SystemClock:
    """Wall-clock time, optionally shifted (`advance`, `set`) or stopped (`freeze`).

    Its state is kept in `store` (a `MemoryStore` of its own if none is given), so two clocks
    on one store agree: `(offset, frozen_at)` in one cell, None meaning real time and running.
    `now` reads the cell (no lock: a move writes it whole, in one `set`); every move reads and
    writes it in one store transaction, so two processes moving the clock at once do not mix
    their moves.

    `sleep` is a real asyncio sleep that ends once this clock has moved on by `seconds`: while
    the clock is frozen it waits for `advance`, `set` or `unfreeze`.
    """

    _POLL = 0.02  # how often a sleep on a frozen clock looks again

    def __init__(self, store: Store | None = None) -> None:
        self._store = store = store if store is not None else MemoryStore()
        self._state = store.cell(OWNER, "time")
        self._changes = store.changes(OWNER)
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        state = self._state.get()
        if state is None:
            return min(time.time(), LATEST)
        offset, frozen_at = state
        return frozen_at if frozen_at is not None else _running(offset)

    @property
    def frozen(self) -> bool:
        state = self._state.get()
        return state is not None and state[1] is not None

    async def sleep(self, seconds: float) -> None:
        until = self.now() + max(0.0, seconds)
        while (left := until - self.now()) > 0:
            await asyncio.sleep(self._POLL if self.frozen else left)

    def freeze(self) -> None:
        with self._store.transaction():
            offset, frozen_at = self._read()
            if frozen_at is None:
                self._state.set((offset, _running(offset)))
        self._changed()

    def unfreeze(self) -> None:
        """Run on from the frozen moment (time does not jump to the wall clock)."""
        with self._store.transaction():
            _, frozen_at = self._read()
            if frozen_at is not None:
                self._state.set((frozen_at - time.time(), None))
        self._changed()

    def advance(self, seconds: float) -> None:
        with self._store.transaction():  # two processes moving on at once move it on by both
            self._move_to(checked_step(self.now(), seconds))
        self._changed()

    def restart(self, at: float | None = None) -> None:
        """Run again, unfrozen, from `at` (which may be in the past) or from real time: a reset
        takes back whatever a test did to the clock."""
        if at is not None:
            at = checked_time(at)
        with self._store.transaction():
            self._state.set(None if at is None else (float(at) - time.time(), None))
        self._changed()

    def set(self, when: float) -> None:
        when = checked_time(when)
        with self._store.transaction():
            if when < self.now():
                raise ValueError("a clock cannot go backwards")
            self._move_to(when)
        self._changed()

    def _move_to(self, when: float) -> None:
        _, frozen_at = self._read()
        self._state.set((0.0, when) if frozen_at is not None else (when - time.time(), None))

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever this clock is moved, frozen or unfrozen (the scheduler wakes
        up to recompute what is due); a clock moved through another one on the store is heard
        of on the store's change channel `("clock",)` instead."""
        self._listeners.append(listener)

    def _read(self) -> tuple[float, float | None]:
        state = self._state.get()
        return (0.0, None) if state is None else state

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()
        self._changes.notify()


def _running(offset: float) -> float:
    # a clock set near the end of the year 9999 and left running stops there
    return min(time.time() + offset, LATEST)


async def wire_wait(clock: Clock, seconds: float) -> None:
    """Wait as a request in flight would: real time on a live server (`SystemClock`), frozen
    or not, since the client on the other end waits in real time; on a `ManualClock`, the
    clock's own time (no real waiting). A real wait lasts at least `seconds`: uvloop's timers
    count whole milliseconds from a cached loop time and may wake a fraction of one early."""
    if isinstance(clock, SystemClock):
        deadline = time.monotonic() + max(0.0, seconds)
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(left)
    else:
        await clock.sleep(seconds)


class ManualClock:
    """A clock that stands still until `advance` or `set` moves it."""

    frozen = True

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.start = checked_time(start)
        self._now = self.start

    def restart(self, at: float | None = None) -> None:
        """Back to `at` (or the start time): the one way this clock goes backwards, for a reset."""
        self._now = self.start if at is None else checked_time(at)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now = checked_step(self._now, seconds)

    def set(self, when: float) -> None:
        when = checked_time(when)
        if when < self._now:
            raise ValueError("a clock cannot go backwards")
        self._now = float(when)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
