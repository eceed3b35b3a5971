"""One reset is the store's: after any traffic, `Fake.reset()` leaves the store holding exactly
what a fresh fake's holds, so nothing a test did survives it anywhere else, and a shared store
(several fakes, later several processes) resets as one world."""

from __future__ import annotations

from pushfake import Fake, ManualClock, MemoryStore
from pushfake.gateway import LogNormal
from tests.dengage import helpers as dg
from tests.gateway.helpers import good_token, register, send_message, serving


def busy(fake: Fake) -> None:
    """Traffic that touches every part of a world: users, devices, sends, deliveries in flight and
    done, a scheduled send, tokens, the journal, faults, limits and gateway settings in force."""
    fake.gateway.set_latency(LogNormal(median=0.05, p99=0.4))
    fake.gateway.set_failures({"UNAVAILABLE": 0.3}, platform="fcm")
    with serving(fake) as client:
        fault = client.post("/_pushfake/faults", json={"match": {"vendor": "leanplum", "operation": "track"},
                                                       "fault": {"kind": "error", "status": 503}, "times": 1})
        assert fault.status_code in (200, 201), fault.text
        limit = client.post("/_pushfake/limits", json={"kind": "token-bucket", "vendor": "dengage",
                                                       "rate": 1000, "burst": 1000})
        assert limit.status_code in (200, 201), limit.text
        register(client, "newcomer", "newcomer-pixel", "fcm", good_token("fcm", 1))
        for n in range(3):
            send_message(client, "newcomer", 1001, values={"n": n})
            send_message(client, "alice", 1001)
        token = dg.login(client)
        dg.tracking_id(dg.send(client, token, {"content": dg.CONTENT}))
        dg.tracking_id(dg.send(client, token, {"content": dg.CONTENT, "scheduleDate": "2026-01-01T00:30:00Z"}))
        fake.advance(0.05)  # some deliveries done, some still in flight


def test_a_reset_after_any_traffic_leaves_the_store_as_a_fresh_fakes() -> None:
    clock = ManualClock()
    used = Fake(seed=7, clock=clock, store=MemoryStore())
    busy(used)
    used.reset()
    fresh = Fake(seed=7, clock=clock, store=MemoryStore())  # built now: its world is stamped with the same time
    assert used.store.contents() == fresh.store.contents()


def test_after_a_reset_the_same_traffic_gives_the_same_store() -> None:
    first = Fake(seed=7, clock=ManualClock(), store=MemoryStore())
    busy(first)
    after_one_run = first.store.contents()
    first.reset(restart_clock=True)
    busy(first)
    assert first.store.contents() == after_one_run  # ids, draws, rule ids and counts start again


def test_a_reset_through_one_fake_resets_every_fake_on_the_store() -> None:
    store, clock = MemoryStore(), ManualClock()
    a, b = Fake(seed=7, clock=clock, store=store), Fake(seed=7, clock=clock, store=store)
    busy(a)
    b.reset()
    assert store.contents() == Fake(seed=7, clock=clock, store=MemoryStore()).store.contents()
    assert a.deliveries.find() == [] and a.gateway.pending == 0
