"""`RedisStore` holds the world lock while its process is busy and writes a batch of transactions
in one round trip: what another process can read, when, and that no process waits for ever.

Each `RedisStore` here stands for one process, on a real `redis-server`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

import pytest
import redis

from pushfake import ManualClock
from pushfake.core.redis_store import LockLost
from pushfake.core.scheduler import Scheduler


def version(client: redis.Redis) -> int:
    """The world's version: one more for each write-set committed."""
    return int(client.get("pushfake:version") or 0)


async def batch_of_writes(store: RedisStore, count: int) -> None:
    with store.batch():
        for n in range(count):
            store.counter("n").next()
            store.table("t").put(f"k{n}", n)


# `idle_release=60`: the keeper, which writes what an idle process holds, stays out of the way
def test_a_batch_is_one_write_set_and_unseen_elsewhere_until_written(replicas, redis_url):
    writer, reader = replicas(idle_release=60), replicas()
    writer.counter("n").next()
    with redis.Redis.from_url(redis_url) as client:
        before = version(client)

        async def run() -> tuple[int, int]:
            await batch_of_writes(writer, 20)
            seen_before = reader.counter("n").value  # a read elsewhere: the world as Redis has it
            await writer.flushed()
            return seen_before, reader.counter("n").value

        assert asyncio.run(run()) == (1, 21)
        assert version(client) - before == 1  # 40 writes in 20 transactions: one commit
    assert reader.table("t").get("k19") == 19


@pytest.mark.parametrize("on_the_loop", [True, False], ids=["async-client", "flusher-thread"])
def test_flushed_returns_once_another_process_can_read_everything_committed(replicas, on_the_loop):
    writer, reader = replicas(), replicas()

    async def run() -> int:
        async def written() -> int:
            await batch_of_writes(writer, 5)
            await writer.flushed()
            return reader.counter("n").value

        if not on_the_loop:
            return await written()
        async with writer.on_this_loop():
            return await written()

    assert asyncio.run(run()) == 5


def test_an_idle_process_lets_the_world_lock_go(replicas, redis_url):
    store = replicas(idle_release=0.01)
    store.counter("n").next()
    with redis.Redis.from_url(redis_url) as client:
        assert client.exists("pushfake:lock") == 1, "held after a transaction: the next needs no round trip"
        deadline = time.monotonic() + 5
        while client.exists("pushfake:lock") and time.monotonic() < deadline:
            time.sleep(0.005)
        assert client.exists("pushfake:lock") == 0


def test_a_busy_process_hands_the_world_to_another_that_waits(replicas):
    busy, other = replicas(idle_release=60), replicas(lock_wait=5)  # `busy` never idles long enough
    stop = threading.Event()

    def keep_busy() -> None:
        while not stop.is_set():
            busy.counter("busy").next()

    worker = threading.Thread(target=keep_busy)
    worker.start()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        for _ in range(20):
            other.counter("other").next()
        waited = time.monotonic() - started
    finally:
        stop.set()
        worker.join(10)
    assert other.counter("other").value == 20 and busy.counter("busy").value > 20
    assert waited < 2.5, f"20 transactions took {waited:.2f} s beside a busy process"


def test_a_batch_whose_lock_was_lost_is_an_error_and_its_writes_are_gone(replicas, redis_url):
    store, other = replicas(idle_release=60), replicas()
    store.counter("n").next()

    async def run() -> None:
        await batch_of_writes(store, 3)
        with redis.Redis.from_url(redis_url) as client:
            client.delete("pushfake:lock")  # as if its TTL ran out while the process was frozen
        other.counter("meanwhile").next()  # another process takes the world and writes
        with pytest.raises(LockLost, match="was not applied"):
            await store.flushed()

    asyncio.run(run())
    assert store.counter("n").value == other.counter("n").value == 1, "the lost batch's writes are nowhere"
    assert store.counter("meanwhile").value == 1, "the replica loaded the world as Redis has it"
    store.counter("n").next()
    assert other.counter("n").value == 2


def test_a_scheduler_turn_whose_writes_were_lost_is_done_again_on_the_next(replicas, redis_url, caplog):
    caplog.set_level(logging.WARNING, logger="pushfake")
    store, clock = replicas(idle_release=60), ManualClock()
    scheduler = Scheduler(clock, store)
    ran: list[int] = []

    def job(payload: int) -> None:
        ran.append(payload)
        store.counter("jobs").next()
        if ran == [1]:  # the first time: another process takes the world while this turn holds its writes
            with redis.Redis.from_url(redis_url) as client:
                client.delete("pushfake:lock")

    scheduler.handle("job", job)
    scheduler.call_at(clock.now(), "job", 1)

    async def scenario() -> None:
        task = asyncio.create_task(scheduler.run_forever(idle_seconds=0.05))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(ran) >= 2:
                break
        scheduler.call_at(clock.now(), "job", 2)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if 2 in ran:
                break
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert "could not write the scheduled work it ran (LockLost" in caplog.text
    assert ran == [1, 1, 2], "the lost turn's job ran again, then the next"
    assert replicas().counter("jobs").value == 2, "what the lost turn wrote is nowhere"
