"""`pushfake serve --store` and `--namespace`: the world in memory (the default, as it always
was) or in a real Redis, where it outlives the server; what is refused, in one sentence each.
Every server here is a real `pushfake serve` process on a free loopback port."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time

import httpx
import pytest
import redis

from pushfake import Client, ControlError, Fake, ManualClock, MemoryStore
from pushfake.cli import main
from pushfake.core.stores import open_store, shown
from pushfake.serve.options import add_arguments, settings
from tests.serve.helpers import running
from tests.serve.test_env_server import free_port

APP = "app_pushfake"
START = {"action": "start", "appId": APP, "clientKey": "prod_pushfake"}


def chosen(*argv: str, env: dict[str, str] | None = None):  # noqa: ANN201 - ServeSettings
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return settings(parser.parse_args(argv), env or {}, stdout_is_terminal=False)


def start(url: str, user: str) -> None:
    response = httpx.get(f"{url}/api", params={**START, "userId": user}, timeout=30)
    assert response.status_code == 200 and response.json()["response"][0]["success"] is True, response.text


def store_line(server) -> str:  # noqa: ANN001
    return server.wait_for(server.out, lambda line: line.startswith("  store "))


# --- the options ------------------------------------------------------------------------------------
def test_memory_one_worker_and_the_namespace_pushfake_by_default():
    got = chosen()
    assert (got.store, got.namespace, got.workers) == ("memory", "pushfake", 1)


def test_variables_choose_the_store_and_the_namespace():
    got = chosen(env={"PUSHFAKE_STORE": "redis://127.0.0.1:6379/2", "PUSHFAKE_NAMESPACE": "ci-1.a_b"})
    assert (got.store, got.namespace) == ("redis://127.0.0.1:6379/2", "ci-1.a_b")
    assert chosen("--store", "memory", env={"PUSHFAKE_STORE": "redis://127.0.0.1:6379/2"}).store == "memory"


@pytest.mark.parametrize(("args", "says"), [
    (["--store", "mysql://db/0"], "--store must be memory or a Redis URL (redis://HOST:PORT/DB, rediss://... or "
                                  "unix://PATH), not 'mysql://db/0'"),
    (["--store", "redis"], "--store must be memory or a Redis URL"),
    (["--store", "redis://app:s3cret@db:port/0"], "redis://app:***@db:port/0 is not a Redis URL redis-py can read: "
                                                  "Port could not be cast to integer value as 'port'"),
    (["--namespace", "my world"], "--namespace must be letters, digits, '-', '_' or '.', not 'my world'"),
    (["--namespace", "a:b"], "--namespace must be letters, digits, '-', '_' or '.', not 'a:b'"),
    (["--namespace", "*"], "--namespace must be letters, digits, '-', '_' or '.', not '*'"),
    (["--workers", "0"], "--workers must be from 1 to 64, not 0"),
    (["--workers", "65"], "--workers must be from 1 to 64, not 65"),
    (["--workers", "two"], "--workers must be a whole number, not 'two'"),
    (["--workers", "2", "--store", "redis://127.0.0.1:6379/0", "--watch", "--fixtures", "w.yaml"],
     "--workers 2 cannot go with --watch"),
])
def test_a_wrong_store_namespace_or_worker_count_is_one_line(capsys, args, says):
    assert main(["serve", "--port", "0", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pushfake: {says}") and err.count("\n") == 1, err


def test_a_password_in_the_url_is_never_printed(capsys):
    assert shown("redis://:s3cret@db.example:6380/1") == "redis://:***@db.example:6380/1"
    assert shown("rediss://app:s3cret@db.example/0") == "rediss://app:***@db.example/0"
    assert shown("unix:///run/redis.sock?db=1&password=s3cret") == "unix:///run/redis.sock?db=1&password=***"
    assert main(["serve", "--port", "0", "--store", "mysql://root:s3cret@db/0"]) == 2
    err = capsys.readouterr().err
    assert "s3cret" not in err and "mysql://root:***@db/0" in err, err


# --- a store nobody answers at, a missing extra ----------------------------------------------------
def test_an_unreachable_redis_is_one_sentence_naming_it():
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    result = subprocess.run([sys.executable, "-m", "pushfake", "serve", "--port", "0", "--store", url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"pushfake: cannot reach Redis at {url}: Connection refused\n"
    assert result.stdout == "", "nothing is announced for a server that does not start"


def test_without_the_redis_extra_the_store_names_the_extra():
    """A venv without redis-py (its import blocked here, as Python does for a module that is not
    there): the one line of `pushfake.extras`."""
    code = ("import sys; sys.modules['redis'] = None; from pushfake.cli import main; "
            "raise SystemExit(main(['serve', '--port', '0', '--store', 'redis://127.0.0.1:6379/0']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == ("""pushfake: the "redis" extra is needed for a world kept in Redis """
                             """(redis is not installed): pip install 'pushfake[redis]'\n""")


# --- the memory store, as it always was ------------------------------------------------------------
def test_the_memory_store_forgets_the_world_when_the_server_stops():
    with running("--port", "0") as server:
        assert store_line(server) == "  store     memory (this process's); 1 worker\n"
        start(server.url, "dana")
    with running("--port", "0") as server, Client(server.url) as control, pytest.raises(ControlError) as missing:
        control.leanplum_user(APP, "dana")
    assert missing.value.status == 404


# --- a world in Redis -------------------------------------------------------------------------------
def test_a_restarted_server_keeps_the_world_it_had(redis_url):
    with running("--port", "0", "--store", redis_url, "--seed", "5") as server, Client(server.url) as control:
        assert store_line(server) == f"  store     {redis_url}, namespace pushfake; 1 worker\n"
        start(server.url, "dana")
        control.add_fault({"id": "slow", "match": {"operation": "sendMessage"}, "fault": {"kind": "error",
                                                                                          "status": 503}})
    with running("--port", "0", "--store", redis_url, "--seed", "5") as server, Client(server.url) as control:
        assert control.leanplum_user(APP, "dana")["id"] == "dana", "the user made before the restart"
        assert [entry["user"] for entry in control.journal(operation="start")] == ["dana"], "the journal too"
        assert [rule["id"] for rule in control.faults()] == ["slow"], "a rule added at run time stays"
    assert not any("replaced" in line for line in server.err), server.err


def test_other_fixtures_or_another_seed_replace_the_world_saying_so(redis_url):
    with running("--port", "0", "--store", redis_url) as server:
        start(server.url, "dana")
    with running("--port", "0", "--store", redis_url, "--seed", "9") as server, Client(server.url) as control:
        line = server.wait_for(server.err, lambda line: "replaced" in line)
        with pytest.raises(ControlError) as missing:
            control.leanplum_user(APP, "dana")
        assert control.leanplum_user(APP, "alice")["id"] == "alice", "the fixtures' world, installed anew"
    assert missing.value.status == 404
    assert line == ("pushfake: the world in the store was made from other fixtures or another seed; replaced by "
                    "default fixtures (pushfake/fixtures/default.yaml), seed 9\n")


def test_the_variables_choose_a_store_and_namespaces_keep_worlds_apart(redis_url):
    env = {"PUSHFAKE_STORE": redis_url, "PUSHFAKE_NAMESPACE": "team-a"}
    with running("--port", "0", env=env) as a, running("--port", "0", "--store", redis_url,
                                                       "--namespace", "team-b") as b, \
            Client(a.url) as control_a, Client(b.url) as control_b:
        assert store_line(a) == f"  store     {redis_url}, namespace team-a; 1 worker\n"
        start(a.url, "dana")
        start(b.url, "erin")
        assert control_a.leanplum_user(APP, "dana")["id"] == "dana"
        with pytest.raises(ControlError):
            control_b.leanplum_user(APP, "dana")
        with pytest.raises(ControlError):
            control_a.leanplum_user(APP, "erin")
    with redis.Redis.from_url(redis_url) as client:
        prefixes = {key.split(b":", 1)[0] for key in client.scan_iter()}
    assert prefixes == {b"team-a", b"team-b"}, "every key under its namespace"


# --- Fake(store=...) --------------------------------------------------------------------------------
def test_a_fake_takes_a_store_spec(redis_url):
    fake = Fake(store=redis_url, clock=ManualClock())
    assert fake.store.cell("world", "fixtures").get() is not None
    with redis.Redis.from_url(redis_url) as client:
        assert any(client.scan_iter("pushfake:*"))
        deadline = time.monotonic() + 5  # an idle process lets the world lock go (after 2 ms)
        while client.exists("pushfake:lock") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.exists("pushfake:lock") == 0
    fake.store.close()  # type: ignore[attr-defined]
    assert isinstance(Fake(store="memory").store, MemoryStore)


def test_a_fake_on_a_store_holding_its_world_joins_it(caplog):
    store, clock = MemoryStore(), ManualClock()
    first = Fake(seed=3, clock=clock, store=store)
    first.leanplum.state  # noqa: B018
    first.faults.add({"id": "r", "match": {"vendor": "leanplum"}, "fault": {"kind": "error", "status": 503}})
    first.gateway.configure({"platforms": {"apns": {"latency": 2}}})
    held = store.contents()
    with caplog.at_level(logging.WARNING, logger="pushfake"):
        second = Fake(seed=3, clock=clock, store=store)
    assert store.contents() == held, "the world, the rules and the gateway settings in force are all kept"
    assert [rule.id for rule in second.faults.rules()] == ["r"] and second.gateway.config == first.gateway.config
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="pushfake"):
        Fake(seed=4, clock=clock, store=store)
    assert [record.getMessage() for record in caplog.records] == [
        "pushfake: the world in the store was made from other fixtures or another seed; "
        "replaced by default fixtures (pushfake/fixtures/default.yaml), seed 4"]
    assert store.contents() != held


def test_open_store_reads_the_same_specs():
    assert isinstance(open_store("memory"), MemoryStore) and isinstance(open_store("MEMORY"), MemoryStore)
    with pytest.raises(ValueError, match="must be memory or a Redis URL"):
        open_store("sqlite:///x.db")
    with pytest.raises(ValueError, match="namespace must be letters, digits"):
        open_store("redis://127.0.0.1:6379/0", namespace="a b")


# --- the pytest plugin's live server ---------------------------------------------------------------
def test_the_live_fixture_keeps_its_world_in_redis_under_a_namespace_of_its_own(pytester, redis_url):
    from tests.plugin.pytester_helpers import project, run

    project(pytester, test_live=f"""
        import httpx
        import redis

        from pf_inner import leanplum, user_ids

        def test_the_world_is_in_redis(pushfake_server):
            assert leanplum(pushfake_server, "start", userId="dana").status_code == 200
            with redis.Redis.from_url({redis_url!r}) as client:
                namespaces = {{key.split(b":", 1)[0] for key in client.scan_iter()}}
            assert len(namespaces) == 1 and namespaces.pop().startswith(b"pytest-")  # pytest-<worker>-<pid>
            assert "dana" in user_ids(pushfake_server)

        def test_each_test_starts_from_the_fixtures_world(pushfake_server):
            assert user_ids(pushfake_server) == ["alice", "bob", "carol"]
    """)
    result = run(pytester, "--pushfake-store", redis_url)
    result.assert_outcomes(passed=2)
    with redis.Redis.from_url(redis_url) as client:
        assert list(client.scan_iter()) == [], "the session's keys go with it"


def test_the_live_fixture_says_in_one_line_when_redis_does_not_answer(pytester):
    from tests.plugin.pytester_helpers import project, run

    url = f"redis://127.0.0.1:{free_port()}/0"
    project(pytester, ini=f"pushfake_store = {url}\n", test_live="""
        def test_live(pushfake_server):
            pass
    """)
    result = run(pytester)
    result.assert_outcomes(errors=1)
    assert f"\npushfake_server: cannot reach Redis at {url}: Connection refused\n" in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
    bad = run(pytester, "--pushfake-store", "mysql://db/0")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["ERROR: pushfake store must be memory or a Redis URL *, not 'mysql://db/0'"])
