"""Every control-plane route (openapi/control.yaml), through the Python client, against a live
`pushfake serve` subprocess: state, fixtures, gateway, deliveries, journal, clock, faults,
limits, waits, and who may use the control plane."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pushfake import AsyncClient, Client, ControlError, WaitTimeout, __version__
from pushfake.core.resources import default_fixtures
from tests.control.helpers import (
    ACCOUNT,
    APP,
    HTTP_TIMEOUT,
    IOS_TOKEN,
    MOBILE_APP,
    PROD,
    WEB_APP,
    a,
    at,
    close_http,
    dengage_login,
    dengage_report,
    dengage_send,
    drive,
    element,
    faulted,
    http,
    in_background,
    leanplum,
    leanplum_multi,
    off_loop,
    send_message,
    serving,
)

FAST = {"latency": 0.01}
FAST_GATEWAY = {"platforms": {"apns": FAST, "fcm": FAST, "webpush": FAST}}
DENGAGE_DEVICES = ("ayse-iphone", "john-android", "john-firefox", "elif-chrome")
DEFAULT_GATEWAY = yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))["gateway"]


@pytest.fixture(scope="module", autouse=True)
def _shared_http() -> Iterator[None]:
    yield
    close_http()


@pytest.fixture(autouse=True)
def _no_admin_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUSHFAKE_ADMIN_TOKEN", raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """One `pushfake serve --seed 7` for the module (per xdist worker); its URL."""
    with serving("--seed", "7", clean_log=False) as served:
        yield served.url


@pytest.fixture
def control(server: str) -> Iterator[Client]:
    """A client on the module's server, which is back to its world with a running clock and
    the default gateway settings (put back explicitly: a full reset keeps what set_gateway
    set, see test_reset_keep_config_keeps_faults_limits_and_gateway_but_not_the_data)."""
    with Client(server) as client:
        client.unfreeze()
        client.set_gateway(DEFAULT_GATEWAY)
        client.reset()
        yield client


@pytest.fixture
def restore_world(control: Client) -> Iterator[None]:
    """For tests that load another world: the default one is loaded again afterwards."""
    yield
    control.load_fixtures(default_fixtures())


@pytest.fixture(params=[Client, AsyncClient], ids=["Client", "AsyncClient"])
def factory(request: pytest.FixtureRequest) -> Any:
    return request.param


def default_document() -> dict[str, Any]:
    return yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))


def ids(rows: list[dict[str, Any]], key: str = "id") -> list[Any]:
    return [row[key] for row in rows]


def error_of(response: httpx.Response, status: int) -> str:
    """The message of a control-plane error answer, after checking its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}, body
    assert body["error"]["status"] == status and body["error"]["message"], body
    return body["error"]["message"]


# --- server: health, reset, fixtures ------------------------------------------------------------
def test_health_gives_the_version_the_seed_and_the_clock(factory, server, control):
    async def scenario(c: Any) -> None:
        health = await a(c.health())
        assert (health["status"], health["version"], health["seed"]) == ("ok", __version__, 7)
        clock = await a(c.clock())
        assert abs(health["now"] - clock["now"]) < 1.0

    drive(factory, server, scenario)


def test_reset_goes_back_to_the_fixtures_world(control, server):
    control.add_leanplum_user(APP, {"id": "zed"})
    send_message(server, "alice")
    control.wait_for_delivery(device="alice-iphone", timeout=5)
    assert control.journal() and control.deliveries()

    assert control.reset() == {"ok": True}

    with pytest.raises(ControlError) as gone:
        control.leanplum_user(APP, "zed")
    assert gone.value.status == 404
    assert control.deliveries() == [] and control.journal() == []
    assert ids(control.leanplum_users(APP)) == ["alice", "bob", "carol"]


def test_reset_keep_config_keeps_faults_limits_and_gateway_but_not_the_data(control, server):
    control.add_fault({"id": "keep-me", "match": {"vendor": "leanplum", "operation": "track"},
                       "fault": {"kind": "error", "status": 503}})
    control.add_limit({"id": "bucket", "kind": "token-bucket", "vendor": "dengage", "rate": 100})
    before = control.gateway()
    control.set_gateway({"platforms": {"apns": {"latency": 0.25}}})
    changed = control.gateway()
    assert changed != before
    control.add_leanplum_user(APP, {"id": "zed"})

    control.reset(keep_config=True)

    assert ids(control.faults()) == ["keep-me"]
    assert control.limit("bucket")["rate"] == 100
    assert control.gateway() == changed
    assert leanplum(server, "track", userId="alice", event="e").status_code == 503, "the kept rule still fires"
    with pytest.raises(ControlError) as gone:
        control.leanplum_user(APP, "zed")
    assert gone.value.status == 404

    control.reset()

    assert control.faults() == []
    with pytest.raises(ControlError) as no_limit:
        control.limit("bucket")
    assert no_limit.value.status == 404
    assert control.gateway() == before
    assert leanplum(server, "track", userId="alice", event="e").status_code == 200


def _other_world() -> dict[str, Any]:
    return {"leanplum": {"apps": [{
        "id": "app_two", "productionKey": "prod_two", "developmentKey": "dev_two",
        "messages": [{"id": 7, "channel": "push", "title": "Seven"}],
        "users": [{"id": "zoe", "devices": [{"id": "zoe-iphone", "iosPushToken": IOS_TOKEN}]}],
    }]}}


def _as(form: str, document: dict[str, Any], tmp_path: Path) -> Any:
    if form == "dict":
        return document
    text = yaml.safe_dump(document)
    if form == "yaml":
        return text
    path = tmp_path / "world.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("form", ["dict", "yaml", "path"])
