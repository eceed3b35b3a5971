"""What the store would cost on Redis (issue 21's design questions), measured before the backend exists.

1. Store operations per request, counted by wrapping `MemoryStore`'s tables while `pushfake.Fake`
   + `create_app` answer in process (starlette TestClient): Leanplum `start` for a new user,
   `sendMessage` to a user with 2 devices, D·engage `SendInstantPush` to the default world's 4 devices.
2. The same operations replayed on a real `redis-server` (one hash per table, a pickled record
   per field), µs per request-equivalent: redis-py sync and asyncio clients, one command per round
   trip vs pipelined (reads in one round trip, writes in one MULTI/EXEC), and one Lua script doing
   it all in one round trip; the in-memory tables as the floor. With `hiredis` importable, each
   client mode also with redis-py's pure-Python parser. Medians of interleaved rounds.
3. The event loop at 32 concurrent requests (`sendMessage`'s operations): a sync client called
   from coroutines (it blocks the loop) vs the asyncio client; requests/s, latency, and the lag of
   a 1 ms timer on the same loop.
4. Create-if-absent for `createDisposition`: 200 concurrent `start`s of one new user, each its
   own connection, as a Lua `EVALSHA` vs a `WATCH`/`MULTI` retry loop (retries counted) vs a naive
   GET-then-SET: wall time, latency, users created (must be 1), sessions counted (must be 200).
5. The replica store as built (`pushfake.core.redis_store.RedisStore`), in process: µs and Redis
   round trips per empty transaction, per one-write transaction, per read outside a transaction;
   a Leanplum `start` (new user) and `sendMessage` through a `Fake` + `create_app` (starlette
   TestClient) on a `RedisStore` (fresh reads outside transactions, and without them) vs on a
   `MemoryStore`. `--replica-only` runs just this section.

The script starts its own `redis-server` (as the tests' fixture does) and stops it. Numbers mean
something only relative to each other in one run on one machine. Usage:
`python bench/redis_store.py [--quick]`; results in bench/results/redis-store.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import pickle
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]  # tests.redis_server: the fixture's way of running a redis-server

import redis  # noqa: E402
import redis.asyncio as aredis  # noqa: E402
from redis._parsers import _AsyncRESP2Parser, _RESP2Parser  # noqa: E402
from redis.utils import HIREDIS_AVAILABLE  # noqa: E402

from common import RESULTS_DIR, progress  # noqa: E402
from tests.redis_server import running_redis  # noqa: E402

RESULTS = RESULTS_DIR / "redis-store.json"
REPLICA_RESULTS = RESULTS_DIR / "redis-replica-store.json"  # --replica-only
PREFIX = "pf:"
CONCURRENCY = 32
CREATORS = 200

Op = tuple[str, str, str, bytes]  # (operation, table, key, value for writes)
READS, WRITES = {"get", "values", "len", "contains"}, {"put", "delete", "get_or_create"}


# --- 1. counting the store's operations -------------------------------------------------------------


def count_requests() -> tuple[dict[str, list[Op]], dict[str, list[tuple[str, bytes]]]]:
    """Each request's store operations in order, and the world's rows (to load into Redis first)."""
    from starlette.testclient import TestClient

    from pushfake import Fake, ManualClock, create_app
    from pushfake.core.store import MemoryStore, MemoryTable

    recorded: list[Op] = []

    class CountingTable(MemoryTable[Any]):
        __slots__ = ("name",)

        def get(self, key: str) -> Any:
            recorded.append(("get", self.name, key, b""))
            return super().get(key)

        def put(self, key: str, value: Any) -> None:
            recorded.append(("put", self.name, key, pickle.dumps(value)))
            super().put(key, value)

        def get_or_create(self, key: str, factory: Callable[[], Any]) -> tuple[Any, bool]:
            row, created = super().get_or_create(key, factory)
            recorded.append(("get_or_create", self.name, key, pickle.dumps(row)))
            return row, created

        def delete(self, key: str) -> None:
            recorded.append(("delete", self.name, key, b""))
            super().delete(key)

        def values(self) -> Any:
            recorded.append(("values", self.name, "", b""))
            return super().values()

        def __len__(self) -> int:
            recorded.append(("len", self.name, "", b""))
            return super().__len__()

        def __contains__(self, key: object) -> bool:
            recorded.append(("contains", self.name, str(key), b""))
            return super().__contains__(key)

    class CountingStore(MemoryStore):
        def table(self, *name: str) -> MemoryTable[Any]:
            table = self._part(CountingTable, name)
            table.name = "/".join(name)
            return table  # type: ignore[no-any-return]

        def transaction(self) -> Any:
            recorded.append(("transaction", "", "", b""))
            return super().transaction()

    fake = Fake(seed=7, clock=ManualClock(), store=CountingStore())
    lp = {"appId": "app_pushfake", "clientKey": "prod_pushfake"}
    requests: dict[str, list[Op]] = {}
    with TestClient(create_app(fake), raise_server_exceptions=True) as client:
        def run(name: str, answer: Callable[[], Any]) -> None:
            recorded.clear()
            response = answer()
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
            requests[name] = list(recorded)

        # alice gets a second device first, so sendMessage reaches 2
        client.post("/api?action=start", json={**lp, "userId": "alice", "deviceId": "alice-ipad", "systemName": "iOS"})
        token = client.post("/rest/login", json={"userkey": "pushfake", "password": "pushfake-secret"}).json()
        run("leanplum start (new user)", lambda: client.post("/api?action=start", json={
            **lp, "userId": "bench-user", "deviceId": "bench-device", "appVersion": "1.0", "systemName": "iOS",
            "userAttributes": {"plan": "gold"}}))
        run("leanplum sendMessage (2 devices)", lambda: client.post("/api?action=sendMessage", json={
            **lp, "userId": "alice", "messageId": 1001, "values": {"points": 5}}))
        run("dengage SendInstantPush (4 devices)", lambda: client.post(
            "/rest/push/sendInstant", json={"content": {"title": "Hi", "message": "Hello {{contact.name}}"}},
            headers={"Authorization": f"Bearer {token['access_token']}"}))
    world = {"/".join(name): [(key, pickle.dumps(row)) for key, row in table._rows.items()]
             for (kind, name), table in fake.store._parts.items() if kind is CountingTable}
    return requests, world


def summary(ops: list[Op]) -> dict[str, Any]:
    kinds = collections.Counter(op for op, *_ in ops)
    data = [op for op in ops if op[0] != "transaction"]
    return {"operations": len(data), "reads": sum(op[0] in READS for op in data),
            "writes": sum(op[0] in WRITES for op in data), "transactions": kinds.pop("transaction", 0),
            "by_kind": dict(kinds), "tables": sorted({op[1] for op in data}),
            "bytes_written": sum(len(op[3]) for op in data)}


# --- 2. one request's operations on Redis -------------------------------------------------------------


def command(op: Op) -> tuple[Any, ...]:
    kind, table, key, value = op
    name = PREFIX + table
    return {"get": ("HGET", name, key), "put": ("HSET", name, key, value), "delete": ("HDEL", name, key),
            "get_or_create": ("HSETNX", name, key, value), "values": ("HVALS", name), "len": ("HLEN", name),
            "contains": ("HEXISTS", name, key)}[kind]


REPLAY_LUA = """
local out = {}
for i = 1, #ARGV, 4 do
  local op, name, key, value = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if op == 'get' then out[#out + 1] = redis.call('HGET', name, key) or false
  elseif op == 'put' then redis.call('HSET', name, key, value)
  elseif op == 'get_or_create' then redis.call('HSETNX', name, key, value)
  elseif op == 'delete' then redis.call('HDEL', name, key)
  elseif op == 'values' then out[#out + 1] = redis.call('HVALS', name)
  elseif op == 'len' then out[#out + 1] = redis.call('HLEN', name)
  elseif op == 'contains' then out[#out + 1] = redis.call('HEXISTS', name, key) end
end
return out
"""


class Replay:
    """One request's operations as Redis commands, in the three shapes a backend could take."""

    def __init__(self, ops: list[Op]) -> None:
        data = [op for op in ops if op[0] != "transaction"]
        self.commands = [command(op) for op in data]
        self.reads = [command(op) for op in data if op[0] in READS]
        self.writes = [command(op) for op in data if op[0] in WRITES]
        self.lua_args = [part for kind, table, key, value in data for part in (kind, PREFIX + table, key, value)]
        self.ops = data

    def sync_single(self, client: redis.Redis) -> None:
        for args in self.commands:
            client.execute_command(*args)

    def sync_pipelined(self, client: redis.Redis) -> None:
        if self.reads:
            with client.pipeline(transaction=False) as pipe:
                for args in self.reads:
                    pipe.execute_command(*args)
                pipe.execute()
        if self.writes:
            with client.pipeline(transaction=True) as pipe:
                for args in self.writes:
                    pipe.execute_command(*args)
                pipe.execute()

    def sync_lua(self, client: redis.Redis, sha: str) -> None:
        client.evalsha(sha, 0, *self.lua_args)

    async def async_single(self, client: aredis.Redis) -> None:
        for args in self.commands:
            await client.execute_command(*args)

    async def async_pipelined(self, client: aredis.Redis) -> None:
        if self.reads:
            async with client.pipeline(transaction=False) as pipe:
                for args in self.reads:
                    pipe.execute_command(*args)
                await pipe.execute()
        if self.writes:
            async with client.pipeline(transaction=True) as pipe:
                for args in self.writes:
                    pipe.execute_command(*args)
                await pipe.execute()

    async def async_lua(self, client: aredis.Redis, sha: str) -> None:
        await client.evalsha(sha, 0, *self.lua_args)

    def memory(self, tables: dict[str, dict[str, bytes]]) -> None:
        """The floor: today's dict-backed tables doing the same operations."""
        for kind, table, key, value in self.ops:
            rows = tables[table]
            if kind == "get":
                rows.get(key)
            elif kind in ("put", "get_or_create"):
                rows[key] = value
            elif kind == "delete":
                rows.pop(key, None)
            elif kind == "values":
                list(rows.values())
            elif kind == "len":
                len(rows)
            else:
                key in rows  # noqa: B015


class AsyncRows:
    """Today's dict behind `async def` methods: what an async `Store` protocol costs the memory backend."""

    __slots__ = ("rows",)

    def __init__(self, rows: dict[str, bytes]) -> None:
        self.rows = rows

    async def get(self, key: str) -> bytes | None:
        return self.rows.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self.rows[key] = value

    async def delete(self, key: str) -> None:
        self.rows.pop(key, None)

    async def values(self) -> list[bytes]:
        return list(self.rows.values())

    async def length(self) -> int:
        return len(self.rows)

    async def contains(self, key: str) -> bool:
        return key in self.rows


async def async_memory(replay: Replay, tables: dict[str, AsyncRows]) -> None:
    for kind, table, key, value in replay.ops:
        rows = tables[table]
        if kind == "get":
            await rows.get(key)
        elif kind in ("put", "get_or_create"):
            await rows.put(key, value)
        elif kind == "delete":
            await rows.delete(key)
        elif kind == "values":
            await rows.values()
        elif kind == "len":
            await rows.length()
        else:
            await rows.contains(key)


def load_world(client: redis.Redis, world: dict[str, list[tuple[str, bytes]]]) -> None:
    client.flushall()
    for table, rows in world.items():
        if rows:
            client.hset(PREFIX + table, mapping=dict(rows))


def parsers() -> dict[str, dict[str, Any]]:
    """redis-py's reply parsers to compare: hiredis (its default when importable) and pure Python."""
    chosen = {"python": {"sync": _RESP2Parser, "async": _AsyncRESP2Parser}}
    if HIREDIS_AVAILABLE:
        from redis._parsers import _AsyncHiredisParser, _HiredisParser
        chosen["hiredis"] = {"sync": _HiredisParser, "async": _AsyncHiredisParser}
    return chosen


def per_request(requests: dict[str, list[Op]], world: dict[str, Any], port: int, rounds: int,
                iterations: int) -> dict[str, Any]:
    """µs per request-equivalent for every (request, mode), medians of `rounds` interleaved rounds."""
    samples: dict[str, dict[str, list[float]]] = {name: collections.defaultdict(list) for name in requests}
    replays = {name: Replay(ops) for name, ops in requests.items()}
    memory_tables = {table: dict(rows) for table, rows in world.items()}
    for table in {op[1] for ops in requests.values() for op in ops if op[1]}:
        memory_tables.setdefault(table, {})
    sync_clients = {p: redis.Redis(connection_pool=redis.ConnectionPool(host="127.0.0.1", port=port,
                                                                       parser_class=c["sync"]))
                    for p, c in parsers().items()}
    any_client = next(iter(sync_clients.values()))
    load_world(any_client, world)
    sha = any_client.script_load(REPLAY_LUA)

    def timed(run: Callable[[], Any]) -> float:
        run()  # warm: connection made, script cached
        start = time.perf_counter()
        for _ in range(iterations):
            run()
        return (time.perf_counter() - start) / iterations * 1e6

    async def timed_async(run: Callable[[], Any]) -> float:
        await run()
        start = time.perf_counter()
        for _ in range(iterations):
            await run()
        return (time.perf_counter() - start) / iterations * 1e6

    async_tables = {table: AsyncRows(rows) for table, rows in memory_tables.items()}

    async def async_round(name: str, replay: Replay) -> None:
        samples[name]["memory tables, async methods"].append(
            await timed_async(lambda: async_memory(replay, async_tables)))
        for parser, classes in parsers().items():
            pool = aredis.ConnectionPool(host="127.0.0.1", port=port, parser_class=classes["async"])
            client = aredis.Redis(connection_pool=pool)
            try:
                samples[name][f"async one at a time [{parser}]"].append(
                    await timed_async(lambda: replay.async_single(client)))
                samples[name][f"async pipelined [{parser}]"].append(
                    await timed_async(lambda: replay.async_pipelined(client)))
                samples[name][f"async Lua script [{parser}]"].append(
                    await timed_async(lambda: replay.async_lua(client, sha)))
            finally:
                await client.aclose()
                await pool.disconnect()

    for number in range(rounds):
        progress(f"  round {number + 1}/{rounds}")
        for name, replay in replays.items():
            samples[name]["memory tables (today)"].append(timed(lambda: replay.memory(memory_tables)))
            for parser, client in sync_clients.items():
                samples[name][f"sync one at a time [{parser}]"].append(timed(lambda: replay.sync_single(client)))
                samples[name][f"sync pipelined [{parser}]"].append(timed(lambda: replay.sync_pipelined(client)))
                samples[name][f"sync Lua script [{parser}]"].append(timed(lambda: replay.sync_lua(client, sha)))
            asyncio.run(async_round(name, replay))
    pings = {f"sync PING [{parser}]": statistics.median(timed(client.ping) for _ in range(rounds))
             for parser, client in sync_clients.items()}
    for client in sync_clients.values():
        client.close()
    def row(name: str, mode: str, values: list[float]) -> dict[str, Any]:
        return {"us_median": statistics.median(values), "us_min": min(values), "rounds": len(values),
                "round_trips": round_trips(replays[name], mode)}

    return {"round_trip_us": pings,
            "requests": {name: {mode: row(name, mode, values) for mode, values in modes.items()}
                         for name, modes in samples.items()}}


def round_trips(replay: Replay, mode: str) -> int:
    if mode.startswith("memory"):
        return 0
    if "one at a time" in mode:
        return len(replay.commands)
    if "pipelined" in mode:
        return bool(replay.reads) + bool(replay.writes)
    return 1


# --- 3. the event loop at 32 concurrent requests ----------------------------------------------------


async def loop_under_load(replay: Replay, port: int, variant: str, duration: float) -> dict[str, Any]:
    """`CONCURRENCY` tasks doing `replay` back to back for `duration` s, and a 1 ms timer beside them."""
    sync_client = redis.Redis(host="127.0.0.1", port=port)
    async_client = aredis.Redis(host="127.0.0.1", port=port, max_connections=CONCURRENCY)
    run: Callable[[], Any] = {
        "sync client, one at a time (blocks the loop)": lambda: _as_coroutine(replay.sync_single, sync_client),
        "sync client, pipelined (blocks the loop)": lambda: _as_coroutine(replay.sync_pipelined, sync_client),
        "sync client in a thread pool (asyncio.to_thread)": lambda: asyncio.to_thread(replay.sync_single, sync_client),
        "async client, one at a time": lambda: replay.async_single(async_client),
        "async client, pipelined": lambda: replay.async_pipelined(async_client),
    }[variant]
    if "thread" in variant:
        sync_client = redis.Redis(host="127.0.0.1", port=port, max_connections=CONCURRENCY)
    latencies: list[float] = []
    lags: list[float] = []
    end = time.perf_counter() + duration

    async def worker() -> None:
        while time.perf_counter() < end:
            start = time.perf_counter()
            await asyncio.sleep(0)  # the next request arrives: a server reads it from its socket, so it yields
            await run()
            latencies.append(time.perf_counter() - start)  # from arrival: the wait for the loop counts too

    async def ticker() -> None:
        while time.perf_counter() < end:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - start - 0.001)

    await run()
    started = time.perf_counter()
    await asyncio.gather(ticker(), *(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    sync_client.close()
    await async_client.aclose()
    return {"requests_per_s": len(latencies) / elapsed, "p50_ms": quantile(latencies, 0.5) * 1e3,
            "p99_ms": quantile(latencies, 0.99) * 1e3, "timer_lag_p50_ms": quantile(lags, 0.5) * 1e3,
            "timer_lag_p99_ms": quantile(lags, 0.99) * 1e3}


async def _as_coroutine(call: Callable[[Any], None], client: Any) -> None:
    call(client)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


VARIANTS = ("sync client, one at a time (blocks the loop)", "sync client, pipelined (blocks the loop)",
            "sync client in a thread pool (asyncio.to_thread)", "async client, one at a time",
            "async client, pipelined")


def event_loop(replay: Replay, world: dict[str, Any], port: int, rounds: int, duration: float) -> dict[str, Any]:
    with redis.Redis(host="127.0.0.1", port=port) as client:
        load_world(client, world)
    runs: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for number in range(rounds):
        progress(f"  round {number + 1}/{rounds}")
        for variant in VARIANTS:
            runs[variant].append(asyncio.run(loop_under_load(replay, port, variant, duration)))
    return {variant: {key: statistics.median(r[key] for r in results) for key in results[0]}
            for variant, results in runs.items()}


# --- 4. create-if-absent under 200 concurrent starts ---------------------------------------------------

START_LUA = """
local row = redis.call('GET', KEYS[1])
local created = 0
local user
if row then user = cjson.decode(row) else
  user = {id = ARGV[1], devices = {}, sessions = 0, created_at = tonumber(ARGV[3])}
  created = 1
end
local known = false
for _, device in ipairs(user.devices) do if device == ARGV[2] then known = true end end
if not known then user.devices[#user.devices + 1] = ARGV[2] end
user.sessions = user.sessions + 1
user.last_seen = tonumber(ARGV[3])
redis.call('SET', KEYS[1], cjson.encode(user))
return created
"""


def next_user(row: bytes | None, user_id: str, device_id: str, now: float) -> tuple[dict[str, Any], int]:
    """The Python side of `START_LUA`: the user after one `start`, and 1 if this start created it."""
    user = json.loads(row) if row else {"id": user_id, "devices": [], "sessions": 0, "created_at": now}
    if device_id not in user["devices"]:
        user["devices"].append(device_id)
    user["sessions"] += 1
    user["last_seen"] = now
    return user, 0 if row else 1


async def concurrent_starts(port: int, variant: str, user_ids: list[str]) -> dict[str, Any]:
    """One `start` per entry of `user_ids`, all at once, each on its own connection."""
    client = aredis.Redis(host="127.0.0.1", port=port, max_connections=len(user_ids))
    sha = await client.script_load(START_LUA)
    retries = 0
    latencies: list[float] = []

    def key(user_id: str) -> str:
        return f"{PREFIX}leanplum/app_pushfake/users/{user_id}"

    async def lua(user_id: str) -> int:
        return int(await client.evalsha(sha, 1, key(user_id), user_id, "dev-1", time.time()))

    async def watch(user_id: str) -> int:
        nonlocal retries
        async with client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key(user_id))
                    user, created = next_user(await pipe.get(key(user_id)), user_id, "dev-1", time.time())
                    pipe.multi()
                    pipe.set(key(user_id), json.dumps(user))
                    await pipe.execute()
                    return created
                except redis.WatchError:
                    retries += 1

    async def naive(user_id: str) -> int:
        user, created = next_user(await client.get(key(user_id)), user_id, "dev-1", time.time())
        await client.set(key(user_id), json.dumps(user))
        return created

    start_one = {"Lua EVALSHA": lua, "WATCH/MULTI retry loop": watch, "naive GET then SET": naive}[variant]
    # every connection open first, so the measurement is the create, not the connecting
    await asyncio.gather(*(client.ping() for _ in user_ids))

    async def timed(user_id: str) -> int:
        begin = time.perf_counter()
        created = await start_one(user_id)
        latencies.append(time.perf_counter() - begin)
        return created

    began = time.perf_counter()
    created = await asyncio.gather(*(timed(user_id) for user_id in user_ids))
    wall = time.perf_counter() - began
    sessions = sum(json.loads(row)["sessions"] for row in await client.mget([key(u) for u in set(user_ids)]))
    await client.aclose()
    return {"wall_ms": wall * 1e3, "p50_ms": quantile(latencies, 0.5) * 1e3, "p99_ms": quantile(latencies, 0.99) * 1e3,
            "retries": retries, "users_created": sum(created), "sessions_counted": sessions,
            "correct": sum(created) == len(set(user_ids)) and sessions == len(user_ids)}


CREATE_SCENARIOS = {"one new user": lambda tag: [f"{tag}-user"] * CREATORS,
                    f"{CREATORS} new users": lambda tag: [f"{tag}-user-{i}" for i in range(CREATORS)]}
CREATE_VARIANTS = ("Lua EVALSHA", "WATCH/MULTI retry loop", "naive GET then SET")


def create_if_absent(port: int, rounds: int) -> dict[str, Any]:
    runs: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    with redis.Redis(host="127.0.0.1", port=port) as client:
        client.flushall()
    for number in range(rounds):
        progress(f"  round {number + 1}/{rounds}")
        for scenario, user_ids in CREATE_SCENARIOS.items():
            for index, variant in enumerate(CREATE_VARIANTS):
                ids = user_ids(f"round{number}-{index}-{len(scenario)}")
                runs[scenario, variant].append(asyncio.run(concurrent_starts(port, variant, ids)))
    out: dict[str, dict[str, Any]] = collections.defaultdict(dict)
    for (scenario, variant), results in runs.items():
        row = {key: statistics.median(r[key] for r in results) for key in ("wall_ms", "p50_ms", "p99_ms", "retries")}
        row["users_created_each_round"] = [r["users_created"] for r in results]
        row["sessions_counted_each_round"] = [r["sessions_counted"] for r in results]
        row["correct"] = all(r["correct"] for r in results)
        out[scenario][variant] = row
    return dict(out)


# --- 5. the replica store as built -----------------------------------------------------------------------


class CountingRedis(redis.Redis):
    """A sync client that counts the commands it sends: one per round trip (no pipelines here)."""

    sent = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        CountingRedis.sent += 1
        return super().execute_command(*args, **options)


def replica_store(port: int, rounds: int, iterations: int) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from pushfake import Fake, ManualClock, MemoryStore, create_app
    from pushfake.core.redis_store import RedisStore

    def redis_store(namespace: str, **options: Any) -> RedisStore:
        return RedisStore(CountingRedis(host="127.0.0.1", port=port), namespace, **options)

    store = redis_store("bench-replica")
    counter, table = store.counter("bench", "n"), store.table("bench", "rows")
    table.put("row", {"id": "row"})

    def empty() -> None:
        with store.transaction():
            pass

    def one_write() -> None:
        counter.next()

    def read_outside() -> None:
        table.get("row")

    lp = {"appId": "app_pushfake", "clientKey": "prod_pushfake"}
    fakes: dict[str, Any] = {"memory store": MemoryStore(), "redis store": redis_store("bench-fake"),
                             "redis store, stale reads outside transactions": redis_store("bench-stale",
                                                                                          fresh_reads=False)}
    clients = {name: TestClient(create_app(Fake(seed=7, clock=ManualClock(), store=store)))
               for name, store in fakes.items()}
    users = itertools.count()

    def start(client: TestClient) -> Callable[[], None]:
        def run() -> None:
            client.post("/api?action=start", json={**lp, "userId": f"bench-{next(users)}", "deviceId": "d",
                                                  "systemName": "iOS"}).raise_for_status()
        return run

    def send(client: TestClient) -> Callable[[], None]:
        def run() -> None:
            client.post("/api?action=sendMessage", json={**lp, "userId": "alice",
                                                        "messageId": 1001}).raise_for_status()
        return run

    cases: dict[str, tuple[Callable[[], None], int]] = {
        "empty transaction": (empty, iterations), "one-write transaction (counter.next)": (one_write, iterations),
        "read outside a transaction (fresh)": (read_outside, iterations)}
    for name, client in clients.items():
        cases[f"leanplum start (new user), {name}"] = (start(client), max(iterations // 10, 20))
        cases[f"leanplum sendMessage, {name}"] = (send(client), max(iterations // 10, 20))
    timings: dict[str, list[float]] = {name: [] for name in cases}
    trips: dict[str, float] = {}
    for _ in range(rounds):  # interleaved: each round measures every case once
        for name, (run, count) in cases.items():
            run()  # warm: the first full load is not the steady state
            before, started = CountingRedis.sent, time.perf_counter()
            for _ in range(count):
                run()
            timings[name].append((time.perf_counter() - started) / count * 1e6)
            trips[name] = (CountingRedis.sent - before) / count
    for client in clients.values():
        client.close()
    return {name: {"us_median": statistics.median(values), "us_all": values, "round_trips": trips[name]}
            for name, values in timings.items()}


# --- the run ---------------------------------------------------------------------------------------------


def versions(port: int) -> dict[str, Any]:
    with redis.Redis(host="127.0.0.1", port=port) as client:
        server = client.info("server")["redis_version"]

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"python": platform.python_version(), "redis_server": server, "redis_py": version("redis"),
            "hiredis": version("hiredis"), "nproc": os.cpu_count()}


def print_replica(results: dict[str, Any]) -> None:
    print("\nthe replica store (RedisStore), in process: µs and Redis round trips per operation or request:")
    for name, row in results["replica_store"].items():
        print(f"  {name:72} {row['us_median']:9.1f} µs  ({row['round_trips']:.1f} round trips)")


def print_summary(results: dict[str, Any]) -> None:
    v = results["versions"]
    if "operations" not in results:
        print_replica(results)
        print(f"results: {results['results_file']}")
        return
    print(f"\n== Redis store costs{' (quick)' if results['quick'] else ''}: Python {v['python']}, "
          f"redis-server {v['redis_server']}, redis-py {v['redis_py']}, hiredis {v['hiredis'] or 'not installed'} ==")
    print("(relative numbers: one run, one shared machine; µs per request-equivalent, median of rounds)")
    print("one round trip: " + ", ".join(f"{mode} {us:.1f} µs"
                                         for mode, us in results["per_request"]["round_trip_us"].items()))
    for name, counted in results["operations"].items():
        print(f"\n{name}: {counted['operations']} store operations ({counted['reads']} reads, "
              f"{counted['writes']} writes) in {counted['transactions']} transactions, {counted['by_kind']}, "
              f"{counted['bytes_written']} bytes written")
        for mode, row in results["per_request"]["requests"][name].items():
            print(f"  {mode:40} {row['us_median']:9.1f} µs  ({row['round_trips']} round trips)")
    print(f"\nevent loop, {CONCURRENCY} concurrent {results['event_loop_request']}:")
    print(f"  {'variant':50} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'1ms-timer lag p50/p99 ms':>25}")
    for variant, row in results["event_loop"].items():
        print(f"  {variant:50} {row['requests_per_s']:8.0f} {row['p50_ms']:7.2f} {row['p99_ms']:7.2f} "
              f"{row['timer_lag_p50_ms']:12.2f} / {row['timer_lag_p99_ms']:.2f}")
    for scenario, variants in results["create_if_absent"].items():
        print(f"\ncreate-if-absent, {CREATORS} concurrent starts of {scenario} (users created / sessions counted "
              "in each round):")
        for variant, row in variants.items():
            print(f"  {variant:24} wall {row['wall_ms']:7.1f} ms, p50 {row['p50_ms']:6.1f} ms, "
                  f"p99 {row['p99_ms']:6.1f} ms, retries {row['retries']:6.0f}, {row['users_created_each_round']} / "
                  f"{row['sessions_counted_each_round']} -> {'correct' if row['correct'] else 'WRONG'}")
    print_replica(results)
    print(f"results: {results['results_file']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rounds, fewer iterations, 0.3 s loads")
    parser.add_argument("--replica-only", action="store_true", help="only section 5, the replica store as built")
    args = parser.parse_args(argv)
    rounds, iterations, duration = (2, 200, 0.3) if args.quick else (7, 2000, 2.0)
    RESULTS_DIR.mkdir(exist_ok=True)
    with running_redis() as server:
        results: dict[str, Any] = {"quick": args.quick, "versions": versions(server.port),
                                   "load_avg_start": os.getloadavg()}
        if not args.replica_only:
            progress("counting store operations per request ...")
            requests, world = count_requests()
            results["operations"] = {name: summary(ops) for name, ops in requests.items()}
            progress("per request on Redis ...")
            results["per_request"] = per_request(requests, world, server.port, rounds, iterations)
            loaded = "leanplum sendMessage (2 devices)"
            progress(f"event loop at {CONCURRENCY} concurrent requests ...")
            results["event_loop_request"] = loaded
            results["event_loop"] = event_loop(Replay(requests[loaded]), world, server.port, max(rounds // 2, 1),
                                               duration)
            progress(f"create-if-absent under {CREATORS} concurrent starts ...")
            results["create_if_absent"] = create_if_absent(server.port, rounds)
        progress("the replica store ...")
        results["replica_store"] = replica_store(server.port, rounds, iterations)
    results["load_avg_end"] = os.getloadavg()
    written = REPLICA_RESULTS if args.replica_only else RESULTS
    results["results_file"] = str(written)
    written.write_text(json.dumps(results, indent=2) + "\n")
    print_summary(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
