"""The real `redis-server` the Redis tests run against: it answers, only on loopback, keeps its
data in its temp dir and nowhere else, is empty for each test, and is gone after."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from tests.redis_server import RedisServer, emptied, running_redis


def config(client: redis.Redis, name: str) -> str:
    return client.config_get(name)[name]


def test_the_session_server_answers_on_loopback_with_its_data_in_its_temp_dir(redis_server: RedisServer,
                                                                            redis_url: str) -> None:
    assert redis_url == f"redis://127.0.0.1:{redis_server.port}/0"
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        assert client.ping() is True
        assert config(client, "bind") == "127.0.0.1"
        assert config(client, "port") == str(redis_server.port)
        assert Path(config(client, "dir")) == redis_server.dir
        assert config(client, "save") == ""  # nothing written to disk
        assert config(client, "appendonly") == "no"
        assert client.client_info()["laddr"].startswith("127.0.0.1:")


def test_each_test_gets_it_empty_of_every_db(redis_server: RedisServer, redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client, redis.Redis(port=redis_server.port, db=3) as other_db:
        assert client.dbsize() == 0
        client.set("left-behind", "by a test")
        other_db.set("left-behind", "in another db")
        assert emptied(redis_server) == redis_url
        assert client.dbsize() == 0 and other_db.dbsize() == 0


def test_a_server_is_stopped_by_its_pid_when_its_block_ends(tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        with redis.Redis.from_url(server.url) as client:
            assert client.ping() is True
        assert Path(f"/proc/{server.pid}").exists()
    assert server.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)
    with pytest.raises(redis.ConnectionError), redis.Redis.from_url(server.url, socket_connect_timeout=1) as client:
        client.ping()


def test_without_a_directory_it_uses_a_temp_dir_and_removes_it() -> None:
    with running_redis() as server:
        assert server.dir.is_dir()
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            assert Path(config(client, "dir")) == server.dir.resolve()
    assert not server.dir.exists()


def test_two_servers_get_two_ports(tmp_path: Path) -> None:
    with running_redis(tmp_path / "a") as first, running_redis(tmp_path / "b") as second:
        assert first.port != second.port
