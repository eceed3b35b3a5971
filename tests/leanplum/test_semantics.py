"""start and sendMessage beyond the DECISIONS rows: what is stored, computed and rendered."""

from __future__ import annotations

import pytest

from pushfake.leanplum.models import Device
from tests.leanplum.helpers import APP, element, post


def test_start_stores_every_device_field_and_push_token(client, fake):
    fields = {
        "appVersion": "3.1", "systemName": "iOS", "systemVersion": "17.5", "browserName": "Safari",
        "browserVersion": "17", "deviceName": "Kim's phone", "deviceModel": "iPhone16,1",
        "locale": "fr_FR", "country": "FR", "region": "IDF", "city": "Paris", "location": "48.85,2.35",
        "locationAccuracyType": "GPS", "timezone": "Europe/Paris", "timezoneOffsetSeconds": "3600",
        "iosPushToken": "c0" * 32,
    }
    assert post(client, "start", userId="kim", deviceId="kim-phone", **fields).status_code == 200
    device = fake.leanplum.device(APP, "kim-phone")
    for name, value in fields.items():
        expected = int(value) if name == "timezoneOffsetSeconds" else value
        assert getattr(device, name) == expected, name
    assert device.push_target() == ("apns", "c0" * 32)


def test_web_push_subscription_sent_as_json_text_is_stored_as_object(client, fake):
    subscription = '{"endpoint":"https://push.example/abc","keys":{"p256dh":"k","auth":"a"}}'
    post(client, "start", userId="w", deviceId="w-browser", webPushSubscription=subscription)
    device = fake.leanplum.device(APP, "w-browser")
    assert device.webPushSubscription["endpoint"] == "https://push.example/abc"
    assert device.push_target()[0] == "webpush"


def test_user_attributes_merge_only_supplied_keys(client, fake):
    post(client, "start", userId="alice", userAttributes={"age": 30})
    assert fake.leanplum.user(APP, "alice").attributes == {"plan": "gold", "name": "Alice", "age": 30}
    post(client, "start", userId="alice", userAttributes={"plan": "free"})
    assert fake.leanplum.user(APP, "alice").attributes == {"plan": "free", "name": "Alice", "age": 30}


def test_start_answer_is_computed_from_the_app_configuration(client, fake):
    item = element(post(client, "start", userId="alice"))
    assert item["vars"] == {"welcomeMessage": "Welcome to pushfake", "maxItems": 10, "theme": "light"}
    assert set(item["messages"]) == {"2001"}, "in-app messages only; push messages are not listed"
    assert item["messages"]["2001"]["vars"]["Message"] == "Thanks for trying pushfake."
    for key, kind in {"variants": list, "regions": dict, "interfaceRules": list, "interfaceEvents": list}.items():
        assert isinstance(item[key], kind), key
    assert len(item["token"]) == 43


def test_include_defaults_false_leaves_out_unchanged_variables(client):
    item = element(post(client, "start", userId="alice", includeDefaults=False))
    assert item["vars"] == {"welcomeMessage": "Welcome to pushfake", "maxItems": 10}


def test_tokens_are_reproducible_from_the_seed(fake, client):
    first = [element(post(client, "start", userId=f"t{i}"))["token"] for i in range(3)]
    fake.reset()
    again = [element(post(client, "start", userId=f"t{i}"))["token"] for i in range(3)]
    assert first == again and len(set(first)) == 3


def test_background_start_is_not_counted_until_resume(client, fake):
    post(client, "start", userId="bg", background=True)
    assert fake.leanplum.user(APP, "bg").sessions == 0
    post(client, "resumeSession", userId="bg")
    assert fake.leanplum.user(APP, "bg").sessions == 1
    post(client, "start", userId="bg")
    assert fake.leanplum.user(APP, "bg").sessions == 2


def test_device_id_targets_one_device_and_user_id_all(client, fake):
    alice = fake.leanplum.user(APP, "alice")
    fake.leanplum.state.attach_device(APP, alice, Device(id="alice-web", user_id="alice",
                                                          webPushSubscription={"endpoint": "https://x", "keys": {}}))
    one = element(post(client, "sendMessage", userId="alice", deviceId="alice-web", messageId=1001))
    assert one["messagesSent"] == 1
    assert [d.device_id for d in fake.deliveries.find()] == ["alice-web"]
    every = element(post(client, "sendMessage", userId="alice", messageId=1001))
    assert every["messagesSent"] == 2


def test_device_id_alone_finds_its_user(client, fake):
    item = element(post(client, "sendMessage", deviceId="bob-pixel", messageId=1001))
    assert item["messagesSent"] == 1
    [delivery] = fake.deliveries.find()
    assert (delivery.user_id, delivery.platform) == ("bob", "fcm")


@pytest.mark.parametrize(
    ("values", "body"),
    [
        (None, "You have 100 points waiting, friend!"),
        ({"points": 5}, "You have 5 points waiting, friend!"),
        ('{"points": 7, "name": "Alice"}', "You have 7 points waiting, Alice!"),
    ],
)
def test_values_override_template_variables_in_the_payload(client, fake, values, body):
    extra = {} if values is None else {"values": values}
    post(client, "sendMessage", userId="alice", messageId=1001, **extra)
    [delivery] = fake.deliveries.find(send_id="1001")
    assert delivery.payload["body"] == body
    assert delivery.payload["title"] == "Your points"
    assert delivery.payload["data"] == {"screen": "rewards"}
    assert delivery.token == fake.leanplum.device(APP, "alice-iphone").iosPushToken


