"""`RedisStore` on a real Redis: every process's replica is one world, a restart keeps it, the
world lock outlives a dead holder, and a value planted in Redis never runs code.

Each `RedisStore` here stands for one process (its own replica and connection pool)."""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, MemoryStore, create_app
from pushfake.core.codec import UnsafeValue, decode, encode
from pushfake.core.redis_store import LockLost, RedisStore, WorldBusy
from tests.dengage.helpers import CONTENT, bearer, field_error, login, tracking_id
from tests.leanplum.helpers import post

UNAVAILABLE = {"match": {"vendor": "leanplum", "operation": "track"}, "fault": {"kind": "error", "status": 503}}


# --- one world ------------------------------------------------------------------------------------


def test_what_one_process_writes_the_other_reads_and_counts_once(replicas):
    a, b = replicas(), replicas()
    users_b = b.table("leanplum", "app_1", "users")
    assert users_b.get("ann") is None
    a.table("leanplum", "app_1", "users").put("ann", {"id": "ann"})
    with b.transaction():
        assert users_b.get("ann") == {"id": "ann"}
    assert [a.counter("ids").next(), b.counter("ids").next(), a.counter("ids").next()] == [1, 2, 3]
    b.table("leanplum", "app_1", "users").delete("ann")
    assert "ann" not in a.table("leanplum", "app_1", "users")  # a read outside a transaction is fresh too
    assert a.contents() == b.contents() == {("counter", ("ids",)): 3}


def test_two_namespaces_on_one_redis_are_two_worlds(replicas):
    one, other = replicas(namespace="one"), replicas(namespace="other")
    one.table("leanplum", "app_1", "users").put("ann", "one's")
    other.table("leanplum", "app_1", "users").put("ann", "other's")
    other.counter("journal", "seq").next()
    one.reset()
    assert one.contents() == {}
    assert other.contents() == {("table", ("leanplum", "app_1", "users")): {"ann": "other's"},
                                ("counter", ("journal", "seq")): 1}


def test_names_with_slashes_and_colons_stay_apart_and_survive_a_full_load(replicas):
    a = replicas()
    a.table("leanplum", "a/b", "c").put("k", 1)
    a.table("leanplum", "a", "b/c").put("k", 2)
    a.cell("x:y", "%2F").set("odd")
    assert replicas().contents() == a.contents() == {
        ("table", ("leanplum", "a/b", "c")): {"k": 1}, ("table", ("leanplum", "a", "b/c")): {"k": 2},
        ("cell", ("x:y", "%2F")): "odd"}


