"""The inbox page and its fragments, rendered on the server: devices of both vendors, what each
received, filters, paging, engagement, the request log, the state panel, escaping, bad input."""

from __future__ import annotations

import json

import pytest

from tests.dengage.helpers import GOLD_SEGMENT, SALE_TEMPLATE
from tests.gateway.helpers import leanplum_token
from tests.inbox.dom import parse
from tests.inbox.pages import (
    INBOX,
    SALE,
    dengage_send,
    inbox,
    leanplum_send,
    many_deliveries,
    notification,
    owners,
    shown_ids,
)
from tests.leanplum.helpers import element, post

DEFAULT_DEVICES = {
    ("leanplum", "alice", "alice-iphone", "apns"), ("leanplum", "bob", "bob-pixel", "fcm"),
    ("leanplum", "carol", "carol-chrome", "webpush"), ("dengage", "ayse", "ayse-iphone", "apns"),
    ("dengage", "john", "john-android", "fcm"), ("dengage", "john", "john-firefox", "webpush"),
    ("dengage", "elif", "elif-chrome", "webpush"),
}


def device_rows(page):
    return {(s.attrs["data-vendor"], s.attrs["data-owner"], a.attrs["data-device"], a.attrs["data-platform"])
            for s in page.all("section", "owner") for a in s.all("article", "device")}


# --- devices ---------------------------------------------------------------------------------------
def test_every_device_of_both_vendors_is_listed_under_its_owner_before_any_send(client):
    page = inbox(client)
    assert device_rows(page) == DEFAULT_DEVICES
    assert {a.attrs["data-token-state"] for a in page.all("article", "device")} == {"active"}
    ayse = page.one("article", "device", data_device="ayse-iphone")
    assert ayse.one("span", "language").text == "TR" and ayse.one("span", "app").text == "pushfake mobile"
    alice = page.one("article", "device", data_device="alice-iphone")
    assert alice.one("span", "language").text == "en_US" and alice.one("span", "app").text == "app_pushfake"
    assert page.one("section", "owner", data_owner="john").one("h2").text == "D·engage john"
    assert not page.all("li", "notification")
    assert page.by_id("clock").text == "2026-01-01T00:00:00.000Z"


def test_sends_through_both_vendors_show_on_the_right_devices_with_title_body_image_state_and_timeline(client, fake):
    assert leanplum_send(client, "alice", values={"name": "Sam"}) == 1
    tracking = dengage_send(client, {"content": {"templateId": SALE_TEMPLATE}, "segmentId": GOLD_SEGMENT})
    inline = dengage_send(client, {"content": SALE, "segmentId": GOLD_SEGMENT})
    fake.run_until_idle()

    page = inbox(client)
    [alice] = fake.deliveries.find(device_id="alice-iphone")
    shown = notification(page.one("article", "device", data_device="alice-iphone"), alice.id)
    assert shown.attrs["data-state"] == "delivered" and shown.attrs["data-send"] == "1001"
    assert (shown.one(cls="title").text, shown.one(cls="body").text) == ("Your points", "You have 100 points waiting, Sam!")
    assert shown.one("time", "at").attrs["datetime"] == "2026-01-01T00:00:00.000Z"
    assert [li.attrs["data-state"] for li in shown.one("ol", "timeline").all("li")] == ["queued", "sending", "delivered"]
    assert not shown.all("img") and shown.attrs["data-opened"] == "false"
    assert shown.attrs["tabindex"] == "0" and shown.attrs["role"] == "button"

    ayse = page.one("article", "device", data_device="ayse-iphone")
    newest, older = ayse.all("li", "notification")  # newest first
    assert (newest.attrs["data-send"], older.attrs["data-send"]) == (inline, tracking)
    assert older.one(cls="title").text == "Hafta sonu indirimi" and older.one(cls="body").text.startswith("Ayşe,")
    assert newest.one("img", "image").attrs["src"] == "https://img.example/sale.png"
    elif_titles = [li.one(cls="title").text for li in page.one("article", "device", data_device="elif-chrome")
                   .all("li", "notification")]
    assert elif_titles == ["Weekend sale", "Weekend sale"]
    assert not page.one("article", "device", data_device="john-android").all("li", "notification")


