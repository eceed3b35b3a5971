"""The control plane under hostile input: never a 5xx, its own error shape in plain words, a
refused request changes nothing, and the fake (both vendors, every listing) works afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pushfake.core.resources import default_fixtures
from tests.hostile.rig import Rig, control_error, with_fragment
from tests.hostile.values import CONTENT_TYPES, examples, fragments, in_url, odd_bytes, texts

pytestmark = pytest.mark.fuzz

DEFAULT_WORLD = yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))
LP = "/_pushfake/leanplum/apps/app_pushfake"
DE = "/_pushfake/dengage/accounts/acc_pushfake"
MOBILE_APP = "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"

# (method, path, a valid body, the places a hostile value may take)
BODY_ROUTES = [
    ("POST", "/_pushfake/reset", {"keepConfig": False, "seed": 7}, ["keepConfig", "seed", "restartClock", "now"]),
    ("PUT", "/_pushfake/fixtures", DEFAULT_WORLD,
     ["seed", "leanplum.apps.0.users.0.attributes", "leanplum.apps.0.users.0.id", "leanplum.apps.0.users.0.devices.0.id",
      "leanplum.apps.0.messages.0.id", "leanplum.settings", "dengage.accounts.0.contacts.0.key", "journal", "faults",
      "limits", "gateway", "leanplum.apps.0.users.1.devices.0"]),
    ("PUT", "/_pushfake/gateway", {"retry": {"limit": 2, "initialSeconds": 1}, "platforms": {"apns": {"latency": 0.1}}},
     ["retry.limit", "retry.initialSeconds", "retry.multiplier", "retry.maxSeconds", "platforms.apns.latency",
      "platforms.apns", "tokens", "outages", "rules"]),
    ("POST", f"{LP}/users", {"id": "h1", "attributes": {"a": 1}, "devices": [{"id": "hd1"}]},
     ["id", "attributes", "devices", "devices.0.id", "devices.0.iosPushToken", "devices.0.timezoneOffsetSeconds"]),
    ("POST", f"{LP}/users/alice/devices", {"id": "hd2"}, ["id", "iosPushToken", "locale", "webPushSubscription"]),
    ("POST", f"{LP}/messages", {"id": 4242, "name": "n", "channel": "push", "title": "t", "body": "b"},
     ["id", "name", "title", "body", "variables", "data", "channel"]),
    ("POST", f"{DE}/contacts", {"key": "hk", "fields": {"name": "x"}}, ["key", "fields", "language", "devices"]),
    ("POST", f"{DE}/contacts/ayse/devices",
     {"id": "hd3", "applicationId": MOBILE_APP, "platform": "ios", "token": "ab" * 32}, ["id", "applicationId", "token"]),
    ("POST", "/_pushfake/deliveries/nope/engage", {"kind": "open"}, ["kind"]),
    ("PUT", "/_pushfake/clock", {"now": 1_767_225_700}, ["now"]),
    ("POST", "/_pushfake/clock/advance", {"seconds": 1}, ["seconds"]),
    ("POST", "/_pushfake/faults",
     {"match": {"user": "nobody"}, "fault": {"kind": "error", "status": 503, "retryAfter": 1}, "times": 1},
     ["fault.retryAfter", "fault.delay", "fault.message", "fault.status", "match.user", "match.params", "window",
      "probability", "nth", "times", "id", "sequence"]),
    ("POST", "/_pushfake/limits", {"kind": "token-bucket", "vendor": "dengage", "rate": 100, "burst": 100},
     ["rate", "burst", "per", "retryAfter", "id", "message", "kind"]),
    ("POST", "/_pushfake/wait", {"for": "request", "timeout": 0, "filter": {"user": "nobody"}},
     ["filter.user", "filter.since", "filter.status", "filter.after", "for", "filter"]),
]
QUERY_ROUTES = [("/_pushfake/deliveries", ["since", "until", "limit", "state", "vendor", "user"]),
                ("/_pushfake/journal", ["since", "limit", "after", "status", "operation"]),
                ("/_pushfake/inbox", ["page", "q", "vendor", "state", "device", "before"]),
                ("/_pushfake/inbox/requests", ["limit"])]


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    rig = Rig()
    yield rig
    rig.close()


def _call(rig: Rig, method: str, path: str, **kwargs) -> None:
    before = rig.snapshot()
    response = rig.client.request(method, path, **kwargs)
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert not rig.fake.failures.list(), rig.fake.failures.list()[0].to_dict()["traceback"]
    if response.status_code >= 400:
        if response.headers.get("content-type", "").startswith("application/json"):
            control_error(response)
        assert rig.snapshot() == before, f"a refused request ({response.status_code}) changed the state"
    elif path.startswith(("/_pushfake/fixtures", "/_pushfake/gateway", "/_pushfake/faults", "/_pushfake/limits")):
        rig.fake.load_fixtures(DEFAULT_WORLD, label="default")  # back to the world the checks know


@examples(40)
@given(route=st.integers(0, len(BODY_ROUTES) + len(QUERY_ROUTES) - 1), how=st.sampled_from(["json", "json-dup", "odd"]),
       data=st.data())
def test_hostile_control_request_is_refused_in_plain_words_and_changes_nothing(rig, route, how, data):
    if route >= len(BODY_ROUTES):
        path, names = QUERY_ROUTES[route - len(BODY_ROUTES)]
        text = data.draw(texts, label="text")
        value = in_url(text)
        _call(rig, "GET", f"{path}?{data.draw(st.sampled_from(names), label='parameter')}={value}")
    else:
        method, path, template, slots = BODY_ROUTES[route]
        body = with_fragment(template, data.draw(st.sampled_from(slots), label="slot"),
                             data.draw(fragments, label="fragment"), how == "json-dup")
        content, kind = body.encode("utf-8", "surrogatepass"), "application/json"
        if how == "odd":
            content = data.draw(st.sampled_from(odd_bytes(body)), label="bytes")
            kind = data.draw(st.sampled_from([*CONTENT_TYPES, "application/yaml"]), label="content type")
        _call(rig, method, path, content=content, headers={"content-type": kind})
    rig.still_works()


def test_the_default_world_round_trips_as_json():
    """The fixtures route's template is a valid request as it stands."""
    rig = Rig()
    try:
        response = rig.client.put("/_pushfake/fixtures", content=json.dumps(DEFAULT_WORLD))
        assert response.status_code == 200, response.text
    finally:
        rig.close()