def test_load_fixtures_replaces_the_world(control, server, restore_world, tmp_path, form):
    assert control.load_fixtures(_as(form, _other_world(), tmp_path)) == {"ok": True}

    assert ids(control.leanplum_apps()) == ["app_two"]
    assert ids(control.leanplum_users("app_two")) == ["zoe"]
    assert control.dengage_accounts() == []
    assert "control plane" in control.health()["fixtures"]
    ok = leanplum(server, "sendMessage", app="app_two", key="prod_two", userId="zoe", messageId=7)
    assert element(ok)["messagesSent"] == 1, ok.text
    refused = leanplum(server, "start", userId="alice")
    assert element(refused)["success"] is False, "the old app is gone"
    control.reset()
    assert ids(control.leanplum_apps()) == ["app_two"], "a reset goes back to the loaded world"


@pytest.mark.parametrize("form", ["dict", "yaml", "path"])
def test_a_bad_fixtures_document_is_refused_and_the_world_stays(control, restore_world, tmp_path, form):
    control.add_leanplum_user(APP, {"id": "keeper"})
    bad = {"leanplum": {"apps": [{"id": "x", "developmentKey": "d"}]}}

    with pytest.raises(ControlError) as refused:
        control.load_fixtures(_as(form, bad, tmp_path))

    assert refused.value.status == 400
    assert "leanplum.apps[0].productionKey: is required" in refused.value.message
    assert ids(control.leanplum_apps()) == [APP]
    assert control.leanplum_user(APP, "keeper")["id"] == "keeper", "nothing was reset"


def test_load_fixtures_refuses_text_that_is_not_yaml(control, restore_world):
    with pytest.raises(ControlError) as refused:
        control.load_fixtures("leanplum: [")
    assert refused.value.status == 400 and "not valid YAML" in refused.value.message
    assert ids(control.leanplum_apps()) == [APP]


# --- gateway ------------------------------------------------------------------------------------
def test_set_gateway_changes_the_latency_and_a_bad_section_is_400(control, server):
    before = control.gateway()
    control.set_gateway({"platforms": {"apns": {"latency": 0.2}}})
    after = control.gateway()
    assert after != before
    assert after == {"platforms": {"apns": {"latency": 0.2}}}, "a PUT replaces the whole section"
    send_message(server, "alice")
    delivery = control.wait_for_delivery(device="alice-iphone", state="delivered", timeout=5)
    assert at(delivery, "delivered") - at(delivery, "sending") == pytest.approx(0.2, abs=1e-6)

    for section, place in [({"bogus": 1}, "gateway.bogus"),
                           ({"platforms": {"apns": {"latency": -1}}}, "gateway.platforms.apns.latency")]:
        with pytest.raises(ControlError) as refused:
            control.set_gateway(section)
        assert refused.value.status == 400 and place in refused.value.message, refused.value.message
    assert control.gateway() == after, "a refused section changes nothing"


def test_the_gateway_settings_read_can_be_put_back(control):
    """Save the settings, change them, restore them: GET /gateway answers a section PUT takes."""
    saved = control.gateway()
    control.set_gateway({"platforms": {"apns": {"latency": 0.3}}})
    control.set_gateway(saved)
    assert control.gateway() == saved


# --- Leanplum state -----------------------------------------------------------------------------
def test_leanplum_records_are_created_read_and_used_by_the_vendor_api(control, server):
    assert control.leanplum_apps() == [{"id": APP, "name": "pushfake demo app", "productionKey": PROD,
                                        "developmentKey": "dev_pushfake"}]
    control.set_gateway(FAST_GATEWAY)

    user = control.add_leanplum_user(APP, {"id": "dave", "attributes": {"plan": "gold"},
                                           "devices": [{"id": "dave-iphone", "iosPushToken": IOS_TOKEN}]})
    assert (user["id"], user["attributes"], ids(user["devices"])) == ("dave", {"plan": "gold"}, ["dave-iphone"])
    assert control.leanplum_user(APP, "dave")["devices"][0]["iosPushToken"] == IOS_TOKEN
    assert "dave" in ids(control.leanplum_users(APP))

    send_message(server, "dave")
    first = control.wait_for_delivery(user="dave", state="delivered", timeout=5)
    assert (first["device"], first["send"], first["token"]) == ("dave-iphone", "1001", IOS_TOKEN)

    device = control.add_leanplum_device(APP, "dave", {"id": "dave-ipad", "iosPushToken": "b2" * 32})
    assert (device["id"], device["iosPushToken"]) == ("dave-ipad", "b2" * 32)
    assert ids(control.leanplum_user(APP, "dave")["devices"]) == ["dave-iphone", "dave-ipad"]

    message = control.add_leanplum_message(APP, {"id": 3001, "channel": "push", "title": "New", "body": "Hi"})
    assert (str(message["id"]), message["title"], message["body"]) == ("3001", "New", "Hi")
    assert "3001" in [str(m["id"]) for m in control.leanplum_messages(APP)]

    sent = leanplum(server, "sendMessage", userId="dave", messageId=3001)
    assert element(sent)["messagesSent"] == 2, sent.text
    for device_id in ("dave-iphone", "dave-ipad"):
        delivery = control.wait_for_delivery(device=device_id, send="3001", state="delivered", timeout=5)
        assert delivery["payload"]["title"] == "New"


