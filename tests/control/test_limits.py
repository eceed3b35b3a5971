"""Rate limits as a client sees them: Leanplum's strict device locking, development-mode rate and
multi size, D·engage's concurrency limit, token buckets, and the limits' life cycle (add,
replace, remove, clear, reset). Real servers where concurrency matters; in process on a
`ManualClock` where only time does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pushfake import Client, ControlError, Fake, FixtureError, ManualClock
from pushfake.core.journal import Query
from tests.control.fault_helpers import (
    APP,
    BUILT_IN_LIMITS,
    CONTENT,
    DE_BUCKET_TEXT,
    DE_CONCURRENCY_TEXT,
    DEV_CREDS,
    lp_elements,
    DEV_MODE_TEXT,
    LOCKING_TEXT,
    LP_BUCKET_TEXT,
    SEND_PATH,
    ade_login,
    alp,
    de_error,
    document,
    http_client,
    lp,
    lp_error,
    restore_default_world,
    run_in_process,
)
from tests.support import LiveServer, serve_in_thread


@pytest.fixture(autouse=True)
def fresh(server: LiveServer) -> Iterator[None]:
    restore_default_world(server.fake)
    yield
    if server.fake.clock.frozen:
        server.fake.clock.unfreeze()


@pytest.fixture
def ctl(server: LiveServer) -> Iterator[Client]:
    with Client(server.url, timeout=5.0) as client:
        yield client


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with http_client(server.url) as client:
        yield client


def live_pair(server: LiveServer, first: dict[str, Any], second: dict[str, Any]) -> list[httpx.Response]:
    """Two Leanplum `track` calls sent at the same time, over two connections."""
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as http:
            return list(await asyncio.gather(alp(http, "track", event="e", **first),
                                             alp(http, "track", event="e", **second)))

    return asyncio.run(main())


def loser_and_winner(pair: list[httpx.Response]) -> tuple[httpx.Response, httpx.Response]:
    assert sorted(r.status_code for r in pair) == [200, 429], [r.text for r in pair]
    return (pair[0], pair[1]) if pair[0].status_code == 429 else (pair[1], pair[0])


# --- Leanplum strict device locking (real concurrency) -----------------------------------------


def test_device_locking_refuses_a_concurrent_request_for_the_same_user(server, ctl):
    server.fake.load_fixtures(document(leanplum={"processingDelaySeconds": 0.3}))
    loser, _ = loser_and_winner(live_pair(server, {"userId": "alice"}, {"userId": "alice"}))
    assert lp_error(loser) == LOCKING_TEXT
    assert "Retry-After" not in loser.headers
    [refused] = ctl.journal(status=429)
    assert (refused["limit"], refused["user"], refused["fault"]) == ("leanplum-device-locking", "alice", None)
    [admitted] = ctl.journal(status=200)
    assert admitted["limit"] is None
    assert [e.name for e in server.fake.leanplum.events(APP, "alice") if e.kind == "track"] == ["e"], \
        "the refused request tracked nothing"


def test_device_locking_does_not_hold_other_users(server):
    server.fake.load_fixtures(document(leanplum={"processingDelaySeconds": 0.3}))
    pair = live_pair(server, {"userId": "alice"}, {"userId": "bob"})
    assert [r.status_code for r in pair] == [200, 200]


def test_without_device_locking_concurrent_requests_both_pass(server, ctl):
    server.fake.load_fixtures(document(leanplum={"processingDelaySeconds": 0.3}))
    ctl.remove_limit("leanplum-device-locking")
    assert "leanplum-device-locking" not in {lim["id"] for lim in ctl.limits()}
    pair = live_pair(server, {"userId": "alice"}, {"userId": "alice"})
    assert [r.status_code for r in pair] == [200, 200]
    ctl.reset()
    assert "leanplum-device-locking" in {lim["id"] for lim in ctl.limits()}, "a reset brings it back"
    loser_and_winner(live_pair(server, {"userId": "alice"}, {"userId": "alice"}))


def test_device_locking_with_retry_after_from_the_settings(server):
    server.fake.load_fixtures(document(leanplum={"processingDelaySeconds": 0.3, "retryAfterSeconds": 2}))
    loser, _ = loser_and_winner(live_pair(server, {"userId": "alice"}, {"userId": "alice"}))
    assert loser.headers["Retry-After"] == "2"


# --- Leanplum development mode ------------------------------------------------------------------


def test_dev_mode_rate_on_a_frozen_live_clock(http, ctl):
    ctl.freeze()
    assert lp(http, "start", creds=DEV_CREDS, userId="alice").status_code == 200
    limited = lp(http, "start", creds=DEV_CREDS, userId="alice")
    assert limited.status_code == 429 and lp_error(limited) == DEV_MODE_TEXT
    assert "Retry-After" not in limited.headers
    [entry] = ctl.journal(status=429)
    assert entry["limit"] == "leanplum-dev-mode-rate"
    assert lp(http, "start", creds=DEV_CREDS, userId="bob").status_code == 200, "per user"
    assert lp(http, "track", userId="alice", event="e").status_code == 200, "production requests are not limited"
    ctl.advance(0.5)
    assert lp(http, "start", creds=DEV_CREDS, userId="alice").status_code == 429
    ctl.advance(0.5)
    assert lp(http, "start", creds=DEV_CREDS, userId="alice").status_code == 200, "a second later"


def dev_starts(fake: Fake, user: str, gaps: list[float]) -> list[int]:
    """devMode `start` for `user`, the clock moved on by each gap before each call."""
    async def calls(http: httpx.AsyncClient) -> list[int]:
        out = []
        for gap in gaps:
            fake.clock.advance(gap)
            out.append((await alp(http, "start", creds=DEV_CREDS, userId=user)).status_code)
        return out

    return run_in_process(fake, calls)


def test_dev_mode_rate_of_one_per_second_on_a_manual_clock():
    fake = Fake(seed=7, clock=ManualClock())
    assert dev_starts(fake, "alice", [0, 0.5, 0.5, 0.25, 0.75]) == [200, 429, 200, 429, 200]


def test_dev_mode_rate_counts_a_multi_batch_once_per_user():
    """The limit is per request: an SDK's batch with start, track and stop for one user is one."""
    fake = Fake(seed=7, clock=ManualClock())

    async def calls(http: httpx.AsyncClient) -> list[Any]:
        items = [{"action": "start", "userId": "alice"}, {"action": "track", "userId": "alice", "event": "e"},
                 {"action": "track", "userId": "bob", "event": "e"}]
        first = await alp(http, "multi", creds=DEV_CREDS, data=items)
        again = await alp(http, "multi", creds=DEV_CREDS, data=items[:1])  # alice again within the second
        return [first.status_code, [e["success"] for e in lp_elements(first)], again.status_code]

    assert run_in_process(fake, calls) == [200, [True, True, True], 429]