def test_targeting_follows_attribute_changes(client, fake):
    assert element(post(client, "sendMessage", userId="bob", messageId=1002))["messagesSent"] == 0
    post(client, "setUserAttributes", userId="bob", userAttributes={"plan": "gold"})
    assert element(post(client, "sendMessage", userId="bob", messageId=1002))["messagesSent"] == 1


def test_each_app_has_its_own_users(client, fake):
    assert fake.leanplum.user("another-app", "alice") is None
    assert fake.leanplum.user(APP, "alice") is not None


def test_set_user_attributes_new_user_id_renames_the_user(client, fake):
    post(client, "setUserAttributes", userId="bob", newUserId="robert")
    assert fake.leanplum.user(APP, "bob") is None
    robert = fake.leanplum.user(APP, "robert")
    assert robert.device_ids == ["bob-pixel"]
    assert fake.leanplum.device(APP, "bob-pixel").user_id == "robert"
    assert element(post(client, "sendMessage", userId="robert", messageId=1001))["messagesSent"] == 1


def test_req_id_is_echoed_in_multi_elements(client):
    response = post(client, "multi", data=[
        {"action": "track", "userId": "a", "event": "e", "reqId": "r-1"},
        {"action": "track", "userId": "a", "reqId": "r-2"},
    ])
    assert [i["reqId"] for i in response.json()["response"]] == ["r-1", "r-2"]


def test_android_style_form_multi_with_data_as_json_text(client, fake):
    response = client.post("/api", data={
        "appId": APP, "clientKey": "prod_pushfake", "client": "android", "action": "multi",
        "sdkVersion": "7.8.0", "time": "1795420310.913",
        "data": '[{"action":"start","userId":"droid","deviceId":"droid-1","devMode":"false",'
                '"gcmRegistrationId":"' + "g" * 40 + '"}]',
    })
    assert response.status_code == 200, response.text
    assert fake.leanplum.device(APP, "droid-1").gcmRegistrationId == "g" * 40


def test_api_batch_alias(client, fake):
    response = client.post("/api-batch?action=multi", json={
        "appId": APP, "clientKey": "prod_pushfake", "data": [{"action": "start", "userId": "batchy"}]})
    assert response.status_code == 200 and fake.leanplum.user(APP, "batchy") is not None


def test_reset_returns_to_the_starting_world(client, fake):
    post(client, "start", userId="temp", deviceId="temp-device")
    post(client, "sendMessage", userId="alice", messageId=1001)
    post(client, "setUserAttributes", userId="alice", userAttributes={"plan": "free"})
    assert fake.deliveries.find() and fake.leanplum.user(APP, "temp")
    fake.reset()
    assert fake.deliveries.find() == []
    assert fake.leanplum.user(APP, "temp") is None and fake.leanplum.device(APP, "temp-device") is None
    assert fake.leanplum.user(APP, "alice").attributes == {"plan": "gold", "name": "Alice"}
    assert element(post(client, "sendMessage", userId="alice", messageId=1001))["messagesSent"] == 1
    assert len(fake.deliveries.find()) == 1


def test_track_outside_a_session_is_answered_offline(client):
    outside = element(post(client, "track", userId="alice", event="early"))
    assert outside == {"success": True, "isOffline": True}
    post(client, "start", userId="alice")
    assert element(post(client, "track", userId="alice", event="inside")) == {"success": True}


def test_a_token_registered_again_after_unregistered_is_used_again(client, fake):
    token = "5e" * 32
    post(client, "start", userId="ren", deviceId="ren-phone", iosPushToken=token)
    fake.gateway.unregister(token, platform="apns")  # the app was removed: APNs says Unregistered
    assert element(post(client, "sendMessage", userId="ren", messageId=1001))["messagesSent"] == 1
    fake.run_until_idle()
    assert fake.gateway.token_mark("apns", token).status == "unregistered"
    assert element(post(client, "sendMessage", userId="ren", messageId=1001))["messagesSent"] == 0
    fake.gateway.clear()  # reinstalled: APNs accepts the token again, and the app registers it
    fake.advance(60)
    post(client, "start", userId="ren", deviceId="ren-phone", iosPushToken=token)
    assert fake.gateway.token_mark("apns", token) is None
    assert element(post(client, "sendMessage", userId="ren", messageId=1001))["messagesSent"] == 1
    fake.run_until_idle()
    assert [d.state for d in fake.deliveries.find(device_id="ren-phone")] == ["failed", "delivered"]


def test_an_invalid_token_stays_refused_when_reported_again(client, fake):
    token = "ab" * 31  # hex, but shorter than any APNs token
    post(client, "start", userId="bad", deviceId="bad-phone", iosPushToken=token)
    assert element(post(client, "sendMessage", userId="bad", messageId=1001))["messagesSent"] == 1
    fake.run_until_idle()
    [failed] = fake.deliveries.find(device_id="bad-phone")
    assert (failed.state, failed.reason, failed.token_rejected) == ("failed", "BadDeviceToken", True)
    fake.advance(60)
    post(client, "start", userId="bad", deviceId="bad-phone", iosPushToken=token)
    assert element(post(client, "sendMessage", userId="bad", messageId=1001))["messagesSent"] == 0
