"""Safe mode's policy, judged on prepared requests as they would leave, one allowed and one
refused example per rule of `pushfake.contract.safety`; and the settings a run is given,
whose mistakes must stop it before any request with a message that says what to fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import requests.adapters

from pushfake.contract.gate import Withheld
from pushfake.contract.safety import SafetyPolicy
from pushfake.contract.safety import TestIds as OwnIds  # not collected as a test class
from pushfake.contract.settings import (
    ENV,
    FIXTURE_CREDENTIALS,
    ContractSettings,
    Credentials,
    SettingsError,
    parse_targets,
    parse_test_device,
)
from pushfake.contract.spec import leanplum_actions
from pushfake.contract.target import open_target
from pushfake.contract.vendors import Leanplum

LEANPLUM = "https://api.leanplum.test/api"
DENGAGE = "https://api.dengage.test/rest"
TABLE = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"
SEGMENT = "0f1e2d3c-4b5a-4968-8776-655443322110"
IDS = OwnIds("pushfake-contract", "0badcafe")
OWN_USER, OWN_DEVICE, ABSENT_USER, ABSENT_DEVICE = IDS.user(), IDS.device(), IDS.absent(), IDS.absent()
DEV = {"appId": "app", "clientKey": "dev-key", "devMode": True}


def policy(**settings: Any) -> SafetyPolicy:
    return SafetyPolicy(ContractSettings(safe=True, **settings), IDS, leanplum_actions())


def leanplum(action: str | None, *, query: dict[str, Any] | None = None, method: str = "POST",
             **body: Any) -> requests.PreparedRequest:
    params = {**({"action": action} if action is not None else {}), **(query or {})}
    return requests.Request(method, LEANPLUM, params=params, **body).prepare()


def dengage(method: str, path: str, **body: Any) -> requests.PreparedRequest:
    return requests.Request(method, f"{DENGAGE}{path}", **body).prepare()


def allowed(request: requests.PreparedRequest, **settings: Any) -> None:
    reason = policy(**settings)(request)
    assert reason is None, reason


def refused(request: requests.PreparedRequest, because: str, **settings: Any) -> None:
    reason = policy(**settings)(request)
    assert reason is not None and because in reason, reason


# --- Leanplum: actions -------------------------------------------------------------------------------
def test_spec_actions_and_made_up_ones_are_allowed() -> None:
    allowed(leanplum("start", json={**DEV, "userId": OWN_USER}))
    allowed(leanplum("track", json={**DEV, "userId": OWN_USER, "event": "x"}))
    allowed(leanplum("pushfakeContractNoSuchAction", json={**DEV, "userId": OWN_USER}))


@pytest.mark.parametrize("action", ["deleteUser", "exportData", "sendmessage", "START", "", "pushfake"])
def test_an_action_outside_the_spec_is_refused(action: str) -> None:
    refused(leanplum(action, json={**DEV, "userId": OWN_USER}), "is not one the suite may send")


def test_an_action_outside_the_spec_is_refused_even_under_a_good_one_in_the_body() -> None:
    assert policy()(leanplum("deleteUser", json={**DEV, "action": "start", "userId": OWN_USER})) is not None


# --- Leanplum: whose ids ------------------------------------------------------------------------------
def test_own_ids_are_allowed_in_query_json_and_form() -> None:
    allowed(leanplum("start", query={**DEV, "userId": OWN_USER, "deviceId": OWN_DEVICE}, method="GET"))
    allowed(leanplum("start", json={**DEV, "userId": OWN_USER, "deviceId": OWN_DEVICE}))
    allowed(leanplum("start", data={**DEV, "userId": OWN_USER, "deviceId": OWN_DEVICE}))
    allowed(leanplum("start", files={"userId": (None, OWN_USER), "devMode": (None, "true")}))


@pytest.mark.parametrize("where", ["query", "json", "form", "multipart"])
@pytest.mark.parametrize(("key", "value"), [("userId", "alice"), ("deviceId", "alice-iphone"),
                                            ("userId", "pushfake-contract-other-run-user-1")])
def test_a_foreign_id_is_refused_wherever_it_is(where: str, key: str, value: str) -> None:
    params = {**DEV, "userId": OWN_USER, key: value}
    encoded = {"query": {"query": params, "method": "GET"}, "json": {"json": params}, "form": {"data": params},
               "multipart": {"files": {k: (None, str(v)) for k, v in params.items()}}}[where]
    refused(leanplum("start", **encoded), f"{key} '{value}' is not one of the suite's own ids")


def test_a_numeric_id_is_not_the_suites() -> None:
    refused(leanplum("start", json={**DEV, "userId": 12345}), "userId '12345'")


# --- Leanplum: multi batches ----------------------------------------------------------------------------
def own_item(**extra: Any) -> dict[str, Any]:
    return {"action": "start", "userId": OWN_USER, **extra}


def test_a_batch_of_own_items_is_allowed_as_a_list_or_as_json_text() -> None:
    items = [own_item(), {"action": "track", "userId": OWN_USER, "event": "e"}]
    allowed(leanplum("multi", json={**DEV, "data": items}))
    allowed(leanplum("multi", data={**DEV, "data": json.dumps(items)}))
    allowed(leanplum("multi", query={**DEV, "data": json.dumps(items)}, method="GET"))


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize(("item", "because"), [
    ({"action": "start", "userId": "alice"}, "userId 'alice'"),
    ({"action": "start", "userId": OWN_USER, "deviceId": "bob-pixel"}, "deviceId 'bob-pixel'"),
    ({"action": "deleteUser", "userId": OWN_USER}, "'deleteUser'"),
    ({"action": "start", "userId": OWN_USER, "devMode": False}, "outside development mode"),
    ({"action": "sendMessage", "userId": "alice", "messageId": "1001"}, "sendMessage to a user that may exist"),
    ({"action": "start", "userId": OWN_USER, "iosPushToken": "t"}, "registering a push token"),
])
def test_one_bad_item_refuses_the_batch(item: dict[str, Any], because: str, as_text: bool) -> None:
    items = [own_item(), item]
    refused(leanplum("multi", json={**DEV, "data": json.dumps(items) if as_text else items}), because)


def test_items_inherit_the_batchs_top_level_ids() -> None:
    refused(leanplum("multi", json={**DEV, "userId": "alice", "data": [{"action": "start"}]}), "userId 'alice'")
    allowed(leanplum("multi", json={**DEV, "userId": OWN_USER, "data": [{"action": "start"}]}))


@pytest.mark.parametrize(("data", "because"), [("[not json", "cannot be read"), ({"action": "start"}, "not a list"),
                                               ([["start"]], "not a list of objects"), ("7", "not a list")])
def test_a_batch_whose_items_cannot_be_judged_is_refused(data: Any, because: str) -> None:
    refused(leanplum("multi", json={**DEV, "data": data}), because)


# --- Leanplum: development mode and push tokens ------------------------------------------------------------
@pytest.mark.parametrize("dev_mode", [True, "true", "True", "1", 1])
def test_development_mode_in_any_spelling_is_allowed(dev_mode: Any) -> None:
    allowed(leanplum("start", json={"appId": "app", "clientKey": "k", "devMode": dev_mode, "userId": OWN_USER}))


@pytest.mark.parametrize("dev_mode", [None, False, "false", "0", "", "yes"])
def test_outside_development_mode_only_sendmessage_is_allowed(dev_mode: Any) -> None:
    body = {"appId": "app", "clientKey": "prod-key", "userId": OWN_USER,
            **({"devMode": dev_mode} if dev_mode is not None else {})}
    refused(leanplum("start", json=body), "start outside development mode")
    allowed(leanplum("sendMessage", json={**body, "userId": ABSENT_USER, "messageId": "1001"}))


@pytest.mark.parametrize("parameter", ["iosPushToken", "gcmRegistrationId", "webPushSubscription"])
def test_registering_a_push_token_is_refused_even_for_own_devices(parameter: str) -> None:
    refused(leanplum("setDeviceAttributes", json={**DEV, "userId": OWN_USER, "deviceId": OWN_DEVICE,
                                                  parameter: "token"}), f"registering a push token ({parameter})")


# --- Leanplum: sendMessage ---------------------------------------------------------------------------
def send_message(**params: Any) -> requests.PreparedRequest:
    return leanplum("sendMessage", json={"appId": "app", "clientKey": "prod-key", "messageId": "1001", **params})


def test_sendmessage_to_made_up_absent_ids_is_allowed() -> None:
    allowed(send_message(userId=ABSENT_USER))
    allowed(send_message(deviceId=ABSENT_DEVICE))
    allowed(send_message(userId=ABSENT_USER, deviceId=ABSENT_DEVICE))


@pytest.mark.parametrize(("ids", "because"), [
    ({"userId": "alice"}, "a user that may exist"),
    ({"userId": OWN_USER}, "a user that may exist"),  # started by the suite: it exists
    ({}, "a user that may exist"),
    ({"deviceId": "alice-iphone"}, "a user that may exist"),
    ({"userId": ABSENT_USER, "deviceId": "alice-iphone"}, "a device that may exist"),
    ({"userId": ABSENT_USER, "deviceId": OWN_DEVICE}, "a device that may exist"),
])
def test_sendmessage_to_anyone_who_may_exist_is_refused(ids: dict[str, str], because: str) -> None:
    refused(send_message(**ids), because)


TEST_DEVICE = {"leanplum_test_message": "1001", "leanplum_test_device": ("qa-user", "qa-phone")}


def test_sendmessage_reaches_the_given_test_device_with_the_given_message_only() -> None:
    allowed(send_message(userId="qa-user"), **TEST_DEVICE)
    allowed(send_message(userId="qa-user", deviceId="qa-phone"), **TEST_DEVICE)
    allowed(send_message(userId="qa-user", messageId=1001), **TEST_DEVICE)
    refused(send_message(userId="qa-user", messageId="1002"), "a user that may exist", **TEST_DEVICE)
    refused(send_message(userId="qa-user", deviceId="other-phone"), "may exist", **TEST_DEVICE)
    refused(send_message(userId="alice"), "may exist", **TEST_DEVICE)
    refused(send_message(userId="qa-user"), "may exist")  # not given: not allowed
    refused(leanplum("start", json={**DEV, "userId": "qa-user"}), "userId 'qa-user'", **TEST_DEVICE)


# --- known gaps (see the report) ----------------------------------------------------------------------------
def test_a_repeated_query_key_is_judged_by_every_value() -> None:
    request = requests.Request("GET", f"{LEANPLUM}?action=start&devMode=true&userId=alice&userId={OWN_USER}").prepare()
    refused(request, "userId")


def test_an_id_in_the_query_is_judged_even_when_the_body_names_another() -> None:
    refused(leanplum("start", query={"userId": "alice"}, json={**DEV, "userId": OWN_USER}), "userId")


def test_a_body_the_policy_cannot_read_is_refused() -> None:
    request = leanplum("start", query={**DEV, "userId": OWN_USER}, data=b"userId=alice&note=\xff",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert policy()(request) is not None


# --- D·engage ---------------------------------------------------------------------------------------------
def send(body: Any = None, **settings: Any) -> str | None:
    return policy(**settings)(dengage("POST", "/push/sendInstant", json=body))


def test_login_and_report_reading_are_allowed() -> None:
    allowed(dengage("POST", "/login", json={"userkey": "u", "password": "p"}))
    allowed(dengage("GET", "/push/sendInstant", params={"trackingId": "t"}))


@pytest.mark.parametrize(("method", "path"), [("GET", "/login"), ("DELETE", "/push/sendInstant"),
                                              ("PUT", "/push/sendInstant"), ("POST", "/push/sendTransactional"),
                                              ("POST", "/push/sendInstant/"), ("GET", "/contacts")])
def test_other_dengage_endpoints_are_refused(method: str, path: str) -> None:
    refused(dengage(method, path, json={"tableId": TABLE}), "is not an endpoint of the suite", dengage_table=TABLE)


def test_other_paths_are_refused_and_the_batch_alias_is_judged_like_api() -> None:
    for path in ("/", "/api/v2", "/_pushfake/reset", "/rest"):
        refused(requests.Request("POST", f"https://api.leanplum.test{path}?action=start", json=DEV).prepare(),
                "is not an endpoint of the suite")
    alias = "https://api.leanplum.test/api-batch"
    allowed(requests.Request("POST", alias, params={"action": "start"}, json={**DEV, "userId": OWN_USER}).prepare())
    refused(requests.Request("POST", alias, params={"action": "start"}, json={**DEV, "userId": "bob"}).prepare(),
            "userId 'bob'")


def test_a_send_without_a_named_audience_is_refused() -> None:
    assert "no table or segment was named" in (send({"tableId": TABLE}) or "")


def test_a_send_to_the_named_table_is_allowed_in_any_case() -> None:
    assert send({"tableId": TABLE, "content": {"title": "t"}}, dengage_table=TABLE) is None
    assert send({"tableId": TABLE.upper()}, dengage_table=TABLE) is None
    assert send({"tableId": TABLE}, dengage_table=TABLE.upper()) is None
    assert send({"segmentId": SEGMENT}, dengage_segment=SEGMENT) is None


@pytest.mark.parametrize(("body", "because"), [
    ({"tableId": SEGMENT}, "a tableId other than the one named"),
    ({"segmentId": SEGMENT}, "a segmentId other than the one named"),
    ({"tableId": TABLE, "segmentId": SEGMENT}, "a segmentId other than the one named"),
    ({"tableId": [TABLE]}, "a tableId other than the one named"),
    ({"content": {"title": "t"}}, "to every device"),
    ({"tableId": "", "segmentId": None}, "to every device"),
    ([{"tableId": TABLE}], "not a JSON object"),
])
def test_a_send_to_another_audience_is_refused(body: Any, because: str) -> None:
    assert because in (send(body, dengage_table=TABLE) or "")


def test_a_send_whose_body_is_not_json_is_refused_unless_its_fields_name_the_audience() -> None:
    garbled = dengage("POST", "/push/sendInstant", data=b'{"tableId": ', headers={"Content-Type": "application/json"})
    refused(garbled, "not a JSON object", dengage_table=TABLE)
    text = dengage("POST", "/push/sendInstant", data=f"tableId={TABLE}".encode(), headers={"Content-Type": "text/plain"})
    refused(text, "not a JSON object", dengage_table=TABLE)
    # a form is read field by field, with the same rule: only the named audience
    refused(dengage("POST", "/push/sendInstant", data={"tableId": SEGMENT}), "other than the one named",
            dengage_table=TABLE)
    refused(dengage("POST", "/push/sendInstant", data={"title": "t"}), "to every device", dengage_table=TABLE)
    allowed(dengage("POST", "/push/sendInstant", data={"tableId": TABLE}), dengage_table=TABLE)


# --- settings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("options", "message"), [
    ({"examples": 0}, "examples: at least 1, not 0"),
    ({"phases": ()}, "phases: some of examples, coverage, fuzzing, not none"),
    ({"phases": ("fuzzing", "shrinking")}, "phases: some of examples, coverage, fuzzing, not shrinking"),
    ({"budget": -1}, "budget: a number of requests (0 or more), not -1"),
    ({"rate": 0}, "rate: requests per second above 0, not 0"),
    ({"rate": -2.5}, "rate: requests per second above 0, not -2.5"),
    ({"vendors": ("leanplum", "onesignal")}, "vendors: some of leanplum, dengage, not onesignal"),
    ({"vendors": ()}, "vendors: some of leanplum, dengage, not none"),
    ({"leanplum_test_message": "1001"}, "a Leanplum test message and a test device go together: give both or neither"),
    ({"leanplum_test_device": ("u", "d")}, "a Leanplum test message and a test device go together: give both or neither"),
    ({"prefix": "has space"}, "prefix: letters, digits and dashes, not 'has space'"),
    ({"prefix": ""}, "prefix: letters, digits and dashes, not ''"),
])
def test_settings_that_cannot_be_used_say_which(options: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        ContractSettings(**options)
    assert str(error.value) == message


def test_good_settings_are_kept() -> None:
    settings = ContractSettings(examples=1, budget=0, rate=0.5, vendors=("dengage",), prefix="qa-run-2",
                                leanplum_test_message="1", leanplum_test_device=("u", "d"))
    assert (settings.examples, settings.budget, settings.rate, settings.vendors) == (1, 0, 0.5, ("dengage",))


def test_targets_parse_to_a_url_per_vendor() -> None:
    assert parse_targets([]) == {"leanplum": None, "dengage": None}
    assert parse_targets(["http://127.0.0.1:8080/"]) == {"leanplum": "http://127.0.0.1:8080",
                                                         "dengage": "http://127.0.0.1:8080"}
    assert parse_targets(["https://a.test", "dengage=https://b.test/", "leanplum=in-process"]) == {
        "leanplum": None, "dengage": "https://b.test"}
    assert parse_targets(["in-process"]) == {"leanplum": None, "dengage": None}


@pytest.mark.parametrize(("value", "message"), [
    ("ftp://a.test", "target: an http(s) URL, VENDOR=URL or 'in-process', not 'ftp://a.test'"),
    ("a.test:8080", "target: an http(s) URL, VENDOR=URL or 'in-process', not 'a.test:8080'"),
    ("onesignal=https://a.test", "target: an http(s) URL, VENDOR=URL or 'in-process', not 'onesignal=https://a.test'"),
    ("leanplum=", "target: an http(s) URL, VENDOR=URL or 'in-process', not ''"),
    ("https://a.test/?x=1", "target: a base URL without query or fragment, not 'https://a.test/?x=1'"),
    ("https://a.test#top", "target: a base URL without query or fragment, not 'https://a.test#top'"),
])
def test_a_bad_target_says_what_a_target_is(value: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse_targets([value])
    assert str(error.value) == message


def test_the_test_device_is_user_colon_device() -> None:
    assert parse_test_device(None) is None
    assert parse_test_device("qa-user:qa-phone") == ("qa-user", "qa-phone")
    assert parse_test_device("u:d:with:colons") == ("u", "d:with:colons")
    for bad in ("qa-user", ":qa-phone", "qa-user:", ""):
        with pytest.raises(SettingsError, match=rf"^Leanplum test device: USER_ID:DEVICE_ID, not '{bad}'$"):
            parse_test_device(bad)


# --- credentials ----------------------------------------------------------------------------------------
EVERYTHING = {ENV["leanplum_app_id"]: "app_real", ENV["leanplum_production_key"]: "prod-real",
              ENV["leanplum_development_key"]: "dev-real", ENV["dengage_userkey"]: "user-real",
              ENV["dengage_password"]: "pass-real", ENV["dengage_application_ids"]: " a1 , a2,, "}


def test_credentials_come_from_the_environment_and_only_keys_count_as_secrets() -> None:
    credentials = Credentials.from_environment(EVERYTHING, fake=False)
    assert credentials.leanplum_app_id == "app_real" and credentials.dengage_application_ids == ("a1", "a2")
    assert credentials.secrets() == {"PUSHFAKE_LEANPLUM_PRODUCTION_KEY": "prod-real",
                                     "PUSHFAKE_LEANPLUM_DEVELOPMENT_KEY": "dev-real",
                                     "PUSHFAKE_DENGAGE_USERKEY": "user-real", "PUSHFAKE_DENGAGE_PASSWORD": "pass-real"}
    assert credentials.missing("leanplum") == [] == credentials.missing("dengage")


def test_a_fake_target_falls_back_to_the_fixture_credentials_which_are_not_secrets() -> None:
    credentials = Credentials.from_environment({}, fake=True)
    assert credentials.leanplum_production_key == FIXTURE_CREDENTIALS["leanplum_production_key"]
    assert len(credentials.dengage_application_ids) == 2
    assert credentials.secrets() == {}
    mixed = Credentials.from_environment({ENV["dengage_password"]: "given"}, fake=True)
    assert mixed.secrets() == {"PUSHFAKE_DENGAGE_PASSWORD": "given"}


def test_a_real_target_without_credentials_names_what_is_missing() -> None:
    credentials = Credentials.from_environment({ENV["leanplum_app_id"]: "app", ENV["dengage_password"]: ""},
                                               fake=False)
    assert credentials.missing("leanplum") == ["PUSHFAKE_LEANPLUM_PRODUCTION_KEY", "PUSHFAKE_LEANPLUM_DEVELOPMENT_KEY"]
    assert credentials.missing("dengage") == ["PUSHFAKE_DENGAGE_USERKEY", "PUSHFAKE_DENGAGE_PASSWORD",
                                              "PUSHFAKE_DENGAGE_APPLICATION_IDS"]


def test_opening_a_real_target_without_credentials_fails_naming_the_variables() -> None:
    settings = ContractSettings(targets=parse_targets(["http://127.0.0.1:9"]))  # a dry run: tests/contract/test_dry_run.py
    with pytest.raises(SettingsError) as error:
        open_target(settings, environ={})
    assert str(error.value) == ("a real deployment needs its credentials in the environment: set "
                                + ", ".join(ENV.values()))
    only_leanplum = {k: v for k, v in EVERYTHING.items() if "LEANPLUM" in k}
    with pytest.raises(SettingsError, match=r"set PUSHFAKE_DENGAGE_USERKEY, PUSHFAKE_DENGAGE_PASSWORD, "
                                            r"PUSHFAKE_DENGAGE_APPLICATION_IDS$"):
        open_target(settings, environ=only_leanplum)
    target = open_target(ContractSettings(targets=settings.targets, dry_run=True, vendors=("leanplum",)),
                         environ=only_leanplum)
    target.close()


# --- the policy in place: a real target is safe by default and refused requests never leave -----------------
class Recorder(requests.adapters.BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(request)
        response = requests.Response()
        response.status_code, response._content, response.request = 200, b'{"response": [{"success": true}]}', request
        return response

    def close(self) -> None:
        pass


def test_a_real_target_is_safe_by_default_and_refused_requests_never_leave() -> None:
    network = Recorder()
    targets = parse_targets(["http://127.0.0.1:9"])  # nothing listens: the probe finds no pushfake
    target = open_target(ContractSettings(targets=targets, rate=1000.0), environ=EVERYTHING, network=network)
    try:
        assert target.safe and not target.all_fake
        assert target.gate.budget == ContractSettings.DEFAULT_BUDGET
        assert target.gate.rate == 1000.0
        assert target.world.leanplum.users == () and target.world.dengage.tables == ()
        with pytest.raises(Withheld, match="userId 'alice'"):
            Leanplum(target).call("start", {"userId": "alice"})
        with pytest.raises(Withheld, match="no table or segment was named"):
            target.session.post(f"{target.url('dengage')}/rest/push/sendInstant", json={"tableId": TABLE})
        user = target.ids.user()
        assert Leanplum(target).call("start", {"userId": user}).status == 200
        assert [r.url for r in network.requests] == ["http://127.0.0.1:9/api?action=start"]
        assert target.ids.seen == {user}
        assert "prod-real" not in target.gate.log[0].curl and "dev-real" not in target.gate.log[-1].curl
        assert "${PUSHFAKE_LEANPLUM_DEVELOPMENT_KEY}" in target.gate.log[-1].curl
    finally:
        target.close()
