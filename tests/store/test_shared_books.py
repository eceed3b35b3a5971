"""One fault book and one limit book for every fake on a store: a rule or a limit added through
one fake's control plane applies to requests sent to the other and counts them together, one
removed through either is gone for both, requests in flight and users being served are counted
across both, the seeded draws are one sequence whichever fake answers, and the store reset alone
brings back the fixtures' rules and limits, ids numbered from the start again."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from pushfake.core.resources import default_fixtures
from pushfake.leanplum.errors import LeanplumError
from tests.control.fault_helpers import (
    APP,
    BUILT_IN_LIMITS,
    DEV_CREDS,
    DEV_MODE_TEXT,
    LOCKING_TEXT,
    LP_BUCKET_TEXT,
    lp_error,
)
from tests.dengage.helpers import CONTENT, PASSWORD, SEND_PATH, TOO_MANY_REQUESTS, USERKEY, bearer, error
from tests.leanplum.helpers import post

UNAVAILABLE = {"match": {"vendor": "leanplum", "operation": "track"}, "fault": {"kind": "error", "status": 503}}


def track(client: TestClient, user: str = "ann") -> int:
    return post(client, "track", userId=user, event="e").status_code  # type: ignore[no-any-return]


def added(client: TestClient, what: str, item: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/_pushfake/{what}", json=item)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def listed(client: TestClient, what: str) -> list[dict[str, Any]]:
    response = client.get(f"/_pushfake/{what}")
    assert response.status_code == 200, response.text
    return response.json()[what]  # type: ignore[no-any-return]


def document(**settings: dict[str, Any]) -> dict[str, Any]:
    """The default fixtures with `leanplum` / `dengage` settings changed."""
    doc = copy.deepcopy(yaml.safe_load(default_fixtures().read_text(encoding="utf-8")))
    for vendor, changed in settings.items():
        doc[vendor].setdefault("settings", {}).update(changed)
    return doc


def load_on_both(shared: Any, doc: dict[str, Any]) -> None:
    """Every fake on a store is built from the same fixtures: load them into both."""
    shared.a.load_fixtures(doc)
    shared.b.load_fixtures(doc)


def gathered(shared: Any, calls: Any) -> list[httpx.Response]:
    """Run `calls(a, b)` (two async clients, one per fake) in one event loop, so requests overlap."""
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(shared.a)), base_url="http://a") as a, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(shared.b)), base_url="http://b") as b:
            return list(await calls(a, b))

    return asyncio.run(main())


# --- fault rules --------------------------------------------------------------------------------


def test_a_rule_added_through_one_fake_fires_on_the_other_and_counts_times_across_both(shared):
    rule = added(shared.client_a, "faults", {**UNAVAILABLE, "times": 2})
    assert [track(shared.client_b), track(shared.client_a), track(shared.client_b)] == [503, 503, 200]
    for client in (shared.client_a, shared.client_b):
        got = client.get(f"/_pushfake/faults/{rule['id']}").json()
        assert (got["seen"], got["fired"], got["spent"]) == (2, 2, True)


def test_a_rule_removed_through_one_fake_stops_firing_on_the_other(shared):
    rule = added(shared.client_a, "faults", UNAVAILABLE)
    assert track(shared.client_a) == 503  # the rule is in the candidates A keeps for track
    assert shared.client_b.delete(f"/_pushfake/faults/{rule['id']}").status_code == 200
    assert track(shared.client_a) == 200
    assert listed(shared.client_a, "faults") == []
    assert shared.client_a.get(f"/_pushfake/faults/{rule['id']}").status_code == 404


def test_a_rule_replaced_through_one_fake_fires_anew_on_the_other(shared):
    added(shared.client_a, "faults", {**UNAVAILABLE, "id": "down", "times": 1})
    assert [track(shared.client_a), track(shared.client_a)] == [503, 200]
    added(shared.client_b, "faults", {**UNAVAILABLE, "id": "down", "times": 1})
    assert shared.client_a.get("/_pushfake/faults/down").json()["fired"] == 0, "a replaced rule's counts start over"
    assert [track(shared.client_a), track(shared.client_a)] == [503, 200]


def test_rules_cleared_through_one_fake_fire_on_neither(shared):
    added(shared.client_a, "faults", UNAVAILABLE)
    assert track(shared.client_b) == 503
    assert shared.client_b.delete("/_pushfake/faults").status_code == 200
    assert [track(shared.client_a), track(shared.client_b)] == [200, 200]


def test_probability_draws_are_one_sequence_whichever_fake_answers(shared):
    coin = {**UNAVAILABLE, "probability": 0.5}
    alone = Fake(seed=7, clock=ManualClock())
    alone.faults.add(coin)
    with TestClient(create_app(alone)) as client:
        expected = [track(client) for _ in range(16)]
    assert 200 in expected and 503 in expected
    added(shared.client_a, "faults", coin)
    clients = [shared.client_a, shared.client_b] * 8
    assert [track(client) for client in clients] == expected


# --- limits ---------------------------------------------------------------------------------------


def test_a_token_bucket_added_through_one_fake_is_emptied_by_requests_to_both(shared):
    limit = added(shared.client_a, "limits", {"kind": "token-bucket", "vendor": "leanplum", "rate": 1, "burst": 2})
    assert [track(shared.client_a), track(shared.client_b)] == [200, 200]
    refused = post(shared.client_b, "track", userId="ann", event="e")
    assert (refused.status_code, lp_error(refused)) == (429, LP_BUCKET_TEXT)
    assert track(shared.client_a) == 429
    shared.clock.advance(1)
    assert [track(shared.client_b), track(shared.client_a)] == [200, 429], "one second at 1/s: one token"
    assert [entry["limit"] for entry in shared.client_b.get("/_pushfake/journal", params={"status": 429}).json()[
        "entries"]] == [limit["id"]] * 3


def test_a_limit_removed_through_one_fake_no_longer_refuses_on_the_other(shared):
    limit = added(shared.client_a, "limits", {"kind": "token-bucket", "vendor": "leanplum", "rate": 1, "burst": 1})
    assert [track(shared.client_b), track(shared.client_b)] == [200, 429]
    assert shared.client_b.delete(f"/_pushfake/limits/{limit['id']}").status_code == 200
    assert track(shared.client_a) == 200
    assert limit["id"] not in {lim["id"] for lim in listed(shared.client_a, "limits")}


def test_the_dengage_concurrency_limit_counts_requests_in_flight_on_both_fakes(shared):
    load_on_both(shared, document(dengage={"processingDelaySeconds": 0.3}))
    added(shared.client_b, "limits", {"kind": "concurrency", "limit": 1})

    async def calls(a: httpx.AsyncClient, b: httpx.AsyncClient) -> list[httpx.Response]:
        login = await a.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD})
        headers = bearer(login.json()["access_token"])
        both = await asyncio.gather(a.post(SEND_PATH, json={"content": CONTENT}, headers=headers),
                                    b.post(SEND_PATH, json={"content": CONTENT}, headers=headers))
        after = await b.post(SEND_PATH, json={"content": CONTENT}, headers=headers)
        return [*both, after]

    on_a, on_b, after = gathered(shared, calls)
    assert (on_a.status_code, on_b.status_code) == (200, 429), "A's send was in flight when B's came"
    assert error(on_b, 429)["message"] == TOO_MANY_REQUESTS
    assert after.status_code == 200, "A's send, answered, freed the account's one place for B"


def test_a_user_being_served_by_one_fake_is_locked_on_the_other(shared):
    load_on_both(shared, document(leanplum={"processingDelaySeconds": 0.3}))

    async def calls(a: httpx.AsyncClient, b: httpx.AsyncClient) -> list[httpx.Response]:
        body = {"appId": APP, "clientKey": "prod_pushfake", "userId": "ann"}
        both = await asyncio.gather(a.post("/api?action=start", json=body), b.post("/api?action=start", json=body))
        return [*both, await b.post("/api?action=start", json=body)]

    on_a, on_b, after = gathered(shared, calls)
    assert (on_a.status_code, on_b.status_code, after.status_code) == (200, 429, 200)
    assert lp_error(on_b) == LOCKING_TEXT


def test_a_users_lock_goes_when_the_request_fails(shared):
    with pytest.raises(RuntimeError):
        with shared.a.leanplum.limits.hold(APP, "ann", dev_mode=False):
            with pytest.raises(LeanplumError, match="concurrent requests"):
                with shared.b.leanplum.limits.hold(APP, "ann", dev_mode=False):
                    pass
            raise RuntimeError("the request failed")
    with shared.b.leanplum.limits.hold(APP, "ann", dev_mode=False):
        pass


def test_the_dev_mode_rate_counts_a_users_requests_to_both_fakes(shared):
    added(shared.client_a, "limits", {"kind": "dev-mode-rate", "perSecond": 2})
    codes = [client.post("/api?action=start", json={**DEV_CREDS, "userId": "ann"}).status_code
             for client in (shared.client_a, shared.client_b, shared.client_a)]
    assert codes == [200, 200, 429]
    refused = shared.client_b.post("/api?action=start", json={**DEV_CREDS, "userId": "ann"})
    assert lp_error(refused) == DEV_MODE_TEXT


# --- resets ---------------------------------------------------------------------------------------


def test_the_store_reset_alone_brings_back_the_fixtures_rules_and_limits_and_restarts_ids(shared):
    doc = document()
    doc["faults"] = [UNAVAILABLE]
    load_on_both(shared, doc)
    assert track(shared.client_a) == 503
    assert added(shared.client_a, "faults", UNAVAILABLE)["id"] == "fault-2"
    assert added(shared.client_b, "limits", {"kind": "token-bucket", "vendor": "leanplum", "rate": 1})["id"] == "limit-1"
    assert shared.client_b.delete("/_pushfake/limits/leanplum-device-locking").status_code == 200
    assert shared.client_a.delete("/_pushfake/faults/fault-1").status_code == 200

    shared.store.reset()

    for client in (shared.client_a, shared.client_b):
        assert [(r["id"], r["scope"], r["seen"]) for r in listed(client, "faults")] == [("fault-1", "fixtures", 0)]
        assert {lim["id"] for lim in listed(client, "limits")} == BUILT_IN_LIMITS
    assert added(shared.client_b, "faults", UNAVAILABLE)["id"] == "fault-2"
    assert added(shared.client_a, "limits", {"kind": "token-bucket", "vendor": "leanplum", "rate": 1})["id"] == "limit-1"


def test_a_reset_keeping_the_configuration_through_one_fake_keeps_both_fakes_rules_with_fresh_counts(shared):
    rule = added(shared.client_a, "faults", UNAVAILABLE)
    limit = added(shared.client_a, "limits", {"kind": "token-bucket", "vendor": "leanplum", "rate": 1, "burst": 1})
    assert [track(shared.client_a), track(shared.client_b)] == [503, 503]
    assert shared.client_b.post("/_pushfake/reset", json={"keepConfig": True}).status_code == 200
    [kept] = listed(shared.client_a, "faults")
    assert (kept["id"], kept["seen"], kept["fired"]) == (rule["id"], 0, 0)
    assert limit["id"] in {lim["id"] for lim in listed(shared.client_a, "limits")}
    assert added(shared.client_b, "faults", {**UNAVAILABLE, "match": {"operation": "start"}})["id"] == "fault-2", (
        "the kept rules' ids are not handed out again")
    shared.client_a.delete(f"/_pushfake/faults/{rule['id']}")
    assert [track(shared.client_a), track(shared.client_b)] == [200, 429], "the bucket is full again: one token"


def test_a_refused_rule_or_limit_changes_no_numbering(shared):
    assert shared.client_a.post("/_pushfake/faults", json={"match": {}, "fault": {"kind": "nope"}}).status_code == 400
    assert shared.client_a.post("/_pushfake/limits", json={"kind": "token-bucket", "vendor": "leanplum"}).status_code == 400
    assert added(shared.client_b, "faults", UNAVAILABLE)["id"] == "fault-1"
    assert added(shared.client_b, "limits", {"kind": "token-bucket", "vendor": "leanplum", "rate": 1})["id"] == "limit-1"
