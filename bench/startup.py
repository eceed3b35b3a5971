"""Start-up: spawn `pushfake serve --port 0` until its first answered request (test suites start it often)."""

from __future__ import annotations

import select
import statistics
import subprocess
import time
from typing import Any, TextIO

from common import PROBE_PATH, SERVER_READY_TIMEOUT_S, Processes, Settings, http_get, pushfake_command


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
    exe = pushfake_command()
    runs = [time_one_startup(procs, exe) for _ in range(settings.startup_runs)]
    return {
        "command": "pushfake serve --port 0",
        "runs": runs,
        "banner_s_median": statistics.median(r["banner_s"] for r in runs),
        "first_200_s_median": statistics.median(r["first_200_s"] for r in runs),
    }
