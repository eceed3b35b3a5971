"""`RedisStore`: one world shared by every process (and host) pointed at one Redis.

The vendor logic is synchronous and reads the store record by record, so a round trip per read
would cost ~15 per request. Instead each process keeps a **replica** (a `MemoryStore`) and holds
the **world lock** while it is busy, so that a request costs one round trip:

1. the first outermost `transaction()` takes the world lock and brings the replica up to date in
   one Lua script (`ACQUIRE`): `SET lock token NX PX ttl`, then the write-sets other replicas
   committed since this one's version (`XRANGE` on the stream), or, for a new replica or one too
   far behind (the stream trimmed past it), the whole world from the part keys;
2. inside, reads and writes are the replica's; each mutation is recorded in the write-set;
3. leaving it commits at once (`COMMIT`, one round trip), or, inside a `batch()`, keeps the
   write-set for `flushed()`, which awaits the round trip on the event loop while it serves
   other requests, and writes in it what every request in flight committed. A server runs each
   vendor request as a `turn()` (a batch, then `flushed()` before the response starts: nothing
   a client was told is unwritten), and each turn of the scheduler too;
4. the process keeps the lock between transactions, so the next one needs no round trip and
   reads need none either (no other process can write meanwhile). It lets go when another
   process wants the world: a contender sets `want`; a holder that has had the lock for
   `hold_quantum` admits no new turn and lets the lock go once the turns inside are out (a turn
   waits for the lock without holding up the event loop); outside turns, its next commit lets
   go. And it lets go when it has been idle for `idle_release` (a keeper thread writes what is
   pending and releases).

`COMMIT`, given the token: if the token still holds the lock, apply the write-set to the part
keys, `XADD` it to the stream, `INCR` the version, publish the change channels notified in it,
and renew the lock (or release it, above); if the lock was lost (its TTL passed: a holder frozen
for `lock_ttl`), apply nothing and raise `LockLost`, and the replica loads the world again.

A mutation outside any transaction runs as its own one-op transaction; a read outside one first
catches the replica up without the lock (one round trip) unless this process holds the lock
(`fresh_reads=False` reads the replica as of its last transaction instead). Keys, all under
`{namespace}:`: `lock`, `want`, `version`, `stream` (the write-sets, `MAXLEN ~ stream_length`),
`parts` (a hash: part key -> owner, so a reset and a full load find them) and one key per part
(`pushfake.core.replica` lays them out).

Values are pickled and read back by `pushfake.core.codec`'s restricted unpickler: Redis is
shared infrastructure, and a value planted there must not run code in the fake.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import itertools
import os
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from typing import Any

import redis
import redis.asyncio

from pushfake.core import replica
from pushfake.core.changes import Changes
from pushfake.core.lease import DEFAULT_TTL as DEFAULT_LEASE_TTL
from pushfake.core.lease import Lease
from pushfake.core.redis_changes import ChangeChannels, PublishedChanges, channel_part
from pushfake.core.redis_scripts import ACQUIRE, COMMIT, RELEASE
from pushfake.core.replica import (KINDS, RESET, Op, Recorded, RecordedAgenda, RecordedCell, RecordedCounter,
                                   RecordedLog, RecordedOrdered, RecordedTable)
from pushfake.core.store import MemoryStore, Name

__all__ = ["LockLost", "RedisStore", "WorldBusy"]

DEFAULT_LOCK_TTL = 5.0  # s: the longest a transaction may take; a dead holder blocks the world this long
DEFAULT_LOCK_WAIT = 30.0  # s: how long a transaction waits for the lock before giving up
DEFAULT_STREAM_LENGTH = 1_000  # write-sets (a batch's each) kept for replicas catching up; older ones reload
DEFAULT_HOLD_QUANTUM = 0.01  # s: a holder keeps the lock at least this long when another process wants it
DEFAULT_IDLE_RELEASE = 0.002  # s: a holder with nothing to do lets the lock go after this long
DRAIN_LIMIT = 0.05  # s: the longest a process waits for its turns to end before it hands the lock over
_FIRST_PAUSE, _MAX_PAUSE = 0.0002, 0.002  # s: retrying a held lock, doubling

# Whether this task's transactions keep their write-sets for the end of its batch (`batch()`).
_BATCHED: contextvars.ContextVar[bool] = contextvars.ContextVar("pushfake_store_batched", default=False)

class WorldBusy(TimeoutError):
    """The world lock stayed held for longer than a transaction waits."""


class LockLost(RuntimeError):
    """A transaction outlived its lock (its TTL passed): nothing it wrote was applied."""


class _Transaction:
    """`store.transaction()`: re-entrant per thread; the outermost one takes the world lock."""

    __slots__ = ("_store",)

    def __init__(self, store: RedisStore) -> None:
        self._store = store

    def __enter__(self) -> RedisStore:
        self._store._enter()
        return self._store

    def __exit__(self, *exc: object) -> None:
        self._store._exit()


class RedisStore:
    """The `Store` protocol on a shared Redis: a replica per process, a world lock held while the
    process is busy, a write-set per transaction or batch (the module docstring draws it)."""

    def __init__(self, client_or_url: redis.Redis | str, namespace: str = "pushfake", *,
                 lock_ttl: float = DEFAULT_LOCK_TTL, lock_wait: float = DEFAULT_LOCK_WAIT,
                 stream_length: int = DEFAULT_STREAM_LENGTH, fresh_reads: bool = True,
                 hold_quantum: float = DEFAULT_HOLD_QUANTUM, idle_release: float = DEFAULT_IDLE_RELEASE,
                 changes_factory: Callable[[Name], Changes] | None = None) -> None:
        """`fresh_reads`: a read outside any transaction first catches the replica up (one round
        trip) unless this process holds the lock; without it, such a read sees the replica as of
        its last transaction. `changes_factory(name)` makes the wake-ups for `changes(*name)`
        (once per name): the seam for cross-process pub/sub; by default they are this process's own."""
        self._url = client_or_url if isinstance(client_or_url, str) else None
        if isinstance(client_or_url, str):
            # one connection of its own: a pool checks a connection for stray data on each command (a
            # system call and 80 µs); the threads that share it (the keeper, the lease) take turns
            self._client = redis.Redis.from_url(client_or_url, decode_responses=False, single_connection_client=True)
            self._owns_client = True
        else:
            self._client, self._owns_client = client_or_url, False
        self.namespace = namespace
        self.lock_ttl, self.lock_wait, self.stream_length = lock_ttl, lock_wait, stream_length
        self.hold_quantum, self.idle_release = hold_quantum, idle_release
        self.fresh_reads = fresh_reads
        self._keys = [f"{namespace}:{key}" for key in ("lock", "version", "stream", "parts", "want")]
        self._acquire = self._client.register_script(ACQUIRE)
        self._commit_script = self._client.register_script(COMMIT)
        self._release = self._client.register_script(RELEASE)
        self._replica = MemoryStore()
        self._parts: dict[tuple[str, Name], Recorded] = {}
        self._changes_factory = changes_factory
        self._channels: ChangeChannels | None = None  # made by `from_url`
        self._changes: dict[Name, Changes] = {}
        self._local = threading.RLock()  # this process's threads queue here, not on the Redis lock
        self._transaction = _Transaction(self)
        self._depth = 0
        self._version = -1  # the world version the replica holds; -1: load it whole
        self._token = b""
        self._tokens = itertools.count()
        self._id = os.urandom(8).hex()
        self._ops: list[Op] = []  # this transaction's
        self._generators: dict[RecordedCell, random.Random] = {}  # read (to draw from) in this transaction
        self._after: list[Callable[[], None]] = []  # `after_commit` actions of this transaction
        # committed here, not yet in Redis (a batch's): ops, actions, channels to publish
        self._pending: list[Op] = []
        self._pending_after: list[Callable[[], None]] = []
        self._pending_channels: dict[str, None] = {}
        self._registered: set[str] = set()  # part keys this process knows are listed in `parts`
        # Local commits are numbered; a flush writes every one up to a number. One flush at a time
        # (`_flushing`, waited for on `_written`); `flushed()` runs them on a thread of its own.
        self._committed = self._flushed = 0
        self._lost: list[tuple[int, int]] = []  # (after, up to): commits a failed flush lost
        self._flushing = False
        self._written = threading.Condition(self._local)
        self._flight: concurrent.futures.Future[None] | None = None  # on the flusher thread
        self._flusher: concurrent.futures.ThreadPoolExecutor | None = None
        # on an event loop: its async client (made from the URL), its flush task, and while that
        # task's round trip is out, the loop's thread (which must not wait for it)
        self._async: tuple[asyncio.AbstractEventLoop, redis.asyncio.Redis, Any] | None = None
        self._flight_task: asyncio.Task[None] | None = None
        self._async_flushing_in: int | None = None
        self._wanted = False  # another process waits for the lock (a flush saw `want`)
        self._inside = 0  # turns (`turn()`) admitted and not yet out
        self._draining_since = 0.0  # when this process stopped admitting turns to hand the lock over
        self._next_try = 0.0  # time.monotonic() before which no waiting turn tries the lock again
        self._held = False  # this process holds the world lock (with `_token`)
        self._held_since = self._renewed_at = self._active_at = 0.0  # time.monotonic() moments
        self._stop = threading.Event()
        self._busy = threading.Event()  # set when a transaction ends holding the lock: the keeper watches
        self._keeper: threading.Thread | None = None
        self.loads = 0  # full loads of the world so far (a new replica's first, or one too far behind)

    @classmethod
    def from_url(cls, url: str, namespace: str = "pushfake", **options: Any) -> RedisStore:
        """The store of `namespace` at `url`, with its change wake-ups carried to every process
        (Redis pub/sub, published with the commit that made the change) and its leases (`lease`)."""
        store = cls(url, namespace, **options)
        channels = ChangeChannels(store._client, namespace)
        channels.deliver = store._announce
        store._channels, store._changes_factory = channels, lambda name: channels.changes(*name)
        return store

    def lease(self, *name: str, ttl: float = DEFAULT_LEASE_TTL) -> Lease:
        """A lease on `name` in this namespace (the scheduler's: one process runs due work)."""
        return Lease(self._client, f"{self.namespace}:lease:{channel_part(name)}", ttl)

    def close(self) -> None:
        """Write what is pending, let the lock go, stop the threads; close the client if made here."""
        self._stop.set()
        self._busy.set()
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(5)
        if self._flusher is not None:
            self._flusher.shutdown(wait=True)

        try:
            with self._local:
                actions = self._flush(release=True) if self._held else []
            _run(actions)
        except (redis.RedisError, LockLost):
            pass  # nothing more can be done for it: another process loads the world as Redis has it
        if self._channels is not None:
            self._channels.close()
        if self._owns_client:
            self._client.close()

    # --- parts ---------------------------------------------------------------------------------

    def _part(self, kind: str, name: Name) -> Any:
        part = self._parts.get((kind, name))
        if part is None:
            wrapper, memory = KINDS[kind]
            with self._local:
                part = self._parts.get((kind, name))
                if part is None:
                    part = self._parts[kind, name] = wrapper(self, self._replica._part(memory, name), name)
        return part

    def _memory_part(self, kind: str, name: Name) -> Any:
        return self._part(kind, name)._part

    def table(self, *name: str) -> RecordedTable:
        return self._part("table", name)  # type: ignore[no-any-return]

    def counter(self, *name: str) -> RecordedCounter:
        return self._part("counter", name)  # type: ignore[no-any-return]

    def cell(self, *name: str) -> RecordedCell:
        return self._part("cell", name)  # type: ignore[no-any-return]

    def ordered(self, *name: str) -> RecordedOrdered:
        return self._part("ordered", name)  # type: ignore[no-any-return]

    def log(self, *name: str) -> RecordedLog:
        return self._part("log", name)  # type: ignore[no-any-return]

    def agenda(self, *name: str) -> RecordedAgenda:
        return self._part("agenda", name)  # type: ignore[no-any-return]

    def changes(self, *name: str) -> Changes:
        if self._changes_factory is None:
            return self._replica.changes(*name)
        changes = self._changes.get(name)
        if changes is None:
            with self._local:
                changes = self._changes.get(name)
                if changes is None:
                    changes = self._changes[name] = self._changes_factory(name)
        return changes

    def transaction(self) -> _Transaction:
        return self._transaction

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """A unit of work on the event loop (a request, a turn of the scheduler): wait, without
        holding up the loop, until this process holds the world lock; run the block as one batch;
        write it (`flushed()`). While another process waits for the world, a process that has
        held it for `hold_quantum` admits no new turn and lets the lock go once the turns inside
        are out (or after `DRAIN_LIMIT`, a long-poll inside must not keep the world)."""
        await self._admitted()
        try:
            with self.batch():
                yield
            await self.flushed()
        finally:
            self._inside -= 1
            self._hand_over_if_drained()

    async def _admitted(self) -> None:
        started, pause = time.monotonic(), _FIRST_PAUSE
        while True:
            if self._held and not self._draining_since:
                if not (self._wanted and time.monotonic() - self._held_since >= self.hold_quantum):
                    self._inside += 1
                    return
                self._draining_since = time.monotonic()
            if not self._held:
                self._draining_since = 0.0
                if time.monotonic() >= self._next_try and self._local.acquire(blocking=False):
                    try:  # one try per pause for all the turns waiting here, not one each
                        if not self._held and self._depth == 0 and self._try_lock():
                            continue
                        self._next_try = time.monotonic() + pause
                    finally:
                        self._local.release()
            self._hand_over_if_drained()
            self._give_up_after(started)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)

    def _hand_over_if_drained(self) -> None:
        """On the event loop: let the lock go to the process that waits once no turn is inside
        (or the drain took too long), unless a round trip of this loop's is out (then later)."""
        if not (self._draining_since and self._held) or self._flushing:
            return
        if self._inside and time.monotonic() - self._draining_since < DRAIN_LIMIT:
            return
        with self._local:
            actions = self._flush(release=True) if self._held and self._depth == 0 and not self._flushing else []
        self._draining_since = 0.0 if not self._held else self._draining_since
        _run(actions)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Within the block (this task's, a context variable), transactions keep their write-sets
        and `after_commit` actions for the next `flushed()`, which the caller awaits
        before what it did must be readable elsewhere (a response starting): a request then costs
        one round trip however many transactions it runs, shared with the requests beside it."""
        outer = _BATCHED.set(True)
        try:
            yield
        finally:
            _BATCHED.reset(outer)

    async def flushed(self) -> None:
        """Return once everything this process committed so far is in Redis, without holding up
        the event loop: the round trip is awaited on the loop (or runs on a thread of this
        store's), and one round trip writes what every waiting request committed. Raises
        `LockLost` if what it waits for was lost."""
        target = self._committed
        loop = asyncio.get_running_loop()
        client = self._async_client(loop)
        while self._flushed < target:
            if client is not None:
                task = self._flight_task
                if task is None or task.done():
                    task = self._flight_task = loop.create_task(self._flush_on_loop(client))
                waiting: Any = asyncio.shield(task)
            else:
                flight = self._flight
                if flight is None or flight.done():
                    if self._flusher is None:
                        self._flusher = concurrent.futures.ThreadPoolExecutor(1, f"pushfake-flush-{self.namespace}")
                    flight = self._flight = self._flusher.submit(self._flush_in_background)
                waiting = asyncio.wrap_future(flight)
            with contextlib.suppress(Exception):  # a failure is reported below, to the requests it hit
                await waiting
        if any(after < target <= upto for after, upto in self._lost):
            raise LockLost(f"what this request wrote to the pushfake world in Redis namespace {self.namespace!r} "
                           "was not applied: the world lock was lost or Redis failed (see the log)")

    @contextlib.asynccontextmanager
    async def on_this_loop(self) -> AsyncIterator[None]:
        """While the block runs (a server's lifespan), `flushed()` on this event loop awaits its
        round trips on the loop itself, with an async client made here and closed at the end;
        elsewhere, and without a URL to connect with, a thread of this store's makes them."""
        if self._url is None or self._async is not None:
            yield
            return
        client = redis.asyncio.Redis.from_url(self._url, decode_responses=False)
        self._async = (asyncio.get_running_loop(), client, client.register_script(COMMIT))
        try:
            yield
        finally:
            task = self._flight_task
            if task is not None and not task.done():
                with contextlib.suppress(BaseException):
                    await task
            self._async, self._flight_task = None, None
            await client.aclose()

    def _async_client(self, loop: asyncio.AbstractEventLoop) -> Any:
        """The commit script on `loop`'s async client (`on_this_loop`), or None."""
        held = self._async
        return held[2] if held is not None and held[0] is loop else None

    def _unwritten(self) -> bool:
        return bool(self._pending or self._pending_after or self._pending_channels or self._flushing)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once what this thread's outermost transaction wrote is in Redis (at once
        outside any, unless writes are pending): how a change is published only when every
        process can read it. Dropped if the commit fails."""
        if self._depth and self._local._is_owned():  # type: ignore[attr-defined]
            self._after.append(action)
            return
        if self._unwritten():
            with self._local:
                if self._unwritten():
                    self._pending_after.append(action)
                    self._committed += 1
                    return
        action()

    def _announce(self, changes: PublishedChanges) -> None:
        """A change notified: published by the commit that writes it, or at once when nothing
        is being written (`ChangeChannels.deliver`)."""
        inside = self._depth and self._local._is_owned()  # type: ignore[attr-defined]
        if inside or self._unwritten():
            with self._local:
                if inside or self._unwritten():
                    self._pending_channels[changes.channel] = None
                    if not inside:
                        self._committed += 1
                    return
        assert self._channels is not None
        self._channels.publish(changes)

    def reset(self, keep: Collection[str] = ()) -> None:
        with self._transaction:
            self._replica.reset(keep)
            self._ops.append((RESET, "reset", tuple(keep)))

    def contents(self) -> dict[tuple[str, Name], Any]:
        """What every non-empty part holds, as `MemoryStore.contents` says, read in a transaction
        (so it is the world's, not a stale replica's)."""
        with self._transaction:
            return self._replica.contents()

    # --- transactions ------------------------------------------------------------------------------

    def _record(self, part: Recorded, method: str, args: tuple[Any, ...]) -> None:
        self._ops.append((part, method, args))

    def _drawn(self, cell: RecordedCell, generator: random.Random) -> None:
        if self._depth and self._local._is_owned():  # type: ignore[attr-defined]
            self._generators[cell] = generator

    def _holding(self) -> bool:
        """Whether this process holds the lock and may trust its replica without asking Redis."""
        return self._held and time.monotonic() - self._renewed_at < self.lock_ttl / 2

    def _fresh(self) -> None:
        """Before a read outside any transaction: bring the replica up to date without the lock
        (one round trip), so what another process committed is seen, as in one process. Nothing
        to do while this process holds the lock: no other can have written."""
        if not self.fresh_reads or self._holding() or (self._depth and self._local._is_owned()):  # type: ignore[attr-defined]
            return
        with self._local:  # after another thread's transaction or release, not during it
            if not self._held:
                reply = self._acquire(keys=self._keys, args=[b"", 0, self._version, 0])
                self._catch_up(reply)

    def _catch_up(self, reply: list[Any]) -> None:
        try:
            if len(reply) > 2 and reply[2] == b"delta":
                if replica.replay(reply[3], self.namespace, self._replica, self._memory_part):
                    self._registered.clear()  # a reset let go of part keys this process had registered
            elif len(reply) > 2:
                self._registered.clear()
                replica.load(reply[3], self.namespace, self._replica, self._memory_part)
                self.loads += 1
            self._version = int(reply[1])
        except BaseException:
            self._version = -1
            raise

    def _enter(self) -> None:
        self._local.acquire()
        if self._depth == 0:
            try:
                if self._held and ((self._wanted and not self._inside
                                    and time.monotonic() - self._held_since >= self.hold_quantum)
                                   or time.monotonic() - self._renewed_at >= self.lock_ttl / 3):
                    # renews the lock; lets it go if another process waits and no turn is inside
                    _run(self._flush(release=False if self._inside else None))
                if not self._held:
                    self._lock_and_catch_up()
            except BaseException:
                self._local.release()
                raise
        self._depth += 1

    def _exit(self) -> None:
        actions: list[Callable[[], None]] = []
        try:
            self._depth -= 1
            if self._depth == 0:
                for cell, generator in self._generators.items():
                    if cell._part.get() is generator:
                        self._ops.append((cell, "set", (generator,)))
                self._generators.clear()
                if self._ops or self._after:
                    self._pending += self._ops
                    self._pending_after += self._after
                    self._ops, self._after = [], []
                    self._committed += 1
                self._active_at = time.monotonic()
                if not _BATCHED.get():
                    actions = self._flush(release=False if self._inside else None)
                if not self._busy.is_set():  # the keeper clears it only once it has nothing to watch
                    self._busy.set()
        finally:
            self._local.release()
        _run(actions)

    def _lock_and_catch_up(self) -> None:
        started = time.monotonic()
        pause = _FIRST_PAUSE
        while not self._try_lock():
            self._give_up_after(started)
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)

    def _give_up_after(self, started: float) -> None:
        waited = time.monotonic() - started
        if waited >= self.lock_wait:
            raise WorldBusy(f"the pushfake world in Redis namespace {self.namespace!r} stayed locked for "
                            f"{waited:.1f} s (lock_wait): another process holds {self._keys[0]!r}")

    def _try_lock(self) -> bool:
        """Under `_local`: one try at the world lock (one round trip), catching the replica up if
        it is taken; else `want` is set, so the holder lets it go soon."""
        self._token = token = f"{self._id}:{next(self._tokens)}".encode()
        reply = self._acquire(keys=self._keys, args=[token, max(1, int(self.lock_ttl * 1000)), self._version, 1])
        if not reply[0]:
            return False
        try:
            self._catch_up(reply)
        except BaseException:
            self._release(keys=self._keys[:1], args=[token])
            raise
        self._held, self._held_since, self._wanted = True, time.monotonic(), False
        self._renewed_at = self._held_since
        if self._keeper is None:
            self._keeper = threading.Thread(target=self._keep, name=f"pushfake-store-{self.namespace}", daemon=True)
            self._keeper.start()
        return True

    def _flush(self, release: bool | None = False) -> list[Callable[[], None]]:
        """Under `_local`, outside any transaction: write what is pending, publish its channels,
        renew the lock; `release` True lets it go, None lets it go if another process wants it
        and this one has held it for `hold_quantum`. The actions to run once `_local` is let go.
        Raises `LockLost` (the replica then loads the world again) if the lock was lost. On the
        thread of an event loop whose `flushed()` round trip is out, nothing: that round trip
        cannot end while this waits, and what is pending goes with the next (or the keeper's)."""
        if self._flushing and self._async_flushing_in == threading.get_ident():
            return []
        while self._flushing:
            self._written.wait()
        if not self._held:
            assert not self._pending, "write-sets pending without the world lock"
            return self._nothing_to_write()
        let_go = 2 if release else 1 if release is None and time.monotonic() - self._held_since >= self.hold_quantum else 0
        taken = self._take(let_go)
        if let_go:  # it may let the lock go: until it is known, a read here does not trust the replica
            self._held = False
        try:
            reply = self._commit_script(keys=self._keys, args=taken[0])
        except BaseException as exc:
            self._settle(taken, None, exc)
            raise
        return self._settle(taken, reply, None)

    def _flush_in_background(self) -> None:
        """`flushed()`'s round trip on the flusher thread (no async client for this loop)."""
        with self._local:
            taken, actions = self._take_for_flushed()
        if taken is not None:
            try:
                reply = self._commit_script(keys=self._keys, args=taken[0])
            except BaseException as exc:
                with self._local:
                    self._settle(taken, None, exc)
                raise
            with self._local:
                actions = self._settle(taken, reply, None)
        _run(actions)

    async def _flush_on_loop(self, commit: Any) -> None:
        """`flushed()`'s round trip awaited on the event loop, which serves other requests meanwhile."""
        with self._local:
            taken, actions = self._take_for_flushed()
            if taken is not None:
                self._async_flushing_in = threading.get_ident()
        if taken is not None:
            try:
                reply = await commit(keys=self._keys, args=taken[0])
            except BaseException as exc:
                with self._local:
                    self._async_flushing_in = None
                    self._settle(taken, None, exc)
                raise
            with self._local:
                self._async_flushing_in = None
                actions = self._settle(taken, reply, None)
        _run(actions)

    def _take_for_flushed(self) -> tuple[Any, list[Callable[[], None]]]:
        """Under `_local`: what a `flushed()` round trip sends (None when there is nothing, with the
        actions due at once). It keeps the lock: only a flush in a transaction's turn or the
        keeper's lets it go, so nothing is committed here after it went."""
        while self._flushing:
            self._written.wait()
        if not self._held:
            return None, self._nothing_to_write()
        if self._pending or self._pending_after or self._pending_channels:
            return self._take(0), []
        self._flushed = self._committed
        return None, []

    def _nothing_to_write(self) -> list[Callable[[], None]]:
        """Under `_local`, not holding the lock: what waited is due at once (channels published)."""
        channels, actions = list(self._pending_channels), self._pending_after
        self._pending_after, self._pending_channels = [], {}
        self._flushed = self._committed
        return [*(functools.partial(self._client.publish, channel, b"") for channel in channels), *actions]

    def _take(self, let_go: int) -> tuple[list[Any], list[Callable[[], None]], int, list[str], float]:
        """Under `_local`: what the next COMMIT sends, taken from what is pending; `_flushing` set."""
        ops, actions, channels = self._pending, self._pending_after, list(self._pending_channels)
        self._pending, self._pending_after, self._pending_channels = [], [], {}
        blob, touched = replica.write_set(ops, self._version + 1) if ops else (b"", {})
        if any(op[0] is RESET for op in ops):
            self._registered.clear()
        fresh = [key for key in touched if key not in self._registered]
        args: list[Any] = [self._token, max(1, int(self.lock_ttl * 1000)), let_go, self.stream_length, blob,
                           len(channels), len(fresh), *channels]
        for key in fresh:
            args += [key, touched[key]]
        self._flushing = True
        return args, actions, self._committed, fresh, time.monotonic()

    def _settle(self, taken: tuple[list[Any], list[Callable[[], None]], int, list[str], float],
                reply: list[Any] | None, error: BaseException | None) -> list[Callable[[], None]]:
        """Under `_local`: a COMMIT's outcome. On failure every commit not yet written is lost (the
        replica loads the world again) and `LockLost` is raised; else the actions that waited."""
        _, actions, upto, fresh, sent = taken
        self._flushing = False
        self._written.notify_all()
        if error is None and reply is not None and reply[0]:
            self._flushed = max(self._flushed, upto)
            self._version, self._renewed_at = int(reply[1]), sent
            self._registered.update(fresh)
            self._wanted = bool(reply[3])
            self._held = not reply[2]
            return actions
        self._lost = [*self._lost[-15:], (self._flushed, self._committed)]
        self._flushed = self._committed
        self._pending, self._pending_after, self._pending_channels = [], [], {}
        self._held, self._version = False, -1  # the replica holds writes Redis may not: load the world next time
        if error is not None:
            with contextlib.suppress(redis.RedisError):
                self._release(keys=self._keys[:1], args=[self._token])
            raise error
        raise LockLost(f"a transaction on the pushfake world in Redis namespace {self.namespace!r} outlived "
                       f"its lock ({self.lock_ttl} s, lock_ttl): nothing it wrote was applied")

    def _keep(self) -> None:
        """The keeper thread: once this process has been idle for `idle_release` holding the
        lock, write what is pending and let the lock go, so another process need not wait."""
        while not self._stop.is_set():
            self._busy.wait()
            self._busy.clear()
            while self._held and not self._stop.is_set():
                idle = time.monotonic() - self._active_at
                if idle < self.idle_release:
                    self._stop.wait(self.idle_release - idle)
                    continue
                if not self._local.acquire(blocking=False):
                    self._stop.wait(self.idle_release)  # a transaction is running: not idle
                    continue
                try:
                    actions = self._flush(release=True) if self._held and self._depth == 0 else []
                except Exception:  # noqa: BLE001 - the next transaction finds the lock lost and says so
                    actions = []
                finally:
                    self._local.release()
                _run(actions)


def _run(actions: list[Callable[[], None]]) -> None:
    for action in actions:
        action()