def test_dev_mode_rate_of_ten_per_second_spaced_evenly():
    fake = Fake(seed=7, clock=ManualClock())
    fake.limits.add({"kind": "dev-mode-rate", "perSecond": 10})
    assert dev_starts(fake, "alice", [0] + [0.1] * 9) == [200] * 10


def test_dev_mode_rate_of_ten_per_second_allows_ten_requests_within_a_second(ctl, http):
    ctl.freeze()
    replaced = ctl.add_limit({"kind": "dev-mode-rate", "perSecond": 10})
    assert replaced["id"] == "leanplum-dev-mode-rate" and replaced["perSecond"] == 10
    assert [lim["perSecond"] for lim in ctl.limits() if lim["kind"] == "dev-mode-rate"] == [10], "replaced, not added"
    got = [lp(http, "start", creds=DEV_CREDS, userId="alice").status_code for _ in range(11)]
    assert got == [200] * 10 + [429], "ten requests in one second are ten per second"
    ctl.advance(1)
    assert lp(http, "start", creds=DEV_CREDS, userId="alice").status_code == 200


# --- Leanplum multi size ------------------------------------------------------------------------


def multi(fake: Fake, items: list[dict[str, Any]]) -> httpx.Response:
    async def call(http: httpx.AsyncClient) -> httpx.Response:
        return await alp(http, "multi", data=items)

    return run_in_process(fake, call)