def test_leanplum_unknown_records_are_404_and_duplicates_409(control):
    tries = [
        (404, "no Leanplum app 'nope'", lambda: control.leanplum_users("nope")),
        (404, "no Leanplum app 'nope'", lambda: control.leanplum_user("nope", "alice")),
        (404, "no Leanplum app 'nope'", lambda: control.add_leanplum_user("nope", {"id": "x"})),
        (404, "no Leanplum app 'nope'", lambda: control.add_leanplum_device("nope", "alice", {"id": "x"})),
        (404, "no Leanplum app 'nope'", lambda: control.leanplum_messages("nope")),
        (404, "no Leanplum app 'nope'", lambda: control.add_leanplum_message("nope", {"id": 5, "channel": "push"})),
        (404, "no user 'nobody'", lambda: control.leanplum_user(APP, "nobody")),
        (404, "no user 'nobody'", lambda: control.add_leanplum_device(APP, "nobody", {"id": "x"})),
        (409, "user 'alice' already exists", lambda: control.add_leanplum_user(APP, {"id": "alice"})),
        (409, "device 'bob-pixel' already exists",
         lambda: control.add_leanplum_user(APP, {"id": "newbie", "devices": [{"id": "bob-pixel"}]})),
        (409, "message '1001' already exists",
         lambda: control.add_leanplum_message(APP, {"id": 1001, "channel": "push"})),
    ]
    for status, text, call in tries:
        with pytest.raises(ControlError) as refused:
            call()
        assert (refused.value.status, text in refused.value.message) == (status, True), refused.value
    assert "newbie" not in ids(control.leanplum_users(APP))


def test_adding_a_leanplum_device_id_that_exists_is_409_and_keeps_the_device(control):
    """Like a new user's devices (and D·engage's device add): an existing device id is refused,
    not silently replaced by a device without its push token."""
    for owner, device_id in [("alice", "alice-iphone"), ("alice", "bob-pixel")]:
        with Client(control.url) as client, pytest.raises(ControlError) as refused:
            client.add_leanplum_device(APP, owner, {"id": device_id})
        assert refused.value.status == 409 and device_id in refused.value.message
    alice = control.leanplum_user(APP, "alice")
    assert [(d["id"], d.get("iosPushToken")) for d in alice["devices"]] == [
        ("alice-iphone", "3f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d")]
    assert ids(control.leanplum_user(APP, "bob")["devices"]) == ["bob-pixel"]


@pytest.mark.parametrize(("what", "record", "place"), [
    ("user", {"id": "x", "devices": [{"id": "x-phone", "iosPushToken": "zz"}]}, "devices[0].iosPushToken"),
    ("user", {"id": "x", "attributes": "gold"}, "attributes"),
    ("device", {"id": "x-phone", "iosPushToken": "zz"}, "iosPushToken"),
    ("message", {"id": "abc", "channel": "push"}, "id"),
    ("message", {"id": 9, "channel": "email"}, "channel"),
], ids=["user-token", "user-attributes", "device-token", "message-id", "message-channel"])
def test_a_bad_leanplum_record_is_400_naming_the_place(control, what, record, place):
    calls = {"user": lambda c: c.add_leanplum_user(APP, record),
             "device": lambda c: c.add_leanplum_device(APP, "alice", record),
             "message": lambda c: c.add_leanplum_message(APP, record)}
    with Client(control.url) as client, pytest.raises(ControlError) as refused:
        calls[what](client)
    assert refused.value.status == 400, refused.value
    assert refused.value.message.startswith(f"{place}:"), refused.value.message
    assert "x" not in ids(control.leanplum_users(APP))
    assert ids(control.leanplum_user(APP, "alice")["devices"]) == ["alice-iphone"]


# --- D·engage state -----------------------------------------------------------------------------
NEW_TEMPLATE = "11111111-2222-4333-8444-555555555555"
NEW_SEGMENT = "21111111-2222-4333-8444-555555555555"
NEW_TABLE = "31111111-2222-4333-8444-555555555555"

RECORDS = {
    "contacts": ("key", {"key": "zeynep", "language": "TR", "fields": {"name": "Zeynep", "tier": "gold"},
                         "devices": [{"id": "zeynep-iphone", "applicationId": MOBILE_APP, "platform": "ios",
                                      "token": "c3" * 32}]}),
    "templates": ("id", {"id": NEW_TEMPLATE, "name": "Hello", "content": {"title": "Hi", "message": "There"}}),
    "segments": ("id", {"id": NEW_SEGMENT, "name": "Silver", "rule": [{"field": "tier", "equals": "silver"}]}),
    "tables": ("id", {"id": NEW_TABLE, "name": "Few", "contacts": ["ayse"]}),
}
EXISTING = {"contacts": "john", "templates": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
            "segments": "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f", "tables": "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"}


@pytest.mark.parametrize("kind", list(RECORDS))
def test_dengage_records_are_created_and_read(control, kind):
    key, record = RECORDS[kind]
    assert EXISTING[kind] in ids(control.dengage_records(ACCOUNT, kind), key)

    created = control.add_dengage_record(ACCOUNT, kind, record)

    assert created[key] == record[key] and created.get("name") == record.get("name")
    listed = {row[key]: row for row in control.dengage_records(ACCOUNT, kind)}
    assert set(listed) >= {record[key], EXISTING[kind]}
    assert listed[record[key]] == created

    with pytest.raises(ControlError) as duplicate:
        control.add_dengage_record(ACCOUNT, kind, {**record, key: EXISTING[kind]})
    assert duplicate.value.status == 409 and EXISTING[kind] in duplicate.value.message
    for call in (lambda: control.dengage_records("nope", kind), lambda: control.add_dengage_record("nope", kind, record)):
        with pytest.raises(ControlError) as unknown:
            call()
        assert unknown.value.status == 404 and "no D·engage account 'nope'" in unknown.value.message

    control.reset()
    assert record[key] not in ids(control.dengage_records(ACCOUNT, kind), key)


