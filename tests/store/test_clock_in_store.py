"""A live server's clock keeps its state in the store (`SystemClock(store)`): every worker on one
world shows one time, so `POST /_pushfake/clock/freeze` on one worker freezes them all.

Each test takes two processes' views of one world from the fixture `two_stores`: here one
`MemoryStore` twice; a shared backend gives two stores on one world. What must be current is
read under the reader's transaction (a replica is brought up to date there).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from pushfake.core.clock import OWNER, SystemClock
from pushfake.core.scheduler import Scheduler
from pushfake.core.store import MemoryStore, Store

HOUR = 3600.0


@pytest.fixture
def two_stores() -> tuple[Store, Store]:
    """Two processes' stores on one world."""
    store = MemoryStore()
    return store, store


@pytest.fixture
def clocks(two_stores: tuple[Store, Store]) -> tuple[SystemClock, SystemClock]:
    a, b = two_stores
    return SystemClock(a), SystemClock(b)


def seen(clock: SystemClock, store: Store) -> tuple[float, bool]:
    """The time and whether it is frozen, as `clock`'s process sees them now."""
    with store.transaction():
        return clock.now(), clock.frozen


def test_freezing_one_freezes_the_other(clocks: tuple[SystemClock, SystemClock],
                                        two_stores: tuple[Store, Store]) -> None:
    a, b = clocks
    a.freeze()
    frozen_at = a.now()
    time.sleep(0.02)
    assert seen(b, two_stores[1]) == (frozen_at, True)
    b.unfreeze()  # from the other process: both run on from the frozen moment
    now, frozen = seen(a, two_stores[0])
    assert not frozen and frozen_at <= now < frozen_at + 1


def test_advancing_one_advances_the_other(clocks: tuple[SystemClock, SystemClock],
                                          two_stores: tuple[Store, Store]) -> None:
    a, b = clocks
    a.advance(HOUR)  # running
    now, frozen = seen(b, two_stores[1])
    assert not frozen and abs(now - (time.time() + HOUR)) < 1
    b.freeze()
    a.advance(HOUR)  # frozen: exactly an hour on
    assert seen(b, two_stores[1]) == (seen(a, two_stores[0])[0], True)
    assert seen(b, two_stores[1])[0] == pytest.approx(time.time() + 2 * HOUR, abs=1)
    a.set(a.now() + HOUR)
    later, _ = seen(b, two_stores[1])
    with pytest.raises(ValueError, match="cannot go backwards"):
        b.set(later - 1)  # each clock knows where the other moved them both
    b.restart()
    assert seen(a, two_stores[0])[1] is False and abs(a.now() - time.time()) < 1


def test_moves_at_once_from_both_add_up(two_stores: tuple[Store, Store]) -> None:
    """Two workers told to move the clock on at the same moment move it on by both steps."""
    switch = sys.getswitchinterval()
    clocks = [SystemClock(store) for store in two_stores for _ in range(2)]
    clocks[0].freeze()
    start, steps = clocks[0].now(), 500

    def advance(clock: SystemClock) -> None:
        for _ in range(steps):
            clock.advance(1)

    threads = [threading.Thread(target=advance, args=(clock,)) for clock in clocks]
    sys.setswitchinterval(1e-6)  # threads take turns often, as processes would
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert seen(clocks[1], two_stores[1])[0] == start + steps * len(clocks)


def test_a_reset_that_keeps_the_clock_owner_keeps_the_time(clocks: tuple[SystemClock, SystemClock],
                                                           two_stores: tuple[Store, Store]) -> None:
    a, b = clocks
    a.freeze()
    a.advance(HOUR)
    frozen_at = a.now()
    two_stores[1].reset(keep=(OWNER,))  # what `Fake.reset` does: the world goes, the clock stays
    assert seen(b, two_stores[1]) == (frozen_at, True)
    two_stores[1].reset()
    assert not seen(a, two_stores[0])[1], "a reset that does not keep it takes back the clock"


def test_listeners_hear_of_their_own_clock(clocks: tuple[SystemClock, SystemClock]) -> None:
    a, b = clocks
    heard: list[str] = []
    a.on_change(lambda: heard.append("a"))
    b.on_change(lambda: heard.append("b"))
    a.freeze()
    a.advance(1)
    b.unfreeze()
    assert heard == ["a", "a", "b"]


def test_the_other_processes_scheduler_wakes_when_the_clock_moves(clocks: tuple[SystemClock, SystemClock],
                                                                  two_stores: tuple[Store, Store]) -> None:
    """Work due in an hour runs as soon as another process moves the clock an hour on: its
    scheduler hears of it on the store's change channel `("clock",)`, not from a timer (it idles
    for a minute) nor from a listener (none is registered on its clock)."""
    a, b = clocks
    scheduler, ran = Scheduler(b, two_stores[1]), []
    scheduler.handle("job", ran.append)

    async def scenario() -> None:
        task = asyncio.create_task(scheduler.run_forever(idle_seconds=60))
        with two_stores[1].transaction():
            scheduler.call_at(b.now() + HOUR, "job", "an hour on")
        await asyncio.sleep(0.05)
        assert ran == []
        a.advance(HOUR)
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.wait({task}, timeout=5)
        assert ran == ["an hour on"]

    asyncio.run(scenario())


def test_a_clock_of_its_own_by_default() -> None:
    """Without a store a clock keeps its state in one of its own: two such clocks are apart."""
    a, b = SystemClock(), SystemClock()
    a.freeze()
    a.advance(HOUR)
    assert a.frozen and not b.frozen and a.now() > b.now() + HOUR - 1
