"""Benchmark of pushfake's Leanplum API: is the fake cheap enough to sit under a test suite?

One run measures four things and writes them to bench/results/leanplum.json:

1. HTTP throughput and latency, fake vs. a baseline. The fake and a bare Starlette app
   (one `/api` route that reads the body and answers a constant JSON) run under identical
   uvicorn settings; `wrk -t1 -c32` posts the same bodies (`sendMessage`, `start`) to both.
   The bare app is the floor for this stack, so fake/bare throughput says what the fake's
   own work (decoding, validation, state, rendering) costs. Medians of several runs.
2. Start-up: spawn `pushfake serve --port 0` until its first answered request, because test
   suites start the fake often.
3. Memory for 1,000,000 users with one device each, in a fresh subprocess, plus in-process
   `start` latency with that store loaded vs. a small store: request cost must not grow
   with the store.
4. The request validator: the compiled (Rust) validator and `prepare` (validate + coerce)
   against pure-Python `jsonschema` on the same schema.

Targets are printed as PASS/FAIL next to the numbers; missing a target does not fail the
run. Usage: `python bench/leanplum_bench.py [--quick]` (needs `wrk`, see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RESULTS_FILE = RESULTS_DIR / "leanplum.json"
LAUNCHER = HERE / "launch.py"
WRK_SCRIPT = HERE / "wrk_report.lua"

SEND_BODY = {"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "alice",
             "messageId": 1001, "values": {"points": 5}}
START_BODY = {"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "bench-user",
              "deviceId": "bench-device", "appVersion": "1.0", "systemName": "iOS",
              "userAttributes": {"plan": "gold"}}
WORKLOADS = {"sendMessage": SEND_BODY, "start": START_BODY}
PROBE_PATH = "/api?action=start&appId=app_pushfake&clientKey=prod_pushfake&userId=probe"

WRK_THREADS, WRK_CONNECTIONS = 1, 32  # 2 cores: one for wrk, one for the server
MIN_THROUGHPUT_RATIO = 0.5  # fake sendMessage rps >= 0.5 x bare
MAX_P99_MS = 25.0
MAX_STARTUP_S = 1.5
MAX_MEMORY_MIB = 1536.0
SERVER_READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Settings:
    duration_s: int  # per measured wrk run
    warmup_s: int  # one warm-up run per (target, workload), discarded
    repeats: int
    users: int
    startup_runs: int = 5
    latency_calls: int = 1000
    timeit_repeats: int = 7


FULL = Settings(duration_s=8, warmup_s=2, repeats=3, users=1_000_000)
QUICK = Settings(duration_s=2, warmup_s=1, repeats=1, users=100_000, timeit_repeats=3)


# --- processes -----------------------------------------------------------------------------


class Processes:
    """Every server this run spawned; `stop_all` ends each one, by its own pid."""

    def __init__(self) -> None:
        self._running: list[subprocess.Popen[Any]] = []

    def spawn(self, argv: list[str], **options: Any) -> subprocess.Popen[Any]:
        # Own session: a Ctrl-C reaches only us, and we stop the children in order.
        proc = subprocess.Popen(argv, start_new_session=True, **options)
        self._running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc in self._running:
            self._running.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self._running):
            self.stop(proc)


def _exit_cleanly_on_signals() -> None:
    """Ctrl-C and SIGTERM unwind through `finally`, so every server gets stopped."""

    def on_sigterm(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, on_sigterm)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int | str, field: str) -> int:
    """A numeric field of /proc/PID/status (kB for memory fields)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def rss_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    return proc_status(pid, field) / 1024


