"""Change wake-ups across processes (`core.redis_changes`), on a real Redis: a long-poll in one
worker wakes when another worker changes the world, and the subscriber thread survives Redis
going away and coming back.

Each `ChangeChannels` stands for one process. Where a test must show a waiter was *not* woken,
it sends a marker after the message in question and waits for it: Redis delivers one
publisher's messages in order, so once the marker is in, the message before it was handled.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from pushfake.core.changes import Changes
from pushfake.core.clock import SystemClock
from pushfake.core.redis_changes import ChangeChannels
from pushfake.core.scheduler import Scheduler
from pushfake.core.store import MemoryStore
from tests.redis_server import redis_server_path, running_redis
from tests.support import stop_process

WAIT = 5.0
HOUR = 3600.0


@pytest.fixture
def two(redis_url: str) -> Iterator[tuple[ChangeChannels, ChangeChannels]]:
    a, b = ChangeChannels(redis_url, "world"), ChangeChannels(redis_url, "world")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


async def handled(waiting: ChangeChannels, sender: ChangeChannels) -> None:
    """Once this returns, `waiting` has handled every message `sender` published before (the
    marker goes on `waiting`'s channel through `sender`'s connection, whatever their namespaces)."""
    marker = waiting.changes("marker").subscribe()
    sender.publish(waiting.changes("marker"))
    await asyncio.wait_for(marker, WAIT)


def test_a_waiter_wakes_when_another_process_notifies(two: tuple[ChangeChannels, ChangeChannels]) -> None:
    a, b = two

    async def scenario() -> None:
        delivery = a.changes("deliveries").subscribe()
        journal = a.changes("journal").subscribe()
        b.changes("deliveries").notify()
        await asyncio.wait_for(delivery, WAIT)
        await handled(a, b)
        assert not journal.done(), "a change of another name woke this waiter"

    asyncio.run(scenario())


def test_the_publishers_own_waiters_wake_too(two: tuple[ChangeChannels, ChangeChannels]) -> None:
    a, b = two

    async def scenario() -> None:
        here, there = a.changes("deliveries").subscribe(), b.changes("deliveries").subscribe()
        a.changes("deliveries").notify()
        await asyncio.wait_for(asyncio.gather(here, there), WAIT)

    asyncio.run(scenario())


def test_many_notifies_wake_each_waiter_once(two: tuple[ChangeChannels, ChangeChannels]) -> None:
    a, b = two

    async def scenario() -> None:
        woken: dict[int, int] = {}
        waiters = [channels.changes("journal").subscribe() for channels in (a, b) for _ in range(10)]
        for number, waiter in enumerate(waiters):
            waiter.add_done_callback(lambda _, n=number: woken.__setitem__(n, woken.get(n, 0) + 1))
        for _ in range(50):
            b.changes("journal").notify()
            a.changes("journal").notify()
        await asyncio.wait_for(asyncio.gather(*waiters), WAIT)
        await handled(a, b)
        await handled(b, a)
        assert woken == {number: 1 for number in range(20)}
        later = a.changes("journal").subscribe()  # the burst is over: nothing left to wake it
        await handled(a, b)
        await handled(a, a)
        assert not later.done()
        b.changes("journal").notify()
        await asyncio.wait_for(later, WAIT)

    asyncio.run(scenario())


def test_waiters_on_several_event_loops(two: tuple[ChangeChannels, ChangeChannels]) -> None:
    """A threaded server's requests wait on loops of their own; each is woken on its own loop."""
    a, b = two
    ready, results = threading.Barrier(4), []

    def wait_in_own_loop() -> None:
        async def wait() -> None:
            future = a.changes("deliveries").subscribe()
            ready.wait()
            await asyncio.wait_for(future, WAIT)
            results.append(asyncio.get_running_loop())
        asyncio.run(wait())

    threads = [threading.Thread(target=wait_in_own_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    ready.wait()
    b.changes("deliveries").notify()
    for thread in threads:
        thread.join(WAIT * 2)
    assert len(set(map(id, results))) == 3


def test_namespaces_and_names_do_not_mix(redis_url: str) -> None:
    with ChangeChannels(redis_url, "one") as one, ChangeChannels(redis_url, "two") as two, \
            ChangeChannels(redis_url, "one*") as glob:

        async def scenario() -> None:
            other_world = two.changes("deliveries").subscribe()
            globbed = glob.changes("deliveries").subscribe()  # "one*" is a name, not a pattern
            split = one.changes("a", "b").subscribe()
            joined = one.changes("a/b").subscribe()
            one.changes("deliveries").notify()
            one.changes("a/b").notify()
            await asyncio.wait_for(joined, WAIT)
            await handled(two, one)
            await handled(glob, one)
            await handled(one, one)
            assert not other_world.done() and not globbed.done() and not split.done()

        asyncio.run(scenario())


def test_close_stops_the_thread(redis_url: str) -> None:
    before = set(threading.enumerate())
    channels = ChangeChannels(redis_url, "world")
    started = set(threading.enumerate()) - before
    assert channels.listening and len(started) == 1
    channels.close()
    assert not channels.listening
    assert not (set(threading.enumerate()) - before), "a thread was left running"


def test_a_lost_connection_is_taken_up_again(two: tuple[ChangeChannels, ChangeChannels], redis_url: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    a, b = two
    with redis.Redis.from_url(redis_url) as admin:
        assert admin.client_kill_filter(_type="pubsub") >= 2  # both processes' subscriptions cut
    assert wakes_again(a, b)
    assert a.listening and b.listening


def test_the_thread_outlives_a_redis_restart(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    with running_redis(tmp_path / "redis") as server, \
            ChangeChannels(server.url, "world") as a, ChangeChannels(server.url, "world") as b:
        caplog.set_level(logging.WARNING, logger="pushfake")
        stop_process(server.process)  # Redis goes away...

        async def notify_while_down() -> None:
            # ... a publish fails; its own process's waiters are woken all the same
            here = b.changes("deliveries").subscribe()
            b.changes("deliveries").notify()
            await asyncio.wait_for(here, WAIT)

        asyncio.run(notify_while_down())
        time.sleep(0.5)  # the threads meet the closed port a few times
        assert a.listening and b.listening
        again = subprocess.Popen([redis_server_path(), "--port", str(server.port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", str(server.dir)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wakes_again(a, b), "no wake-up crossed processes after Redis came back"
        finally:
            stop_process(again)
    said = caplog.text
    assert "lost Redis" in said and "subscribed again" in said and "could not publish" in said


class Process:
    """One process's view of a world: its parts are the shared `world`'s, its wake-ups go
    through its own `ChangeChannels` (what the Redis store's `changes` hands out)."""

    def __init__(self, world: MemoryStore, channels: ChangeChannels) -> None:
        self._world, self._channels = world, channels

    def __getattr__(self, name: str) -> Any:
        return getattr(self._world, name)

    def changes(self, *name: str) -> Changes:
        return self._channels.changes(*name)


def test_another_processes_clock_and_work_wake_this_scheduler(two: tuple[ChangeChannels, ChangeChannels]) -> None:
    """The scheduler idles for a minute and its clock has no listener: what wakes it is the
    message on `("clock",)` when process A moves the clock, and on `("scheduler",)` when A adds
    work due sooner than any."""
    world = MemoryStore()
    a, b = Process(world, two[0]), Process(world, two[1])
    clock_a, clock_b = SystemClock(a), SystemClock(b)  # type: ignore[arg-type]
    scheduler_a, scheduler_b, ran = Scheduler(clock_a, a), Scheduler(clock_b, b), []  # type: ignore[arg-type]
    scheduler_b.handle("job", ran.append)

    async def scenario() -> None:
        task = asyncio.create_task(scheduler_b.run_forever(idle_seconds=60))
        await asyncio.sleep(0.05)
        scheduler_a.call_at(clock_a.now() + HOUR, "job", "an hour on")
        clock_a.advance(HOUR)
        await until(lambda: ran == ["an hour on"])
        scheduler_a.call_at(clock_a.now() + 0.05, "job", "soon")
        await until(lambda: ran == ["an hour on", "soon"])
        task.cancel()
        await asyncio.wait({task}, timeout=5)

    asyncio.run(scenario())


async def until(check: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"not within {WAIT} s"
        await asyncio.sleep(0.01)


def wakes_again(a: ChangeChannels, b: ChangeChannels, within: float = 20.0) -> bool:
    """Whether a notify from `b` wakes a waiter at `a` (tried until `within` seconds passed)."""

    async def attempt() -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            waiter = a.changes("deliveries").subscribe()
            await asyncio.sleep(0.05)  # a reconnect's own wake-up may take this one
            if waiter.done():
                continue
            b.changes("deliveries").notify()
            try:
                await asyncio.wait_for(asyncio.shield(waiter), 0.5)
                return True
            except TimeoutError:
                a.changes("deliveries").unsubscribe(waiter)
        return False

    return asyncio.run(attempt())
