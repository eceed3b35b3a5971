"""Failures inside the fake are recorded and reported, not lost; a reset can also set the seed and
the clock; `clock/settle` finishes the gateway's work without waiting for its latency."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from starlette.testclient import TestClient

from pushfake import Client, Fake, FakeFailure, ManualClock, SystemClock, WaitTimeout, create_app
from tests.support import serve_in_thread

SEND = {"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "alice", "messageId": "1001"}


@pytest.fixture
def quiet_client(fake):
    """A client that sees the fake's 500 answers instead of the exception behind them."""
    with TestClient(create_app(fake), raise_server_exceptions=False) as test_client:
        yield test_client


async def broken_handle(ask):
    raise KeyError("a bug")


def test_a_request_that_fails_inside_answers_500_in_the_vendor_shape_and_is_recorded(fake, quiet_client,
                                                                                   monkeypatch):
    monkeypatch.setattr(fake.leanplum, "answer", broken_handle)
    response = quiet_client.post("/api?action=sendMessage", json=SEND)
    assert response.status_code == 500
    assert response.json()["response"][0]["success"] is False
    [failure] = quiet_client.get("/_pushfake/failures").json()["failures"]
    assert failure["where"] == "POST /api"
    assert failure["error"] == "KeyError: 'a bug'"
    assert "broken_handle" in failure["traceback"]
    monkeypatch.undo()
    assert quiet_client.post("/api?action=sendMessage", json=SEND).status_code == 200  # it goes on serving
    assert quiet_client.delete("/_pushfake/failures").json() == {"ok": True}
    assert quiet_client.get("/_pushfake/failures").json() == {"failures": []}


def test_scheduled_work_that_fails_is_recorded_and_later_work_still_runs(fake, client):
    ran = []
    fake.scheduler.handle("breaks", lambda _: 1 / 0)
    fake.scheduler.handle("note", ran.append)
    fake.scheduler.call_at(fake.clock.now() + 1, "breaks")
    fake.scheduler.call_at(fake.clock.now() + 2, "note", "later")
    fake.advance(3)
    assert ran == ["later"]
    [failure] = client.get("/_pushfake/failures").json()["failures"]
    assert (failure["where"], failure["error"]) == ("scheduled work", "ZeroDivisionError: division by zero")


def test_a_reset_forgets_the_failures(fake, client):
    fake.scheduler.handle("breaks", lambda _: 1 / 0)
    fake.scheduler.call_at(fake.clock.now(), "breaks")
    fake.advance(1)
    assert client.get("/_pushfake/failures").json()["failures"]
    client.post("/_pushfake/reset")
    assert client.get("/_pushfake/failures").json()["failures"] == []


def test_a_wait_returns_at_once_with_the_failure_when_the_fake_breaks_meanwhile():
    fake = Fake(seed=7)
    with serve_in_thread(fake) as server, Client(server.url) as control:
        def break_soon() -> None:
            time.sleep(0.2)
            fake.scheduler.handle("breaks", lambda _: {}["missing"])
            fake.scheduler.call_at(0, "breaks")

        threading.Thread(target=break_soon).start()
        started = time.monotonic()
        with pytest.raises(FakeFailure) as raised:
            control.wait_for_delivery(device="nobody", timeout=10)
        assert time.monotonic() - started < 5  # not the whole timeout
        assert raised.value.failure["where"] == "scheduled work"
        assert "KeyError: 'missing'" in str(raised.value)
        with pytest.raises(WaitTimeout):  # a failure from before the wait began does not end it
            control.wait_for_delivery(device="nobody", timeout=0.2)


def test_a_reset_can_set_the_seed_and_restart_a_manual_clock(fake, client):
    start = fake.clock.now()
    client.post("/_pushfake/clock/advance", json={"seconds": 3600})
    assert client.post("/_pushfake/reset", json={"seed": 11}).status_code == 200
    assert (fake.seed, fake.clock.now()) == (11, start + 3600)  # the clock stays unless asked
    client.post("/_pushfake/reset", json={"restartClock": True})
    assert fake.clock.now() == start
    client.post("/_pushfake/reset", json={"now": "2030-01-01T00:00:00Z"})
    assert fake.clock.now() == 1_893_456_000.0
    client.post("/_pushfake/reset", json={"now": 1_800_000_000})  # backwards is allowed for a reset
    assert fake.clock.now() == 1_800_000_000.0


def test_the_same_seed_after_a_reset_gives_the_same_ids_as_a_new_fake(fake, client):
    client.post("/_pushfake/reset", json={"seed": 3, "restartClock": True})
    client.post("/api?action=sendMessage", json=SEND)
    fresh = Fake(seed=3, clock=ManualClock())
    with TestClient(create_app(fresh)) as other:
        other.post("/api?action=sendMessage", json=SEND)
        fake.run_until_idle()
        fresh.run_until_idle()
        mine, theirs = client.get("/_pushfake/deliveries").json(), other.get("/_pushfake/deliveries").json()
    assert mine == theirs and mine["deliveries"]


@pytest.mark.parametrize("body", [{"seed": "x"}, {"now": "yesterday"}, {"restartClock": 1}, {"other": True}])
def test_a_bad_reset_is_a_400_and_changes_nothing(fake, client, body):
    before = (fake.seed, fake.clock.now())
    response = client.post("/_pushfake/reset", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]
    assert (fake.seed, fake.clock.now()) == before


def test_a_reset_puts_a_live_clock_back_to_real_time_running():
    clock = SystemClock()
    clock.freeze()
    clock.advance(86_400)
    Fake(clock=clock).reset(restart_clock=True)
    assert not clock.frozen and abs(clock.now() - time.time()) < 1


def test_settle_finishes_every_delivery_in_virtual_time(fake, client):
    client.post("/api?action=sendMessage", json=SEND)
    [queued] = client.get("/_pushfake/deliveries").json()["deliveries"]
    assert queued["state"] != "delivered"
    before = fake.clock.now()
    after = client.post("/_pushfake/clock/settle").json()
    [delivered] = client.get("/_pushfake/deliveries").json()["deliveries"]
    assert delivered["state"] == "delivered"
    assert after["now"] == delivered["timeline"][-1]["at"] > before  # the clock went just as far as needed


def test_settle_on_a_live_server_does_not_wait_for_the_gateway_latency():
    fake = Fake(seed=7)
    fake.gateway.replace_settings({"platforms": {"apns": {"latency": {"fixed": 30}}}})
    with serve_in_thread(fake) as server, Client(server.url) as control:
        httpx.post(f"{server.leanplum_url}?action=sendMessage", json=SEND)
        started = time.monotonic()
        control.settle()
        assert control.deliveries(device="alice-iphone")[0]["state"] == "delivered"
        assert time.monotonic() - started < 5  # not the 30 s the gateway would take
        assert not control.clock()["frozen"]  # and the clock runs on


def test_a_fixtures_reload_that_keeps_the_journal_keeps_the_failures_too(fake):
    """`pushfake serve --watch` reloads the world, not the history: a failure inside the fake
    before the reload is still there for the test waiting on it."""
    fake.failures.record("POST /api", RuntimeError("boom"), fake.clock.now())
    fake.load_fixtures({}, "edited.yaml", keep_journal=True)
    assert [f.to_dict()["error"] for f in fake.failures.list()] == ["RuntimeError: boom"]
    fake.reset()
    assert fake.failures.list() == []
