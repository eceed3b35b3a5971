"""`RedisStore`: one world shared by every process (and host) pointed at one Redis.

The vendor logic is synchronous and reads the store record by record, so a round trip per read
would cost ~15 per request. Instead each process keeps a **replica** (a `MemoryStore`), and a
transaction costs two round trips:

1. entering the outermost `transaction()` takes the **world lock** and brings the replica up to
   date in one Lua script (`ACQUIRE`): `SET lock token NX PX ttl`, then the write-sets other
   replicas committed since this one's version (`XRANGE` on the stream), or, for a new replica
   or one too far behind (the stream trimmed past it), the whole world from the part keys;
2. inside, reads and writes are the replica's; each mutation is recorded in the write-set;
3. leaving it runs `COMMIT` given the token: if the token still holds the lock, apply the
   write-set to the part keys, `XADD` it to the stream, `INCR` the version and unlock; if the
   lock was lost (its TTL passed), apply nothing and raise `LockLost`. A transaction that wrote
   nothing only releases the lock (compare-and-delete).

A mutation outside any transaction runs as its own one-op transaction; a read outside one first
catches the replica up without the lock (one round trip; `fresh_reads=False` reads the replica
as of its last transaction instead). Keys, all under `{namespace}:`: `lock`, `version`, `stream`
(the write-sets, `MAXLEN ~ stream_length`), `parts` (a hash: part key -> owner, so a reset and a
full load find them) and one key per part (`pushfake.core.replica` lays them out).

Values are pickled and read back by `pushfake.core.codec`'s restricted unpickler: Redis is
shared infrastructure, and a value planted there must not run code in the fake.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

import redis

from pushfake.core import replica
from pushfake.core.changes import Changes
from pushfake.core.lease import DEFAULT_TTL as DEFAULT_LEASE_TTL
from pushfake.core.lease import Lease
from pushfake.core.redis_changes import ChangeChannels, channel_part
from pushfake.core.replica import (KINDS, RESET, Op, Recorded, RecordedAgenda, RecordedCell, RecordedCounter,
                                   RecordedLog, RecordedOrdered, RecordedTable)
from pushfake.core.store import MemoryStore, Name

__all__ = ["LockLost", "RedisStore", "WorldBusy"]

DEFAULT_LOCK_TTL = 10.0  # s: a dead holder blocks the world this long
DEFAULT_LOCK_WAIT = 30.0  # s: how long a transaction waits for the lock before giving up
DEFAULT_STREAM_LENGTH = 10_000  # write-sets kept for replicas catching up; older ones reload
_FIRST_PAUSE, _MAX_PAUSE = 0.0002, 0.01  # s: retrying a held lock, doubling

# KEYS: lock, version, stream, parts. ARGV: token, ttl ms, the replica's version (-1: none),
# '1' to take the lock ('0' only reads: a script sees a commit whole or not at all).
# {0} when the lock is held; else {1, version} (up to date), {1, version, 'delta', write-sets}
# or {1, version, 'full', {part key, contents}...}.
_ACQUIRE = """
if ARGV[4] == '1' and not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
local mine = tonumber(ARGV[3])
if mine == version then return {1, version} end
if mine >= 0 and mine < version then
  local entries = redis.call('XRANGE', KEYS[3], (mine + 1) .. '-0', '+')
  if #entries == version - mine then
    local out = {}
    for i, entry in ipairs(entries) do out[i] = entry[2][2] end
    return {1, version, 'delta', out}
  end
