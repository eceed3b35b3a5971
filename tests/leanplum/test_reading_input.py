"""How the fake reads what a Leanplum client sends: users without ids inside a batch, CreateNever
on start, device fields without a device, null, loose and hostile numbers, far-off times, and
400s that name the parameter in plain words."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pushfake.leanplum.errors import CATALOGUE
from tests.leanplum.helpers import APP, CREDS, DEV, element, error_message, post, warning_message

NOW = 1_767_225_600.0  # the test clock's start
DAY = 86_400.0
# Python's and jsonschema's wording that must never reach a client.
LEAKS = re.compile(r"None|is not of type|is not valid under|does not match|\[\'|Expecting|Traceback|Error\b")


# --- item 3: a batch item with neither userId nor deviceId ---------------------------------------
def test_multi_item_without_user_or_device_fails_alone_with_invalid_app_user_and_404(client, fake):
    response = post(client, "multi", data=[{"action": "start", "userId": "first"},
                                           {"action": "setUserAttributes", "userAttributes": {"a": 1}},
                                           {"action": "start", "userId": "third"}])
    assert response.status_code == 404
    items = response.json()["response"]
    assert [i["success"] for i in items] == [True, False, True]
    assert items[1]["error"]["message"] == "Invalid app/user combination"
    assert fake.leanplum.user(APP, "first") is not None and fake.leanplum.user(APP, "third") is not None


def test_outside_a_batch_neither_user_nor_device_stays_400(client):
    response = post(client, "setUserAttributes", userAttributes={"a": 1})
    assert response.status_code == 400
    assert error_message(response) == "'userId' or 'deviceId' must be provided"


# --- item 4: start with CreateNever only needs the user -------------------------------------------
def test_start_create_never_adds_a_new_device_to_an_existing_user(client, fake):
    response = post(client, "start", userId="alice", deviceId="alice-ipad", createDisposition="CreateNever",
                    systemName="iPadOS")
    assert response.status_code == 200 and "warning" not in element(response) and "token" in element(response)
    devices = {d.id: d for d in fake.leanplum.devices_of(APP, "alice")}
    assert set(devices) == {"alice-iphone", "alice-ipad"} and devices["alice-ipad"].systemName == "iPadOS"


def test_send_message_create_never_still_skips_an_unknown_device(client, fake):
    response = post(client, "sendMessage", userId="alice", deviceId="alice-ipad", messageId=1001)
    assert warning_message(response) == "Device not found; request skipped."
    assert fake.leanplum.device(APP, "alice-ipad") is None


# --- item 5: device fields without a deviceId ----------------------------------------------------
def test_start_without_device_id_warns_which_device_fields_were_not_stored(client, fake):
    response = post(client, "start", userId="erin", locale="tr_TR", iosPushToken="a" * 64)
    item = element(response)
    assert response.status_code == 200 and item["success"] is True and "token" in item
    assert item["warning"]["message"] == (
        "No deviceId was given, so these device fields were not stored: locale, iosPushToken.")
    assert fake.leanplum.devices_of(APP, "erin") == []


def test_start_without_device_fields_has_no_warning(client):
    assert "warning" not in element(post(client, "start", userId="erin", userAttributes={"plan": "gold"}))


# --- item 7: sendMessage in development mode ------------------------------------------------------
@pytest.mark.parametrize(("key", "text"), [(DEV, "Invalid access key"),
                                           (CREDS["clientKey"], "Development mode requested but not permitted.")])
def test_send_message_with_dev_mode_never_succeeds(client, fake, key, text):
    response = client.post("/api?action=sendMessage", json={
        "appId": APP, "clientKey": key, "devMode": True, "userId": "alice", "messageId": 1001})
    assert response.status_code == 403 and error_message(response) == text
    assert fake.deliveries.find() == []


# --- item 8: null is absent, and 400s in plain words ---------------------------------------------
def test_null_optional_fields_count_as_not_sent(client, fake):
    response = post(client, "start", userId="nulls", deviceId="nulls-phone", createDisposition=None,
                    appVersion=None, userAttributes=None, time=None, devMode=None, locale=None)
    assert response.status_code == 200 and "warning" not in element(response)
    assert fake.leanplum.user(APP, "nulls") is not None, "null createDisposition: start's default, CreateIfNeeded"
    skipped = post(client, "sendMessage", userId="nobody", messageId=1001, createDisposition=None)
    assert warning_message(skipped) == "User not found; request skipped.", "sendMessage's default, CreateNever"


def test_a_required_parameter_sent_as_null_is_missing(client):
    response = client.post("/api?action=start", json={"appId": None, "clientKey": "k", "userId": "u"})
    assert response.status_code == 400 and error_message(response) == "'appId' must be provided"


@pytest.mark.parametrize(("params", "text"), [
    ({"createDisposition": "Sometimes"}, "Invalid value for 'createDisposition': must be one of CreateIfNeeded, CreateNever"),
    ({"createDisposition": 5}, "Invalid value for 'createDisposition': must be one of CreateIfNeeded, CreateNever"),
    ({"appVersion": 5}, "Invalid value for 'appVersion': must be text"),
    ({"appVersion": "x" * 2001}, "Invalid value for 'appVersion': is too long (at most 2000 characters)"),
    ({"time": "yesterday"}, "Invalid value for 'time': must be a number"),
    ({"time": [1]}, "Invalid value for 'time': must be a number"),
    ({"devMode": "maybe"}, "Invalid value for 'devMode': must be true or false"),
    ({"timezoneOffsetSeconds": "-5h"}, "Invalid value for 'timezoneOffsetSeconds': must be a whole number"),
    ({"locationAccuracyType": "WIFI"}, "Invalid value for 'locationAccuracyType': must be one of IP, CELL, GPS"),
    ({"userAttributes": 5}, "Invalid value for 'userAttributes': must be an object (or the JSON text of one)"),
    ({"userAttributes": "[1]"}, "Invalid value for 'userAttributes': must be an object (or the JSON text of one)"),
    ({"userAttributes": "{not json"}, "Invalid value for 'userAttributes': is not JSON text of an object"),
])
def test_every_400_names_the_parameter_in_plain_words(client, params, text):
    response = post(client, "start", userId="u", **params)
    assert response.status_code == 400 and error_message(response) == text


def test_a_message_id_that_is_not_a_number_is_said_so(client):
    response = post(client, "sendMessage", userId="alice", messageId="abc")
    assert error_message(response) == "Invalid value for 'messageId': must be a message id (a whole number)"


hostile = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30), st.just("1e400"), st.just("9" * 400), st.just("[" * 200),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
names = st.sampled_from(["appId", "clientKey", "userId", "deviceId", "createDisposition", "time", "devMode",
                         "appVersion", "locale", "locationAccuracyType", "timezoneOffsetSeconds", "userAttributes",
                         "messageId", "values", "force", "background", "event", "value", "params", "data"])


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(action=st.sampled_from(["start", "sendMessage", "track", "multi"]), params=st.dictionaries(names, hostile,
       max_size=4), encoding=st.sampled_from(["json", "form", "query"]))
def test_no_400_shows_a_validators_or_pythons_wording(client, action, params, encoding):
    body = {**CREDS, "userId": "hostile", **params}
    if encoding == "json":
        response = client.post(f"/api?action={action}", json=body)
    else:
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items() if v is not None}
        response = (client.post(f"/api?action={action}", data=flat) if encoding == "form"
                    else client.get("/api", params={"action": action, **flat}))
    assert response.status_code < 500
    for item in response.json()["response"]:
        message = (item.get("error") or {}).get("message", "")
        if message:
            assert CATALOGUE.match(message) is not None, message
            assert not LEAKS.search(message), message


# --- item 9 and issue 18: loose and hostile numbers, far-off times --------------------------------
def test_whole_numbers_written_as_decimals_are_read_as_whole_numbers(client, fake):
    sent = post(client, "sendMessage", userId="alice", messageId=1001.0)
    assert element(sent)["messagesSent"] == 1
    assert element(post(client, "sendMessage", userId="alice", messageId="1001.0"))["messagesSent"] == 1
    post(client, "start", userId="dana", deviceId="dana-phone", timezoneOffsetSeconds="-18000.0")
    assert fake.leanplum.device(APP, "dana-phone").timezoneOffsetSeconds == -18000
    post(client, "start", userId="dana", deviceId="dana-phone", timezoneOffsetSeconds=3600.0)
    assert fake.leanplum.device(APP, "dana-phone").timezoneOffsetSeconds == 3600


def test_a_numeric_user_id_written_as_a_decimal_is_the_same_user(client, fake):
    post(client, "start", userId=123456)
    post(client, "start", userId=123456.0)
    assert fake.leanplum.user(APP, "123456").sessions == 2


def test_location_accuracy_type_defaults_to_ip(client, fake):
    post(client, "start", userId="gps", deviceId="gps-phone", location="37.7,-122.4")
    assert fake.leanplum.device(APP, "gps-phone").locationAccuracyType == "IP"
    post(client, "start", userId="gps", deviceId="gps-phone", location="37.7,-122.4", locationAccuracyType="GPS")
    assert fake.leanplum.device(APP, "gps-phone").locationAccuracyType == "GPS"


def test_a_time_far_behind_the_clock_is_accepted_warned_and_rewritten(client, fake):
    response = post(client, "track", userId="alice", event="old", time=NOW - 40 * DAY)
    assert response.status_code == 200
    assert warning_message(response) == "Device clock skew detected (40 days behind). Rewriting timestamp."
    assert [e.time for e in fake.leanplum.events(APP, "alice")] == [NOW]
    journaled = fake.journal.find()[-1].to_dict()
    assert journaled["response"]["response"][0]["warning"]["message"].startswith("Device clock skew detected")


def test_a_time_within_a_day_is_kept_without_a_warning(client, fake):
    response = post(client, "track", userId="alice", event="recent", time=str(NOW - 3600))
    assert "warning" not in element(response)
    assert [e.time for e in fake.leanplum.events(APP, "alice")] == [NOW - 3600]


@pytest.mark.parametrize("time", [253_402_300_800.0, 9e18, "999999999999999.999999999"])
def test_times_out_of_any_calendar_are_stored_as_the_fakes_time(client, fake, time):
    response = post(client, "track", userId="alice", event="far", time=time)
    assert response.status_code == 200
    assert [e.time for e in fake.leanplum.events(APP, "alice")] == [NOW]
    assert client.get(f"/_pushfake/leanplum/apps/{APP}/users/alice").status_code == 200


@pytest.mark.parametrize("body", [{"time": 1e300}, {"time": -1e300}, {"value": 10**30},
                                  {"params": {"n": [1e19]}}, {"params": {"n": -(2**63) - 1}}])
def test_numbers_beyond_64_bits_in_a_json_body_are_a_clean_400_and_change_nothing(client, fake, body):
    response = post(client, "track", userId="huge", event="e", **body)
    assert response.status_code == 400
    assert CATALOGUE.match(error_message(response)).key in ("invalid-value", "json-number-out-of-range")
    assert fake.leanplum.user(APP, "huge") is None


@pytest.mark.parametrize(("action", "name", "value"), [
    ("track", "time", "1e400"), ("track", "time", "1" + "0" * 400), ("track", "value", "9" * 400),
    ("track", "value", "-1e999"), ("setDeviceAttributes", "timezoneOffsetSeconds", "1" * 400)])
def test_numbers_past_a_float_in_text_are_a_clean_400_and_change_nothing(client, fake, action, name, value):
    params = {**CREDS, "userId": "huge", "deviceId": "huge-phone", "event": "e", name: value}
    for response in (client.get("/api", params={"action": action, **params}),
                     client.post(f"/api?action={action}", data=params)):
        assert response.status_code == 400
        assert error_message(response).startswith(f"Invalid value for '{name}': must be ")
    assert fake.leanplum.user(APP, "huge") is None


NUMBER_OUT_OF_RANGE = "holds a number out of range (beyond a 64-bit integer or a double, NaN or Infinity)"


@pytest.mark.parametrize(("name", "text", "detail"), [
    ("userAttributes", "[" * 100_000, "nests objects or arrays more than 64 levels deep"),
    ("values", '{"a":' * 100 + "1" + "}" * 100, "nests objects or arrays more than 64 levels deep"),
    ("params", '{"n": 1e400}', NUMBER_OUT_OF_RANGE),
    ("userAttributes", '{"n": NaN}', NUMBER_OUT_OF_RANGE),
    ("userAttributes", '{"s": "\\ud800"}', "holds text that is not valid Unicode (a lone surrogate escape)"),
])
def test_json_text_parameters_are_read_by_the_one_json_reader(client, fake, name, text, detail):
    action = {"values": "sendMessage", "params": "track"}.get(name, "start")
    params = {**CREDS, "userId": "alice", "messageId": "1001", "event": "e", name: text}
    response = client.post(f"/api?action={action}", data=params)
    assert response.status_code == 400 and error_message(response) == f"Invalid value for '{name}': {detail}"
    assert fake.leanplum.events(APP, "alice") == []


@pytest.mark.parametrize("data", ["[" * 5000, '[{"action": "start", "userId": "\\ud800"}]', "[1e400]"])
def test_a_batch_as_json_text_that_cannot_be_read_is_a_400(client, fake, data):
    for response in (client.post("/api", data={"action": "multi", **CREDS, "data": data}),
                     client.get("/api", params={"action": "multi", **CREDS, "data": data})):
        assert response.status_code == 400
        assert error_message(response).startswith("Invalid value for 'data': ")
    assert fake.leanplum.state.users(APP).get("\ud800") is None