def test_a_failed_delivery_shows_the_gateways_reason_and_the_device_its_token_state(client, fake):
    response = client.put("/_pushfake/gateway", json={"rules": [
        {"token": leanplum_token(fake, "apns"), "failNext": 1, "outcome": "Unregistered"}]})
    assert response.status_code == 200, response.text
    leanplum_send(client, "alice")
    fake.run_until_idle()

    page = inbox(client)
    device = page.one("article", "device", data_device="alice-iphone")
    assert device.attrs["data-token-state"] == "unregistered" and device.one(cls="token-state").text == "unregistered"
    [failed] = device.all("li", "notification")
    assert failed.attrs["data-state"] == "failed" and failed.one(cls="state").text == "failed"
    assert failed.one(cls="reason").text == "Unregistered"
    assert failed.one("ol", "timeline").all("li")[-1].text.endswith("Unregistered")
    assert "role" not in failed.attrs and "tabindex" not in failed.attrs, "only a delivered notification opens"


def test_a_delivery_still_in_flight_shows_its_current_state(client, fake):
    leanplum_send(client, "alice")
    page = inbox(client)
    [li] = page.all("li", "notification")
    assert li.attrs["data-state"] in ("queued", "sending") and not li.all(cls="reason")


# --- engagement -----------------------------------------------------------------------------------
def test_an_open_recorded_through_the_control_plane_shows_as_opened(client, fake):
    leanplum_send(client, "alice")
    fake.run_until_idle()
    [delivery] = fake.deliveries.find()
    assert notification(inbox(client), delivery.id).attrs["data-opened"] == "false"
    assert client.post(f"/_pushfake/deliveries/{delivery.id}/engage", json={"kind": "open"}).status_code == 200
    shown = notification(inbox(client, "/devices"), delivery.id)
    assert shown.attrs["data-opened"] == "true" and shown.one(cls="opened").text == "opened"


# --- filters --------------------------------------------------------------------------------------
@pytest.fixture
def mixed(client, fake):
    """Sends through both vendors, one of them failing: (fake, leanplum send id, D·engage tracking id)."""
    client.put("/_pushfake/gateway", json={"rules": [
        {"token": leanplum_token(fake, "fcm"), "failNext": 1, "outcome": "UNREGISTERED"}]})
    for user in ("alice", "bob", "carol"):
        leanplum_send(client, user, values={"name": user.title()})
    tracking = dengage_send(client, {"content": {"templateId": SALE_TEMPLATE}, "segmentId": GOLD_SEGMENT})
    fake.run_until_idle()
    return fake, "1001", tracking


def ids(rows):
    return {d.id for d in rows}


@pytest.mark.parametrize(("params", "expected"), [
    ({"vendor": "leanplum"}, {"vendor": "leanplum"}),
    ({"vendor": "dengage"}, {"vendor": "dengage"}),
    ({"state": "failed"}, {"state": "failed"}),
    ({"state": "delivered", "vendor": "leanplum"}, {"state": "delivered", "vendor": "leanplum"}),
    ({"send": "1001"}, {"send_id": "1001"}),
])
def test_each_filter_and_their_combination_keeps_exactly_the_matching_notifications(client, mixed, params, expected):
    fake, _, _ = mixed
    wanted = ids(fake.deliveries.find(**expected))
    assert wanted, "the filter must select something for the test to mean anything"
    for path in ("", "/devices"):
        page = inbox(client, path, **params)
        assert shown_ids(page) == wanted
        kept_devices = {d.device_id for d in fake.deliveries.find(**expected)}
        assert {a.attrs["data-device"] for a in page.all("article", "device")} == kept_devices, \
            "a filter leaves out devices without a match"


def test_the_send_filter_takes_a_tracking_id_and_the_form_shows_the_filters_in_force(client, mixed):
    fake, _, tracking = mixed
    page = inbox(client, send=tracking, state="delivered")
    assert shown_ids(page) == ids(fake.deliveries.find(send_id=tracking))
    assert {o for _, o in owners(page)} == {"ayse", "elif"}
    form = page.by_id("filters")
    assert form.one("input", name="send").attrs["value"] == tracking
    assert "selected" in form.one("select", name="state").one("option", value="delivered").attrs


def test_text_search_is_case_insensitive_over_title_body_user_device_and_send(client, mixed):
    fake, _, tracking = mixed
    by_device = {d.device_id: d.id for d in fake.deliveries.find()}
    assert shown_ids(inbox(client, q="hafta SONU")) == {by_device["ayse-iphone"]}  # a title
    assert shown_ids(inbox(client, q="waiting, carol")) == {by_device["carol-chrome"]}  # a body
    assert shown_ids(inbox(client, q="BOB")) == {by_device["bob-pixel"]}  # a user (and its body)
    assert shown_ids(inbox(client, q="elif-chr")) == {by_device["elif-chrome"]}  # a device
    assert shown_ids(inbox(client, q=tracking.upper()[:13])) == {by_device["ayse-iphone"], by_device["elif-chrome"]}
    assert shown_ids(inbox(client, q="carol", vendor="dengage")) == set()
    assert "No notification matches" in inbox(client, q="nothing like this").by_id("devices").text