def test_multi_over_fifty_users_is_403_and_runs_nothing():
    fake = Fake(seed=7, clock=ManualClock())
    batch = [{"action": "start", "userId": f"u{i}", "deviceId": f"d{i}"} for i in range(51)]
    response = multi(fake, batch)
    assert response.status_code == 403
    assert lp_error(response) == "Too many users or actions in one multi call (limit: 50 users, 500 actions)."
    assert fake.leanplum.user(APP, "u0") is None, "nothing in the batch ran"
    [entry] = fake.journal.find(Query(operation="multi"))
    assert (entry.status, entry.limit) == (403, "leanplum-multi-size")
    assert multi(fake, batch[:50]).status_code == 200, "fifty users are allowed"
    assert fake.leanplum.user(APP, "u49") is not None


def test_multi_over_five_hundred_actions_is_403():
    fake = Fake(seed=7, clock=ManualClock())
    batch = [{"action": "track", "userId": "alice", "event": f"e{i}"} for i in range(501)]
    assert multi(fake, batch).status_code == 403
    assert [e for e in fake.leanplum.events(APP, "alice") if e.kind == "track"] == []
    assert multi(fake, batch[:500]).status_code == 200
    assert len([e for e in fake.leanplum.events(APP, "alice") if e.kind == "track"]) == 500


def test_lowering_the_multi_limit_takes_effect(http, ctl, server):
    ctl.add_limit({"kind": "multi-size", "users": 2, "actions": 3})
    attrs = {"action": "setUserAttributes", "userAttributes": {"tier": "vip"}}
    three = [{**attrs, "userId": "alice"}, {**attrs, "userId": "bob"}, {**attrs, "userId": "bob"}]
    assert lp(http, "multi", data=three).status_code == 200, "exactly at the limit"
    too_many_actions = [*three, {**attrs, "userId": "alice", "userAttributes": {"tier": "x"}}]
    response = lp(http, "multi", data=too_many_actions)
    assert response.status_code == 403
    assert lp_error(response) == "Too many users or actions in one multi call (limit: 2 users, 3 actions)."
    assert server.fake.leanplum.user(APP, "alice").attributes["tier"] == "vip", "the refused batch ran nothing"
    too_many_users = [{**attrs, "userId": u} for u in ("alice", "bob", "carol")]
    assert lp(http, "multi", data=too_many_users).status_code == 403
    assert "tier" not in server.fake.leanplum.user(APP, "carol").attributes
    ctl.remove_limit("leanplum-multi-size")
    assert lp(http, "multi", data=[{**attrs, "userId": f"u{i}"} for i in range(60)]).status_code == 200


# --- D·engage concurrency (real concurrency) -----------------------------------------------------


def test_dengage_concurrency_limit_refuses_the_request_over_it(server, ctl):
    server.fake.load_fixtures(document(dengage={"concurrencyLimit": 1, "processingDelaySeconds": 0.3}))
    assert ctl.limit("dengage-concurrency")["limit"] == 1

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as http:
            headers = await ade_login(http)
            pair = await asyncio.gather(*(http.post(SEND_PATH, json={"content": CONTENT}, headers=headers)
                                          for _ in range(2)))
            after = await http.post(SEND_PATH, json={"content": CONTENT}, headers=headers)
            return [*pair, after]

    first, second, after = asyncio.run(main())
    loser, _ = loser_and_winner([first, second])
    assert de_error(loser, 429) == DE_CONCURRENCY_TEXT
    assert "Retry-After" not in loser.headers
    [entry] = ctl.journal(status=429)
    assert (entry["limit"], entry["operation"]) == ("dengage-concurrency", "sendInstantPush")
    assert after.status_code == 200, "a slot is free again once the first send ended"


# --- token buckets ------------------------------------------------------------------------------


def tracks(fake: Fake, users: list[str]) -> list[httpx.Response]:
    async def calls(http: httpx.AsyncClient) -> list[httpx.Response]:
        return [await alp(http, "track", userId=u, event="e") for u in users]

    return run_in_process(fake, calls)


