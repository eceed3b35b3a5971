"""HTTP load with wrk: every vendor workload against the fake and the same bare app.

One bare server serves every workload; each vendor gets its own fake server, so one vendor's
accumulated state (the fake keeps every delivery) does not slow the other's numbers. All run
under identical uvicorn settings (`launch.py`). Runs are interleaved (each repeat goes through
all workloads on both targets), so drift over the run hits every workload and both targets alike.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    HERE, LAUNCHER, RESULTS_DIR, WRK_SCRIPT, Processes, Settings, cpu_seconds, free_port, proc_status,
    progress, rss_mib, wait_until_answering,
)

WRK_THREADS, WRK_CONNECTIONS = 1, 32  # 2 cores: one for wrk, one for the server
TARGETS = ("fake", "bare")


@dataclass(frozen=True)
class Workload:
    """One POST that wrk repeats: the same bytes go to the fake and to the bare app."""

    vendor: str
    name: str
    path: str
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.vendor}.{self.name}"


# Builds a vendor's workloads and its pre-load check once the fake is up (D·engage needs a
# token from it): (fake port) -> (workloads, answers before load).
VendorSetup = Callable[[int], tuple[list[Workload], dict[str, Any]]]


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("bench: `wrk` not found on PATH. Install it, e.g. "
                 "`apt-get update && apt-get install -y wrk` (Debian/Ubuntu); see bench/README.md.")
    return wrk


def wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    return (out.stdout or out.stderr).splitlines()[0].strip()


Server = tuple[subprocess.Popen[Any], int, Path]  # process, port, log


def start_target(procs: Processes, kind: str, name: str) -> Server:
    """`launch.py KIND PORT` (kind: fake or bare), logging to results/NAME-server.log."""
    port = free_port()
    log = RESULTS_DIR / f"{name}-server.log"
    with log.open("w") as fh:
        proc = procs.spawn([sys.executable, str(LAUNCHER), kind, str(port)],
                           stdout=fh, stderr=subprocess.STDOUT, cwd=HERE)
    wait_until_answering(proc, port, log)
    return proc, port, log


def run_wrk(wrk: str, port: int, workload: Workload, duration_s: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}{workload.path}"
    body = json.dumps(workload.body, separators=(",", ":"))
    headers = [f"{name}: {value}" for name, value in workload.headers]
    argv = [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration_s}s", "--timeout", "10s",
            "-s", str(WRK_SCRIPT), url, "--", body, *headers]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    non2xx = sum(n for code, n in raw["statuses"].items() if not code.startswith("2"))
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "duration_s": raw["duration_us"] / 1e6,
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
        "non2xx": non2xx,
        "wrk_non2xx_3xx": raw["non2xx"],  # wrk's own "Non-2xx or 3xx responses" counter
        "socket_errors": {k: raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")},
        "statuses": raw["statuses"],
        "first_non2xx": raw["first_non2xx"] or None,
    }


def load_once(wrk: str, proc: subprocess.Popen[Any], port: int, kind: str, workload: Workload,
              phase: str, duration_s: int) -> dict[str, Any]:
    """One wrk run, with the server's RSS before and after (the fake keeps what it is sent) and the
    CPU time it used: CPU per request holds up better than req/s if something else is running,
    and a server below ~100% of its core was starved (or idle)."""
    rss_before, cpu_before = rss_mib(proc.pid), cpu_seconds(proc.pid)
    result = run_wrk(wrk, port, workload, duration_s)
    rss_after, cpu = rss_mib(proc.pid), cpu_seconds(proc.pid) - cpu_before
    return {"target": kind, "vendor": workload.vendor, "workload": workload.name, "phase": phase,
            "server_rss_mib": rss_after, "server_rss_growth_mib": rss_after - rss_before,
            "server_cpu_s": cpu, "server_cpu_util": cpu / result["duration_s"],
            "server_cpu_us_per_request": cpu * 1e6 / max(result["requests"], 1), **result}


def measure_http(settings: Settings, procs: Processes, wrk: str,
                 vendors: dict[str, VendorSetup]) -> dict[str, Any]:
    servers = {"bare": start_target(procs, "bare", "bare")}  # by name: bare, fake-<vendor>
    try:
        for vendor in vendors:
            servers[f"fake-{vendor}"] = start_target(procs, "fake", f"fake-{vendor}")
        rss_start = {name: rss_mib(proc.pid) for name, (proc, _, _) in servers.items()}
        workloads: list[Workload] = []
        answers: dict[str, Any] = {}
        for vendor, setup in vendors.items():
            vendor_workloads, answers[vendor] = setup(servers[f"fake-{vendor}"][1])
            workloads += vendor_workloads

        def targets(w: Workload) -> list[tuple[str, Server]]:
            return [("fake", servers[f"fake-{w.vendor}"]), ("bare", servers["bare"])]

        runs: list[dict[str, Any]] = []
        for workload in workloads:
            for kind, (proc, port, _) in targets(workload):
                runs.append(load_once(wrk, proc, port, kind, workload, "warmup", settings.warmup_s))
        for repeat in range(settings.repeats):  # interleaved, so drift hits both targets alike
            for workload in workloads:
                for kind, (proc, port, _) in targets(workload):
                    result = load_once(wrk, proc, port, kind, workload, f"run{repeat + 1}", settings.duration_s)
                    runs.append(result)
                    progress(f"  {kind:4} {workload.key:20} run {repeat + 1}: {result['rps']:8.0f} req/s "
                             f"p99 {result['p99_ms']:6.2f} ms non-2xx {result['non2xx']} "
                             f"server CPU {result['server_cpu_util']:4.0%}")
        rss_end = {name: rss_mib(proc.pid) for name, (proc, _, _) in servers.items()}
        threads_end = {name: proc_status(proc.pid, "Threads") for name, (proc, _, _) in servers.items()}
    finally:
        for proc, _, _ in servers.values():
            procs.stop(proc)
    return {
        "client": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{settings.duration_s}s (warm-up {settings.warmup_s}s)",
        "repeats": settings.repeats,
        "order": [w.key for w in workloads],
        "answers_before_load": answers,
        "workloads": summarise(workloads, runs),
        "server_rss_mib": {"start": rss_start, "end": rss_end},
        "server_threads_end": threads_end,  # >1 means sync work went through the thread pool
        "server_log_lines": {name: _log_lines(log) for name, (_, _, log) in servers.items()},
        "runs": runs,
    }


def summarise(workloads: list[Workload], runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{vendor: {workload: {fake: ..., bare: ..., throughput_ratio}}}, medians over the repeats."""
    out: dict[str, dict[str, Any]] = {}
    for w in workloads:
        mine = [r for r in runs if r["vendor"] == w.vendor and r["workload"] == w.name]
        per_target = {}
        for kind in TARGETS:
            rows = [r for r in mine if r["target"] == kind and r["phase"] != "warmup"]
            every = [r for r in mine if r["target"] == kind]
            growth = sum(r["server_rss_growth_mib"] for r in every)
            per_target[kind] = {
                **run_medians(rows, every),
                "non2xx_warmup": sum(r["non2xx"] for r in every if r["phase"] == "warmup"),
                "server_rss_growth_mib": growth,
                "server_rss_growth_bytes_per_request": growth * 2**20 / sum(r["requests"] for r in every),
            }
        out.setdefault(w.vendor, {})[w.name] = {
            **per_target, "throughput_ratio": per_target["fake"]["rps"] / per_target["bare"]["rps"],
            "cpu_per_request_ratio": per_target["fake"]["server_cpu_us_per_request"]
            / per_target["bare"]["server_cpu_us_per_request"],
        }
    return out


def run_medians(rows: list[dict[str, Any]], every: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One target's wrk runs in one: medians of rates and latencies over `rows` (the measured
    runs), sums of counts; first failure and socket errors over `every` run (warm-ups too)."""
    every = rows if every is None else every
    return {
        "rps": statistics.median(r["rps"] for r in rows),
        "p50_ms": statistics.median(r["p50_ms"] for r in rows),
        "p99_ms": statistics.median(r["p99_ms"] for r in rows),
        "max_ms": max(r["max_ms"] for r in rows),
        "server_cpu_util": statistics.median(r["server_cpu_util"] for r in rows),
        "server_cpu_us_per_request": statistics.median(r["server_cpu_us_per_request"] for r in rows),
        "requests": sum(r["requests"] for r in rows),
        "non2xx": sum(r["non2xx"] for r in rows),
        "first_non2xx": next((r["first_non2xx"] for r in every if r["first_non2xx"]), None),
        "socket_errors": sum(sum(r["socket_errors"].values()) for r in every),
    }


def _log_lines(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return lines[:20] + ([f"... {len(lines) - 20} more lines"] if len(lines) > 20 else [])
