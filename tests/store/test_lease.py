"""The scheduler's lease (`core.lease`) on a real Redis: of several schedulers on one world only
the holder runs due work; a holder that dies is replaced within about its TTL, one that stops
hands over at once.

The schedulers share one `MemoryStore` (one world) and each has its own `Lease` on one key: two
processes' worth. They idle for a minute, so work that runs promptly was woken for, not found
by a timer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from pushfake.core.clock import SystemClock
from pushfake.core.lease import Lease
from pushfake.core.scheduler import Scheduler
from pushfake.core.store import MemoryStore

KEY = "world:lease:scheduler"
IDLE = 60.0


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url) as client:
        yield client


def test_one_holder_at_a_time(client: redis.Redis) -> None:
    a, b = Lease(client, KEY, ttl=30), Lease(client, KEY, ttl=30)
    assert a.acquire() and a.held
    assert not b.acquire() and not b.held
    assert a.acquire(), "the holder taking it again renews it"
    assert not b.renew() and not b.release(), "only the holder renews or releases"
    assert client.get(KEY) == a.token.encode()
    assert a.renew() and 29_000 < client.pttl(KEY) <= 30_000
    assert a.release() and not a.held and client.get(KEY) is None
    assert b.acquire() and b.held


def test_a_lease_that_ran_out_is_anothers(client: redis.Redis) -> None:
    a, b = Lease(client, KEY, ttl=0.2), Lease(client, KEY, ttl=30)
    assert a.acquire()
    time.sleep(0.3)
    assert not a.held, "the holder knows its lease ran out"
    assert b.acquire()
    assert not a.renew() and not a.release(), "the old holder can neither extend nor delete it"
    assert client.get(KEY) == b.token.encode() and b.held
    with pytest.raises(ValueError, match="positive number of seconds"):
        Lease(client, KEY, ttl=0)


class Worker:
    """One process's scheduler on the shared world, with its own lease, and what it ran."""

    def __init__(self, name: str, store: MemoryStore, clock: SystemClock, client: redis.Redis, ttl: float) -> None:
        self.name, self.ran = name, []
        self.scheduler = Scheduler(clock, store)
        self.scheduler.handle("job", self.ran.append)
        self.lease = Lease(client, KEY, ttl=ttl)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.scheduler.run_forever(idle_seconds=IDLE, lease=self.lease))

    async def stop(self) -> None:
        assert self.task is not None
        await stopped(self.task)


async def stopped(task: asyncio.Task[None]) -> None:
    """Cancel `task`; fails the test if it goes on."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done, "the scheduler went on after it was cancelled"


def workers(client: redis.Redis, ttl: float, *names: str) -> tuple[SystemClock, list[Worker]]:
    store = MemoryStore()
    clock = SystemClock(store)
    return clock, [Worker(name, store, clock, client, ttl) for name in names]


async def until(check: Any, within: float) -> float:
    """Seconds until `check()` held; fails the test after `within`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, f"not within {within} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def test_only_the_holder_runs_due_work(client: redis.Redis) -> None:
    clock, (a, b) = workers(client, 3.0, "a", "b")

    async def scenario() -> None:
        a.start()
        await until(lambda: a.lease.held, 2)
        b.start()
        for number in range(20):
            (a, b)[number % 2].scheduler.call_at(clock.now(), "job", number)  # work from either process
            await asyncio.sleep(0.01)
        await until(lambda: len(a.ran) == 20, 2)
        assert b.ran == [] and not b.lease.held
        await a.stop()
        await b.stop()

    asyncio.run(scenario())


