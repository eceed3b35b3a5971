"""One journal and one failures record for every fake on a store: a request sent to fake A is
listed by fake B's control plane in one sequence of seq numbers, clearing or switching the
journal through either holds for both, its bounds count every fake's requests, a failure inside
one fake is reported by the other, and the store reset alone empties both."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, MemoryStore, create_app
from pushfake.core.failures import Failures
from pushfake.core.journal import Entry, Journal
from pushfake.core.resources import default_fixtures
from tests.leanplum.helpers import post


def journal(client: TestClient, **filters: Any) -> list[dict[str, Any]]:
    response = client.get("/_pushfake/journal", params=filters)
    assert response.status_code == 200, response.text
    return response.json()["entries"]  # type: ignore[no-any-return]


def start(client: TestClient, user: str) -> None:
    assert post(client, "start", userId=user).status_code == 200


def test_requests_to_either_fake_are_one_journal_with_one_sequence(shared):
    start(shared.client_a, "ann")
    start(shared.client_b, "bob")
    start(shared.client_a, "cid")
    for client in (shared.client_a, shared.client_b):
        assert [(e["seq"], e["user"]) for e in journal(client)] == [(1, "ann"), (2, "bob"), (3, "cid")]
        assert [e["user"] for e in journal(client, after=1, limit=1)] == ["cid"]
        assert client.get("/_pushfake/stats").json()["journal"]["held"] == 3


def test_clearing_through_one_fake_empties_the_others_journal(shared):
    start(shared.client_a, "ann")
    start(shared.client_a, "bob")
    assert shared.client_b.delete("/_pushfake/journal").status_code == 200
    assert journal(shared.client_a) == []
    assert shared.client_a.get("/_pushfake/stats").json()["journal"]["bytes"] == 0
    start(shared.client_b, "cid")
    assert [(e["seq"], e["user"]) for e in journal(shared.client_a)] == [(1, "cid")], "seq starts again at 1"


def test_switching_the_journal_off_through_one_fake_stops_the_other_journaling(shared):
    document = yaml.safe_load(default_fixtures().read_text())
    document["journal"] = {"enabled": False}
    assert shared.client_a.put("/_pushfake/fixtures", json=document).status_code == 200
    start(shared.client_b, "bob")
    start(shared.client_a, "ann")
    assert journal(shared.client_b) == [] and journal(shared.client_a) == []
    document["journal"] = {"enabled": True}
    assert shared.client_b.put("/_pushfake/fixtures", json=document).status_code == 200
    start(shared.client_a, "ann")
    assert [e["user"] for e in journal(shared.client_b)] == ["ann"]


@pytest.fixture
def small() -> Iterator[tuple[TestClient, TestClient]]:
    """Two fakes on one store whose journal keeps 3 entries."""
    store, clock = MemoryStore(), ManualClock()
    a = Fake(seed=7, clock=clock, store=store, journal_size=3)
    b = Fake(seed=7, clock=clock, store=store, journal_size=3)
    with TestClient(create_app(a)) as client_a, TestClient(create_app(b)) as client_b:
        yield client_a, client_b


def test_the_bounds_count_every_fakes_requests(small):
    client_a, client_b = small
    for n, client in enumerate([client_a, client_b] * 3):
        start(client, f"u{n}")
    for client in small:
        assert [(e["seq"], e["user"]) for e in journal(client)] == [(4, "u3"), (5, "u4"), (6, "u5")]
        stats = client.get("/_pushfake/stats").json()["journal"]
        assert (stats["held"], stats["dropped"], stats["maxEntries"]) == (3, 3, 3)


def test_the_byte_bound_counts_every_fakes_requests():
    store, clock = MemoryStore(), ManualClock()
    a = Fake(seed=7, clock=clock, store=store, journal_bytes=6000)
    b = Fake(seed=7, clock=clock, store=store, journal_bytes=6000)
    with TestClient(create_app(a)) as client_a, TestClient(create_app(b)) as client_b:
        for n in range(10):
            assert post(client_a if n % 2 else client_b, "start", userId=f"u{n}",
                        userAttributes={"bio": "x" * 1000}).status_code == 200
        entries, stats = journal(client_a), client_b.get("/_pushfake/stats").json()["journal"]
    assert stats["bytes"] <= 6000 and stats["held"] == len(entries) < 10 and stats["dropped"] == 10 - len(entries)
    assert [e["user"] for e in entries] == [f"u{n}" for n in range(10 - len(entries), 10)], "the newest kept"


async def broken_answer(ask: Any) -> Any:
    raise KeyError("a bug")


def test_a_failure_inside_one_fake_is_listed_and_cleared_by_the_other(shared, monkeypatch):
    monkeypatch.setattr(shared.a.leanplum, "answer", broken_answer)
    with TestClient(create_app(shared.a), raise_server_exceptions=False) as quiet_a:
        assert post(quiet_a, "start", userId="ann").status_code == 500
    [failure] = shared.client_b.get("/_pushfake/failures").json()["failures"]
    assert (failure["seq"], failure["where"], failure["error"]) == (1, "POST /api", "KeyError: 'a bug'")
    assert shared.client_b.delete("/_pushfake/failures").status_code == 200
    assert shared.client_a.get("/_pushfake/failures").json()["failures"] == []


def test_a_wait_on_one_fake_wakes_for_a_request_to_the_other(shared):
    def later() -> None:
        time.sleep(0.3)
        start(shared.client_a, "zed")

    sender = threading.Thread(target=later)
    sender.start()
    try:
        answer = shared.client_b.post("/_pushfake/wait", json={"for": "request", "filter": {"user": "zed"},
                                                              "timeout": 5}).json()
    finally:
        sender.join()
    assert answer["found"] is True and answer["request"]["user"] == "zed"
    assert answer["waited"] < 3, "woken by the request, not by the timeout"


def test_the_store_reset_alone_empties_the_journal_and_the_failures(shared):
    start(shared.client_a, "ann")
    start(shared.client_b, "bob")
    shared.a.failures.record("POST /api", RuntimeError("boom"), 0.0)
    shared.store.reset()
    for fake, client in ((shared.a, shared.client_a), (shared.b, shared.client_b)):
        assert journal(client) == [] and fake.journal.last_seq() == 0
        assert client.get("/_pushfake/failures").json()["failures"] == [] and fake.failures.last_seq == 0
        stats = client.get("/_pushfake/stats").json()["journal"]
        assert (stats["held"], stats["dropped"], stats["bytes"]) == (0, 0, 0)
    post(shared.client_b, "start", userId="cid")  # journaled whatever the emptied world answers
    assert [(e["seq"], e["user"]) for e in journal(shared.client_a)] == [(1, "cid")]


def test_a_reset_that_keeps_the_journal_keeps_it_for_every_fake(shared):
    start(shared.client_a, "ann")
    shared.a.failures.record("POST /api", RuntimeError("boom"), 0.0)
    shared.b.reset(keep_journal=True)
    assert [e["user"] for e in journal(shared.client_a)] == ["ann"]
    assert [f.error for f in shared.a.failures.list()] == ["RuntimeError: boom"]
    start(shared.client_a, "bob")
    assert [e["seq"] for e in journal(shared.client_b)] == [1, 2]


def entry(seq: int, body: bytes = b"{}") -> Entry:
    return Entry(seq, 0.0, "leanplum", "POST", "/api", "start", None, None, b"{}", body)


def test_clearing_the_journal_leaves_every_other_part_of_the_store():
    store = MemoryStore()
    journal, failures = Journal(store), Failures(store)
    other = store.counter("deliveries", "seq")
    other.add(5)
    journal.add(entry(journal.next_seq()))
    failures.record("scheduled work", RuntimeError("boom"), 0.0)
    journal.enabled = False
    journal.clear()
    assert (len(journal), journal.bytes, journal.dropped, journal.next_seq()) == (0, 0, 0, 1)
    assert journal.enabled is False, "clearing keeps the switch"
    assert other.value == 5 and len(failures.list()) == 1


def test_the_switch_in_force_goes_back_to_the_configured_one_at_a_reset():
    store = MemoryStore()
    on, off = Journal(store), Journal(store, enabled=False)
    assert (on.enabled, off.enabled) == (True, False)
    on.enabled = False
    assert (on.enabled, off.enabled) == (False, False)
    off.enabled = True
    store.reset()
    assert (on.enabled, off.enabled) == (True, False)


def test_failures_keep_the_newest_of_their_bound():
    failures = Failures(MemoryStore(), size=2)
    for n in range(3):
        failures.record("scheduled work", RuntimeError(f"boom {n}"), float(n))
    assert [(f.seq, f.error) for f in failures.list()] == [(2, "RuntimeError: boom 1"), (3, "RuntimeError: boom 2")]
    assert [f.seq for f in failures.list(after=2)] == [3]


def test_a_loaded_switch_stays_the_fakes_own_after_a_reset():
    """A fixtures document loaded with `journal.enabled: false` is the world a reset goes back to."""
    fake = Fake(seed=7, clock=ManualClock())
    document = yaml.safe_load(default_fixtures().read_text())
    fake.load_fixtures({**document, "journal": {"enabled": False}})
    fake.reset()
    with TestClient(create_app(fake)) as client:
        start(client, "ann")
        assert journal(client) == []