def test_each_due_item_and_each_oldest_key_goes_to_one_process_only(replicas):
    setup = replicas()
    with setup.transaction():
        for n in range(300):
            setup.agenda("scheduler", "due").add(float(n % 7), ("work", n))
            setup.ordered("deliveries", "kept").add(f"d{n}")
    seen: list[Any] = []
    errors: list[BaseException] = []

    def worker(store: RedisStore) -> None:
        try:
            agenda, kept = store.agenda("scheduler", "due"), store.ordered("deliveries", "kept")
            while True:
                with store.transaction():
                    due, oldest = agenda.pop_due(10.0), kept.pop_oldest()
                if due is None and oldest is None:
                    return
                seen.extend(x for x in (due, oldest) if x is not None)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(replicas(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(x for x in seen if isinstance(x, str)) == sorted(f"d{n}" for n in range(300))
    assert sorted(item[1] for _, item in (x for x in seen if isinstance(x, tuple))) == list(range(300))
    assert setup.contents() == {}


def test_counters_from_several_processes_and_threads_at_once_count_every_increment_once(replicas):
    one, other = replicas(), replicas()
    stores = [one, one, other, other]  # two processes, two threads each

    def count(store: RedisStore) -> None:
        for _ in range(100):
            store.counter("journal", "seq").next()

    threads = [threading.Thread(target=count, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [one.counter("journal", "seq").value, other.counter("journal", "seq").value] == [400, 400]


# --- fakes on one Redis -----------------------------------------------------------------------------


@pytest.fixture
def two_fakes(replicas) -> Iterator[tuple[Fake, Fake, TestClient, TestClient]]:
    clock = ManualClock()
    a = Fake(seed=7, clock=clock, store=replicas())
    b = Fake(seed=7, clock=clock, store=replicas())
    with TestClient(create_app(a)) as client_a, TestClient(create_app(b)) as client_b:
        yield a, b, client_a, client_b


def test_two_fakes_on_one_redis_are_one_leanplum_world(two_fakes):
    a, b, client_a, client_b = two_fakes
    assert post(client_a, "start", userId="ann", deviceId="ann-phone", systemName="iOS").status_code == 200
    assert b.leanplum.state.user("app_pushfake", "ann") is not None
    sent = post(client_b, "sendMessage", userId="alice", messageId=1001)
    assert sent.json()["response"][0]["messagesSent"] == 1
    assert [d.user_id for d in a.deliveries.find()] == ["alice"]
    journal = client_a.get("/_pushfake/journal").json()["entries"]
    assert [(e["seq"], e["operation"]) for e in journal] == [(1, "start"), (2, "sendMessage")]


def test_a_dengage_token_from_one_fake_sends_through_the_other_and_a_tracking_id_is_used_once(two_fakes):
    _, b, client_a, client_b = two_fakes
    token = login(client_a)
    given = "7d444840-9dc0-11d1-b245-5ffdce74fad2"
    assert tracking_id(client_b.post("/rest/push/sendInstant", json={"content": CONTENT, "trackingId": given},
                                     headers=bearer(token))) == given
    again = client_a.post("/rest/push/sendInstant", json={"content": CONTENT, "trackingId": given},
                          headers=bearer(token))
    assert field_error(again) == "trackingId"
    assert len(b.deliveries.find(send_id=given)) == 4


def test_a_fault_rule_added_through_one_fake_fires_on_the_other(two_fakes):
    _, _, client_a, client_b = two_fakes
    assert client_a.post("/_pushfake/faults", json={**UNAVAILABLE, "times": 1}).status_code in (200, 201)
    assert [post(client_b, "track", userId="ann", event="e").status_code,
            post(client_a, "track", userId="ann", event="e").status_code] == [503, 200]


def test_a_reset_through_one_fake_resets_both(two_fakes):
    a, b, client_a, client_b = two_fakes
    fresh = b.store.contents()
    post(client_a, "start", userId="ann")
    login(client_b)
    assert b.store.contents() != fresh
    a.reset()
    assert b.store.contents() == fresh
    assert client_b.get("/_pushfake/journal").json()["entries"] == []


def test_the_same_requests_through_alternating_fakes_give_one_fakes_ids(two_fakes):
    _, _, client_a, client_b = two_fakes
    alone = Fake(seed=7, clock=ManualClock(), store=MemoryStore())

    def traffic(clients: list[TestClient]) -> list[Any]:
        out = []
        for n, client in enumerate(clients):
            out.append(post(client, "start", userId=f"u{n}", deviceId=f"d{n}", systemName="iOS").json())
            out.append(client.post("/rest/login", json={"userkey": "pushfake",
                                                       "password": "pushfake-secret"}).json()["access_token"])
            token = out[-1]
            out.append(client.post("/rest/push/sendInstant", json={"content": CONTENT},
                                   headers=bearer(token)).json()["data"]["trackingId"])
        return out

    with TestClient(create_app(alone)) as client:
        expected = traffic([client] * 4)
    assert traffic([client_a, client_b] * 2) == expected


# --- a restart, a replica far behind ------------------------------------------------------------------


def test_a_process_started_after_traffic_loads_the_whole_world(two_fakes, replicas):
    a, b, client_a, client_b = two_fakes
    post(client_a, "start", userId="ann", deviceId="ann-phone", systemName="iOS")
    post(client_b, "sendMessage", userId="alice", messageId=1001)
    token = login(client_b)
    client_a.post("/rest/push/sendInstant", json={"content": CONTENT}, headers=bearer(token))
    later = replicas()
    assert later.contents() == a.store.contents() and later.loads == 1
    restarted = Fake(seed=7, clock=ManualClock(), store=later)
    assert [d.user_id for d in restarted.deliveries.find(vendor="leanplum")] == ["alice"]


def test_a_replica_behind_a_trimmed_stream_loads_the_world_again(replicas):
    behind, busy = replicas(), replicas(stream_length=10)
    assert behind.contents() == {} and behind.loads == 1
    for n in range(300):
        busy.counter("n").next()
    assert behind.counter("n").value == 300 and behind.loads == 2
    busy.counter("n").next()
    assert behind.counter("n").value == 301 and behind.loads == 2  # one write-set behind: caught up, not loaded


# --- the world lock ----------------------------------------------------------------------------------------


def test_a_lock_left_by_a_dead_holder_is_taken_after_its_ttl(replicas, redis_url):
    store = replicas()
    with redis.Redis.from_url(redis_url) as client:
        client.set("pushfake:lock", "dead-process", px=300)
    started = time.monotonic()
    store.counter("n").next()
    assert 0.2 < time.monotonic() - started < 5
    assert store.counter("n").value == 1


def test_a_lock_held_too_long_is_a_clear_error(replicas, redis_url):
    store = replicas(lock_wait=0.2)
    with redis.Redis.from_url(redis_url) as client:
        client.set("pushfake:lock", "someone", px=10_000)
    with pytest.raises(WorldBusy, match="namespace 'pushfake' stayed locked for 0.2 s"):
        store.counter("n").next()


def test_a_transaction_that_outlives_its_lock_raises_and_applies_nothing(replicas):
    slow, other = replicas(lock_ttl=0.1), replicas()
    with pytest.raises(LockLost, match="outlived its lock"):
        with slow.transaction():
            slow.table("t").put("k", "written")
            time.sleep(0.3)
            other.counter("meanwhile").next()  # another process took the lock meanwhile
    assert other.contents() == {("counter", ("meanwhile",)): 1}
    assert slow.contents() == other.contents(), "the replica loads the world again: its own write is gone"


def test_what_runs_after_a_commit_runs_once_every_process_can_read_it_and_never_for_a_failed_one(replicas):
    store, other = replicas(lock_ttl=0.2), replicas()
    seen: list[Any] = []
    with store.transaction():
        store.counter("n").next()
        store.after_commit(lambda: seen.append(other.counter("n").value))
        assert seen == []
    assert seen == [1]
    with pytest.raises(LockLost):
        with store.transaction():
            store.counter("n").next()
            store.after_commit(lambda: seen.append("announced"))
            time.sleep(0.4)
            other.counter("m").next()
    store.after_commit(lambda: seen.append("outside"))
    assert seen == [1, "outside"]


# --- what Redis holds is data, never code -----------------------------------------------------------------


class _Runs:
    def __reduce__(self) -> Any:
        return (os.system, ("touch planted-ran",))


def test_a_planted_value_naming_a_foreign_global_is_refused_and_never_runs(replicas, redis_url, tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = replicas()
    writer.table("leanplum", "app_1", "users").put("ann", {"id": "ann"})
    with redis.Redis.from_url(redis_url) as client:
        client.hset("pushfake:table:leanplum/app_1/users", "ann", pickle.dumps(_Runs()))
    with pytest.raises(UnsafeValue, match=r"names posix\.system|names os\.system"):
        replicas().contents()
    assert not (tmp_path / "planted-ran").exists()


def test_the_codec_keeps_records_and_generators_and_refuses_pushfakes_imports():
    import random

    from pushfake.leanplum.models import User

    generator = random.Random(3)
    assert decode(encode(generator)).getstate() == generator.getstate()
    user = User(id="ann", attributes={"plan": "gold"})
    assert decode(encode(user)) == user
    # a pushfake module's imports are not pushfake's classes: `pushfake.core.codec.pickle` is refused
    for module, name in (("pushfake.core.codec", "pickle"), ("pushfake.core.codec", "pickle.loads")):
        planted = b"\x80\x05" + b"".join(b"\x8c" + bytes([len(text)]) + text.encode() for text in (module, name))
        with pytest.raises(UnsafeValue, match=f"names {module}.{name}"):
            decode(planted + b"\x93.")
