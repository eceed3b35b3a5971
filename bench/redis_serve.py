"""`pushfake serve` on Redis against `pushfake serve` in memory: HTTP throughput and latency.

The same server stack for every target (`pushfake serve`: uvicorn, with uvloop and httptools when
installed; the run prints which), loaded with `wrk -t1 -c32` posting the same bytes:
- `memory`: the default store, one process;
- `redis-1`: `--store redis://...` (a `redis-server` this script starts on loopback and stops), one process;
- `redis-2`: the same with `--workers 2`.
Workloads: Leanplum `sendMessage` to a user with a device, `start` for the default world's user,
and D·engage `sendInstant` to the default world's 4 devices (a token from one login per server).
For the Redis targets, the store's round trips per request: the scripts Redis ran (`EVALSHA`:
taking the lock, a batch's commit, a catch-up) over the requests answered. Each target's store
is emptied (a fresh server, a flushed Redis) before its runs; rounds are interleaved so drift hits
every target alike; medians of the rounds. On a 2-CPU machine wrk takes one CPU, so the server,
Redis and (for `redis-2`) a second worker share the other: the ratios to `memory` include
Redis's own CPU, and `redis-2` shows what a second process adds on that CPU, not a second core.

Then Redis's memory per user: `start` for new users through an in-process fake on a Redis store,
the growth of Redis's `used_memory` between two sizes of world (the stream and the journal are
bounded, so the slope is what each further user costs), scaled to 1M users.

Usage: `python bench/redis_serve.py [--quick]`; results in bench/results/redis-serve.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]  # tests.redis_server: the fixture's way of running a redis-server

import redis  # noqa: E402
from common import RESULTS_DIR, Processes, free_port, progress, wait_until_answering  # noqa: E402
from dengage_workloads import SEND_BODY, login  # noqa: E402
from http_load import Workload, require_wrk, run_wrk  # noqa: E402

from tests.redis_server import running_redis  # noqa: E402

CREDS = {"appId": "app_pushfake", "clientKey": "prod_pushfake"}
WORKLOADS = (
    Workload("leanplum", "sendMessage", "/api?action=sendMessage", {**CREDS, "userId": "alice", "messageId": 1001}),
    Workload("leanplum", "start", "/api?action=start", {**CREDS, "userId": "bob"}),
    Workload("dengage", "sendInstant", "/rest/push/sendInstant", SEND_BODY),  # + a token, per server
)
USERS_QUICK, USERS = (2_000, 4_000), (10_000, 20_000)  # two sizes of world: memory per user is the slope
TARGETS = {"memory": ("memory", 1), "redis-1": ("redis", 1), "redis-2": ("redis", 2)}
RESULTS = RESULTS_DIR / "redis-serve.json"


def serve(procs: Processes, store: str, workers: int, name: str) -> tuple[subprocess.Popen[Any], int]:
    port = free_port()
    log = RESULTS_DIR / f"redis-serve-{name}-server.log"
    with log.open("w") as out:
        proc = procs.spawn([sys.executable, "-m", "pushfake", "serve", "--port", str(port), "--store", store,
                            "--workers", str(workers)], stdout=out, stderr=subprocess.STDOUT)
    wait_until_answering(proc, port, log)
    return proc, port


def scripts_run(port: int) -> int:
    """How many scripts this Redis has run: each one of a store's round trips."""
    with redis.Redis(port=port) as client:
        return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def memory_per_user(server: Any, sizes: tuple[int, int]) -> dict[str, Any]:
    """Redis's `used_memory` after `start` for each of `sizes` new users (in-process fake, Redis
    store, flushed Redis first): bytes per further user, and per 1M."""
    import httpx

    from pushfake import Fake, ManualClock, create_app
    from pushfake.core.stores import close_store, open_store

    with redis.Redis(port=server.port) as client:
        client.flushall()
        store = open_store(server.url, "memory-bench")
        app = create_app(Fake(seed=1, clock=ManualClock(), store=store))
        used: list[int] = []

        async def grow() -> None:
            async with app.router.lifespan_context(app):
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
                    made = 0
                    for size in sizes:
                        while made < size:
                            answer = await http.post("/api?action=start", json={**CREDS, "userId": f"user-{made}",
                                                                                "deviceId": f"device-{made}"})
                            assert answer.status_code == 200, answer.text
                            made += 1
                        await store.flushed()
                        used.append(int(client.info("memory")["used_memory"]))

        asyncio.run(grow())
        close_store(store)
    per_user = (used[1] - used[0]) / (sizes[1] - sizes[0])
    return {"users": list(sizes), "used_memory": used, "bytes_per_user": per_user,
            "mib_per_million_users": per_user * 1_000_000 / 2**20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 2 s")
    args = parser.parse_args(argv)
    rounds, seconds = (1, 2) if args.quick else (3, 5)
    wrk = require_wrk()
    RESULTS_DIR.mkdir(exist_ok=True)
    stack = {name: find_spec(name) is not None for name in ("uvloop", "httptools")}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {t: {w.name: [] for w in WORKLOADS} for t in TARGETS}
    procs = Processes()
    with running_redis() as server:
        try:
            for round_ in range(rounds):
                for target, (kind, workers) in TARGETS.items():
                    if kind == "redis":
                        with redis.Redis(port=server.port) as client:
                            client.flushall()
                    store = server.url if kind == "redis" else "memory"
                    progress(f"round {round_ + 1}/{rounds}: {target}")
                    proc, port = serve(procs, store, workers, target)
                    try:
                        token = login(port)
                        for workload in WORKLOADS:
                            if workload.vendor == "dengage":
                                workload = replace(workload, headers=(("Authorization", f"Bearer {token}"),))
                            before = scripts_run(server.port) if kind == "redis" else 0
                            row = run_wrk(wrk, port, workload, seconds)
                            if kind == "redis":
                                row["round_trips_per_request"] = (scripts_run(server.port) - before) / row["requests"]
                            runs[target][workload.name].append(row)
                    finally:
                        procs.stop(proc)
            progress("Redis memory per user")
            memory = memory_per_user(server, USERS_QUICK if args.quick else USERS)
        finally:
            procs.stop_all()
    table = {target: {name: {"rps": statistics.median(r["rps"] for r in rows),
                             "p50_ms": statistics.median(r["p50_ms"] for r in rows),
                             "p99_ms": statistics.median(r["p99_ms"] for r in rows),
                             "non2xx": sum(r["non2xx"] for r in rows),
                             **({"round_trips_per_request": statistics.median(r["round_trips_per_request"] for r in rows)}
                                if "round_trips_per_request" in rows[0] else {}),
                             "statuses": [r["statuses"] for r in rows]}
                      for name, rows in by_workload.items()}
             for target, by_workload in runs.items()}
    results = {"quick": args.quick, "rounds": rounds, "seconds": seconds, "stack": stack,
               "cpus": len(os.sched_getaffinity(0)), "targets": table, "redis_memory": memory}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    loop = "uvloop" if stack["uvloop"] else "asyncio"
    parser_name = "httptools" if stack["httptools"] else "h11"
    print(f"\npushfake serve, wrk -t1 -c32 -d{seconds}s, median of {rounds}; stack: uvicorn on {loop} with "
          f"{parser_name}, {results['cpus']} CPUs")
    print(f"{'target':10} {'workload':12} {'req/s':>8} {'x memory':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
          f"{'trips/req':>9}")
    for target, by_workload in table.items():
        for name, row in by_workload.items():
            ratio = row["rps"] / table["memory"][name]["rps"]
            trips = f"{row['round_trips_per_request']:9.2f}" if "round_trips_per_request" in row else f"{'':9}"
            print(f"{target:10} {name:12} {row['rps']:8.0f} {ratio:9.2f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} "
                  f"{row['non2xx']:8d} {trips}")
    print(f"Redis memory: {memory['mib_per_million_users']:,.0f} MiB per 1M Leanplum users "
          f"({memory['bytes_per_user']:,.0f} bytes each, between {memory['users'][0]:,} and {memory['users'][1]:,} users)")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
