"""`pushfake serve` on Redis against `pushfake serve` in memory: HTTP throughput and latency.

The same server stack for every target (`pushfake serve`: uvicorn, with uvloop and httptools when
installed; the run prints which), loaded with `wrk -t1 -c32` posting the same bytes:
- `memory`: the default store, one process;
- `redis-1`: `--store redis://...` (a `redis-server` this script starts on loopback and stops), one process;
- `redis-2`: the same with `--workers 2`.
Workloads: Leanplum `sendMessage` to a user with a device, and `start` for the default world's
user. Each target's store is emptied (a fresh server, a flushed Redis) before its runs; rounds are
interleaved so drift hits every target alike; medians of the rounds. On a 2-CPU machine wrk takes
one CPU, so `redis-2` shows what a second process adds on the CPU left, not a second core.

Usage: `python bench/redis_serve.py [--quick]`; results in bench/results/redis-serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]  # tests.redis_server: the fixture's way of running a redis-server

import redis  # noqa: E402
from common import RESULTS_DIR, Processes, free_port, progress, wait_until_answering  # noqa: E402
from http_load import Workload, require_wrk, run_wrk  # noqa: E402

from tests.redis_server import running_redis  # noqa: E402

CREDS = {"appId": "app_pushfake", "clientKey": "prod_pushfake"}
WORKLOADS = (
    Workload("leanplum", "sendMessage", "/api?action=sendMessage", {**CREDS, "userId": "alice", "messageId": 1001}),
    Workload("leanplum", "start", "/api?action=start", {**CREDS, "userId": "bob"}),
)
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
                        for workload in WORKLOADS:
                            runs[target][workload.name].append(run_wrk(wrk, port, workload, seconds))
                    finally:
                        procs.stop(proc)
        finally:
            procs.stop_all()
    table = {target: {name: {"rps": statistics.median(r["rps"] for r in rows),
                             "p50_ms": statistics.median(r["p50_ms"] for r in rows),
                             "p99_ms": statistics.median(r["p99_ms"] for r in rows),
                             "non2xx": sum(r["non2xx"] for r in rows),
                             "statuses": [r["statuses"] for r in rows]}
                      for name, rows in by_workload.items()}
             for target, by_workload in runs.items()}
    results = {"quick": args.quick, "rounds": rounds, "seconds": seconds, "stack": stack,
               "cpus": len(os.sched_getaffinity(0)), "targets": table}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    loop = "uvloop" if stack["uvloop"] else "asyncio"
    parser_name = "httptools" if stack["httptools"] else "h11"
    print(f"\npushfake serve, wrk -t1 -c32 -d{seconds}s, median of {rounds}; stack: uvicorn on {loop} with "
          f"{parser_name}, {results['cpus']} CPUs")
    print(f"{'target':10} {'workload':12} {'req/s':>8} {'x memory':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for target, by_workload in table.items():
        for name, row in by_workload.items():
            ratio = row["rps"] / table["memory"][name]["rps"]
            print(f"{target:10} {name:12} {row['rps']:8.0f} {ratio:9.2f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} "
                  f"{row['non2xx']:8d}")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
