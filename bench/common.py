"""What every part of the benchmark shares: settings, spawned processes, /proc, tiny HTTP.

No measurement lives here; `run.py` is the entry point.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
RESULTS_FILE = RESULTS_DIR / "bench.json"
RUNNER = HERE / "run.py"
LAUNCHER = HERE / "launch.py"
WRK_SCRIPT = HERE / "wrk_report.lua"

# Answered by the fake (Leanplum `start`) and by the bare app: "the server is up".
# Sections that measure the store growing (a segment send's deliveries, a gateway's million
# pending) lift the deliveries' bound (100,000 by default), so nothing is dropped under them.
KEEP_EVERY_DELIVERY = {"deliveries": 1_000_000_000}
PROBE_PATH = "/api?action=start&appId=app_pushfake&clientKey=prod_pushfake&userId=probe"
SERVER_READY_TIMEOUT_S = 30.0
CHILD_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Settings:
    duration_s: int  # per measured wrk run
    warmup_s: int  # one warm-up run per (target, workload), discarded
    repeats: int
    users: int  # Leanplum memory test
    startup_runs: int = 5
    latency_calls: int = 1000
    timeit_repeats: int = 7
    segment_devices: int = 10_000  # D·engage big-segment send
    segment_sends: int = 30
    segment_warmup_sends: int = 2
    gateway_deliveries: int = 200_000  # gateway throughput: gold contacts added (+2 from the default world)
    gateway_repeats: int = 5
    gateway_failure_rate: float = 0.2  # retry variant: share of attempts answering a transient code
    gateway_pending: int = 1_000_000  # pending deliveries for the memory measurement
    live_devices: int = 10_000  # live server: devices in the send's segment
    live_rounds: int = 3
    live_stream_rate: float = 200.0  # small requests per second alongside the send
    live_idle_s: float = 1.0  # the stream before each send, for comparison
    live_poll_s: float = 0.05  # report polling interval once deliveries may be done
    live_settle_s: float = 0.5


FULL = Settings(duration_s=8, warmup_s=2, repeats=3, users=1_000_000)
QUICK = Settings(duration_s=2, warmup_s=1, repeats=1, users=100_000, timeit_repeats=3, segment_sends=10,
                 gateway_deliveries=20_000, gateway_repeats=3, gateway_pending=100_000, live_rounds=1)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_p90(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median": statistics.median(ordered), "p90": ordered[max(0, -(-len(ordered) * 9 // 10) - 1)],
            "min": ordered[0], "max": ordered[-1]}


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


def exit_cleanly_on_signals() -> None:
    """Ctrl-C and SIGTERM unwind through `finally`, so every server gets stopped."""

    def on_sigterm(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, on_sigterm)


def run_child(name: str, *args: Any) -> dict[str, Any]:
    """`run.py --child NAME ARGS...` in a fresh interpreter; its last stdout line is the JSON result.

    A fresh process keeps memory numbers clean; `subprocess.run` kills it on timeout or Ctrl-C.
    """
    argv = [sys.executable, str(RUNNER), "--child", name, *map(str, args)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    if out.returncode != 0:
        raise RuntimeError(f"child {name} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def pushfake_command() -> str:
    """The `pushfake` command of this environment (the venv's, beside this interpreter)."""
    exe = shutil.which("pushfake", path=str(Path(sys.executable).parent)) or shutil.which("pushfake")
    if exe is None:
        raise RuntimeError("the `pushfake` command is not installed in this environment")
    return exe


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


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    return proc_status(pid, field) / 1024


def mem_total_mib() -> float:
    line = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal:"))
    return int(line.split()[1]) / 1024


# --- tiny HTTP client (loopback only) -----------------------------------------------------------


def http_get(host: str, port: int, path: str, headers: dict[str, str] | None = None,
             timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def http_post(port: int, path: str, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **(headers or {})})
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
