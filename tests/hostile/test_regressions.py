"""One regression test per kind of 500 issue 18 found, each across the routes it reached."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import yaml

from pushfake import Fake, ManualClock
from pushfake.control.views import clock_view
from pushfake.core.clock import LATEST, SystemClock, TimeOutOfRange
from pushfake.core.resources import default_fixtures
from pushfake.dengage.errors import CATALOGUE as DENGAGE
from pushfake.leanplum.errors import CATALOGUE as LEANPLUM
from tests.hostile.rig import CREDS, PASSWORD, USERKEY, Rig, control_error, dumps
from tests.hostile.values import DEEP, HUGE_INTEGER

pytestmark = pytest.mark.fuzz

WORLD = yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))


@pytest.fixture
def rig() -> Iterator[Rig]:
    rig = Rig()
    yield rig
    rig.close()


def _control_400(rig: Rig, method: str, path: str, body: str | bytes, content_type: str = "application/json") -> str:
    before = rig.snapshot()
    response = rig.client.request(method, path, content=body, headers={"content-type": content_type})
    assert response.status_code == 400, (response.status_code, response.text[:300])
    message = control_error(response)
    assert rig.snapshot() == before
    rig.still_works()
    return message


# --- 1. lone surrogates ---------------------------------------------------------------------
@pytest.mark.parametrize(("method", "url", "body"), [
    ("POST", "/api?action=start", {**CREDS, "userId": "@"}),
    ("POST", "/api?action=start", {**CREDS, "userId": "u", "userAttributes": {"name": "@"}}),
    ("POST", "/api?action=start", {**CREDS, "userId": "u", "userAttributes": '{"name": "@"}'}),
    ("POST", "/api?action=multi", {**CREDS, "data": [{"action": "track", "userId": "u", "event": "@"}]}),
    ("POST", "/api?action=sendMessage", {**CREDS, "userId": "alice", "messageId": "1001", "values": {"@": 1}}),
])
def test_a_lone_surrogate_is_a_leanplum_400_and_breaks_nothing(rig, method, url, body):
    text = dumps(body).replace("@", "\\ud800")
    response = rig.vendor_call(method, url, LEANPLUM, content=text, headers={"content-type": "application/json"})
    assert response.status_code == 400
    rig.still_works()


def test_a_lone_surrogate_is_a_dengage_400(rig):
    token = rig.client.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD}).json()["access_token"]
    body = '{"content": {"title": "\\udfff", "message": "m"}}'
    response = rig.vendor_call("POST", "/rest/push/sendInstant", DENGAGE, content=body,
                               headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
    assert response.status_code == 400
    rig.still_works()


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/_pushfake/faults", '{"match": {"user": "\\ud800"}, "fault": {"kind": "error", "status": 500}}'),
    ("POST", "/_pushfake/faults", '{"fault": {"kind": "error", "status": 500, "message": "\\ud800"}}'),
    ("POST", "/_pushfake/leanplum/apps/app_pushfake/users", '{"id": "\\ud800"}'),
    ("POST", "/_pushfake/deliveries/x/engage", '{"kind": "\\ud800"}'),
])
def test_a_lone_surrogate_is_a_control_plane_400(rig, method, path, body):
    assert "not valid Unicode" in _control_400(rig, method, path, body)


def test_a_fixtures_yaml_with_a_lone_surrogate_is_refused(rig):
    document = 'leanplum: {apps: [{id: "\\ud800", productionKey: p, developmentKey: d}]}\n'
    assert "not valid Unicode" in _control_400(rig, "PUT", "/_pushfake/fixtures", document, "application/yaml")


# --- 2. deep nesting ------------------------------------------------------------------------
@pytest.mark.parametrize("body", [DEEP, dumps({**CREDS, "userId": "u", "userAttributes": DEEP}),
                                  dumps({**CREDS, "data": DEEP}), dumps({**CREDS, "userId": "u", "newsfeedMessages": DEEP})])
def test_deep_nesting_is_a_leanplum_400(rig, body):
    action = "multi" if '"data"' in body else "start"
    response = rig.vendor_call("POST", f"/api?action={action}", LEANPLUM, content=body,
                               headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_a_deeply_nested_body_that_fits_the_journal_does_not_break_its_listing(rig):
    body = "[" * 5_000 + "]" * 5_000  # kept whole by the journal, unlike one past its body cap
    response = rig.vendor_call("POST", "/api?action=start", LEANPLUM, content=body,
                               headers={"content-type": "application/json"})
    assert response.status_code == 400
    listing = rig.client.get("/_pushfake/journal")
    assert listing.status_code == 200 and listing.json()["entries"][-1]["body"] == body


def test_deep_nesting_is_a_dengage_400(rig):
    response = rig.vendor_call("POST", "/rest/login", DENGAGE, content=DEEP, headers={"content-type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/_pushfake/clock/advance", "/_pushfake/reset", "/_pushfake/faults", "/_pushfake/limits",
                                  "/_pushfake/wait", "/_pushfake/leanplum/apps/app_pushfake/users"])
def test_deep_nesting_is_a_control_plane_400(rig, path):
    assert "levels deep" in _control_400(rig, "POST", path, DEEP)


@pytest.mark.parametrize(("document", "content_type"), [
    (DEEP, "application/json"), ("[" * 2_000, "application/yaml"), ("- " * 2_000 + "x", "application/yaml"),
    (yaml.safe_dump({**WORLD, "leanplum": {**WORLD["leanplum"], "apps": [
        {**WORLD["leanplum"]["apps"][0], "users": [{"id": "deep", "attributes": {"a": json.loads("[" * 80 + "]" * 80)}}]}]}}),
     "application/yaml"),
])
def test_deep_nesting_in_fixtures_is_refused(rig, document, content_type):
    assert "deep" in _control_400(rig, "PUT", "/_pushfake/fixtures", document, content_type)


# --- 3. times out of range ------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/_pushfake/clock", '{"now": 1e300}'), ("PUT", "/_pushfake/clock", '{"now": -5}'),
    ("PUT", "/_pushfake/clock", '{"now": 253402300800}'), ("PUT", "/_pushfake/clock", '{"now": "10000-01-01T00:00:00Z"}'),
    ("PUT", "/_pushfake/clock", '{"now": NaN}'), ("PUT", "/_pushfake/clock", '{"now": "+9999999999999s"}'),
    ("POST", "/_pushfake/clock/advance", '{"seconds": 1e300}'), ("POST", "/_pushfake/clock/advance", '{"seconds": -1}'),
    ("POST", "/_pushfake/clock/advance", '{"seconds": 253402300799}'),
    ("POST", "/_pushfake/reset", '{"now": 1e300, "seed": 99}'), ("POST", "/_pushfake/reset", '{"now": -1, "seed": 99}'),
])
def test_a_time_out_of_range_is_refused_and_the_clock_does_not_move(rig, method, path, body):
    now = rig.fake.clock.now()
    _control_400(rig, method, path, body)
    assert rig.fake.clock.now() == now and rig.fake.seed == 7


def test_the_last_second_of_the_year_9999_is_a_time_the_fake_works_at(rig):
    response = rig.client.put("/_pushfake/clock", json={"now": "9999-12-31T23:59:59Z"})
    assert response.status_code == 200 and response.json()["now"] == LATEST
    rig.still_works()
    token = rig.client.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD}).json()["access_token"]
    send = rig.client.post("/rest/push/sendInstant", json={"content": {"title": "t", "message": "m"}},
                           headers={"authorization": f"Bearer {token}"})
    assert send.status_code == 200, send.text
    assert rig.client.post("/_pushfake/clock/settle").status_code == 200
    rig.still_works()


def test_a_running_clock_set_to_the_last_second_stops_there(monkeypatch):
    clock = SystemClock()
    clock.set(LATEST)
    real = time.time()
    monkeypatch.setattr("pushfake.core.clock.time.time", lambda: real + 3600)  # an hour later
    assert clock.now() == LATEST and clock_view(clock)["iso"] == "9999-12-31T23:59:59.000Z"
    clock.freeze()
    assert clock.now() == LATEST


def test_the_python_api_refuses_a_time_out_of_range_before_anything_moves():
    fake = Fake(seed=7, clock=ManualClock())
    now = fake.clock.now()
    for step in (lambda: fake.advance(1e300), lambda: fake.advance(float("nan")), lambda: fake.set_time(1e300),
                 lambda: fake.set_time(-1.0), lambda: fake.reset(seed=99, now=1e300)):
        with pytest.raises(TimeOutOfRange):
            step()
        assert fake.clock.now() == now and fake.seed == 7


# --- 4. numbers that overflow a float ---------------------------------------------------------
@pytest.mark.parametrize("body", [
    '{"kind": "token-bucket", "vendor": "leanplum", "rate": 1, "burst": ' + HUGE_INTEGER + "}",
    '{"kind": "token-bucket", "vendor": "leanplum", "rate": 1, "burst": 10000000}',
    '{"kind": "token-bucket", "vendor": "leanplum", "rate": 5e-324}',
    '{"kind": "token-bucket", "vendor": "leanplum", "rate": 1e308}',
    '{"kind": "dev-mode-rate", "perSecond": 1e-300}',
    '{"kind": "token-bucket", "vendor": "dengage", "rate": 1, "retryAfter": 1e300}',
    '{"kind": "multi-size", "users": 9223372036854775807, "actions": 1}',
])
def test_a_limit_beyond_the_bounds_is_refused(rig, body):
    _control_400(rig, "POST", "/_pushfake/limits", body)


@pytest.mark.parametrize("body", [
    '{"fault": {"kind": "error", "status": 503, "retryAfter": 1e300}}',
    '{"fault": {"kind": "latency", "delay": 1e300}}',
    '{"fault": {"kind": "latency", "delay": {"lognormal": {"median": 1, "p99": 1e300}}}}',
])
def test_a_fault_beyond_the_bounds_is_refused(rig, body):
    _control_400(rig, "POST", "/_pushfake/faults", body)


@pytest.mark.parametrize("body", [
    '{"platforms": {"apns": {"latency": 1e300}}}', '{"platforms": {"fcm": {"throughputPerSecond": 5e-324}}}',
    '{"retry": {"limit": 100000, "multiplier": 100}}', '{"retry": {"initialSeconds": 1e300}}',
    '{"platforms": {"apns": {"latency": [0, null]}}}', '{"retry": {"limit": "x"}}',  # once a TypeError
])
def test_gateway_settings_beyond_the_bounds_or_of_a_wrong_type_are_refused(rig, body):
    _control_400(rig, "PUT", "/_pushfake/gateway", body)


def test_the_slowest_token_bucket_answers_a_retry_after_of_at_most_1000_seconds(rig):
    assert rig.client.post("/_pushfake/limits", json={"kind": "token-bucket", "vendor": "leanplum", "rate": 0.001,
                                                       "burst": 1, "retryAfter": True}).status_code == 201
    rig.client.post("/api?action=start", json={**CREDS, "userId": "slow"})
    refused = rig.client.post("/api?action=start", json={**CREDS, "userId": "slow"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 1000


@pytest.mark.parametrize("body", ['{"seconds": ' + HUGE_INTEGER + "}", '{"seconds": Infinity}', '{"seconds": 1e400}'])
def test_a_number_past_a_double_in_clock_advance_is_refused(rig, body):
    now = rig.fake.clock.now()
    assert "out of range" in _control_400(rig, "POST", "/_pushfake/clock/advance", body)
    assert rig.fake.clock.now() == now


# --- 5. fixtures ------------------------------------------------------------------------------
def test_duplicate_device_ids_in_a_created_user_are_a_400(rig):
    body = dumps({"id": "twin", "devices": [{"id": "d1"}, {"id": "d1"}]})
    message = _control_400(rig, "POST", "/_pushfake/leanplum/apps/app_pushfake/users", body)
    assert "defined twice" in message


def test_duplicate_device_ids_in_loaded_fixtures_are_a_400(rig):
    world = json.loads(json.dumps(WORLD))
    users = world["leanplum"]["apps"][0]["users"]
    users[1]["devices"].append(dict(users[0]["devices"][0]))
    assert "defined twice" in _control_400(rig, "PUT", "/_pushfake/fixtures", dumps(world))


BOMB = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9) if p else ', '.join(['x'] * 9)}]\n"
               for p, c in zip(["", *"abcdef"], "abcdefg", strict=True))


def test_a_yaml_alias_bomb_is_refused_without_expanding_it(rig):
    assert "expands to more than" in _control_400(rig, "PUT", "/_pushfake/fixtures", BOMB, "application/yaml")


def test_anchors_and_aliases_within_the_bound_still_load(rig):
    text = default_fixtures().read_text(encoding="utf-8")
    text = text.replace("attributes: {plan: gold, name: Alice}", "attributes: &gold {plan: gold, name: Alice}", 1)
    text = text.replace("attributes: {plan: gold, name: Carol}", "attributes: *gold", 1)
    assert "*gold" in text
    response = rig.client.put("/_pushfake/fixtures", content=text, headers={"content-type": "application/yaml"})
    assert response.status_code == 200, response.text


# --- bodies of any size ---------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "content_type"), [
    ("PUT", "/_pushfake/fixtures", "application/yaml"),
    ("POST", "/_pushfake/faults", "application/json"),
])
def test_a_control_body_past_its_bound_is_a_413_and_is_not_held(rig, method, path, content_type):
    from pushfake.control.requests import MAX_BODY_BYTES

    before = rig.snapshot()
    response = rig.client.request(method, path, content=b" " * (MAX_BODY_BYTES + 1),
                                  headers={"content-type": content_type})
    assert response.status_code == 413, (response.status_code, response.text[:300])
    assert str(MAX_BODY_BYTES) in control_error(response)
    assert rig.snapshot() == before
    rig.still_works()
