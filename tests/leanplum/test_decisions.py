"""One test per row of the Leanplum table in shared/reference/DECISIONS.md.

Each asserts what a client sees: HTTP status, envelope and text.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from pushfake import Fake, ManualClock, create_app
from tests.leanplum.helpers import (
    APP, CREDS, DEV, PROD, element, error_message, post, warning_message, world_with,
)


def test_get_and_post_are_both_accepted(client, fake):
    got = client.get("/api", params={"action": "start", **CREDS, "userId": "via-get"})
    posted = post(client, "start", userId="via-post")
    assert (got.status_code, posted.status_code) == (200, 200)
    assert element(got)["success"] and element(posted)["success"]
    assert fake.leanplum.user(APP, "via-get") and fake.leanplum.user(APP, "via-post")


def test_query_and_body_merge_body_wins_but_query_action_wins(client, fake):
    response = client.post(
        f"/api?action=start&appId={APP}&clientKey={PROD}&userId=from-query",
        json={"action": "track", "userId": "from-body", "event": "ignored"},
    )
    assert response.status_code == 200
    assert "vars" in element(response), "the query's action=start must win over the body's track"
    assert fake.leanplum.user(APP, "from-body") is not None
    assert fake.leanplum.user(APP, "from-query") is None


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "text/plain;charset=UTF-8", None],
)
def test_json_bodies_under_any_json_label(client, fake, content_type):
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps({**CREDS, "userId": "json-user", "userAttributes": {"plan": "gold"}})
    response = client.post("/api?action=start", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert fake.leanplum.user(APP, "json-user").attributes == {"plan": "gold"}


def test_form_and_multipart_bodies(client, fake):
    form = client.post("/api", data={"action": "start", **CREDS, "userId": "form-user",
                                     "userAttributes": '{"tier": 2}'})
    multipart = client.post("/api", data={"action": "start", **CREDS, "userId": "mp-user"},
                            files={"userAttributes": (None, '{"tier": 3}')})
    assert (form.status_code, multipart.status_code) == (200, 200), (form.text, multipart.text)
    assert fake.leanplum.user(APP, "form-user").attributes == {"tier": 2}
    assert fake.leanplum.user(APP, "mp-user").attributes == {"tier": 3}


def test_object_parameters_as_json_strings_are_parsed(client, fake):
    response = post(client, "start", userId="s", userAttributes='{"plan":"gold","age":30}')
    assert response.status_code == 200
    assert fake.leanplum.user(APP, "s").attributes == {"plan": "gold", "age": 30}


def test_unparsable_object_string_is_400_naming_the_parameter(client, fake):
    response = post(client, "start", userId="s", userAttributes="{plan: gold")
    assert response.status_code == 400
    assert "'userAttributes'" in error_message(response)
    assert fake.leanplum.user(APP, "s") is None, "a rejected request must change nothing"


@pytest.mark.parametrize("time", ["1795420310.913", 1795420310.913, 1795420310])
@pytest.mark.parametrize("dev_mode", [False, "false"])
def test_loose_scalar_types_are_accepted(client, fake, time, dev_mode):
    response = post(client, "start", userId=123456, time=time, devMode=dev_mode)
    assert response.status_code == 200, response.text
    assert fake.leanplum.user(APP, "123456") is not None


def test_devmode_as_text_true_counts_as_devmode(client):
    response = post(client, "start", userId="u", devMode="true")
    assert response.status_code == 403
    assert error_message(response) == "Development mode requested but not permitted."


@pytest.mark.parametrize("message_id", [1001, "1001"])
def test_message_id_as_number_or_text(client, message_id):
    response = post(client, "sendMessage", userId="alice", messageId=message_id)
    assert element(response)["messagesSent"] == 1


@pytest.mark.parametrize("api_version", [None, "1.0.6", "9.9"])
def test_api_version_is_optional_and_any_value_is_accepted(client, api_version):
    extra = {} if api_version is None else {"apiVersion": api_version}
    response = post(client, "start", userId="v", **extra)
    assert response.status_code == 200 and element(response)["success"] is True


def test_unknown_app_is_404_app_not_found(client):
    response = client.post("/api?action=start", json={"appId": "nope", "clientKey": PROD, "userId": "u"})
    assert response.status_code == 404
    assert error_message(response) == "App not found."


def test_wrong_key_is_403_invalid_access_key(client):
    response = client.post("/api?action=start", json={"appId": APP, "clientKey": "wrong", "userId": "u"})
    assert response.status_code == 403
    assert error_message(response) == "Invalid access key"


def test_devmode_with_production_key_is_403(client):
    response = post(client, "start", userId="u", devMode=True)
    assert response.status_code == 403
    assert error_message(response) == "Development mode requested but not permitted."


@pytest.mark.parametrize("dev_mode", [None, False])
def test_development_key_without_devmode_is_403_invalid_access_key(client, dev_mode):
    extra = {} if dev_mode is None else {"devMode": dev_mode}
    response = client.post("/api?action=start", json={"appId": APP, "clientKey": DEV, "userId": "u", **extra})
    assert response.status_code == 403
    assert error_message(response) == "Invalid access key"


def test_development_key_with_devmode_starts(client):
    response = client.post("/api?action=start", json={"appId": APP, "clientKey": DEV, "userId": "u", "devMode": True})
    assert response.status_code == 200 and element(response)["success"] is True


def test_send_message_with_development_key_is_403_invalid_access_key(client, fake):
    response = client.post("/api?action=sendMessage", json={
        "appId": APP, "clientKey": DEV, "devMode": True, "userId": "alice", "messageId": 1001})
    assert response.status_code == 403
    assert error_message(response) == "Invalid access key"
    assert fake.deliveries.find() == []


@pytest.mark.parametrize(
    ("action", "params", "missing"),
    [
        ("start", {"userId": "u"}, "appId"),
        ("sendMessage", {"userId": "alice"}, "messageId"),
        ("track", {"userId": "alice"}, "event"),
    ],
)
def test_missing_required_parameter_is_400_must_be_provided(client, action, params, missing):
    body = {**CREDS, **params}
    body.pop(missing, None)
    response = client.post(f"/api?action={action}", json=body)
    assert response.status_code == 400
    assert error_message(response) == f"'{missing}' must be provided"


@pytest.mark.parametrize("action", ["start", "sendMessage"])
def test_neither_user_nor_device_is_400(client, action):
    response = post(client, action, messageId=1001)
    assert response.status_code == 400
    assert error_message(response) == "'userId' or 'deviceId' must be provided"


def test_unknown_action_is_400(client):
    response = post(client, "explode", userId="u")
    assert response.status_code == 400
    assert error_message(response) == "Unknown action 'explode'."


def test_start_with_blank_user_id_uses_the_device_id(client, fake):
    response = post(client, "start", userId="", deviceId="dev-42")
    assert response.status_code == 200
    user = fake.leanplum.user(APP, "dev-42")
    assert user is not None and user.device_ids == ["dev-42"]


def test_start_unknown_user_with_create_never_is_skipped_with_warning(client, fake):
    response = post(client, "start", userId="ghost", createDisposition="CreateNever")
    assert response.status_code == 200
    assert warning_message(response) == "User not found; request skipped."
    assert fake.leanplum.user(APP, "ghost") is None


def test_send_message_unknown_user_default_create_never(client, fake):
    response = post(client, "sendMessage", userId="ghost", messageId=1001)
    assert response.status_code == 200
    assert warning_message(response) == "User not found; request skipped."
    assert "messagesSent" not in element(response)
    assert fake.leanplum.user(APP, "ghost") is None and fake.deliveries.find() == []


def test_send_message_unknown_device_with_create_never(client, fake):
    response = post(client, "sendMessage", userId="alice", deviceId="no-such-device", messageId=1001)
    assert response.status_code == 200
    assert warning_message(response) == "Device not found; request skipped."
    assert fake.deliveries.find() == []


def test_send_message_unknown_message_id(client, fake):
    response = post(client, "sendMessage", userId="alice", messageId=424242)
    assert response.status_code == 200
    assert warning_message(response) == "Message entity not found"
    assert fake.deliveries.find() == []


def test_send_message_that_queues_deliveries_reports_the_count(client, fake):
    fake.leanplum.state.attach_device(
        APP, fake.leanplum.user(APP, "alice"),
        __import__("pushfake.leanplum.models", fromlist=["Device"]).Device(
            id="alice-ipad", user_id="alice", iosPushToken="ab" * 32),
    )
    response = post(client, "sendMessage", userId="alice", messageId=1001)
    assert response.status_code == 200
    assert element(response) == {"success": True, "result": "Message sent", "messagesSent": 2}
    assert sorted(d.device_id for d in fake.deliveries.find(send_id="1001")) == ["alice-ipad", "alice-iphone"]


def test_send_message_to_user_without_push_device_sends_nothing_with_warning(client, fake):
    post(client, "start", userId="no-token-user", deviceId="no-token-device")
    response = post(client, "sendMessage", userId="no-token-user", messageId=1001)
    item = element(response)
    assert response.status_code == 200 and item["success"] is True and item["messagesSent"] == 0
    assert "no device with a push token" in item["warning"]["message"]


def test_send_message_outside_targeting_without_force_sends_nothing(client, fake):
    response = post(client, "sendMessage", userId="bob", messageId=1002)  # 1002 targets plan == gold
    item = element(response)
    assert item["messagesSent"] == 0 and "targeting" in item["warning"]["message"]
    assert fake.deliveries.find(send_id="1002") == []
    forced = post(client, "sendMessage", userId="bob", messageId=1002, force=True)
    assert element(forced)["messagesSent"] == 1


def test_send_message_create_if_needed_creates_the_user_and_sends_nothing(client, fake):
    response = post(client, "sendMessage", userId="newbie", messageId=1001, createDisposition="CreateIfNeeded")
    assert response.status_code == 200
    assert element(response)["messagesSent"] == 0
    assert fake.leanplum.user(APP, "newbie") is not None


def test_detect_resolves_to_the_configured_default_location(tmp_path):
    world = world_with(tmp_path, detectLocation={"country": "TR", "city": "Istanbul", "locale": "tr_TR"})
    fake = Fake(fixtures=world, clock=ManualClock())
    transport = httpx.ASGITransport(app=create_app(fake))

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as c:
            return await c.post("/api?action=start", json={
                **CREDS, "userId": "d", "deviceId": "dd", "country": "(detect)", "city": "(detect)",
                "region": "(detect)", "locale": "(detect)", "location": "(detect)"})

    assert asyncio.run(run()).status_code == 200
    device = fake.leanplum.device(APP, "dd")
    assert (device.country, device.city, device.locale) == ("TR", "Istanbul", "tr_TR")
    assert device.region == "CA", "unset parts keep the built-in default"


def test_multi_answers_one_element_per_item_in_order(client, fake):
    response = post(client, "multi", data=[
        {"action": "start", "userId": "m1"},
        {"action": "track", "userId": "m1", "event": "first"},
        {"action": "track", "userId": "m1", "event": "second"},
        {"action": "getVars", "userId": "m1"},
    ])
    assert response.status_code == 200
    items = response.json()["response"]
    assert len(items) == 4 and all(i["success"] for i in items)
    assert "token" in items[0] and "vars" in items[3] and "token" not in items[3]
    assert [e.name for e in fake.leanplum.events(APP, "m1")] == ["first", "second"]


@pytest.mark.parametrize(
    ("items", "status"),
    [
        ([{"action": "track", "userId": "a", "event": "e"}], 200),
        ([{"action": "track", "userId": "a", "event": "e"}, {"action": "track", "userId": "a"},
          {"action": "start", "appId": "other-app", "userId": "a"}], 400),
        ([{"action": "start", "userId": "a", "clientKey": "bad"}, {"action": "track", "userId": "a"}], 403),
    ],
)
def test_multi_status_is_the_first_failing_items_status(client, items, status):
    response = post(client, "multi", data=items)
    assert response.status_code == status
    assert len(response.json()["response"]) == len(items), "every item still gets its element"


def test_multi_status_can_be_configured_to_always_200(tmp_path):
    fake = Fake(fixtures=world_with(tmp_path, multiStatus="always-200"))

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(fake)), base_url="http://f") as c:
            return await c.post("/api?action=multi", json={**CREDS, "data": [{"action": "track", "userId": "a"}]})

    response = asyncio.run(run())
    assert response.status_code == 200 and response.json()["response"][0]["success"] is False


@pytest.mark.parametrize(
    "data",
    [
        [{"action": "track", "userId": f"user-{i}", "event": "e"} for i in range(51)],
        [{"action": "track", "userId": "one-user", "event": "e"} for _ in range(501)],
    ],
    ids=["51-users", "501-actions"],
)
def test_multi_over_the_limits_is_403_and_runs_nothing(client, fake, data):
    response = post(client, "multi", data=data)
    assert response.status_code == 403
    assert len(response.json()["response"]) == 1
    assert "Too many" in error_message(response)
    assert fake.leanplum.user(APP, "user-0") is None and fake.leanplum.user(APP, "one-user") is None


def test_multi_at_the_limits_runs(client):
    data = [{"action": "track", "userId": f"user-{i % 50}", "event": "e"} for i in range(500)]
    response = post(client, "multi", data=data)
    assert response.status_code == 200 and len(response.json()["response"]) == 500


def test_sdk_batched_actions_are_accepted_and_change_state(client, fake):
    response = post(client, "multi", data=[
        {"action": "start", "userId": "sdk", "deviceId": "sdk-dev", "background": True},
        {"action": "setUserAttributes", "userId": "sdk", "userAttributes": {"tier": "vip"}},
        {"action": "setDeviceAttributes", "userId": "sdk", "deviceId": "sdk-dev", "gcmRegistrationId": "r" * 40},
        {"action": "advance", "userId": "sdk", "state": "Checkout"},
        {"action": "heartbeat", "userId": "sdk"},
        {"action": "resumeSession", "userId": "sdk"},
        {"action": "pauseSession", "userId": "sdk"},
        {"action": "getNewsfeedMessages", "userId": "sdk"},
        {"action": "setVars", "vars": {"a": 1}},
        {"action": "log", "type": "error", "message": "boom"},
        {"action": "stop", "userId": "sdk"},
    ])
    assert response.status_code == 200, response.text
    assert all(i["success"] for i in response.json()["response"])
    user = fake.leanplum.user(APP, "sdk")
    assert user.attributes == {"tier": "vip"}
    assert user.sessions == 1, "a background start counts only once resumeSession runs"
    assert user.session_state == "stopped"
    assert fake.leanplum.device(APP, "sdk-dev").gcmRegistrationId == "r" * 40
    assert [e.name for e in fake.leanplum.events(APP, "sdk") if e.kind == "state"] == ["Checkout"]


def test_concurrent_requests_for_one_user_get_429(tmp_path):
    fake = Fake(fixtures=world_with(tmp_path, processingDelaySeconds=0.2))
    transport = httpx.ASGITransport(app=create_app(fake))

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://f") as c:
            same = [c.post("/api?action=track", json={**CREDS, "userId": "busy", "event": "e"}) for _ in range(2)]
            other = c.post("/api?action=track", json={**CREDS, "userId": "other", "event": "e"})
            return await asyncio.gather(*same, other)

    first, second, other = asyncio.run(run())
    assert sorted([first.status_code, second.status_code]) == [200, 429]
    loser = first if first.status_code == 429 else second
    assert error_message(loser) == "Request failed due to concurrent requests to the same profile ID"
    assert "Retry-After" not in loser.headers, "no rate-limit headers unless configured"
    assert other.status_code == 200, "other users are not locked"


def test_devmode_is_limited_to_one_request_per_second_per_user(client, clock):
    body = {"appId": APP, "clientKey": DEV, "devMode": True, "userId": "dev-user"}
    assert client.post("/api?action=start", json=body).status_code == 200
    limited = client.post("/api?action=start", json=body)
    assert limited.status_code == 429
    assert error_message(limited) == "Per device rate limit exceeded."
    assert client.post("/api?action=start", json={**body, "userId": "another"}).status_code == 200
    clock.advance(1.0)
    assert client.post("/api?action=start", json=body).status_code == 200


def test_retry_after_header_is_a_setting(tmp_path):
    fake = Fake(fixtures=world_with(tmp_path, retryAfterSeconds=2), clock=ManualClock())

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(fake)), base_url="http://f") as c:
            body = {"appId": APP, "clientKey": DEV, "devMode": True, "userId": "r"}
            await c.post("/api?action=start", json=body)
            return await c.post("/api?action=start", json=body)

    response = asyncio.run(run())
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"


def test_deliveries_are_recorded_queued_and_handed_off_after_the_response(fake):
    transport = httpx.ASGITransport(app=create_app(fake))
    handed: list[list[str]] = []

    def consumer(ids: list[str]) -> None:
        # the response has been sent by now: the deliveries exist and are still queued
        assert all(fake.deliveries.get(i).state == "queued" for i in ids)
        handed.append(ids)

    fake.deliveries.attach(consumer)

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://f") as c:
            return await c.post("/api?action=sendMessage", json={**CREDS, "userId": "alice", "messageId": 1001})

    response = asyncio.run(run())
    assert element(response)["messagesSent"] == 1
    [ids] = handed
    [delivery] = [fake.deliveries.get(i) for i in ids]
    assert (delivery.vendor, delivery.platform, delivery.device_id) == ("leanplum", "apns", "alice-iphone")


def test_empty_multi_is_answered_with_no_elements(client):
    response = post(client, "multi", data=[])
    assert response.status_code == 200 and response.json() == {"response": []}