def test_stopping_hands_over_at_once(client: redis.Redis) -> None:
    clock, (a, b) = workers(client, 3.0, "a", "b")  # b would try again only every second

    async def scenario() -> None:
        a.start()
        await until(lambda: a.lease.held, 2)
        b.start()
        await asyncio.sleep(0.1)
        await a.stop()
        assert client.get(KEY) is None or client.get(KEY) == b.lease.token.encode(), "a released its lease"
        took = await until(lambda: b.lease.held, 3)
        assert took < 0.5, f"b took {took:.2f} s to take over, not at once"
        b.scheduler.call_at(clock.now(), "job", "after")
        await until(lambda: b.ran == ["after"], 2)
        await b.stop()

    asyncio.run(scenario())


def test_a_dead_holder_is_replaced_within_its_ttl(client: redis.Redis) -> None:
    ttl = 1.0
    clock, (b,) = workers(client, ttl, "b")
    dead = Lease(client, KEY, ttl=ttl)  # a process that took the lease and died: never renews

    async def scenario() -> None:
        assert dead.acquire()
        b.start()
        b.scheduler.call_at(clock.now(), "job", "due now")
        await asyncio.sleep(ttl / 2)
        assert b.ran == [], "due work ran while another process held the lease"
        took = await until(lambda: b.ran == ["due now"], ttl * 2)
        assert took <= ttl / 2 + ttl / 3 + 0.6, f"b took {took:.2f} s after the holder's lease ran out"
        assert not dead.renew()
        await b.stop()

    asyncio.run(scenario())


def test_a_holder_renews_its_lease(client: redis.Redis) -> None:
    ttl = 1.0
    clock, (a, b) = workers(client, ttl, "a", "b")

    async def scenario() -> None:
        a.start()
        await until(lambda: a.lease.held, 2)
        b.start()
        await asyncio.sleep(ttl * 2.5)  # a lease not renewed would have gone to b
        assert a.lease.held and not b.lease.held
        b.scheduler.call_at(clock.now(), "job", 1)
        await until(lambda: a.ran == [1], 2)
        await a.stop()
        await b.stop()

    asyncio.run(scenario())


def test_redis_away_stops_no_scheduler(caplog: pytest.LogCaptureFixture) -> None:
    """A lease that cannot be reached means not holding it; the scheduler logs and keeps trying."""
    caplog.set_level(logging.WARNING, logger="pushfake")
    with redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None) as nowhere:
        clock, (a,) = workers(nowhere, 0.3, "a")

        async def scenario() -> None:
            a.start()
            a.scheduler.call_at(clock.now(), "job", 1)
            await asyncio.sleep(0.5)
            assert a.task is not None and not a.task.done()
            assert a.ran == []
            await a.stop()

        asyncio.run(scenario())
    assert "could not take or renew the scheduler's lease" in caplog.text


def test_without_a_lease_every_scheduler_runs(client: redis.Redis) -> None:
    """The default: no lease, no Redis; a scheduler runs whatever falls due."""
    store = MemoryStore()
    clock = SystemClock(store)
    scheduler, ran = Scheduler(clock, store), []
    scheduler.handle("job", ran.append)

    async def scenario() -> None:
        task = asyncio.create_task(scheduler.run_forever(idle_seconds=IDLE))
        await asyncio.sleep(0.01)
        scheduler.call_at(clock.now() + 0.05, "job", 1)
        await until(lambda: ran == [1], 2)
        await stopped(task)

    asyncio.run(scenario())
    assert client.keys("*") == []


@pytest.mark.parametrize("turns", range(3))
def test_a_scheduler_woken_as_it_is_cancelled_stops(turns: int) -> None:
    """A wake-up and a cancel in the same moment (a delivery scheduled as the server shuts down):
    the cancel wins, so the lease is released and the server's shutdown does not hang."""
    store = MemoryStore()
    scheduler = Scheduler(SystemClock(store), store)

    async def scenario() -> None:
        task = asyncio.create_task(scheduler.run_forever(idle_seconds=IDLE))
        await asyncio.sleep(0.01)
        scheduler.wake()
        for _ in range(turns):  # the wake-up part way through, as it reaches the waiting task
            await asyncio.sleep(0)
        await stopped(task)

    asyncio.run(scenario())
