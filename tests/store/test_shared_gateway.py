"""One gateway and one scheduler for every fake on a store: a delivery sent through one fake is
carried out when the other moves the clock, once; a D·engage send scheduled through one fires
when the other reaches its time; gateway settings set through one fake's control plane apply to
the attempts the other runs; the store reset alone leaves nothing pending and the fixtures'
settings in force; a reset that keeps the configuration keeps the settings for every fake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, MemoryStore, create_app
from tests.dengage import helpers as dg
from tests.gateway.helpers import LEANPLUM_DEVICE, gateway_world, leanplum_token, sent, serving

ALWAYS_UNAVAILABLE = {"platforms": {"fcm": {"failures": {"UNAVAILABLE": 1.0}}}, "retry": {"limit": 0}}


def gateway_section(client: TestClient) -> dict[str, Any]:
    response = client.get("/_pushfake/gateway")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def put_gateway(client: TestClient, section: dict[str, Any]) -> None:
    response = client.put("/_pushfake/gateway", json=section)
    assert response.status_code == 200, response.text


def test_a_delivery_sent_through_one_fake_is_carried_out_once_when_the_other_moves_the_clock(shared):
    for user in ("alice", "bob", "carol"):
        assert sent(shared.client_a, user) == 1
    assert sent(shared.client_b, "bob") == 1
    assert shared.a.gateway.pending == shared.b.gateway.pending == 4  # handed over, not yet started
    shared.a.advance(0)  # A starts the attempts; their answers fall due later
    assert {d.state for d in shared.b.deliveries.find()} == {"sending"}
    shared.b.run_until_idle()
    deliveries = shared.a.deliveries.find()
    assert [(d.device_id, d.state, d.attempts) for d in deliveries] == [
        (LEANPLUM_DEVICE[p], "delivered", 1) for p in ("apns", "fcm", "webpush", "fcm")]
    assert shared.a.gateway.pending == 0 and shared.a.scheduler.next_due() is None
    shared.a.run_until_idle()  # nothing is left for the other to run again
    assert [d.attempts for d in shared.b.deliveries.find()] == [1, 1, 1, 1]


def test_retries_scheduled_while_one_fake_ran_are_run_by_the_other(shared):
    put_gateway(shared.client_a, {**ALWAYS_UNAVAILABLE, "retry": {"limit": 2, "initialSeconds": 10}})
    assert sent(shared.client_a, "bob") == 1
    shared.a.advance(1)  # the first attempt is answered UNAVAILABLE; its retry is due in 10 s
    [delivery] = shared.b.deliveries.find()
    assert delivery.state == "retrying"
    shared.b.run_until_idle()
    [delivery] = shared.a.deliveries.find()
    assert (delivery.state, delivery.reason, delivery.attempts) == ("failed", "UNAVAILABLE", 3)
    assert [step[0] for step in delivery.timeline].count("retrying") == 2


def test_a_dengage_send_scheduled_through_one_fake_fires_when_the_other_reaches_its_time(shared):
    token = dg.login(shared.client_a)
    tracking = dg.tracking_id(dg.send(shared.client_a, token, {
        "content": dg.CONTENT, "scheduleDate": "2026-01-01T00:30:00Z"}))
    shared.b.advance(29 * 60)
    assert shared.b.deliveries.find(send_id=tracking) == []
    shared.b.advance(60)
    shared.b.run_until_idle()
    deliveries = shared.a.deliveries.find(send_id=tracking)
    assert {(d.user_id, d.device_id, d.platform) for d in deliveries} == dg.EVERYONE
    assert {(d.state, d.attempts) for d in deliveries} == {("delivered", 1)}
    send = shared.a.dengage.send(dg.ACCOUNT, tracking)
    assert send is not None and sorted(send.delivery_ids) == sorted(d.id for d in deliveries)
    shared.a.advance(3600)  # fired once: nothing fires again through the other fake
    assert len(shared.b.deliveries.find(send_id=tracking)) == len(dg.EVERYONE)


def test_gateway_settings_put_through_one_fake_apply_to_the_attempts_the_other_runs(shared):
    put_gateway(shared.client_a, ALWAYS_UNAVAILABLE)
    assert gateway_section(shared.client_b) == ALWAYS_UNAVAILABLE
    assert sent(shared.client_b, "bob") == 1
    shared.b.run_until_idle()
    [delivery] = shared.b.deliveries.find()
    assert (delivery.state, delivery.reason, delivery.attempts) == ("failed", "UNAVAILABLE", 1)


def test_settings_changed_from_python_on_one_fake_apply_to_the_other(shared):
    shared.a.gateway.fail_next(1, "UNREGISTERED", platform="fcm")
    assert sent(shared.client_b, "bob") == 1
    shared.b.run_until_idle()
    [delivery] = shared.a.deliveries.find()
    assert (delivery.state, delivery.reason) == ("failed", "UNREGISTERED")
    mark = shared.a.gateway.token_mark("fcm", leanplum_token(shared.a, "fcm"))
    assert mark is not None and mark.reason == "UNREGISTERED"
    shared.a.gateway.tokens.forget("fcm", leanplum_token(shared.a, "fcm"))
    assert sent(shared.client_a, "bob") == 1
    shared.a.run_until_idle()
    assert shared.b.deliveries.find()[-1].state == "delivered"  # the rule was used up, for both


def test_the_store_reset_alone_leaves_nothing_pending_and_the_fixtures_settings(shared):
    fixtures_section = gateway_section(shared.client_a)
    put_gateway(shared.client_a, ALWAYS_UNAVAILABLE)
    shared.b.gateway.set_throughput(1, platform="fcm")
    token = dg.login(shared.client_a)
    dg.send(shared.client_a, token, {"content": dg.CONTENT, "scheduleDate": "2026-01-01T00:30:00Z"})
    for _ in range(3):
        assert sent(shared.client_a, "bob") == 1
    shared.a.advance(0.01)
    assert shared.a.gateway.pending > 0
    shared.store.reset()
    for fake, client in ((shared.a, shared.client_a), (shared.b, shared.client_b)):
        assert fake.gateway.pending == 0 and fake.scheduler.next_due() is None
        assert gateway_section(client) == fixtures_section
        assert fake.gateway.config.platforms["fcm"].failures == {}
        assert fake.gateway.config.platforms["fcm"].throughput is None


def test_a_reset_that_keeps_the_configuration_keeps_the_settings_for_every_fake(shared):
    fixtures_section = gateway_section(shared.client_b)
    put_gateway(shared.client_a, ALWAYS_UNAVAILABLE)
    assert sent(shared.client_a, "bob") == 1
    response = shared.client_b.post("/_pushfake/reset", json={"keepConfig": True})
    assert response.status_code == 200, response.text
    assert shared.a.gateway.pending == 0 and shared.a.deliveries.find() == []
    assert gateway_section(shared.client_a) == ALWAYS_UNAVAILABLE
    assert sent(shared.client_a, "bob") == 1
    shared.b.run_until_idle()
    assert shared.a.deliveries.find()[-1].reason == "UNAVAILABLE"
    shared.a.reset()
    assert gateway_section(shared.client_b) == fixtures_section


def test_the_fixtures_relative_times_count_from_a_reset_through_either_fake(tmp_path: Path):
    fixtures = gateway_world(tmp_path, {"retry": {"limit": 0},
                                        "outages": [{"platform": "fcm", "from": "+10s", "until": "+20s"}]})
    store, clock = MemoryStore(), ManualClock()
    a = Fake(fixtures=fixtures, seed=7, clock=clock, store=store)
    b = Fake(fixtures=fixtures, seed=7, clock=clock, store=store)
    clock.advance(100)
    b.reset()  # the outage is now from 110 s to 120 s, for both
    with TestClient(create_app(a)) as client_a:
        a.advance(5)
        assert sent(client_a, "bob") == 1
        a.run_until_idle()
        a.advance(10)
        assert sent(client_a, "bob") == 1
        a.run_until_idle()
    assert [(d.state, d.reason) for d in b.deliveries.find()] == [("delivered", None), ("failed", "UNAVAILABLE")]


def test_a_delivery_dropped_by_the_bound_while_in_flight_still_finishes():
    """Its answer still marks its token (and draws from the generator); then nothing of it is kept."""
    fake = Fake(seed=7, clock=ManualClock(), store=MemoryStore(), retention={"deliveries": 1})
    fake.gateway.fail_next(1, "UNREGISTERED", platform="fcm")
    with serving(fake) as client:
        assert sent(client, "bob") == 1  # fcm: handed to the gateway, not yet attempted
        assert sent(client, "alice") == 1  # apns: bob's delivery is dropped to keep the bound
    assert [d.user_id for d in fake.deliveries.find()] == ["alice"]
    fake.run_until_idle()
    mark = fake.gateway.token_mark("fcm", leanplum_token(fake, "fcm"))
    assert mark is not None and mark.reason == "UNREGISTERED"
    assert fake.deliveries.find()[0].state == "delivered"
    assert fake.gateway.pending == 0 and len(fake.store.table("gateway", "dropped-in-flight")) == 0


def test_a_delivery_dropped_before_it_was_handed_over_is_never_attempted():
    fake = Fake(seed=7, clock=ManualClock(), store=MemoryStore(), retention={"deliveries": 1})
    with serving(fake) as client:
        token = dg.login(client)
        dg.tracking_id(dg.send(client, token, {"content": dg.CONTENT}))  # four devices: three dropped at once
    fake.run_until_idle()
    assert len(fake.deliveries.find()) == 1 and fake.gateway.pending == 0
    assert len(fake.store.table("gateway", "dropped-in-flight")) == 0
