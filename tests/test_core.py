"""Core pieces whose behaviour users rely on directly: seeded ids, the clock, the store."""

from __future__ import annotations

import re
import uuid

import pytest

from pushfake import ManualClock, MemoryStore
from pushfake.core.rng import SeededRandom
from pushfake.core.scheduler import Scheduler


def test_uuids_are_version_4_and_follow_the_seed():
    first, again, other = SeededRandom(11), SeededRandom(11), SeededRandom(12)
    ids = [first.uuid4() for _ in range(500)]
    assert ids == [again.uuid4() for _ in range(500)]
    assert ids != [other.uuid4() for _ in range(500)]
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
    assert len(set(ids)) == 500


def test_tokens_are_url_safe_and_follow_the_seed():
    tokens = [SeededRandom(3).token() for _ in range(2)]
    assert tokens[0] == tokens[1] and re.fullmatch(r"[A-Za-z0-9_-]{43}", tokens[0])


def test_manual_clock_only_moves_forward():
    clock = ManualClock(100.0)
    clock.advance(5)
    assert clock.now() == 105.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(50)


def test_scheduler_runs_due_work_in_time_order():
    clock = ManualClock(0.0)
    scheduler = Scheduler(clock, MemoryStore())
    ran: list[str] = []
    scheduler.handle("note", ran.append)
    scheduler.call_at(20, "note", "b")
    scheduler.call_at(10, "note", "a")
    scheduler.call_at(30, "note", "c")
    assert scheduler.run_due() == 0
    clock.advance(25)
    assert scheduler.run_due() == 2 and ran == ["a", "b"]
    assert scheduler.next_due() == 30


def test_store_reset_empties_tables_that_are_still_held():
    store = MemoryStore()
    table = store.table("x", "y")
    table.put("k", 1)
    store.reset()
    assert len(table) == 0 and store.table("x", "y") is table
    table.put("k", 2)
    assert store.table("x", "y").get("k") == 2


def test_bulk_uuids_are_version_4_distinct_and_follow_the_seed():
    ids = SeededRandom(5).uuid4s(2000)
    assert ids == SeededRandom(5).uuid4s(2000) and len(set(ids)) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
    assert SeededRandom(5).uuid4s(0) == []


def test_the_public_api_is_what_all_names():
    import pushfake

    public = {name for name in dir(pushfake) if not name.startswith("_")}
    modules = {"app", "asgi_transport", "batches", "cli", "client", "contract", "control", "core", "dengage", "extras", "fake",
               "faults", "gateway", "inbox", "leanplum", "plumbing", "serve", "site", "traffic", "version"}
    assert public - modules == set(pushfake.__all__) - {"__version__"}
    for name in pushfake.__all__:
        assert getattr(pushfake, name) is not None