def test_dengage_accounts_contacts_and_devices(control, server):
    (account,) = control.dengage_accounts()
    assert account["id"] == ACCOUNT and account["apiUsers"] == ["pushfake", "pushfake-readonly"]
    assert {app["id"] for app in account["applications"]} == {MOBILE_APP, WEB_APP}
    ayse = control.dengage_contact(ACCOUNT, "ayse")
    assert (ayse["key"], ayse["fields"]["city"], ids(ayse["devices"])) == ("ayse", "Istanbul", ["ayse-iphone"])
    control.set_gateway(FAST_GATEWAY)

    token = "eKq3Zt7xR0uY:APA91bG8xkq2FakeRegistrationTokenForAysePixel0123456789"
    device = control.add_dengage_device(ACCOUNT, "ayse", {"id": "ayse-pixel", "applicationId": MOBILE_APP,
                                                          "platform": "android", "token": token})
    assert (device["id"], device["contactKey"], device["token"]) == ("ayse-pixel", "ayse", token)
    assert ids(control.dengage_contact(ACCOUNT, "ayse")["devices"]) == ["ayse-iphone", "ayse-pixel"]
    tracking_id = dengage_send(server, dengage_login(server))
    delivery = control.wait_for_delivery(send=tracking_id, device="ayse-pixel", state="delivered", timeout=5)
    assert (delivery["user"], delivery["platform"]) == ("ayse", "fcm")

    new_device = {"id": "q", "applicationId": MOBILE_APP, "platform": "ios", "token": "d4" * 32}
    tries = [
        (404, "no contact 'nobody'", lambda: control.dengage_contact(ACCOUNT, "nobody")),
        (404, "no contact 'nobody'", lambda: control.add_dengage_device(ACCOUNT, "nobody", new_device)),
        (404, "no D·engage account 'nope'", lambda: control.dengage_contact("nope", "ayse")),
        (404, "no D·engage account 'nope'", lambda: control.add_dengage_device("nope", "ayse", new_device)),
        (404, "'bogus'", lambda: control.dengage_records(ACCOUNT, "bogus")),
        (409, "device 'ayse-iphone' already exists",
         lambda: control.add_dengage_device(ACCOUNT, "john", {**new_device, "id": "ayse-iphone"})),
        (409, "contact 'ayse' already exists", lambda: control.add_dengage_record(ACCOUNT, "contacts", {"key": "ayse"})),
        (400, "contacts: unknown contact 'nobody'",
         lambda: control.add_dengage_record(ACCOUNT, "tables", {"id": NEW_TABLE, "contacts": ["nobody"]})),
    ]
    for status, text, call in tries:
        with pytest.raises(ControlError) as refused:
            call()
        assert (refused.value.status, text in refused.value.message) == (status, True), refused.value


UNKNOWN_APP = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(("kind", "record", "place"), [
    ("contacts", {"key": "z", "devices": [{"id": "q", "applicationId": MOBILE_APP, "platform": "ios"}]},
     "devices[0].token"),
    ("contacts", {"key": "z", "devices": [{"id": "q", "applicationId": UNKNOWN_APP, "platform": "ios",
                                           "token": "d4" * 32}]}, "devices[0].applicationId"),
    ("templates", {"id": "not-a-uuid", "content": {"title": "t", "message": "m"}}, "id"),
    ("segments", {"id": NEW_SEGMENT, "rule": [{"field": "tier", "equals": "gold", "in": ["x"]}]}, "rule[0]"),
    ("tables", {"id": NEW_TABLE}, "contacts"),
    ("device", {"id": "q", "applicationId": MOBILE_APP, "platform": "ios"}, "token"),
    ("device", {"id": "q", "applicationId": UNKNOWN_APP, "platform": "ios", "token": "d4" * 32}, "applicationId"),
], ids=["contact-token", "contact-application", "template-id", "segment-rule", "table-contacts",
        "device-token", "device-application"])
def test_a_bad_dengage_record_is_400_naming_the_place(control, kind, record, place):
    with Client(control.url) as client, pytest.raises(ControlError) as refused:
        if kind == "device":
            client.add_dengage_device(ACCOUNT, "ayse", record)
        else:
            client.add_dengage_record(ACCOUNT, kind, record)
    assert refused.value.status == 400, refused.value
    assert refused.value.message.startswith(f"{place}:"), refused.value.message
    assert "z" not in ids(control.dengage_records(ACCOUNT, "contacts"), "key")
    assert ids(control.dengage_contact(ACCOUNT, "ayse")["devices"]) == ["ayse-iphone"]


# --- deliveries ---------------------------------------------------------------------------------
def test_deliveries_filter_by_each_field(control, server):
    control.set_gateway({**FAST_GATEWAY, "rules": [{"platform": "fcm", "failNext": 1, "outcome": "UNREGISTERED"}]})
    send_message(server, "alice")
    control.wait_for_delivery(device="alice-iphone", state="delivered", timeout=5)
    send_message(server, "bob")  # the fcm rule fails bob's only attempt
    control.wait_for_delivery(device="bob-pixel", state="failed", timeout=5)
    send_message(server, "carol", 1002)
    control.wait_for_delivery(device="carol-chrome", state="delivered", timeout=5)
    tracking_id = dengage_send(server, dengage_login(server))
    for device in DENGAGE_DEVICES:
        control.wait_for_delivery(device=device, state="delivered", timeout=5)

    everything = control.deliveries()
    devices = ids(everything, "device")
    assert devices[:3] == ["alice-iphone", "bob-pixel", "carol-chrome"] and set(devices[3:]) == set(DENGAGE_DEVICES)
    queued = [at(d, "queued") for d in everything]
    assert queued == sorted(queued), "oldest first"
    alice, bob, carol = everything[:3]

    def devices_of(**filters: Any) -> set[str]:
        return set(ids(control.deliveries(**filters), "device"))

    assert devices_of(vendor="leanplum") == {"alice-iphone", "bob-pixel", "carol-chrome"}
    assert devices_of(vendor="dengage") == set(DENGAGE_DEVICES)
    assert devices_of(app=APP) == {"alice-iphone", "bob-pixel", "carol-chrome"}
    assert devices_of(app=MOBILE_APP) == {"ayse-iphone", "john-android"}, "D·engage: the application id"
    assert devices_of(send="1001") == {"alice-iphone", "bob-pixel"}
    assert devices_of(send=tracking_id) == set(DENGAGE_DEVICES)
    assert devices_of(user="john") == {"john-android", "john-firefox"}
    assert devices_of(device="carol-chrome") == {"carol-chrome"}
    assert devices_of(state="failed") == {"bob-pixel"}
    assert devices_of(state="delivered") == set(devices) - {"bob-pixel"}
    assert devices_of(since=at(carol, "queued")) == {"carol-chrome", *DENGAGE_DEVICES}
    assert devices_of(until=at(bob, "queued")) == {"alice-iphone", "bob-pixel"}
    assert devices_of(since=at(bob, "queued"), until=at(carol, "queued")) == {"bob-pixel", "carol-chrome"}
    assert control.deliveries(limit=2) == everything[-2:], "the newest N"
    assert devices_of(vendor="leanplum", state="delivered", user="alice") == {"alice-iphone"}
    assert control.deliveries(user="nobody") == []
    assert bob["reason"] == "UNREGISTERED" and bob["tokenRejected"] is True
    assert alice["payload"]["title"] == "Your points"


