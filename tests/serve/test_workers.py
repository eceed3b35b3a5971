"""`pushfake serve --workers N`: N processes on one port, one world in a real Redis.

Which worker answers a connection is the kernel's choice, so to see each of them answer, the
other is paused (SIGSTOP): a new connection then can only be accepted by the one left running.
Every server is a real `pushfake serve` process, stopped by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from pushfake import Client
from pushfake.cli import main
from tests.serve.helpers import launch, running

APP = "app_pushfake"
CREDS = {"appId": APP, "clientKey": "prod_pushfake"}
TOKEN = "ab" * 32  # an APNs device token


def workers_of(pid: int) -> list[int]:
    """The worker processes `pushfake serve` (pid) started: its children that multiprocessing
    spawned (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(child) for child in children
                  if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes())


@contextlib.contextmanager
def paused(pid: int, redis_url: str) -> Iterator[None]:
    """`pid` stopped for the block, never while it holds the world lock (its idle scheduler takes
    it now and then): the other worker would wait for the lock to run out."""
    with redis.Redis.from_url(redis_url) as client:
        for _ in range(100):
            os.kill(pid, signal.SIGSTOP)
            if not client.exists("pushfake:lock"):
                break
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.01)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def api(url: str, action: str, **params: object) -> dict:
    """One Leanplum call on a connection of its own (a new client each time: no keep-alive)."""
    response = httpx.post(f"{url}/api", params={"action": action}, json={**CREDS, **params}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["response"][0]


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_two_workers_answer_on_one_port_and_share_one_world(redis_url):
    with running("--port", "0", "--store", redis_url, "--workers", "2") as server, Client(server.url) as control:
        assert server.wait_for(server.out, lambda line: line.startswith("  store ")) == (
            f"  store     {redis_url}, namespace pushfake; 2 workers\n")
        first, second = workers = workers_of(server.process.pid)
        with paused(first, redis_url):  # only the second can answer
            started = api(server.url, "start", userId="dana", deviceId="dana-phone", iosPushToken=TOKEN)
        with paused(second, redis_url):  # only the first can answer, and it knows dana's device
            sent = api(server.url, "sendMessage", userId="dana", messageId=1001)
            deliveries = httpx.get(f"{server.url}/_pushfake/deliveries", params={"app": APP}, timeout=30).json()
        assert started["success"] is True
        assert sent == {"success": True, "result": "Message sent", "messagesSent": 1}, sent
        assert [d["device"] for d in deliveries["deliveries"]] == ["dana-phone"]
        delivered = control.wait_for_delivery(device="dana-phone", state="delivered")
        assert delivered["user"] == "dana"
        assert control.failures() == []
    assert server.process.returncode == 0
    assert all(gone(pid) for pid in workers), "every worker stops with the server"
    assert server.out[-1] == "pushfake stopped\n"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_worker_cleanly(redis_url, stop):
    server = launch("--port", "0", "--store", redis_url, "--workers", "2")
    try:
        assert httpx.get(f"{server.url}/_pushfake/health", timeout=30).json()["status"] == "ok"
        workers = workers_of(server.process.pid)
        assert len(workers) == 2
        server.process.send_signal(stop)
        assert server.process.wait(30) == 0
    finally:
        server.stop()
    assert all(gone(pid) for pid in workers)
    assert "Traceback" not in "".join(server.err), server.err
    assert server.out[-1] == "pushfake stopped\n"


def test_a_worker_that_dies_is_replaced(redis_url):
    with running("--port", "0", "--store", redis_url, "--workers", "2") as server:
        killed, survivor = workers_of(server.process.pid)
        os.kill(killed, signal.SIGKILL)
        line = server.wait_for(server.err, lambda line: "ended" in line)
        assert line == f"pushfake: worker {killed} ended (signal SIGKILL); starting another\n"
        deadline = time.monotonic() + 10
        while len(workers := workers_of(server.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2 and killed not in workers and survivor in workers
        with paused(survivor, redis_url):  # only the replacement can answer, and it serves the same world
            assert api(server.url, "sendMessage", userId="alice", messageId=1001)["messagesSent"] == 1


def test_several_workers_need_a_shared_store(capsys, monkeypatch):
    assert main(["serve", "--port", "0", "--workers", "2"]) == 2
    assert capsys.readouterr().err == ("pushfake: --workers 2 needs a store the workers share, and the memory "
                                       "store is one process's own: use --store redis://HOST:PORT/DB\n")
    monkeypatch.setenv("PUSHFAKE_WORKERS", "3")
    assert main(["serve", "--port", "0"]) == 2
    assert capsys.readouterr().err.startswith("pushfake: PUSHFAKE_WORKERS 3 needs a store the workers share")


def test_one_worker_on_the_memory_store_is_the_server_it_always_was():
    with running("--port", "0") as server:
        assert workers_of(server.process.pid) == [], "no process beside the server"
        assert api(server.url, "start", userId="dana")["success"] is True


def cannot_start(chosen, admin_token, sock, started) -> None:  # noqa: ANN001 - a worker's entry, as `work`
    """A worker whose store cannot be reached: one line on stderr, exit status 2 (as `work` does)."""
    import sys

    print("pushfake: cannot reach Redis at redis://127.0.0.1:1/0: Connection refused", file=sys.stderr, flush=True)
    sys.exit(2)


def test_a_worker_that_cannot_start_stops_the_server_with_status_2(capfd):
    from pushfake.serve.options import ServeSettings
    from pushfake.serve.sockets import bound
    from pushfake.serve.workers import supervise
    from tests.serve.test_options import chosen

    settings = chosen("--store", "redis://127.0.0.1:1/0", "--workers", "2")
    assert isinstance(settings, ServeSettings)
    sock, _ = bound("127.0.0.1", 0)
    announced = []
    assert supervise(settings, None, sock, cannot_start, on_ready=lambda: announced.append(True)) == 2
    assert announced == [], "no banner for a server that does not serve"
    assert sock.fileno() == -1, "the socket is closed"
    err = capfd.readouterr().err
    assert err.startswith("pushfake: cannot reach Redis at redis://127.0.0.1:1/0: Connection refused\n"), err
    assert "Traceback" not in err and "did not start" not in err
