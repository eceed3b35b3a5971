"""`pushfake serve` as a user runs it: a real process, a free port, clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from pushfake.cli import main


def _spawn(*args: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start `pushfake serve`; return the process, its URL and its banner (through the credentials)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pushfake", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    first = process.stdout.readline()
    assert "listening on http://127.0.0.1:" in first, first + process.stderr.read()
    banner = first
    while "D·engage" not in banner.splitlines()[-1]:
        banner += process.stdout.readline()
    return process, first.rsplit(" ", 1)[-1].strip(), banner


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_on_a_free_port_answers_and_stops_cleanly(stop):
    started = time.monotonic()
    process, url, banner = _spawn("--seed", "3")
    try:
        response = httpx.get(f"{url}/api", params={
            "action": "start", "appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "cli"})
        assert response.status_code == 200 and response.json()["response"][0]["success"] is True
        assert time.monotonic() - started < 10
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "prod_pushfake" in banner and "dev_pushfake" in banner, "the default credentials are printed"
    assert "pushfake/pushfake-secret" in banner and "/rest" in banner
    assert "seed 3" in banner
    assert out.strip().endswith("pushfake stopped")
    assert "Traceback" not in err


def test_serve_refuses_a_bad_fixtures_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"leanplum": {"apps": [{"id": "x"}]}}), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pushfake", "serve", "--port", "0", "--fixtures", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"{path}: leanplum.apps[0].productionKey: is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_taken_port():
    process, url, _ = _spawn()
    try:
        port = url.rsplit(":", 1)[1]
        result = subprocess.run([sys.executable, "-m", "pushfake", "serve", "--port", port],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and "cannot bind" in result.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)


def test_check_fixtures(tmp_path, capsys):
    assert main(["check-fixtures", os.fspath(tmp_path / "nope.yaml")]) == 1
    assert "cannot read the file" in capsys.readouterr().err


def test_check_fixtures_checks_the_gateway_section_too(tmp_path, capsys):
    bad = tmp_path / "gateway.yaml"
    bad.write_text("gateway:\n  platforms:\n    fcm: {failures: {BadDeviceToken: 0.1}}\n", encoding="utf-8")
    assert main(["check-fixtures", os.fspath(bad)]) == 1
    assert "gateway.platforms.fcm.failures.BadDeviceToken: fcm has no outcome 'BadDeviceToken'" in capsys.readouterr().err


def test_served_connections_send_answers_without_nagle_delay():
    """asyncio turns Nagle off (TCP_NODELAY) only on connections accepted from an IPPROTO_TCP
    socket; with it on, each keep-alive answer after the first waited ~40 ms for a delayed ACK."""
    import asyncio
    import socket

    from pushfake.serve.sockets import listening_socket

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = listening_socket(socket.AF_INET)
        sock.bind(("127.0.0.1", 0))
        server = await asyncio.start_server(on_connect, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname())
            value = await asyncio.wait_for(seen, timeout=5)
            writer.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0


def test_spec_output_cut_short_by_its_reader_ends_without_a_traceback():
    """`pushfake spec --errors | head -1`: the reader is gone before the command writes (as `head`
    is once it has its line), and the command ends quietly like any Unix filter."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # before the child starts: its first write finds no reader
    process = subprocess.Popen([sys.executable, "-m", "pushfake", "spec", "--vendor", "leanplum", "--errors"],
                               stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    _, err = process.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()
    assert process.returncode == 141