def test_a_delivery_is_read_and_engaged(control, server):
    control.set_gateway(FAST_GATEWAY)
    send_message(server, "alice")
    delivered = control.wait_for_delivery(device="alice-iphone", state="delivered", timeout=5)
    assert control.delivery(delivered["id"]) == delivered

    opened = control.engage(delivered["id"])
    assert [e["kind"] for e in opened["engagements"]] == ["open"]
    clicked = control.engage(delivered["id"], kind="click")
    assert [e["kind"] for e in clicked["engagements"]] == ["open", "click"]
    assert control.delivery(delivered["id"])["engagements"] == clicked["engagements"]

    for call in (lambda: control.delivery("nope"), lambda: control.engage("nope")):
        with pytest.raises(ControlError) as unknown:
            call()
        assert unknown.value.status == 404 and "no delivery 'nope'" in unknown.value.message
    with pytest.raises(ControlError) as bad_kind:
        control.engage(delivered["id"], kind="like")
    assert bad_kind.value.status == 400 and "kind" in bad_kind.value.message


def test_engaging_a_delivery_not_yet_delivered_is_409(control, server):
    control.freeze()  # the gateway's answer never comes while the clock stands still
    send_message(server, "bob")
    (pending,) = control.deliveries(device="bob-pixel")
    assert pending["state"] in ("queued", "sending")

    with pytest.raises(ControlError) as refused:
        control.engage(pending["id"])

    assert refused.value.status == 409 and "only a delivered notification" in refused.value.message
    assert control.delivery(pending["id"])["engagements"] == []


def test_an_engaged_dengage_delivery_counts_in_the_report(control, server):
    control.set_gateway(FAST_GATEWAY)
    token = dengage_login(server)
    tracking_id = dengage_send(server, token)
    for device in DENGAGE_DEVICES:
        control.wait_for_delivery(send=tracking_id, device=device, state="delivered", timeout=5)
    before = dengage_report(server, token, tracking_id).json()["data"]
    assert (before["totalDeliveredCount"], before["totalOpenCount"]) == (4, 0)

    (elif_chrome,) = control.deliveries(send=tracking_id, device="elif-chrome")
    control.engage(elif_chrome["id"], kind="open")

    after = dengage_report(server, token, tracking_id).json()["data"]
    assert after["totalOpenCount"] == 1
    assert {t["itemName"]: t["openCount"] for t in after["deviceTypes"]} == {"Android": 0, "Web": 1, "iOS": 0}


def test_deliveries_through_either_client(factory, server, control):
    control.set_gateway(FAST_GATEWAY)

    async def scenario(c: Any) -> None:
        await off_loop(send_message, server, "carol", 1002)
        waited = await a(c.wait_for_delivery(device="carol-chrome", state="delivered", timeout=5))
        (listed,) = await a(c.deliveries(user="carol", vendor="leanplum"))
        assert listed == waited == await a(c.delivery(waited["id"]))
        assert (listed["send"], listed["platform"], listed["state"]) == ("1002", "webpush", "delivered")
        engaged = await a(c.engage(listed["id"]))
        assert [e["kind"] for e in engaged["engagements"]] == ["open"]

    drive(factory, server, scenario)


# --- journal ------------------------------------------------------------------------------------
def test_journal_filters_by_each_field_and_clears(control, server):
    assert leanplum(server, "start", userId="alice").status_code == 200
    multi = leanplum_multi(server, [{"action": "track", "userId": "alice", "event": "e"},
                                    {"action": "sendMessage", "userId": "carol", "messageId": 1002}])
    assert multi.status_code == 200, multi.text
    assert leanplum(server, "bogus", userId="bob").status_code == 400
    dengage_send(server, dengage_login(server))
    entries = control.journal()
    assert [e["operation"] for e in entries] == ["start", "multi", "bogus", "login", "sendInstantPush"]
    start, multi_entry, bogus, login, send = entries
    assert multi_entry["items"] == ["track", "sendMessage"]
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)

    def seqs(**filters: Any) -> list[int]:
        return [e["seq"] for e in control.journal(**filters)]

    assert seqs(vendor="leanplum") == [start["seq"], multi_entry["seq"], bogus["seq"]]
    assert seqs(vendor="dengage") == [login["seq"], send["seq"]]
    assert seqs(operation="start") == [start["seq"]]
    assert seqs(operation="sendMessage") == [multi_entry["seq"]], "an action inside a multi"
    assert seqs(operation="track") == [multi_entry["seq"]]
    assert seqs(operation="sendInstantPush") == [send["seq"]]
    assert seqs(app=APP) == [start["seq"], multi_entry["seq"], bogus["seq"]]
    assert seqs(app=ACCOUNT) == [login["seq"], send["seq"]]
    assert seqs(user="bob") == [bogus["seq"]]
    assert seqs(user="pushfake") == [login["seq"], send["seq"]]
    assert seqs(status=400) == [bogus["seq"]]
    assert seqs(status=200) == [start["seq"], multi_entry["seq"], login["seq"], send["seq"]]
    assert seqs(since=multi_entry["at"]) == [e["seq"] for e in entries[1:]]
    assert seqs(until=multi_entry["at"]) == [start["seq"], multi_entry["seq"]]
    assert seqs(after=bogus["seq"]) == [login["seq"], send["seq"]]
    assert seqs(limit=2) == [login["seq"], send["seq"]], "the newest N"
    assert seqs(vendor="leanplum", status=200, operation="track") == [multi_entry["seq"]]
    assert start["params"]["userId"] == "alice" and start["response"]["response"][0]["success"] is True

    assert control.clear_journal() == {"ok": True}
    assert control.journal() == []
    leanplum(server, "start", userId="bob")
    (next_entry,) = control.journal()
    assert (next_entry["operation"], next_entry["user"]) == ("start", "bob")