def test_empty_form_fields_mean_no_filter(client, mixed):
    fake, _, _ = mixed
    page = inbox(client, vendor="", send="", state="", q="")
    assert shown_ids(page) == ids(fake.deliveries.find())
    assert device_rows(page) == DEFAULT_DEVICES


@pytest.mark.parametrize("query", [
    "vendor=onesignal", "state=lost", "state=Delivered", "page=0", "page=-1", "page=two", "page=1.5",
    "colour=red", "vendor=leanplum&vendor=dengage", "before=abc", "q=" + "x" * 201, "device=d&before=nope",
])
@pytest.mark.parametrize("path", ["", "/devices"])
def test_a_bad_filter_is_a_400_that_says_what_is_wrong_never_a_500(client, query, path):
    response = client.get(f"{INBOX}{path}?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    message = parse(response.text).one(cls="message").text
    name = query.split("=", 1)[0]
    assert name in message or "before" in message, message


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "limit=1001", "vendor=leanplum"])
def test_a_bad_request_log_parameter_is_a_400(client, query):
    response = client.get(f"{INBOX}/requests?{query}")
    assert response.status_code == 400 and "limit" in parse(response.text).one(cls="message").text


# --- paging ---------------------------------------------------------------------------------------
def test_ten_thousand_deliveries_page_by_device_groups_and_show_twenty_notifications_a_device(client, fake):
    made = many_deliveries(fake, 10_000, devices=500, owners=120)
    first = inbox(client)
    assert first.by_id("devices").attrs["data-count"] == "10000"
    sections = first.all("section", "owner")
    assert 1 <= len(sections) and sum(len(s.all("article", "device")) for s in sections) <= 50
    assert all(len(a.all("li", "notification")) == 20 for a in first.all("article", "device"))
    assert len(first.all("li", "notification")) <= 1000, "one page renders a bounded number of notifications"
    newest = made[-1]
    assert sections[0].attrs["data-owner"] == newest.user_id, "the owner with the newest push comes first"
    assert first.all("li", "notification")[0].attrs["data-delivery"] == newest.id

    pager = first.one("nav", "pager")
    assert not pager.all("a", rel="prev")
    seen, page_no, current = [], 1, first
    while True:
        seen += owners(current)
        following = current.one("nav", "pager").all("a", rel="next")
        if not following:
            break
        page_no += 1
        assert following[0].attrs["href"] == f"{INBOX}?page={page_no}"
        current = inbox(client, page=page_no)
        assert current.one("nav", "pager").one("a", rel="prev").attrs["href"].startswith(INBOX)
    assert len(seen) == len(set(seen)) == 120 + 6, "every owner once (120 busy ones, 6 owning idle devices)"


def test_a_device_with_many_notifications_pages_back_through_older_ones(client, fake):
    made = many_deliveries(fake, 45, devices=1)
    newest_first = [d.id for d in reversed(made)]
    page = inbox(client)
    device = page.one("article", "device", data_device="device-0")
    assert [li.attrs["data-delivery"] for li in device.all("li", "notification")] == newest_first[:20]
    more = device.one("a", "more")
    assert more.text == "25 older"
    seen = newest_first[:20]
    while True:
        response = client.get(more.attrs["href"])
        assert response.status_code == 200
        older = parse(response.text).one("article", "device", data_device="device-0")
        seen += [li.attrs["data-delivery"] for li in older.all("li", "notification")]
        links = older.all("a", "more")
        if not links:
            break
        more = links[0]
        assert more.text == "5 older"
    assert seen == newest_first


def test_a_page_past_the_last_is_empty_and_links_back(client):
    page = inbox(client, page=9)
    assert not page.all("section", "owner")
    assert page.one("nav", "pager").one("a", rel="prev").attrs["href"] == INBOX


