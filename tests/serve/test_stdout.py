"""`pushfake serve | head -1` (a CI script reading the port from the first line): once the
reader of stdout has gone, the server keeps serving, stops cleanly on SIGTERM with status 0,
and never prints a traceback."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx

from tests.support import stop_process


def test_a_server_whose_stdout_reader_left_keeps_serving_and_stops_cleanly():
    process = subprocess.Popen([sys.executable, "-m", "pushfake", "serve", "--port", "0", "--access-log"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        url = re.search(r"listening on (http://\S+)", first)
        assert url, first
        process.stdout.close()  # the reader goes, as `head -1` does
        for _ in range(3):  # access log lines, and the stop line, now go to no reader
            assert httpx.get(f"{url.group(1)}/_pushfake/health", timeout=10).status_code == 200
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        errors = process.stderr.read()
        assert "Traceback" not in errors and "BrokenPipe" not in errors, errors
    finally:
        stop_process(process)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