def test_the_journal_keeps_only_the_newest_journal_size_requests():
    with serving("--journal-size", "5") as served, Client(served.url) as client:
        for n in range(1, 9):
            assert leanplum(served.url, "start", userId=f"u{n}").status_code == 200
        entries = client.journal()
        assert [e["user"] for e in entries] == [f"u{n}" for n in range(4, 9)]
        assert [e["seq"] for e in entries] == [4, 5, 6, 7, 8]
        raw = http().get(f"{served.url}/_pushfake/journal", timeout=HTTP_TIMEOUT).json()
        assert raw["size"] == 5 and len(raw["entries"]) == 5
        leanplum(served.url, "start", userId="u9")
        assert [e["seq"] for e in client.journal()] == [5, 6, 7, 8, 9]


# --- clock --------------------------------------------------------------------------------------
def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_clock_freeze_advance_set_and_unfreeze(control):
    running = control.clock()
    assert (running["kind"], running["frozen"]) == ("system", False)

    frozen = control.freeze()
    assert frozen["frozen"] is True
    assert control.clock()["now"] == control.clock()["now"] == control.health()["now"] == frozen["now"]

    advanced = control.advance(2.5)
    assert advanced["now"] == pytest.approx(frozen["now"] + 2.5, abs=1e-6) and advanced["frozen"] is True

    target = math.ceil(advanced["now"]) + 3600
    by_iso = control.set_time(_iso(target))
    assert by_iso["now"] == target and by_iso["iso"] == _iso(target).replace("Z", ".000Z")
    by_epoch = control.set_time(target + 60.5)
    assert by_epoch["now"] == target + 60.5 and control.clock()["now"] == target + 60.5

    for call, text in [(lambda: control.set_time(target), "cannot go backwards"),
                       (lambda: control.set_time("yesterday-ish"), "is not a time"),
                       (lambda: control.advance(-1), "seconds")]:
        with pytest.raises(ControlError) as refused:
            call()
        assert refused.value.status == 400 and text in refused.value.message, refused.value
    assert control.clock()["now"] == target + 60.5, "a refused move changes nothing"

    unfrozen = control.unfreeze()
    assert unfrozen["frozen"] is False
    assert 0 <= unfrozen["now"] - (target + 60.5) < 1.0, "it runs on from the frozen moment"


def test_a_delivery_completes_when_a_frozen_clock_is_advanced_past_the_latency(control, server):
    control.set_gateway({"platforms": {"apns": {"latency": 0.5}}})
    control.freeze()
    send_message(server, "alice")
    (pending,) = control.deliveries(device="alice-iphone")
    assert pending["state"] != "delivered"

    control.advance(0.4)
    assert control.delivery(pending["id"])["state"] != "delivered", "not yet: 0.4 s of 0.5 s"
    control.advance(0.2)

    done = control.delivery(pending["id"])
    assert done["state"] == "delivered"
    assert at(done, "delivered") - at(done, "queued") == pytest.approx(0.5, abs=1e-6)


# --- faults and limits --------------------------------------------------------------------------
def test_fault_rules_are_added_read_listed_removed_and_cleared(control, server):
    rule = {"id": "lp-start", "match": {"vendor": "leanplum", "operation": "start"},
            "fault": {"kind": "error", "status": 503}}
    added = control.add_fault(rule)
    assert (added["id"], added["match"], added["fault"]["kind"], added["fired"]) == (
        "lp-start", rule["match"], "error", 0)
    assert ids(control.faults()) == ["lp-start"]

    assert leanplum(server, "start", userId="alice").status_code == 503
    assert leanplum(server, "track", userId="alice", event="e").status_code == 200, "not matched"
    (entry,) = control.journal(operation="start")
    assert (entry["status"], entry["fault"]) == (503, "lp-start: error 503")
    assert (control.fault("lp-start")["seen"], control.fault("lp-start")["fired"]) == (1, 1)

    in_multi = control.add_fault({"match": {"operation": "sendMessage"}, "fault": {"kind": "error", "status": 502}})
    assert in_multi["id"] and in_multi["id"] != "lp-start"
    multi = leanplum_multi(server, [{"action": "track", "userId": "alice", "event": "e"},
                                    {"action": "sendMessage", "userId": "alice", "messageId": 1001}])
    assert multi.status_code == 502, "an action inside a multi matches"
    assert ids(control.faults()) == ["lp-start", in_multi["id"]]

    assert control.remove_fault("lp-start") == {"ok": True}
    for call in (lambda: control.fault("lp-start"), lambda: control.remove_fault("lp-start")):
        with pytest.raises(ControlError) as gone:
            call()
        assert gone.value.status == 404
    assert leanplum(server, "start", userId="alice").status_code == 200

    assert control.clear_faults() == {"ok": True}
    assert control.faults() == []
    with pytest.raises(ControlError) as bad:
        control.add_fault({"fault": {"kind": "error"}})
    assert bad.value.status == 400 and "fault.status" in bad.value.message


