"""Deliveries, Leanplum events, D·engage sends and access tokens are kept up to bounds, oldest
dropped and counted in `GET /_pushfake/stats`; expired access tokens are purged without being
shown again; the bounds come from the fixtures, `Fake(retention=...)` and `serve --retention`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from pushfake import Fake, FixtureError, ManualClock, create_app
from pushfake.core.retention import DEFAULT_BOUNDS
from tests.dengage import helpers as dg
from tests.gateway.helpers import sent
from tests.leanplum.helpers import element, post


@pytest.fixture
def bounded() -> Iterator[Any]:
    """bounded(**retention) -> (fake, client) on a ManualClock."""
    clients: list[TestClient] = []

    def build(**retention: int) -> tuple[Fake, TestClient]:
        fake = Fake(seed=3, clock=ManualClock(), retention=retention)
        client = TestClient(create_app(fake), raise_server_exceptions=True)
        clients.append(client.__enter__())
        return fake, client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def stats(client: TestClient) -> dict[str, Any]:
    response = client.get("/_pushfake/stats")
    assert response.status_code == 200, response.text
    return response.json()


def test_deliveries_keep_the_newest_and_count_the_dropped(bounded):
    fake, client = bounded(deliveries=5)
    for _ in range(8):
        assert sent(client, "bob") == 1
    ids_before = [d.id for d in fake.deliveries.find()]
    fake.run_until_idle()  # the gateway finishes dropped deliveries without storing them again
    kept = fake.deliveries.find()
    assert len(kept) == 5 and [d.id for d in kept] == ids_before
    assert all(d.state == "delivered" for d in kept)
    assert stats(client)["deliveries"] == {"held": 5, "dropped": 3, "max": 5}
    listed = client.get("/_pushfake/deliveries").json()["deliveries"]
    assert [d["id"] for d in listed] == ids_before


def test_events_keep_the_newest_over_all_users(bounded):
    fake, client = bounded(events=3)
    for user, event in [("alice", "a1"), ("bob", "b1"), ("alice", "a2"), ("bob", "b2"), ("alice", "a3")]:
        assert element(post(client, "track", userId=user, event=event))["success"] is True
    names = {u: [e.name for e in fake.leanplum.state.events("app_pushfake", u)] for u in ("alice", "bob")}
    assert names == {"alice": ["a2", "a3"], "bob": ["b2"]}
    assert stats(client)["events"] == {"held": 3, "dropped": 2, "max": 3}


def test_dengage_sends_keep_the_newest(bounded):
    fake, client = bounded(sends=2)
    token = dg.login(client)
    tracking = [dg.tracking_id(dg.send(client, token, {"content": dg.CONTENT})) for _ in range(3)]
    assert dg.sends(fake) == 2
    assert fake.dengage.state.send(dg.ACCOUNT, tracking[0]) is None
    assert all(fake.dengage.state.send(dg.ACCOUNT, t) is not None for t in tracking[1:])
    assert dg.report(client, token, tracking[2])
    assert stats(client)["sends"] == {"held": 2, "dropped": 1, "max": 2}


def test_a_send_forgets_the_deliveries_dropped_to_keep_the_bound(bounded):
    """A send lists its deliveries; those the deliveries bound dropped leave the list, so sends
    kept up to their bound cannot hold ids without end, and the report counts what is held."""
    fake, client = bounded(deliveries=5)
    token = dg.login(client)
    tracking = [dg.tracking_id(dg.send(client, token, {"content": dg.CONTENT})) for _ in range(3)]
    held = {d.id for d in fake.deliveries.find()}
    sends = [fake.dengage.state.send(dg.ACCOUNT, t) for t in tracking]
    listed = [i for send in sends for i in send.delivery_ids]
    assert len(held) == 5 and sorted(listed) == sorted(held)  # every send's list holds only kept ids
    assert sends[-1].delivery_ids  # the newest send still has its deliveries
    fake.run_until_idle()
    report = dg.report(client, token, tracking[-1])
    assert report["totalCount"] == len(sends[-1].delivery_ids)


def test_expired_tokens_are_purged_at_the_next_login(bounded):
    fake, client = bounded()
    lifetime = fake.dengage.settings.token_lifetime_seconds
    first = dg.login(client)
    fake.advance(lifetime + 1)
    dg.login(client)
    assert stats(client)["tokens"]["held"] == 1 and stats(client)["tokens"]["expired"] == 1
    assert fake.dengage.state.tokens().get(first) is None, "purged without being shown again"


def test_live_tokens_beyond_the_bound_are_dropped_oldest_first(bounded):
    fake, client = bounded(tokens=2)
    tokens = [dg.login(client) for _ in range(3)]
    refused = client.get(dg.SEND_PATH, params={"trackingId": dg.UNKNOWN_ID}, headers=dg.bearer(tokens[0]))
    assert refused.status_code == 401
    assert dg.tracking_id(dg.send(client, tokens[2], {"content": dg.CONTENT}))
    assert {k: stats(client)["tokens"][k] for k in ("held", "dropped", "max")} == {"held": 2, "dropped": 1, "max": 2}


def test_a_reset_clears_the_counts(bounded):
    fake, client = bounded(deliveries=1)
    sent(client, "bob")
    sent(client, "bob")
    assert stats(client)["deliveries"]["dropped"] == 1
    assert client.post("/_pushfake/reset").status_code == 200
    assert stats(client)["deliveries"] == {"held": 0, "dropped": 0, "max": 1}
    assert stats(client)["journal"]["held"] == 0


def test_the_stats_name_every_kind_and_the_defaults(client):
    got = stats(client)
    assert set(got) == {"journal", "deliveries", "events", "sends", "tokens"}
    assert {kind: got[kind]["max"] for kind in DEFAULT_BOUNDS} == DEFAULT_BOUNDS
    assert DEFAULT_BOUNDS == {"deliveries": 100_000, "events": 100_000, "sends": 10_000, "tokens": 10_000}


def test_the_bounds_come_from_the_fixtures_and_the_argument_wins(tmp_path):
    path = tmp_path / "world.yaml"
    path.write_text("retention: {deliveries: 7, events: 9}\n")
    fake = Fake(fixtures=path, clock=ManualClock(), retention={"events": 11})
    assert fake.stats()["deliveries"]["max"] == 7 and fake.stats()["events"]["max"] == 11
    fake.load_fixtures({"retention": {"sends": 4}})
    assert fake.stats()["sends"]["max"] == 4 and fake.stats()["deliveries"]["max"] == DEFAULT_BOUNDS["deliveries"]


def test_a_bad_bound_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no kind 'users'"):
        Fake(retention={"users": 5})
    with pytest.raises(ValueError, match=r"retention.events: a whole number >= 1, not 0"):
        Fake(retention={"events": 0})
    path = tmp_path / "world.yaml"
    path.write_text("retention: {deliveries: 0}\n")
    with pytest.raises(FixtureError, match="retention"):
        Fake(fixtures=path)