def codes(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


def test_leanplum_token_bucket_per_app():
    fake = Fake(seed=7, clock=ManualClock())
    limit = fake.limits.add({"kind": "token-bucket", "vendor": "leanplum", "rate": 2, "burst": 2})
    first = tracks(fake, ["alice", "alice", "alice"])
    assert codes(first) == [200, 200, 429]
    assert lp_error(first[2]) == LP_BUCKET_TEXT
    assert "Retry-After" not in first[2].headers
    assert codes(tracks(fake, ["bob"])) == [429], "one bucket for the whole app"
    fake.clock.advance(0.5)
    assert codes(tracks(fake, ["bob", "alice"])) == [200, 429], "half a second at 2/s: one token"
    fake.clock.advance(10)
    assert codes(tracks(fake, ["alice"] * 3)) == [200, 200, 429], "the bucket holds `burst` tokens at most"
    refused = [e for e in fake.journal.find(Query(status=429))]
    assert {e.limit for e in refused} == {limit.id} and len(refused) == 4


def test_leanplum_token_bucket_per_user():
    fake = Fake(seed=7, clock=ManualClock())
    fake.limits.add({"kind": "token-bucket", "vendor": "leanplum", "rate": 2, "burst": 2, "per": "user"})
    assert codes(tracks(fake, ["alice", "alice", "alice", "bob", "bob", "bob"])) == [200, 200, 429, 200, 200, 429]


def test_leanplum_token_bucket_retry_after_is_the_wait_for_a_token_rounded_up():
    fake = Fake(seed=7, clock=ManualClock())
    fake.limits.add({"kind": "token-bucket", "vendor": "leanplum", "rate": 0.25, "burst": 1, "retryAfter": True})
    ok, refused = tracks(fake, ["alice", "alice"])
    assert (ok.status_code, refused.status_code, refused.headers["Retry-After"]) == (200, 429, "4")
    fake.clock.advance(1.5)
    [refused] = tracks(fake, ["alice"])
    assert refused.headers["Retry-After"] == "3", "2.5 s to go, rounded up"
    fake.clock.advance(2.5)
    assert codes(tracks(fake, ["alice"])) == [200]


@pytest.mark.parametrize("vendor", ["leanplum", "dengage"])
@pytest.mark.parametrize("late", [0.0, 0.3, 0.9995])
def test_a_client_that_waits_retry_after_gets_through(vendor, late):
    fake = Fake(seed=7, clock=ManualClock())
    fake.limits.add({"kind": "token-bucket", "vendor": vendor, "rate": 1, "burst": 1, "retryAfter": True})

    async def calls(http: httpx.AsyncClient) -> tuple[int, int, str | None, int]:
        headers = await ade_login(http)

        async def call() -> httpx.Response:
            if vendor == "leanplum":
                return await alp(http, "track", userId="alice", event="e")
            return await http.post(SEND_PATH, json={"content": CONTENT}, headers=headers)

        first = await call()
        fake.clock.advance(late)
        refused = await call()
        wait = refused.headers.get("Retry-After")
        fake.clock.advance(int(wait or 0))
        retried = await call()
        return first.status_code, refused.status_code, wait, retried.status_code

    first, refused, wait, retried = run_in_process(fake, calls)
    assert (first, refused) == (200, 429)
    assert wait is not None and int(wait) >= 1, f"{1 - late:.4f} s to go, but Retry-After: {wait}"
    assert retried == 200, f"waited Retry-After ({wait} s) and was refused again"


def test_token_bucket_fixed_retry_after_and_own_message():
    fake = Fake(seed=7, clock=ManualClock())
    fake.limits.add({"kind": "token-bucket", "vendor": "leanplum", "rate": 1, "retryAfter": 7, "message": "slow down"})
    _, refused = tracks(fake, ["alice", "alice"])
    assert (refused.headers["Retry-After"], lp_error(refused)) == ("7", "slow down")


def test_dengage_token_bucket():
    fake = Fake(seed=7, clock=ManualClock())
    limit = fake.limits.add({"kind": "token-bucket", "vendor": "dengage", "rate": 1, "burst": 1, "retryAfter": True})

    async def calls(http: httpx.AsyncClient) -> list[httpx.Response]:
        headers = await ade_login(http)
        out = [await http.post(SEND_PATH, json={"content": CONTENT}, headers=headers) for _ in range(2)]
        await ade_login(http)  # logging in takes no token
        fake.clock.advance(1)
        out.append(await http.post(SEND_PATH, json={"content": CONTENT}, headers=headers))
        return out

    ok, refused, later = run_in_process(fake, calls)
    assert ok.status_code == 200 and later.status_code == 200
    assert de_error(refused, 429) == DE_BUCKET_TEXT
    assert refused.headers["Retry-After"] == "1"
    [entry] = fake.journal.find(Query(status=429))
    assert entry.limit == limit.id
    assert len(fake.deliveries.find(vendor="dengage")) == 8, "two sends of four devices each"


def test_a_token_bucket_of_one_vendor_leaves_the_other_alone():
    fake = Fake(seed=7, clock=ManualClock())
    fake.limits.add({"kind": "token-bucket", "vendor": "dengage", "rate": 1, "burst": 1})
    assert codes(tracks(fake, ["alice"] * 5)) == [200] * 5


def test_an_invalid_limit_is_refused_with_400(ctl):
    for bad in ({"kind": "token-bucket", "rate": 1},  # no vendor
                {"kind": "token-bucket", "vendor": "leanplum", "rate": 0},
                {"kind": "dev-mode-rate"},
                {"kind": "concurrency", "vendor": "leanplum", "limit": 2},
                {"kind": "sliding-window", "vendor": "leanplum"}):
        with pytest.raises(ControlError) as raised:
            ctl.add_limit(bad)
        assert raised.value.status == 400, bad
    assert {lim["id"] for lim in ctl.limits()} == BUILT_IN_LIMITS


# --- life cycle ---------------------------------------------------------------------------------


def test_clear_limits_until_reset(http, ctl):
    ctl.freeze()
    ctl.add_limit({"kind": "token-bucket", "vendor": "leanplum", "rate": 1, "burst": 1})
    ctl.clear_limits()
    assert ctl.limits() == []
    assert [lp(http, "start", creds=DEV_CREDS, userId="alice").status_code for _ in range(3)] == [200] * 3
    ctl.reset(keep_config=True)
    assert ctl.limits() == [], "a data reset keeps the limits as they are"
    ctl.reset()
    assert {lim["id"] for lim in ctl.limits()} == BUILT_IN_LIMITS, "a full reset restores the built-in limits"
    assert {lim["scope"] for lim in ctl.limits()} == {"fixtures"}
    assert [lp(http, "start", creds=DEV_CREDS, userId="alice").status_code for _ in range(2)] == [200, 429]


def test_limits_from_a_fixtures_file():
    fake = Fake(seed=7, clock=ManualClock())
    fake.load_fixtures(document(limits=[{"id": "fx-bucket", "kind": "token-bucket", "vendor": "leanplum", "rate": 1}]))
    assert fake.limits.get("fx-bucket").scope == "fixtures"
    assert codes(tracks(fake, ["alice", "alice"])) == [200, 429]
    fake.reset(keep_config=True)
    assert codes(tracks(fake, ["alice", "alice"])) == [200, 429], "every bucket is full again after a reset"
    fake.limits.remove("fx-bucket")
    fake.reset()
    assert fake.limits.get("fx-bucket") is not None, "a full reset restores the fixtures' limits"
    with pytest.raises(FixtureError, match=r"limits\[0\]"):
        fake.load_fixtures(document(limits=[{"kind": "token-bucket", "rate": 1}]))
    assert fake.limits.get("fx-bucket") is not None, "a wrong file changes nothing"


def test_limits_of_a_served_fixtures_file(tmp_path):
    path = tmp_path / "world.json"
    path.write_text(json.dumps(document(leanplum={"devModeRequestsPerSecond": 0})), encoding="utf-8")
    with serve_in_thread(Fake(fixtures=path, seed=7)) as live, Client(live.url, timeout=5.0) as ctl:
        assert "leanplum-dev-mode-rate" not in {lim["id"] for lim in ctl.limits()}, "0 turns the limit off"
        with http_client(live.url) as http:
            body = {**DEV_CREDS, "userId": "alice"}
            assert [http.post("/api?action=start", json=body).status_code for _ in range(3)] == [200] * 3