def test_faulted_scopes_a_rule_to_its_block(factory, server, control):
    async def scenario(c: Any) -> None:
        rule = {"match": {"vendor": "leanplum", "operation": "start"}, "fault": {"kind": "error", "status": 503}}
        async with faulted(c, rule) as added:
            assert ids(await a(c.faults())) == [added["id"]]
            inside = await off_loop(leanplum, server, "start", userId="alice")
            assert inside.status_code == 503
        assert await a(c.faults()) == []
        after = await off_loop(leanplum, server, "start", userId="alice")
        assert after.status_code == 200
        entries = await a(c.journal(operation="start"))
        assert [e["fault"] for e in entries] == [f"{added['id']}: error 503", None]

    drive(factory, server, scenario)


def test_limits_are_listed_added_read_removed_and_cleared(control, server):
    built_in = {"leanplum-device-locking", "leanplum-dev-mode-rate", "leanplum-multi-size", "dengage-concurrency"}
    assert set(ids(control.limits())) == built_in
    assert control.limit("dengage-concurrency")["limit"] == 5
    control.freeze()  # no token comes back while the clock stands still

    added = control.add_limit({"id": "lp-bucket", "kind": "token-bucket", "vendor": "leanplum", "rate": 1,
                               "burst": 1, "retryAfter": True})
    assert (added["id"], added["rate"], added["burst"]) == ("lp-bucket", 1, 1)
    assert control.limit("lp-bucket") == added
    assert leanplum(server, "start", userId="alice").status_code == 200
    refused = leanplum(server, "start", userId="alice")
    assert refused.status_code == 429 and element(refused)["error"]["message"] == "Too many requests."
    assert refused.headers["Retry-After"] == "1"
    assert control.journal(status=429)[0]["limit"] == "lp-bucket"

    control.add_limit({"id": "leanplum-multi-size", "kind": "multi-size", "vendor": "leanplum",
                       "users": 1, "actions": 1})
    assert control.limit("leanplum-multi-size")["actions"] == 1, "a built-in limit's numbers replaced"

    assert control.remove_limit("lp-bucket") == {"ok": True}
    for call in (lambda: control.limit("lp-bucket"), lambda: control.remove_limit("lp-bucket")):
        with pytest.raises(ControlError) as gone:
            call()
        assert gone.value.status == 404
    assert leanplum(server, "start", userId="alice").status_code == 200

    assert control.clear_limits() == {"ok": True}
    assert control.limits() == []
    with pytest.raises(ControlError) as bad:
        control.add_limit({"kind": "token-bucket", "vendor": "leanplum"})
    assert bad.value.status == 400 and "rate" in bad.value.message
    control.reset()
    assert set(ids(control.limits())) == built_in, "a full reset brings the built-in limits back"


# --- bad requests -------------------------------------------------------------------------------
def test_unknown_filter_names_are_400(control, server):
    for path in ("deliveries", "journal"):
        response = http().get(f"{server}/_pushfake/{path}", params={"bogus": "1"}, timeout=HTTP_TIMEOUT)
        assert "unknown filter 'bogus'" in error_of(response, 400)
    for call, text in [(lambda: control.wait_for_delivery(bogus="1", timeout=1), "unknown filter 'bogus'"),
                       (lambda: control.wait_for_request(limit=1, timeout=1), "unknown filter 'limit'"),
                       (lambda: control.deliveries(limit=0), "'limit' must be >= 1"),
                       (lambda: control.journal(status="ok"), "filter 'status'")]:  # type: ignore[arg-type]
        with pytest.raises(ControlError) as refused:
            call()
        assert refused.value.status == 400 and text in refused.value.message, refused.value


def test_an_unknown_control_route_is_404_in_the_control_error_shape(server):
    response = http().get(f"{server}/_pushfake/x", timeout=HTTP_TIMEOUT)
    assert error_of(response, 404) == "Not found: /_pushfake/x"
    wrong_method = http().delete(f"{server}/_pushfake/health", timeout=HTTP_TIMEOUT)
    assert error_of(wrong_method, 405) == "Method DELETE not allowed."


# --- waits --------------------------------------------------------------------------------------
def test_wait_for_delivery_returns_as_soon_as_the_delivery_is_there(factory, server, control):
    control.set_gateway({"platforms": {"apns": {"latency": 0.05}}})
    offset = control.clock()["now"] - time.time()  # server clock minus this machine's

    async def scenario(c: Any) -> None:
        waiting = in_background(c, "wait_for_delivery", device="alice-iphone", state="delivered", timeout=5)
        await asyncio.sleep(0.3)  # let the long poll reach the server first
        assert not waiting.done()
        sent_at = time.time()
        await off_loop(send_message, server, "alice")
        delivery, returned_at = await asyncio.wait_for(waiting, 10)
        assert isinstance(delivery, dict), delivery
        assert delivery["device"] == "alice-iphone" and delivery["state"] == "delivered"
        assert returned_at > sent_at
        assert -0.05 <= (returned_at + offset) - at(delivery, "delivered") < 1.0

    drive(factory, server, scenario)


def test_a_wait_with_nothing_matching_times_out(factory, server):
    async def scenario(c: Any) -> None:
        started = time.monotonic()
        with pytest.raises(WaitTimeout):
            await a(c.wait_for_delivery(device="nobody-phone", timeout=0.5))
        assert 0.5 <= time.monotonic() - started < 1.5

    drive(factory, server, scenario)


