"""Work due at a time on the fake's clock (scheduled sends, the gateway's attempts and retries).

The work itself lives in the store's agenda `("scheduler", "due")` as data, `(kind, payload)`,
never as a callable: whichever fake on the store finds it due runs the handler it registered for
that kind (`handle`), so work scheduled through one fake is done by another, and the store's
reset forgets it all.

With a `ManualClock`, `run_due` runs whatever is due after the test moves the clock
(`Fake.advance`). In a live server, `run_forever` sleeps until the next item is due, or until
it is woken: by this process (`wake`: new work, the clock moved) or through the store's change
channels `("scheduler",)` (another process added work due earlier than any before) and
`("clock",)` (another process moved the shared clock), which a shared backend carries across
processes.

Of several processes on one store, only the one holding the lease (`core.lease`) runs due work:
`run_forever(lease=...)` takes it, renews it every third of its TTL, tries again every third of
it while another holds it, and lets it go when stopped, telling the others at once on the change
channel `("scheduler", "lease")`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from pushfake.core.changes import Changes, settle, wait_at_most
from pushfake.core.clock import Clock
from pushfake.core.store import Store

Handler = Callable[[Any], None]

log = logging.getLogger("pushfake")

WAKE_ON = (("scheduler",), ("clock",))  # the change channels a running scheduler looks again on
RELEASED = ("scheduler", "lease")  # the change channel a released lease is announced on


class SchedulerLease(Protocol):
    """What `run_forever` needs of a lease (`core.lease.Lease`)."""

    ttl: float

    @property
    def held(self) -> bool: ...

    def acquire(self) -> bool:
        """Take the lease, or renew it if held; whether it is held."""

    def release(self) -> bool: ...


class Scheduler:
    """`on_error(exc)` hears of a handler that raised; the scheduler goes on with the next item
    (one broken item must not stop every later delivery)."""

    def __init__(self, clock: Clock, store: Store, on_error: Callable[[Exception], None] | None = None) -> None:
        self._clock = clock
        self._store = store
        self._agenda = store.agenda("scheduler", "due")
        self._on_error = on_error
        self._handlers: dict[str, Handler] = {}  # wiring: what this fake does with each kind
        self._waiting: asyncio.Future[None] | None = None  # what `run_forever` waits on, if it waits
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_work = store.changes(*WAKE_ON[0])
        self._renew_at = 0.0  # time.monotonic() when a held lease is renewed next

    def handle(self, kind: str, handler: Handler) -> None:
        """Run `handler(payload)` for each item of `kind` that falls due."""
        self._handlers[kind] = handler

    def call_at(self, when: float, kind: str, payload: Any = None) -> None:
        """Work of `kind` due at `when`; `payload` is plain data (ids, numbers, records)."""
        earliest = self._agenda.next_due()
        self._agenda.add(when, (kind, payload))
        self.wake()
        if earliest is None or when < earliest:
            self._new_work.notify()  # the process running due work may be another one

    def wake(self) -> None:
        """Make `run_forever` look again at what is due (new work, or the clock moved); safe
        from any thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._woken()
        else:
            try:
                loop.call_soon_threadsafe(self._woken)
            except RuntimeError:  # the loop closed: nothing runs on it any more
                pass

    def _woken(self) -> None:
        # on the loop: wakes the wait in progress; a wake while none is lets the next one go by,
        # since `run_forever` looks at what is due before each wait
        waiting = self._waiting
        if waiting is not None:
            settle(waiting)

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

    async def run_forever(self, idle_seconds: float = 1.0, batch: int = 1,
                          lease: SchedulerLease | None = None) -> None:
        """Run items as they fall due, giving the event loop a turn every `batch` of them;
        cancel the task to stop. With a `lease`, only while holding it (see the module)."""
        loop = self._loop = asyncio.get_running_loop()
        following = _Following([self._store.changes(*name) for name in WAKE_ON], self.wake)
        try:
            while True:
                if lease is not None and not await self._turn(lease):
                    continue
                if await self._turn_of_work(batch) == batch:
                    await asyncio.sleep(0)
                    continue
                due = self.next_due()
                wait = idle_seconds if due is None else max(0.0, min(idle_seconds, due - self._clock.now()))
                if lease is not None:
                    wait = min(wait, max(0.0, self._renew_at - time.monotonic()))
                self._waiting = loop.create_future()
                try:
                    await wait_at_most(self._waiting, wait)
                finally:
                    self._waiting = None
        finally:
            following.stop()
            self._loop = None
            if lease is not None:
                self._let_go(lease)

    async def _turn_of_work(self, batch: int) -> int:
        """`run_due(batch)` as one turn at the store (a shared store: written in one round trip).
        The work's own failure is raised as ever; the store's is logged and the work is looked at
        again on the next turn (a shared store then loads the world as Redis has it)."""
        failure: Exception | None = None
        ran = 0
        try:
            async with self._store.turn():
                try:
                    ran = self.run_due(limit=batch)
                except Exception as exc:  # noqa: BLE001 - raised below, once the turn is over
                    failure = exc
        except Exception as exc:  # noqa: BLE001 - the store's: never the end of the scheduler
            log.warning("pushfake could not write the scheduled work it ran (%s: %s)", type(exc).__name__, exc)
        if failure is not None:
            raise failure
        return ran

    async def _turn(self, lease: SchedulerLease) -> bool:
        """Whether this scheduler may run due work now: it holds the lease (renewed once a third
        of its TTL has passed). If not, it waits first, a third of the TTL or until a holder
        announces it let the lease go."""
        if lease.held and time.monotonic() < self._renew_at:
            return True
        released = self._store.changes(*RELEASED)
        future = released.subscribe()  # before trying, so a release just after is not missed
        try:
            if self._hold(lease):
                return True
            await wait_at_most(future, lease.ttl / 3)
        finally:
            released.unsubscribe(future)
        return False

    def _hold(self, lease: SchedulerLease) -> bool:
        """Take or renew the lease; a Redis that cannot be reached means not holding it."""
        now, was_held = time.monotonic(), lease.held
        try:
            held = lease.acquire()
        except Exception as exc:  # noqa: BLE001 - Redis away: wait and try again, never die
            log.warning("pushfake could not take or renew the scheduler's lease (%s: %s)", type(exc).__name__, exc)
            held = False
        if held:
            self._renew_at = now + lease.ttl / 3
            if not was_held:
                log.info("pushfake: process %d runs the scheduled work now", os.getpid())
        elif was_held:
            log.warning("pushfake: process %d lost the scheduler's lease; another runs the scheduled work", os.getpid())
        return held

    def _let_go(self, lease: SchedulerLease) -> None:
        """Release a held lease and say so, so another process takes it at once."""
        if not lease.held:
            return
        try:
            lease.release()
        except Exception as exc:  # noqa: BLE001 - it runs out by itself within its TTL
            log.warning("pushfake could not release the scheduler's lease (%s: %s)", type(exc).__name__, exc)
            return
        self._store.changes(*RELEASED).notify()


class _Following:
    """Calls `wake` at every notify of each of `channels` (on the running loop) until `stop`."""

    def __init__(self, channels: list[Changes], wake: Callable[[], None]) -> None:
        self._wake = wake
        self._futures: dict[int, tuple[Changes, asyncio.Future[None]]] = {}
        for channel in channels:
            self._follow(channel)

    def _follow(self, channel: Changes) -> None:
        future = channel.subscribe()
        self._futures[id(channel)] = channel, future
        future.add_done_callback(lambda _: self._changed(channel))

    def _changed(self, channel: Changes) -> None:
        if id(channel) in self._futures:  # not stopped
            self._follow(channel)  # subscribed again before anyone looks
            self._wake()

    def stop(self) -> None:
        futures, self._futures = self._futures, {}
        for channel, future in futures.values():
            channel.unsubscribe(future)
