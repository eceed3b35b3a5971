"""API faults as a client sees them: every fault kind over real HTTP against a live server, the
rules' triggers (sequences, nth, times, matching, windows, probability), fault rules from a
fixtures file, rule validation, scoped faults, and the in-process transport."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pushfake import Client, ControlError, Fake, FixtureError, ManualClock
from pushfake.core.journal import Query
from pushfake.faults.asgi import DroppedConnection
from tests.control.fault_helpers import (
    APP,
    CREDS,
    DE_CONCURRENCY_TEXT,
    LOCKING_TEXT,
    de_login,
    de_send,
    document,
    http_client,
    is_json,
    lp,
    lp_elements,
    lp_ok,
    restore_default_world,
    run_in_process,
)
from tests.support import LiveServer, serve_in_thread

CUT = (httpx.ReadError, httpx.RemoteProtocolError)  # what a cut connection looks like to httpx


@pytest.fixture(autouse=True)
def fresh(server: LiveServer) -> Iterator[None]:
    server.fake.reset()
    yield
    if server.fake.clock.frozen:
        server.fake.clock.unfreeze()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with http_client(server.url) as client:
        yield client


@pytest.fixture
def ctl(server: LiveServer) -> Iterator[Client]:
    with Client(server.url, timeout=5.0) as client:
        yield client


def track(http: httpx.Client, user: str = "alice", event: str = "buy", **params: Any) -> httpx.Response:
    return lp(http, "track", userId=user, event=event, **params)


def statuses(http: httpx.Client, n: int, **params: Any) -> list[int]:
    return [track(http, **params).status_code for _ in range(n)]


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def leanplum_deliveries(server: LiveServer) -> list[Any]:
    return server.fake.deliveries.find(vendor="leanplum", user_id="alice")


# --- reset --------------------------------------------------------------------------------------


def test_reset_cuts_the_connection_and_the_request_does_not_run(server, http, ctl):
    rule = ctl.add_fault({"match": {"operation": "sendMessage"}, "fault": {"kind": "reset"}})
    assert rule["fault"]["process"] is False, "a reset does not run the request by default"
    with pytest.raises(CUT):
        lp(http, "sendMessage", userId="alice", messageId=1001)
    [entry] = ctl.journal(operation="sendMessage")
    assert (entry["status"], entry["fault"], entry["response"]) == (0, f"{rule['id']}: reset", None)
    assert leanplum_deliveries(server) == [], "a reset before processing sends nothing"
    assert ctl.health()["status"] == "ok"
    lp_ok(track(http))  # other requests are untouched


def test_reset_after_processing_loses_the_answer_of_a_send_that_happened(server, http, ctl):
    rule = ctl.add_fault({"match": {"operation": "sendMessage"}, "fault": {"kind": "reset", "process": True}})
    with pytest.raises(CUT):
        lp(http, "sendMessage", userId="alice", messageId=1001)
    [entry] = ctl.journal(operation="sendMessage")
    assert (entry["status"], entry["fault"]) == (0, f"{rule['id']}: reset")
    [delivery] = leanplum_deliveries(server)
    assert delivery.device_id == "alice-iphone", "the send ran although its answer was lost"
    ctl.wait_for_delivery(timeout=5.0, device="alice-iphone", state="delivered")  # and reaches the device
    ctl.remove_fault(rule["id"])
    lp_ok(lp(http, "sendMessage", userId="alice", messageId=1001))  # the client's retry...
    assert len(leanplum_deliveries(server)) == 2, "...sends it a second time"


# --- hang ---------------------------------------------------------------------------------------


def test_hang_says_nothing_until_the_client_times_out(server, ctl):
    rule = ctl.add_fault({"match": {"operation": "track"}, "fault": {"kind": "hang"}})
    with http_client(server.url, timeout=0.5) as impatient:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            track(impatient)
        assert 0.45 <= time.monotonic() - started < 3.0
    [entry] = ctl.journal(operation="track")
    assert (entry["status"], entry["fault"]) == (0, f"{rule['id']}: hang")
    assert ctl.health()["status"] == "ok", "a hung request does not hold up the server"
    with http_client(server.url) as http:
        lp_ok(lp(http, "getVars", userId="alice"))


def test_a_hanging_request_does_not_hold_up_the_servers_shutdown():
    outcome: dict[str, Any] = {}
    with serve_in_thread(Fake(seed=7)) as live:
        live.fake.faults.add({"match": {"operation": "track"}, "fault": {"kind": "hang"}})

        def call() -> None:
            with http_client(live.url, timeout=10.0) as http:
                try:
                    outcome["answer"] = track(http)
                except httpx.TransportError as exc:
                    outcome["error"] = exc

        caller = threading.Thread(target=call, daemon=True)
        caller.start()
        with Client(live.url, timeout=5.0) as ctl:
            ctl.wait_for_request(timeout=5.0, operation="track")
        time.sleep(0.2)  # once journaled, the request is a moment away from holding its connection
        started = time.monotonic()
    took = time.monotonic() - started
    caller.join(5.0)
    assert took < 3.0, f"shutting down took {took:.1f} s"
    assert isinstance(outcome.get("error"), CUT), outcome


def test_a_bounded_hang_ends_in_a_cut_connection(server, ctl):
    ctl.add_fault({"match": {"operation": "track"}, "fault": {"kind": "hang", "seconds": 0.3}})
    with http_client(server.url, timeout=5.0) as http:
        started = time.monotonic()
        with pytest.raises(httpx.TransportError) as raised:
            track(http)
        took = time.monotonic() - started
    assert not isinstance(raised.value, httpx.TimeoutException), raised.value
    assert isinstance(raised.value, CUT), raised.value
    assert 0.25 <= took < 3.0, took


# --- error --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_error_fault_answers_leanplums_error_body(server, http, ctl, status):
    rule = ctl.add_fault({"match": {"vendor": "leanplum", "operation": "sendMessage"},
                          "fault": {"kind": "error", "status": status}})
    response = lp(http, "sendMessage", userId="alice", messageId=1001)
    assert response.status_code == status
    [item] = lp_elements(response)
    assert item["success"] is False and set(item) == {"success", "error"}, item
    assert isinstance(item["error"]["message"], str) and item["error"]["message"]
    assert "Retry-After" not in response.headers
    assert leanplum_deliveries(server) == [], "an error fault does not run the request by default"
    [entry] = ctl.journal(operation="sendMessage")
    assert (entry["status"], entry["fault"]) == (status, f"{rule['id']}: error {status}")
    assert entry["response"] == response.json()


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_error_fault_answers_dengages_error_body(server, http, ctl, status):
    headers = de_login(http)
    rule = ctl.add_fault({"match": {"vendor": "dengage", "operation": "sendInstantPush"},
                          "fault": {"kind": "error", "status": status}})
    response = de_send(http, headers)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == status, body
    assert isinstance(body["message"], str) and body["message"]
    assert "Retry-After" not in response.headers
    assert server.fake.deliveries.find(vendor="dengage") == []
    [entry] = ctl.journal(operation="sendInstantPush")
    assert (entry["status"], entry["fault"]) == (status, f"{rule['id']}: error {status}")


def test_error_fault_message_and_retry_after(http, ctl):
    common = {"kind": "error", "status": 503, "message": "down for maintenance", "retryAfter": 2.5}
    ctl.add_fault({"match": {"vendor": "leanplum", "operation": "track"}, "fault": common})
    ctl.add_fault({"match": {"vendor": "dengage", "operation": "sendInstantPush"},
                   "fault": {**common, "status": 429, "retryAfter": 4}})
    response = track(http)
    assert response.status_code == 503
    assert response.json() == {"response": [{"success": False, "error": {"message": "down for maintenance"}}]}
    assert response.headers["Retry-After"] == "3", "seconds, rounded up"
    response = de_send(http, de_login(http))
    assert response.status_code == 429
    assert response.json() == {"code": 429, "message": "down for maintenance"}
    assert response.headers["Retry-After"] == "4"


@pytest.mark.parametrize(("retry_after", "header"), [(4, "4"), (2.5, "3"), (2.0004, "3"), (0.0004, "1"), (0, "0")])
def test_error_fault_retry_after_is_whole_seconds_rounded_up(http, ctl, retry_after, header):
    ctl.add_fault({"match": {"operation": "track"}, "fault": {"kind": "error", "status": 503, "retryAfter": retry_after}})
    assert track(http).headers["Retry-After"] == header


def test_error_fault_default_429_texts(http, ctl):
    ctl.add_fault({"match": {"operation": "track"}, "fault": {"kind": "error", "status": 429}})
    ctl.add_fault({"match": {"operation": "sendInstantPush"}, "fault": {"kind": "error", "status": 429}})
    assert lp_elements(track(http)) == [{"success": False, "error": {"message": LOCKING_TEXT}}]
    assert de_send(http, de_login(http)).json() == {"code": 429, "message": DE_CONCURRENCY_TEXT}


def test_error_fault_with_process_runs_the_request(server, http, ctl):
    ctl.add_fault({"match": {"operation": "sendMessage"}, "fault": {"kind": "error", "status": 502, "process": True}})
    assert lp(http, "sendMessage", userId="alice", messageId=1001).status_code == 502
    assert len(leanplum_deliveries(server)) == 1


# --- truncate, malformed, trickle, latency -------------------------------------------------------


def test_truncate_cuts_the_body_short(http, ctl):
    rule = ctl.add_fault({"match": {"operation": "getVars"}, "fault": {"kind": "truncate", "fraction": 0.3}})
    with pytest.raises(httpx.RemoteProtocolError):
        lp(http, "getVars", userId="alice")
    [entry] = ctl.journal(operation="getVars")
    assert entry["fault"] == f"{rule['id']}: truncate"


def test_truncate_while_streaming_gives_the_first_fraction(http, ctl):
    whole = lp(http, "getVars", userId="alice").content
    ctl.add_fault({"match": {"operation": "getVars"}, "fault": {"kind": "truncate", "fraction": 0.5}})
    received = bytearray()
    with (pytest.raises(httpx.RemoteProtocolError),
          http.stream("POST", "/api?action=getVars", json={**CREDS, "userId": "alice"}) as response):
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(whole))
        for chunk in response.iter_raw():
            received.extend(chunk)
    assert bytes(received) == whole[: len(whole) // 2]


def test_malformed_answers_200_with_a_body_that_is_not_json(http, ctl):
    whole = lp(http, "getVars", userId="alice").content
    rule = ctl.add_fault({"match": {"operation": "getVars"}, "fault": {"kind": "malformed"}})
    response = lp(http, "getVars", userId="alice")
    assert response.status_code == 200
    assert not is_json(response.content)
    assert whole.startswith(response.content), "by default: the real body cut short"
    ctl.remove_fault(rule["id"])
    ctl.add_fault({"match": {"operation": "getVars"}, "fault": {"kind": "malformed", "body": "<html>oops</html>"}})
    response = lp(http, "getVars", userId="alice")
    assert (response.status_code, response.text) == (200, "<html>oops</html>")
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_trickle_delivers_the_whole_answer_slowly(http, ctl):
    normal = lp(http, "getVars", userId="alice")
    ctl.add_fault({"match": {"operation": "getVars"}, "fault": {"kind": "trickle", "seconds": 0.6, "chunks": 4}})
    response, took = timed(lambda: lp(http, "getVars", userId="alice"))
    assert took >= 0.5, took
    assert response.status_code == 200 and response.json() == normal.json()


def test_latency_answers_normally_but_late(http, ctl):
    rule = ctl.add_fault({"match": {"operation": "track"}, "fault": {"kind": "latency", "delay": 0.3}})
    response, took = timed(lambda: track(http))
    assert took >= 0.3, took
    lp_ok(response)
    [entry] = ctl.journal(operation="track")
    assert (entry["status"], entry["fault"]) == (200, f"{rule['id']}: latency")
    assert entry["durationMs"] >= 300
    ctl.remove_fault(rule["id"])
    ctl.add_fault({"match": {"operation": "track"}, "fault": {"kind": "latency", "delay": {"uniform": [0.1, 0.2]}}})
    response, took = timed(lambda: track(http))
    assert 0.1 <= took < 2.0, took
    lp_ok(response)


@pytest.mark.parametrize("fault", [{"kind": "latency", "delay": 0.3}, {"kind": "trickle", "seconds": 0.3}])
def test_a_slow_answer_still_comes_while_the_fakes_clock_is_frozen(server, ctl, fault):
    ctl.freeze()  # pinning the fake's time (windows, limits, schedules) ...
    ctl.add_fault({"match": {"operation": "track"}, "fault": fault})
    with http_client(server.url, timeout=2.0) as http:
        response, took = timed(lambda: track(http))  # ... must not stall a wire delay forever
    lp_ok(response)
    assert 0.25 <= took < 2.0, took


def test_delay_before_an_error(http, ctl):
    ctl.add_fault({"match": {"operation": "track"}, "fault": {"kind": "error", "status": 500, "delay": 0.2}})
    response, took = timed(lambda: track(http))
    assert response.status_code == 500 and took >= 0.2


# --- sequences and counters ---------------------------------------------------------------------


def test_sequence_fails_exactly_its_steps_then_succeeds(http, ctl):
    rule = ctl.add_fault({"match": {"operation": "track"},
                          "sequence": [{"kind": "error", "status": 500}, {"kind": "error", "status": 500}]})
    assert statuses(http, 5) == [500, 500, 200, 200, 200]
    got = ctl.fault(rule["id"])
    assert (got["fired"], got["spent"]) == (2, True)


def test_repeating_sequence_cycles(http, ctl):
    ctl.add_fault({"match": {"operation": "track"}, "repeat": True,
                   "sequence": [{"kind": "error", "status": 503}, {"kind": "pass"}, {"kind": "error", "status": 500}]})
    assert statuses(http, 7) == [503, 200, 500, 503, 200, 500, 503]


def test_nth_fails_only_that_call(http, ctl):
    ctl.add_fault({"match": {"operation": "track"}, "nth": 3, "fault": {"kind": "error", "status": 500}})
    assert statuses(http, 6) == [200, 200, 500, 200, 200, 200]


def test_times_bounds_the_failures(http, ctl):
    ctl.add_fault({"match": {"operation": "track"}, "times": 2, "fault": {"kind": "error", "status": 503}})
    assert statuses(http, 4) == [503, 503, 200, 200]


def test_requests_the_rule_does_not_match_are_neither_counted_nor_faulted(http, ctl):
    rule = ctl.add_fault({
        "match": {"vendor": "leanplum", "operation": "track", "app": APP, "user": "alice", "params": {"event": "buy"}},
        "nth": 2, "fault": {"kind": "error", "status": 500}})
    others = [
        lp(http, "getVars", userId="alice"),  # another operation
        track(http, user="bob"),  # another user
        lp(http, "track", creds={"appId": "app_other", "clientKey": "prod_pushfake"}, userId="alice", event="buy"),
        track(http, event="view"),  # another parameter value
        lp(http, "track", userId="alice"),  # the parameter missing
    ]
    de_login(http)  # another vendor
    assert [r.status_code for r in others] == [200, 200, 404, 200, 400], "the vendor's own answers, no fault"
    assert ctl.fault(rule["id"])["seen"] == 0
    assert [e["fault"] for e in ctl.journal()] == [None] * 6
    assert statuses(http, 3) == [200, 500, 200]
    assert ctl.fault(rule["id"])["seen"] == 2


def test_params_compare_as_text(http, ctl):
    ctl.add_fault({"match": {"operation": "sendMessage", "params": {"messageId": 1001}},
                   "fault": {"kind": "error", "status": 500}})
    ctl.add_fault({"match": {"operation": "sendMessage", "params": {"messageId": "2001"}},
                   "fault": {"kind": "error", "status": 503}})
    query = {"action": "sendMessage", **CREDS, "userId": "alice"}
    assert http.get("/api", params={**query, "messageId": "1001"}).status_code == 500, "number rule, text query"
    assert lp(http, "sendMessage", userId="alice", messageId=1001).status_code == 500
    assert lp(http, "sendMessage", userId="alice", messageId=1002).status_code == 200
    assert lp(http, "sendMessage", userId="alice", messageId=2001).status_code == 503, "text rule, number body"


def test_operation_matches_inside_a_multi(http, ctl):
    rule = ctl.add_fault({"match": {"operation": "track"}, "fault": {"kind": "error", "status": 503}})
    with_track = [{"action": "setUserAttributes", "userId": "alice", "userAttributes": {"x": 1}},
                  {"action": "track", "userId": "alice", "event": "buy"}]
    assert lp(http, "multi", data=with_track).status_code == 503
    without = [{"action": "setUserAttributes", "userId": "alice", "userAttributes": {"x": 1}}]
    assert lp(http, "multi", data=without).status_code == 200
    first, second = ctl.journal(operation="multi")
    assert (first["fault"], first["items"]) == (f"{rule['id']}: error 503", ["setUserAttributes", "track"])
    assert second["fault"] is None


def test_multi_user_matches_any_user_of_the_batch(http, ctl):
    ctl.add_fault({"match": {"user": "bob"}, "fault": {"kind": "error", "status": 500}})
    batch = [{"action": "track", "userId": "alice", "event": "e"}, {"action": "track", "userId": "bob", "event": "e"}]
    assert lp(http, "multi", data=batch).status_code == 500
    assert lp(http, "multi", data=batch[:1]).status_code == 200


def test_window_on_the_fakes_clock(server, http, ctl):
    server.fake.clock.freeze()
    ctl.add_fault({"match": {"operation": "track"}, "window": {"from": "+0s", "until": "+1s"},
                   "fault": {"kind": "error", "status": 500}})
    ctl.add_fault({"match": {"operation": "getVars"}, "window": {"from": "+5s"},
                   "fault": {"kind": "error", "status": 503}})
    assert track(http).status_code == 500
    assert lp(http, "getVars", userId="alice").status_code == 200, "not yet"
    server.fake.advance(2)
    assert track(http).status_code == 200, "the window has closed"
    server.fake.advance(3)
    assert lp(http, "getVars", userId="alice").status_code == 503, "the window has opened"


def test_dengage_login_can_fail(http, ctl):
    ctl.add_fault({"match": {"vendor": "dengage", "operation": "login"}, "times": 1,
                   "fault": {"kind": "error", "status": 502}})
    assert http.post("/rest/login", json={"userkey": "pushfake", "password": "pushfake-secret"}).status_code == 502
    de_login(http)


# --- probability and determinism -----------------------------------------------------------------

COIN = {"id": "coin", "match": {"operation": "track"}, "probability": 0.5, "fault": {"kind": "error", "status": 500}}


def test_probability_is_a_seeded_draw(server, http, ctl):
    ctl.add_fault(COIN)
    first = statuses(http, 40)
    assert 0 < first.count(500) < 40 and set(first) == {200, 500}, first
    server.fake.reset()
    assert ctl.faults() == [], "a full reset drops run-time rules"
    ctl.add_fault(COIN)
    assert statuses(http, 40) == first, "same seed, same pattern"
    server.fake.reset(keep_config=True)
    assert statuses(http, 40) == first, "a data reset keeps the rule, with fresh counters and draws"

    def in_process(seed: int) -> list[int]:
        fake = Fake(seed=seed, clock=ManualClock())
        fake.faults.add(COIN)

        async def calls(client: httpx.AsyncClient) -> list[int]:
            return [(await client.post("/api?action=track", json={**CREDS, "userId": "alice", "event": "e"}))
                    .status_code for _ in range(40)]

        return run_in_process(fake, calls)

    assert in_process(7) == first, "the draws depend on the seed only, not on the transport or the clock"
    assert in_process(8) != first


# --- fixtures-file faults -----------------------------------------------------------------------


def test_faults_from_a_fixtures_file(server, http, ctl):
    fake = server.fake
    fixture_rule = {"id": "fx-track", "match": {"operation": "track"}, "fault": {"kind": "error", "status": 503}}
    fake.load_fixtures(document(faults=[fixture_rule]))
    try:
        [listed] = ctl.faults()
        assert (listed["id"], listed["scope"], listed["fault"]["status"]) == ("fx-track", "fixtures", 503)
        assert track(http).status_code == 503
        runtime = ctl.add_fault({"match": {"operation": "getVars"}, "fault": {"kind": "error", "status": 500}})
        assert runtime["scope"] == "runtime"
        fake.reset(keep_config=True)
        assert {r["id"] for r in ctl.faults()} == {"fx-track", runtime["id"]}
        assert lp(http, "getVars", userId="alice").status_code == 500
        fake.reset()
        assert [r["id"] for r in ctl.faults()] == ["fx-track"]
        assert lp(http, "getVars", userId="alice").status_code == 200
        assert track(http).status_code == 503
        ctl.clear_faults()
        assert track(http).status_code == 200
        fake.reset()
        assert track(http).status_code == 503, "a full reset brings the fixtures' rules back"

        bad = document(faults=[{"match": {"operation": "track"}, "fault": {"kind": "error"}}])
        with pytest.raises(FixtureError, match=r"faults\[0\]\.fault"):
            fake.load_fixtures(bad)
        with pytest.raises(ControlError, match=r"faults\[0\]") as raised:
            ctl.load_fixtures(bad)
        assert raised.value.status == 400
        twice = document(faults=[fixture_rule, fixture_rule])
        with pytest.raises(FixtureError, match="fx-track"):
            fake.load_fixtures(twice)
        assert [r["id"] for r in ctl.faults()] == ["fx-track"], "a wrong file changes nothing"
    finally:
        restore_default_world(fake)
    assert ctl.faults() == []


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [
    {"fault": {"kind": "explode"}},
    {"fault": {"kind": "error"}},
    {"fault": {"kind": "error", "status": 418}},
    {"fault": {"kind": "reset"}, "sequence": [{"kind": "reset"}]},
    {"match": {"operation": "track"}},
    {"fault": {"kind": "latency"}},
    {"fault": {"kind": "trickle"}},
    {"fault": {"kind": "malformed", "process": False}},
    {"fault": {"kind": "reset"}, "probability": 1.5},
    {"fault": {"kind": "reset"}, "nth": 0},
    {"fault": {"kind": "reset"}, "window": {"from": "+10s", "until": "+5s"}},
    {"fault": {"kind": "reset"}, "match": {"vendor": "onesignal"}},
    {"fault": {"kind": "reset"}, "colour": "red"},
], ids=["unknown-kind", "error-without-status", "unknown-status", "fault-and-sequence", "neither",
        "latency-without-delay", "trickle-without-seconds", "malformed-unprocessed", "probability-over-1",
        "nth-0", "window-backwards", "unknown-vendor", "unknown-field"])
def test_an_invalid_rule_is_refused_with_400(ctl, rule):
    with pytest.raises(ControlError) as raised:
        ctl.add_fault(rule)
    assert raised.value.status == 400, raised.value
    assert raised.value.message
    assert ctl.faults() == []


@pytest.mark.parametrize("rule", [{"match": {"operation": "track"}},
                                  {"fault": {"kind": "reset"}, "sequence": [{"kind": "reset"}]}],
                         ids=["neither", "both"])
def test_a_rule_without_one_fault_says_so_whichever_way_it_is_wrong(ctl, rule):
    with pytest.raises(ControlError) as raised:
        ctl.add_fault(rule)
    assert "needs one of `fault` and `sequence` (not neither, not both)" in raised.value.message


def test_unknown_rule_is_404(ctl):
    with pytest.raises(ControlError) as raised:
        ctl.remove_fault("no-such-rule")
    assert raised.value.status == 404


# --- scoped faults ------------------------------------------------------------------------------


def test_faulted_block_ends_the_fault(http, ctl):
    with ctl.faulted({"match": {"operation": "track"}, "fault": {"kind": "error", "status": 503}}) as rule:
        assert track(http).status_code == 503
        assert [r["id"] for r in ctl.faults()] == [rule["id"]]
    assert ctl.faults() == []
    assert track(http).status_code == 200
    with (pytest.raises(RuntimeError),
          ctl.faulted({"match": {"operation": "track"}, "fault": {"kind": "error", "status": 500}})):
        raise RuntimeError("the test failed inside the block")
    assert ctl.faults() == [], "the fault ends even when the block fails"


def test_python_added_block_ends_the_fault(server, http):
    book = server.fake.faults
    with book.added({"match": {"operation": "track"}, "fault": {"kind": "error", "status": 504}}) as rule:
        assert track(http).status_code == 504
        assert [r.id for r in book.rules()] == [rule.id]
    assert book.rules() == []
    assert track(http).status_code == 200


# --- in process ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["reset", "hang", "truncate"])
def test_in_process_a_cut_connection_raises_dropped_connection(kind):
    fake = Fake(seed=7, clock=ManualClock())
    rule = fake.faults.add({"match": {"operation": "track"}, "fault": {"kind": kind}})

    async def call(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/api?action=track", json={**CREDS, "userId": "alice", "event": "e"})

    with pytest.raises(DroppedConnection) as raised:
        run_in_process(fake, call)
    assert raised.value.kind == kind
    [entry] = fake.journal.find(Query(operation="track"))
    assert entry.fault == f"{rule.id}: {kind}"
    fake.faults.remove(rule.id)
    assert run_in_process(fake, call).status_code == 200


def test_in_process_malformed_and_trickle_work_on_a_manual_clock():
    fake = Fake(seed=7, clock=ManualClock())
    fake.faults.add({"match": {"operation": "getVars"}, "sequence": [
        {"kind": "malformed", "body": "nope"}, {"kind": "trickle", "seconds": 30, "chunks": 3}]})

    async def calls(client: httpx.AsyncClient) -> list[httpx.Response]:
        body = {**CREDS, "userId": "alice"}
        return [await client.post("/api?action=getVars", json=body) for _ in range(3)]

    started = time.monotonic()
    malformed, trickled, normal = run_in_process(fake, calls)
    assert time.monotonic() - started < 5, "a trickle on a manual clock costs no real time"
    assert (malformed.status_code, malformed.text) == (200, "nope")
    assert trickled.json() == normal.json()