end
local out = {}
for _, key in ipairs(redis.call('HKEYS', KEYS[4])) do
  local kind = redis.call('TYPE', key)['ok']
  local held = nil
  if kind == 'hash' then held = redis.call('HGETALL', key)
  elseif kind == 'string' then held = {redis.call('GET', key)}
  elseif kind == 'list' then held = redis.call('LRANGE', key, 0, -1)
  elseif kind == 'zset' then held = redis.call('ZRANGE', key, 0, -1) end
  if held then out[#out + 1] = key; out[#out + 1] = held end
end
return {1, version, 'full', out}
"""

# KEYS: lock, version, stream, parts. ARGV: token, stream length, write-set (for the stream),
# the number of part keys touched, {part key, owner}..., then the commands (`replica.write_set`).
# The new version, or 0 (nothing applied) when the token no longer holds the lock.
_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local version = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], version .. '-0', 'w', ARGV[3])
local touched = tonumber(ARGV[4])
local i = 5 + 2 * touched
local n = #ARGV
while i <= n do
  local op, key = ARGV[i], ARGV[i + 1]
  if op == 'hset' then redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'hdel' then redis.call('HDEL', key, ARGV[i + 2]); i = i + 3
  elseif op == 'set' then redis.call('SET', key, ARGV[i + 2]); i = i + 3
  elseif op == 'del' then redis.call('DEL', key); i = i + 2
  elseif op == 'incrby' then redis.call('INCRBY', key, ARGV[i + 2]); i = i + 3
  elseif op == 'append' then
    local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    local score = 1
    if newest[2] then score = tonumber(newest[2]) + 1 end
    redis.call('ZADD', key, 'NX', score, ARGV[i + 2]); i = i + 3
  elseif op == 'zadd' then redis.call('ZADD', key, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'zrem' then redis.call('ZREM', key, ARGV[i + 2]); i = i + 3
  elseif op == 'zpopmin' then redis.call('ZPOPMIN', key); i = i + 2
  elseif op == 'rpush' then redis.call('RPUSH', key, ARGV[i + 2]); i = i + 3
  elseif op == 'lpop' then redis.call('LPOP', key); i = i + 2
  elseif op == 'reset' then
    local kept = {}
    for j = 1, tonumber(key) do kept[ARGV[i + 1 + j]] = true end
    local parts = redis.call('HGETALL', KEYS[4])
    for j = 1, #parts, 2 do
      if not kept[parts[j + 1]] then redis.call('DEL', parts[j]); redis.call('HDEL', KEYS[4], parts[j]) end
    end
    i = i + 2 + tonumber(key)
  else return redis.error_reply('pushfake: unknown write-set op ' .. op) end
end
for j = 5, 4 + 2 * touched, 2 do redis.call('HSET', KEYS[4], ARGV[j], ARGV[j + 1]) end
redis.call('DEL', KEYS[1])
return version
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


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
    """The `Store` protocol on a shared Redis: a replica per process, a world lock and a write-set
    per transaction (the module docstring draws it)."""

    def __init__(self, client_or_url: redis.Redis | str, namespace: str = "pushfake", *,
                 lock_ttl: float = DEFAULT_LOCK_TTL, lock_wait: float = DEFAULT_LOCK_WAIT,
                 stream_length: int = DEFAULT_STREAM_LENGTH, fresh_reads: bool = True,
                 changes_factory: Callable[[Name], Changes] | None = None) -> None:
        """`fresh_reads`: a read outside any transaction first catches the replica up (one round
        trip); without it, such a read sees the replica as of its last transaction.
        `changes_factory(name)` makes the wake-ups for `changes(*name)` (once per name): the seam
        for cross-process pub/sub; by default they are this process's own."""
        if isinstance(client_or_url, str):
            self._client, self._owns_client = redis.Redis.from_url(client_or_url, decode_responses=False), True
        else:
            self._client, self._owns_client = client_or_url, False
        self.namespace = namespace
        self.lock_ttl, self.lock_wait, self.stream_length = lock_ttl, lock_wait, stream_length
        self.fresh_reads = fresh_reads
        self._keys = [f"{namespace}:{key}" for key in ("lock", "version", "stream", "parts")]
        self._acquire = self._client.register_script(_ACQUIRE)
        self._commit_script = self._client.register_script(_COMMIT)
        self._release = self._client.register_script(_RELEASE)
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
        self._ops: list[Op] = []
        self._generators: dict[RecordedCell, random.Random] = {}  # read (to draw from) in this transaction
        self._after: list[Callable[[], None]] = []  # `after_commit` actions of this transaction
        self.loads = 0  # full loads of the world so far (a new replica's first, or one too far behind)

    @classmethod
    def from_url(cls, url: str, namespace: str = "pushfake", **options: Any) -> RedisStore:
        """The store of `namespace` at `url`, with its change wake-ups carried to every process
        (Redis pub/sub, published once the change has committed) and its leases (`lease`)."""
        store = cls(url, namespace, **options)
        channels = ChangeChannels(store._client, namespace)
        channels.defer = store.after_commit
        store._channels, store._changes_factory = channels, lambda name: channels.changes(*name)
        return store

    def lease(self, *name: str, ttl: float = DEFAULT_LEASE_TTL) -> Lease:
        """A lease on `name` in this namespace (the scheduler's: one process runs due work)."""
        return Lease(self._client, f"{self.namespace}:lease:{channel_part(name)}", ttl)

    def close(self) -> None:
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

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this thread's outermost transaction has committed (at once outside
        any): how a change is published only when every process can read it. Dropped if the
        commit fails."""
        if self._depth and self._local._is_owned():  # type: ignore[attr-defined]
            self._after.append(action)
        else:
            action()

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

    def _fresh(self) -> None:
        """Before a read outside any transaction: bring the replica up to date without the lock
        (one round trip), so what another process committed is seen, as in one process."""
        if not self.fresh_reads or (self._depth and self._local._is_owned()):  # type: ignore[attr-defined]
            return
        if not self._local.acquire(blocking=False):
            return  # another thread here is in a transaction: the replica is current as of its start
        try:
            reply = self._acquire(keys=self._keys, args=[b"", 0, self._version, 0])
            self._catch_up(reply)
        finally:
            self._local.release()

    def _catch_up(self, reply: list[Any]) -> None:
        try:
            if len(reply) > 2 and reply[2] == b"delta":
                replica.replay(reply[3], self._replica, self._memory_part)
            elif len(reply) > 2:
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
                actions, self._after = self._after, []
                self._commit()
        finally:
            self._local.release()
        for action in actions:  # committed (a failed commit raised above: nothing to announce)
            action()

    def _lock_and_catch_up(self) -> None:
        self._token = token = f"{self._id}:{next(self._tokens)}".encode()
        ttl_ms = max(1, int(self.lock_ttl * 1000))
        started = time.monotonic()
        pause = _FIRST_PAUSE
        while True:
            reply = self._acquire(keys=self._keys, args=[token, ttl_ms, self._version, 1])
            if reply[0]:
                break
            waited = time.monotonic() - started
            if waited >= self.lock_wait:
                raise WorldBusy(f"the pushfake world in Redis namespace {self.namespace!r} stayed locked for "
                                f"{waited:.1f} s (lock_wait): another process holds {self._keys[0]!r}")
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)
        try:
            self._catch_up(reply)
        except BaseException:
            self._release(keys=self._keys[:1], args=[token])
            raise

    def _commit(self) -> None:
        for cell, generator in self._generators.items():
            if cell._part.get() is generator:
                self._ops.append((cell, "set", (generator,)))
        self._generators.clear()
        ops, self._ops = self._ops, []
        if not ops:
            self._release(keys=self._keys[:1], args=[self._token])
            return
        try:
            entry, touched, commands = replica.write_set(ops, self._version + 1)
            header: list[Any] = [self._token, self.stream_length, entry, len(touched)]
            for key, owner in touched.items():
                header += [key, owner]
            version = self._commit_script(keys=self._keys, args=header + commands)
        except BaseException:
            self._version = -1  # the replica holds writes Redis may not: load the world next time
            self._release(keys=self._keys[:1], args=[self._token])
            raise
        if not version:
            self._version = -1
            raise LockLost(f"a transaction on the pushfake world in Redis namespace {self.namespace!r} outlived "
                           f"its lock ({self.lock_ttl} s, lock_ttl): nothing it wrote was applied")
        self._version = int(version)