def test_wait_for_request_returns_the_journal_entry(factory, server, control):
    async def scenario(c: Any) -> None:
        waiting = in_background(c, "wait_for_request", operation="sendMessage", timeout=5)
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await off_loop(send_message, server, "bob")
        entry, _ = await asyncio.wait_for(waiting, 10)
        assert isinstance(entry, dict), entry
        assert (entry["operation"], entry["vendor"], entry["user"], entry["status"]) == (
            "sendMessage", "leanplum", "bob", 200)
        assert entry["response"]["response"][0]["messagesSent"] == 1
        assert entry == (await a(c.journal(operation="sendMessage")))[0]

    drive(factory, server, scenario)


def test_a_wait_with_a_match_already_there_returns_at_once(factory, server, control):
    control.set_gateway(FAST_GATEWAY)
    send_message(server, "alice")
    delivered = control.wait_for_delivery(device="alice-iphone", state="delivered", timeout=5)

    async def scenario(c: Any) -> None:
        started = time.monotonic()
        again = await a(c.wait_for_delivery(device="alice-iphone", state="delivered", timeout=5))
        request = await a(c.wait_for_request(operation="sendMessage", user="alice", timeout=5))
        assert time.monotonic() - started < 0.5
        assert again["id"] == delivered["id"] and request["user"] == "alice"

    drive(factory, server, scenario)


def test_a_wait_for_a_state_the_delivery_reaches_later_wakes_up(control, server):
    """The long poll must wake at every change of a delivery, not only when one is written
    back: here the move to `sending` (the clock is frozen, so the answer never comes)."""
    control.freeze()
    result: dict[str, Any] = {}

    def wait() -> None:
        with Client(server) as client:
            try:
                result["delivery"] = client.wait_for_delivery(device="alice-iphone", state="sending", timeout=1.5)
            except WaitTimeout as exc:
                result["timeout"] = exc
            result["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)  # let the long poll reach the server first
    sent = time.monotonic()
    send_message(server, "alice")
    waiter.join(10)
    assert "delivery" in result, "the wait missed the move to sending"
    assert result["delivery"]["state"] == "sending"
    assert result["at"] - sent < 1.0, "the wait found the delivery only when its timeout ran out"


# --- who may use the control plane --------------------------------------------------------------
def test_a_server_on_a_public_address_needs_the_admin_token():
    with serving("--host", "0.0.0.0", "--admin-token", "s3cret") as served:
        assert served.admin_token == "s3cret"
        raw = http().get(f"{served.url}/_pushfake/health", timeout=HTTP_TIMEOUT)
        assert "admin token" in error_of(raw, 401) and raw.headers["www-authenticate"] == "Bearer"
        for token in (None, "wrong"):
            with Client(served.url, admin_token=token) as refused, pytest.raises(ControlError) as denied:
                refused.reset()
            assert denied.value.status == 401
        header = http().get(f"{served.url}/_pushfake/clock", headers={"X-Pushfake-Admin-Token": "s3cret"},
                           timeout=HTTP_TIMEOUT)
        assert header.status_code == 200 and header.json()["kind"] == "system"

        with Client(served.url, admin_token="s3cret") as client:
            assert client.health()["status"] == "ok"
            assert client.reset() == {"ok": True}
            started = leanplum(served.url, "start", userId="alice", deviceId="alice-iphone")
            assert started.status_code == 200 and element(started)["success"] is True, "vendor routes need no token"
            assert dengage_login(served.url)
            assert ids(client.journal(), "operation") == ["start", "login"]


def test_a_server_on_a_public_address_makes_up_a_token_and_prints_it():
    with serving("--host", "0.0.0.0") as served:
        token = served.admin_token
        assert token and len(token) >= 16
        with Client(served.url) as anonymous, pytest.raises(ControlError) as denied:
            anonymous.health()
        assert denied.value.status == 401
        with Client(served.url, admin_token=token) as client:
            assert client.health()["status"] == "ok"
            assert ids(client.leanplum_apps()) == [APP]


def test_a_loopback_server_ignores_admin_tokens(server):
    for token in (None, "wrong"):
        with Client(server, admin_token=token) as client:
            assert client.health()["status"] == "ok"
            assert client.clock()["kind"] == "system"


def test_tenants_are_isolated(control, server, restore_world):
    world = default_document()
    world["dengage"]["accounts"].append({
        "id": "acc_other", "name": "another account",
        "apiUsers": [{"userkey": "other", "password": "other-secret", "permissions": ["Push.Manage"]}],
        "applications": [{"id": "4c2a8d1f-6b3e-4f5a-9c7d-1e2f3a4b5c6e", "name": "other", "platform": "mobile"}],
    })
    world["leanplum"]["apps"].append({
        "id": "app_other", "productionKey": "prod_other", "developmentKey": "dev_other",
        "messages": [{"id": 1001, "channel": "push", "title": "Other"}], "users": [{"id": "olga"}],
    })
    control.load_fixtures(world)
    assert ids(control.dengage_accounts()) == [ACCOUNT, "acc_other"]

    mine, theirs = dengage_login(server), dengage_login(server, "other", "other-secret")
    tracking_id = dengage_send(server, mine)
    assert dengage_report(server, mine, tracking_id).status_code == 200
    foreign = dengage_report(server, theirs, tracking_id)
    assert foreign.status_code == 404 and foreign.json()["code"] == 404, foreign.text
    assert tracking_id in foreign.json()["message"]

    other_app = leanplum(server, "sendMessage", app="app_other", key="prod_other", userId="alice", messageId=1001)
    assert element(other_app) == {"success": True, "warning": {"message": "User not found; request skipped."}}
    wrong_key = leanplum(server, "sendMessage", key="prod_other", userId="alice", messageId=1001)
    assert wrong_key.status_code in (401, 403) and element(wrong_key)["success"] is False, wrong_key.text
    assert element(wrong_key)["error"]["message"] == "Invalid access key"
    assert control.deliveries(vendor="leanplum") == [], "nothing reached alice"
    assert json.dumps(control.leanplum_users("app_other")).count("alice") == 0