# --- request log and state ------------------------------------------------------------------------
def test_the_request_log_shows_newest_first_with_the_warning_error_fault_and_limit_each_call_met(client, fake):
    no_device = post(client, "sendMessage", userId="nobody-here", messageId=1001)
    assert no_device.status_code == 200
    bad_login = client.post("/rest/login", json={"userkey": "pushfake", "password": "wrong"})
    assert bad_login.status_code == 401
    fault = client.post("/_pushfake/faults", json={"match": {"vendor": "leanplum", "operation": "getVars"},
                                                   "fault": {"kind": "error", "status": 503}})
    assert fault.status_code == 201, fault.text
    assert post(client, "getVars", userId="alice").status_code == 503
    limit = client.post("/_pushfake/limits", json={"kind": "token-bucket", "vendor": "leanplum", "rate": 0.001,
                                                   "burst": 1})
    assert limit.status_code == 201, limit.text
    assert post(client, "start", userId="alice").status_code == 200
    limited = post(client, "start", userId="alice")
    assert limited.status_code == 429, limited.text

    rows = inbox(client, "/requests").all("tr", "request")
    entries = list(reversed(fake.journal.find()))
    assert [int(r.attrs["data-seq"]) for r in rows] == [e.seq for e in entries]
    by_seq = {int(r.attrs["data-seq"]): r for r in rows}
    first = by_seq[entries[-1].seq]
    assert (first.attrs["data-vendor"], first.attrs["data-status"]) == ("leanplum", "200")
    warning = element(no_device)["warning"]["message"]
    assert warning and first.one("td", "warning").text == warning
    refused_login = by_seq[entries[-2].seq]
    assert (refused_login.attrs["data-vendor"], refused_login.attrs["data-status"]) == ("dengage", "401")
    assert refused_login.one("td", "warning").text == json.loads(bad_login.text)["message"]
    faulted = next(r for r in rows if r.one("td", "fault").text)
    assert faulted.attrs["data-status"] == "503" and fault.json()["id"] in faulted.one("td", "fault").text
    refused = rows[0]
    assert refused.attrs["data-status"] == "429" and refused.one("td", "limit").text == limit.json()["id"]
    assert inbox(client, "/requests", limit=2).all("tr", "request") == rows[:2]


def test_the_state_panel_lists_faults_limits_and_the_clock(client, fake):
    fault = client.post("/_pushfake/faults", json={"match": {"vendor": "dengage", "operation": "sendInstantPush"},
                                                   "fault": {"kind": "error", "status": 500}}).json()
    fake.advance(5)
    state = inbox(client, "/state").by_id("state")
    [li] = state.one("ul", id="faults").all("li", "fault")
    assert fault["id"] in li.text and "error 500" in li.text and "sendInstantPush" in li.text
    assert state.one("time").attrs["datetime"] == "2026-01-01T00:00:05.000Z"
    assert "manual" in state.one(cls="clock-kind").text
    limits = [limit.id for limit in fake.limits.limits()]
    assert limits, "the default world has rate limits"
    assert [li.attrs["data-id"] for li in state.one("ul", id="limits").all("li", "limit")] == limits
    page = inbox(client)
    assert page.by_id("clock").text == "2026-01-01T00:00:05.000Z"


# --- escaping -------------------------------------------------------------------------------------
def test_hostile_text_in_a_push_or_an_id_is_shown_as_text(client, fake):
    hostile = {"title": "<b>x</b>", "message": '"><script>alert(1)</script>', "mediaUrl": "javascript:alert(1)"}
    dengage_send(client, {"content": hostile, "segmentId": GOLD_SEGMENT})
    assert post(client, "start", userId="<i>u</i>", deviceId="d<1>", iosPushToken="ab" * 32).status_code == 200
    leanplum_send(client, "<i>u</i>", values={"name": "</li><li>"})
    fake.run_until_idle()

    response = client.get(INBOX)
    assert "<b>x</b>" not in response.text and "<script>alert" not in response.text and "<i>u</i>" not in response.text
    page = parse(response.text)
    ayse = page.one("article", "device", data_device="ayse-iphone").one("li", "notification")
    assert ayse.one(cls="title").text == "<b>x</b>" and not ayse.all("b")
    assert ayse.one(cls="body").text == '"><script>alert(1)</script>' and not ayse.all("script")
    assert not ayse.all("img"), "only a web URL becomes an image"
    owner = page.one("section", "owner", data_owner="<i>u</i>")
    assert owner.one("h2").text == "Leanplum <i>u</i>"
    assert owner.one("li", "notification").one(cls="body").text == "You have 100 points waiting, </li><li>!"


def test_a_delivery_stays_under_its_owner_after_the_device_moves_to_another_user(client, fake):
    leanplum_send(client, "alice")
    fake.run_until_idle()
    [delivery] = fake.deliveries.find()
    moved = post(client, "start", userId="zoe", deviceId="alice-iphone", iosPushToken=leanplum_token(fake, "apns"))
    assert moved.status_code == 200 and fake.leanplum.state.device("app_pushfake", "alice-iphone").user_id == "zoe"

    page = inbox(client)
    alice = page.one("section", "owner", data_owner="alice").one("article", "device", data_device="alice-iphone")
    assert [li.attrs["data-delivery"] for li in alice.all("li", "notification")] == [delivery.id]
    zoe = page.one("section", "owner", data_owner="zoe").one("article", "device", data_device="alice-iphone")
    assert not zoe.all("li", "notification"), "the device's new owner received nothing yet"
