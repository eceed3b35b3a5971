"""The store's parts, as every component uses them: what each keeps, in which order, and that
one reset empties them all but the owners it is told to keep. Every test runs on both backends:
the in-memory store and a `RedisStore` on a real Redis (`other()` is another process's replica)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pushfake.core.redis_store import RedisStore
from pushfake.core.retention import Kept
from pushfake.core.rng import SeededRandom
from pushfake.core.store import MemoryStore


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """Opens a store on one world: the same `MemoryStore`, or a new `RedisStore` on one Redis."""
    if request.param == "memory":
        memory = MemoryStore()
        yield lambda: memory
        return
    url, opened = request.getfixturevalue("redis_url"), []

    def open_store() -> RedisStore:
        opened.append(RedisStore(url))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(stores: Callable[[], Any]) -> Any:
    return stores()


def test_a_counter_counts_from_one_and_again_from_one_after_a_reset(store) -> None:
    seq = store.counter("journal", "seq")
    assert [seq.next(), seq.next(), seq.add(5), seq.value] == [1, 2, 7, 7]
    store.reset()
    assert seq.next() == 1
    assert store.counter("journal", "seq") is seq  # one part per name, still usable after the reset


def test_a_cell_holds_one_value_and_none_after_a_reset(store) -> None:
    cell = store.cell("gateway", "settings")
    assert cell.get() is None
    cell.set({"apns": {"latency": 0}})
    assert store.cell("gateway", "settings").get() == {"apns": {"latency": 0}}
    store.reset()
    assert cell.get() is None


def test_ordered_keys_keep_their_first_place_and_come_out_oldest_first(store) -> None:
    order = store.ordered("deliveries", "kept")
    assert [order.add("a"), order.add("b"), order.add("a"), order.add("c")] == [True, True, False, True]
    assert list(order) == ["a", "b", "c"] and order.oldest() == "a" and "b" in order
    order.discard("b")
    assert [order.pop_oldest(), order.pop_oldest(), order.pop_oldest()] == ["a", "c", None]


def test_a_log_gives_its_items_oldest_first(store) -> None:
    log = store.log("journal", "entries")
    for item in ("first", "second", "third"):
        log.append(item)
    assert log.oldest() == "first" and log.newest() == "third" and log.pop_oldest() == "first"
    assert log.items() == ["second", "third"] and len(log) == 2


def test_an_agenda_gives_what_is_due_in_time_order_and_equal_times_in_the_order_added(store) -> None:
    agenda = store.agenda("scheduler")
    agenda.add(20.0, ("send", "late"))
    agenda.add(10.0, ("send", "first"))
    agenda.add(10.0, ("send", "second"))
    assert agenda.next_due() == 10.0 and agenda.pop_due(5.0) is None
    assert [agenda.pop_due(15.0), agenda.pop_due(15.0), agenda.pop_due(15.0)] == [
        (10.0, ("send", "first")), (10.0, ("send", "second")), None]
    assert len(agenda) == 1 and agenda.pop_due(20.0) == (20.0, ("send", "late")) and agenda.next_due() is None


def test_one_reset_empties_every_part_but_the_owners_kept(store) -> None:
    store.table("leanplum", "app_1", "users").put("u1", {"id": "u1"})
    store.log("journal", "entries").append("entry")
    store.counter("journal", "seq").next()
    store.agenda("gateway", "pending").add(1.0, "d1")
    store.cell("faults", "rules").set(["rule"])
    store.reset(keep=("journal",))
    assert store.contents() == {("log", ("journal", "entries")): ["entry"], ("counter", ("journal", "seq")): 1}
    store.reset()
    assert store.contents() == {}


def test_changes_wake_their_listeners_across_a_reset(store) -> None:
    changes = store.changes("deliveries")
    store.reset()
    assert store.changes("deliveries") is changes  # a long-poll waiting through a reset still wakes


def test_kept_keys_are_bounded_and_count_what_was_dropped_in_the_store(stores) -> None:
    store = stores()
    kept = Kept(store, "deliveries", "kept", bound=2)
    assert [kept.add("d1"), kept.add("d2"), kept.add("d3"), kept.add("d4")] == [[], [], ["d1"], ["d2"]]
    assert kept.stats() == {"held": 2, "dropped": 2, "max": 2}
    other = Kept(stores(), "deliveries", "kept", bound=2)  # another fake on the same store sees the same
    assert other.oldest() == "d3" and other.dropped == 2
    store.reset()
    assert kept.stats() == {"held": 0, "dropped": 0, "max": 2}


def test_the_generator_state_is_the_stores_so_fakes_sharing_it_share_one_sequence(stores) -> None:
    store = stores()
    first, second = SeededRandom(5, store=store), SeededRandom(5, store=stores())
    alone = SeededRandom(5)
    drawn = [first.uuid4(), second.uuid4(), first.uuid4()]
    assert drawn == [alone.uuid4() for _ in range(3)]  # one sequence, whichever draws
    store.reset()
    assert second.uuid4() == drawn[0]  # from the seed again
