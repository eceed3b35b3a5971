"""A server configured by its environment, as CI services and containers configure servers."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from pushfake import Client, ControlError
from tests.serve.helpers import running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_variables_configure_the_server():
    port = free_port()
    env = {"PUSHFAKE_PORT": str(port), "PUSHFAKE_SEED": "7", "PUSHFAKE_HOST": "0.0.0.0",
           "PUSHFAKE_ADMIN_TOKEN": "s3cret", "PUSHFAKE_JOURNAL_SIZE": "3", "PUSHFAKE_RETENTION": "tokens=9"}
    with running(env=env) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        assert server.wait_for(server.out, lambda line: "seed " in line).endswith("seed 7\n")
        assert "admin token: s3cret" in server.wait_for(server.out, lambda line: "control" in line)
        with Client(server.url) as anonymous, pytest.raises(ControlError) as refused:
            anonymous.stats()
        assert refused.value.status == 401, "bound beyond loopback, the control plane wants the variable's token"
        with Client(server.url, admin_token="s3cret") as control:
            stats = control.stats()
    assert stats["journal"]["maxEntries"] == 3 and stats["tokens"]["max"] == 9


def test_the_command_line_beats_the_environment():
    with running("--port", "0", "--seed", "3", "--journal-size", "5",
                 env={"PUSHFAKE_PORT": "1", "PUSHFAKE_SEED": "7", "PUSHFAKE_JOURNAL_SIZE": "3"}) as server, \
            Client(server.url) as control:
        assert server.wait_for(server.out, lambda line: "seed " in line).endswith("seed 3\n")
        assert control.stats()["journal"]["maxEntries"] == 5
    assert not any("/_pushfake/stats" in line for line in server.out), "no access log when stdout is a pipe"


def test_a_wrong_variable_stops_the_command_with_one_line():
    result = subprocess.run([sys.executable, "-m", "pushfake", "serve"], env={"PUSHFAKE_SEED": "seven"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr == "pushfake: PUSHFAKE_SEED must be a whole number, not 'seven'\n"