def http_get(host: str, port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def http_post(port: int, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_answering(proc: subprocess.Popen[Any], port: int, log: Path) -> None:
    deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if http_get("127.0.0.1", port, PROBE_PATH)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not answer within {SERVER_READY_TIMEOUT_S} s")


# --- 1. HTTP load with wrk -------------------------------------------------------------------


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("leanplum_bench: `wrk` not found on PATH. Install it, e.g. "
                 "`apt-get update && apt-get install -y wrk` (Debian/Ubuntu); see bench/README.md.")
    return wrk


def wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def start_target(procs: Processes, kind: str) -> tuple[subprocess.Popen[Any], int, Path]:
    port = free_port()
    log = RESULTS_DIR / f"{kind}-server.log"
    with log.open("w") as fh:
        proc = procs.spawn([sys.executable, str(LAUNCHER), kind, str(port)],
                           stdout=fh, stderr=subprocess.STDOUT, cwd=HERE)
    wait_until_answering(proc, port, log)
    return proc, port, log


def run_wrk(wrk: str, port: int, workload: str, duration_s: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/api?action={workload}"
    body = json.dumps(WORKLOADS[workload], separators=(",", ":"))
    argv = [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration_s}s", "--timeout", "10s",
            "-s", str(WRK_SCRIPT), url, "--", body]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    non2xx = sum(n for code, n in raw["statuses"].items() if not code.startswith("2"))
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
        "non2xx": non2xx,
        "wrk_non2xx_3xx": raw["non2xx"],  # wrk's own "Non-2xx or 3xx responses" counter
        "socket_errors": {k: raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")},
        "statuses": raw["statuses"],
        "first_non2xx": raw["first_non2xx"] or None,
    }


def check_answers(fake_port: int) -> dict[str, Any]:
    """One request of each workload before the load, to show what the fake answers."""
    out = {}
    for workload, body in WORKLOADS.items():
        status, raw = http_post(fake_port, f"/api?action={workload}", body)
        element = json.loads(raw)["response"][0]
        out[workload] = {"status": status, "success": element.get("success"),
                         "result": element.get("result"), "messagesSent": element.get("messagesSent")}
    return out


def load_once(wrk: str, proc: subprocess.Popen[Any], port: int, kind: str, workload: str,
              phase: str, duration_s: int) -> dict[str, Any]:
    """One wrk run, with the server's RSS before and after (the fake keeps what it is sent)."""
    rss_before = rss_mib(proc.pid)
    result = run_wrk(wrk, port, workload, duration_s)
    rss_after = rss_mib(proc.pid)
    return {"target": kind, "workload": workload, "phase": phase, "server_rss_mib": rss_after,
            "server_rss_growth_mib": rss_after - rss_before, **result}


def measure_http(settings: Settings, procs: Processes, wrk: str) -> dict[str, Any]:
    servers = {kind: start_target(procs, kind) for kind in ("fake", "bare")}
    rss_start = {kind: rss_mib(proc.pid) for kind, (proc, _, _) in servers.items()}
    answers = check_answers(servers["fake"][1])
    runs: list[dict[str, Any]] = []
    try:
        for workload in WORKLOADS:
            for kind, (proc, port, _) in servers.items():
                runs.append(load_once(wrk, proc, port, kind, workload, "warmup", settings.warmup_s))
        for repeat in range(settings.repeats):  # interleaved, so drift hits both targets alike
            for workload in WORKLOADS:
                for kind, (proc, port, _) in servers.items():
                    result = load_once(wrk, proc, port, kind, workload, f"run{repeat + 1}", settings.duration_s)
                    runs.append(result)
                    _progress(f"  {kind:4} {workload:11} run {repeat + 1}: {result['rps']:8.0f} req/s "
                              f"p99 {result['p99_ms']:6.2f} ms non-2xx {result['non2xx']}")
        rss_end = {kind: rss_mib(proc.pid) for kind, (proc, _, _) in servers.items()}
        threads_end = {kind: proc_status(proc.pid, "Threads") for kind, (proc, _, _) in servers.items()}
    finally:
        for proc, _, _ in servers.values():
            procs.stop(proc)
    return {
        "client": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{settings.duration_s}s (warm-up {settings.warmup_s}s)",
        "repeats": settings.repeats,
        "answers_before_load": answers,
        "workloads": summarise_http(runs),
        "server_rss_mib": {"start": rss_start, "end": rss_end},
        "server_threads_end": threads_end,  # >1 means sync work went through the thread pool
        "server_log_lines": {kind: _log_lines(log) for kind, (_, _, log) in servers.items()},
        "runs": runs,
    }


def summarise_http(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for workload in WORKLOADS:
        per_target = {}
        for kind in ("fake", "bare"):
            rows = [r for r in runs if r["target"] == kind and r["workload"] == workload and r["phase"] != "warmup"]
            warm = [r for r in runs if r["target"] == kind and r["workload"] == workload and r["phase"] == "warmup"]
            per_target[kind] = {
                "rps": statistics.median(r["rps"] for r in rows),
                "p50_ms": statistics.median(r["p50_ms"] for r in rows),
                "p99_ms": statistics.median(r["p99_ms"] for r in rows),
                "max_ms": max(r["max_ms"] for r in rows),
                "requests": sum(r["requests"] for r in rows),
                "non2xx": sum(r["non2xx"] for r in rows),
                "non2xx_warmup": sum(r["non2xx"] for r in warm),
                "socket_errors": sum(sum(r["socket_errors"].values()) for r in rows + warm),
                "server_rss_growth_mib": sum(r["server_rss_growth_mib"] for r in rows + warm),
                "server_rss_growth_bytes_per_request": sum(r["server_rss_growth_mib"] for r in rows + warm)
                * 2**20 / sum(r["requests"] for r in rows + warm),
            }
        fake, bare = per_target["fake"], per_target["bare"]
        out[workload] = {**per_target, "throughput_ratio": fake["rps"] / bare["rps"]}
    return out


def _log_lines(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return lines[:20] + ([f"... {len(lines) - 20} more lines"] if len(lines) > 20 else [])


# --- 2. start-up ---------------------------------------------------------------------------


def read_line(stream: TextIO, deadline: float) -> str:
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
        raise RuntimeError("pushfake serve printed nothing in time")
    return stream.readline()


def time_one_startup(procs: Processes, exe: str) -> dict[str, float]:
    deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
    t0 = time.perf_counter()
    proc = procs.spawn([exe, "serve", "--port", "0"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    try:
        first = read_line(proc.stdout, deadline)  # type: ignore[arg-type]
        banner_s = time.perf_counter() - t0
        url = first.split(" listening on ", 1)[1].strip()
        host, port = url.removeprefix("http://").rsplit(":", 1)
        while time.monotonic() < deadline:
            try:
                if http_get(host, int(port), PROBE_PATH)[0] == 200:
                    return {"banner_s": banner_s, "first_200_s": time.perf_counter() - t0}
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError("pushfake serve never answered 200")
    finally:
        procs.stop(proc)


def measure_startup(settings: Settings, procs: Processes) -> dict[str, Any]:
    exe = shutil.which("pushfake", path=str(Path(sys.executable).parent)) or shutil.which("pushfake")
    if exe is None:
        raise RuntimeError("the `pushfake` command is not installed in this environment")
    runs = [time_one_startup(procs, exe) for _ in range(settings.startup_runs)]
    return {
        "command": "pushfake serve --port 0",
        "runs": runs,
        "banner_s_median": statistics.median(r["banner_s"] for r in runs),
        "first_200_s_median": statistics.median(r["first_200_s"] for r in runs),
    }


# --- 3. memory (runs in a child process) ------------------------------------------------------


def insert_users(fake: Any, count: int) -> None:
    from pushfake.leanplum.models import Device, User

    state = fake.leanplum.state
    users, devices = state.users("app_pushfake"), state.devices("app_pushfake")
    for i in range(count):
        uid, did = f"user-{i:07d}", f"device-{i:07d}"
        users.put(uid, User(id=uid, attributes={"plan": "gold" if i % 2 else "free"}, device_ids=[did],
                            created_at=1.0, last_seen=1.0))
        devices.put(did, Device(id=did, user_id=uid, systemName="iOS", appVersion="2.3.0",
                                iosPushToken=f"{i:064x}"))


async def start_latencies(fake: Any, population: int, calls: int) -> dict[str, Any]:
    """Median etc. of `calls` in-process `start`s for existing users spread over the store."""
    import httpx

    import pushfake

    users = fake.leanplum.state.users("app_pushfake")
    count_before = len(users)
    ids = [(i * 7919) % population for i in range(calls)]  # 7919 is prime: spread, no repeats
    transport = httpx.ASGITransport(app=pushfake.create_app(fake))
    samples, statuses = [], set()
    async with httpx.AsyncClient(transport=transport, base_url="http://pushfake") as client:
        for phase in ("warmup", "measure"):
            for i in ids[: calls // 10] if phase == "warmup" else ids:
                body = {**START_BODY, "userId": f"user-{i:07d}", "deviceId": f"device-{i:07d}"}
                t0 = time.perf_counter()
                response = await client.post("/api?action=start", json=body)
                elapsed = time.perf_counter() - t0
                statuses.add(response.status_code)
                if phase == "measure":
                    samples.append(elapsed * 1000)
    samples.sort()
    return {
        "store_users": count_before, "calls": calls, "statuses": sorted(statuses),
        "new_users_created": len(users) - count_before,
        "p50_ms": statistics.median(samples), "p99_ms": samples[int(len(samples) * 0.99) - 1],
        "max_ms": samples[-1],
    }


def memory_child(users: int, calls: int) -> dict[str, Any]:
    import pushfake

    fake = pushfake.Fake(seed=1)
    gc.collect()
    before = rss_mib()
    t0 = time.perf_counter()
    insert_users(fake, users)
    insert_s = time.perf_counter() - t0
    after = rss_mib()
    t0 = time.perf_counter()
    gc.collect()
    full_gc_ms = (time.perf_counter() - t0) * 1000
    large = asyncio.run(start_latencies(fake, users, calls))
    small_fake = pushfake.Fake(seed=1)
    insert_users(small_fake, calls)
    small = asyncio.run(start_latencies(small_fake, calls, calls))
    return {
        "users": users, "rss_before_mib": before, "rss_after_mib": after, "delta_mib": after - before,
        "bytes_per_user": (after - before) * 2**20 / users, "peak_rss_mib": rss_mib(field="VmHWM"),
        "insert_s": insert_s, "full_gc_ms_with_store": full_gc_ms,
        "start_latency_large_store": large, "start_latency_small_store": small,
        "start_p50_ratio_large_vs_small": large["p50_ms"] / small["p50_ms"],
    }


def measure_memory(settings: Settings) -> dict[str, Any]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(settings.users),
            "--calls", str(settings.latency_calls)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900)  # kills the child on any error
    if out.returncode != 0:
        raise RuntimeError(f"memory child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- 4. validators -----------------------------------------------------------------------------


def time_call(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    per_call = [t / number * 1e6 for t in timer.repeat(repeat=repeats, number=number)]
    return {"us_median": statistics.median(per_call), "us_min": min(per_call), "calls_per_repeat": number}


def measure_validators(settings: Settings) -> dict[str, Any]:
    import jsonschema

    import pushfake

    fake = pushfake.Fake(seed=1)
    entry = fake.leanplum.actions.get("sendMessage")
    python_validator = jsonschema.Draft202012Validator(
        {"$ref": entry.validator.pointer, "components": fake.leanplum.spec.document["components"]})
    params = dict(SEND_BODY)
    if not (entry.validator.is_valid(params) and python_validator.is_valid(params)):
        raise RuntimeError("the sendMessage body does not validate; the benchmark body is out of date")
    cases = {
        "fake_is_valid (jsonschema_rs)": lambda: entry.validator.is_valid(params),
        "fake_prepare (validate + coerce)": lambda: entry.prepare(params),
        "jsonschema_is_valid (pure Python)": lambda: python_validator.is_valid(params),
    }
    results = {name: time_call(fn, settings.timeit_repeats) for name, fn in cases.items()}
    return {"schema": entry.validator.pointer, "params": params, "per_call": results}


# --- report ----------------------------------------------------------------------------------


def machine_info(wrk: str) -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    packages = ["pushfake", "starlette", "uvicorn", "h11", "httptools", "uvloop", "httpx",
                "jsonschema", "jsonschema-rs"]
    return {
        "nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "platform": platform.platform(), "mem_total_mib": rss_mib_total(),
        "packages": {p: version(p) for p in packages}, "wrk": wrk_version(wrk),
    }


def rss_mib_total() -> float:
    line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal:"))
    return int(line.split()[1]) / 1024


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    http = results["http"]["workloads"]
    checks = [("fake sendMessage throughput / bare", http["sendMessage"]["throughput_ratio"], ">=", MIN_THROUGHPUT_RATIO)]
    checks += [(f"fake {w} p99 latency (ms)", http[w]["fake"]["p99_ms"], "<=", MAX_P99_MS) for w in WORKLOADS]
    checks.append(("start-up to first 200 (s)", results["startup"]["first_200_s_median"], "<=", MAX_STARTUP_S))
    checks.append((f"RSS delta for {results['memory']['users']:,} users (MiB)",
                   results["memory"]["delta_mib"], "<=", MAX_MEMORY_MIB))
    return [{"name": n, "value": v, "op": op, "limit": lim, "pass": v >= lim if op == ">=" else v <= lim}
            for n, v, op, lim in checks]


def print_summary(results: dict[str, Any]) -> None:
    print("\n== pushfake Leanplum benchmark" + (" (quick)" if results["quick"] else "") + " ==")
    print(f"{'workload':12} {'target':6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for workload, row in results["http"]["workloads"].items():
        for kind in ("fake", "bare"):
            r = row[kind]
            print(f"{workload:12} {kind:6} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non2xx']:8d}")
        print(f"{'':12} fake/bare throughput {row['throughput_ratio']:.2f}; fake server RSS "
              f"+{row['fake']['server_rss_growth_mib']:.0f} MiB over the workload's runs")
    s, m = results["startup"], results["memory"]
    print(f"start-up: banner {s['banner_s_median']:.3f} s, first 200 {s['first_200_s_median']:.3f} s (median)")
    print(f"memory: {m['users']:,} users +{m['delta_mib']:.0f} MiB ({m['bytes_per_user']:.0f} B/user), "
          f"insert {m['insert_s']:.1f} s, full gc {m['full_gc_ms_with_store']:.0f} ms")
    large, small = m["start_latency_large_store"], m["start_latency_small_store"]
    print(f"in-process start p50: {large['p50_ms']:.3f} ms at {large['store_users']:,} users vs "
          f"{small['p50_ms']:.3f} ms at {small['store_users']:,} (x{m['start_p50_ratio_large_vs_small']:.2f})")
    for name, r in results["validator"]["per_call"].items():
        print(f"validator {name:36} {r['us_median']:8.2f} µs/call")
    for t in results["targets"]:
        print(f"[{'PASS' if t['pass'] else 'FAIL'}] {t['name']}: {t['value']:.3f} (target {t['op']} {t['limit']})")
    print(f"results: {RESULTS_FILE}")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(settings: Settings, quick: bool) -> dict[str, Any]:
    wrk = require_wrk()
    RESULTS_DIR.mkdir(exist_ok=True)
    procs = Processes()
    try:
        results: dict[str, Any] = {"quick": quick, "settings": asdict(settings), "machine": machine_info(wrk),
                                   "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _progress("validators ...")
        results["validator"] = measure_validators(settings)
        _progress("start-up ...")
        results["startup"] = measure_startup(settings, procs)
        _progress("HTTP load (wrk) ...")
        results["http"] = measure_http(settings, procs, wrk)
        _progress(f"memory for {settings.users:,} users ...")
        results["memory"] = measure_memory(settings)
    finally:
        procs.stop_all()
    results["targets"] = targets(results)
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s load runs, 1 repeat, 100k users")
    parser.add_argument("--memory-child", type=int, metavar="USERS", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=FULL.latency_calls, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is not None:
        print(json.dumps(memory_child(args.memory_child, args.calls)))
        return 0
    _exit_cleanly_on_signals()
    print_summary(run(QUICK if args.quick else FULL, args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
