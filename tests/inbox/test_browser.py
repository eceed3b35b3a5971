"""The inbox page in a real browser against a live `pushfake serve`: sends through both vendors
appear on the right devices without reloading, the filters, opening a notification (counted in
D·engage's report), a gateway failure, the request log, the state panel, reset, the keyboard and
a phone-sized window. One test saves the screenshot the README shows (docs/inbox.png).

The page's DOM contract these tests rely on is written down in the inbox's module docstring;
deliveries move on in real time here, so every wait is a bounded Playwright wait.
"""

from __future__ import annotations

import re
import struct
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

expect.set_options(timeout=10_000)

REPO = Path(__file__).resolve().parents[2]
APP, PROD = "app_pushfake", "prod_pushfake"
USERKEY, PASSWORD = "pushfake", "pushfake-secret"
GOLD_SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"  # ayse (TR, iPhone) and elif (DE, Chrome)
SALE_TEMPLATE = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"  # EN (default) and TR
DANA_TOKEN = "d4" * 32  # a well-formed APNs token
POINTS = ("Your points", "You have 100 points waiting, friend!")
TR_SALE = ("Hafta sonu indirimi", "Ayşe, pazara kadar her şey %20 indirimli.")
EN_SALE = ("Weekend sale", "Elif, everything is 20% off until Sunday.")
FAIL_NEXT_FCM = {"rules": [{"platform": "fcm", "failNext": 1, "outcome": "UNREGISTERED"}]}
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

browser_test = pytest.mark.browser


# --- the vendors, as a client calls them ----------------------------------------------------------
def leanplum(api: httpx.Client, action: str, **params: Any) -> dict[str, Any]:
    response = api.get("/api", params={"action": action, "appId": APP, "clientKey": PROD, **params})
    assert response.status_code == 200, response.text
    return response.json()["response"][-1]


def leanplum_start_and_send(api: httpx.Client, user: str = "dana", device: str = "dana-phone") -> None:
    """A new user's session with an iPhone, then push message 1001 to her."""
    started = leanplum(api, "start", userId=user, deviceId=device, iosPushToken=DANA_TOKEN, includeDefaults="false")
    assert started["success"] is True, started
    send_message(api, user)


def send_message(api: httpx.Client, user: str, message_id: int = 1001) -> None:
    sent = leanplum(api, "sendMessage", userId=user, messageId=message_id)
    assert sent.get("messagesSent") == 1, sent


def dengage_login(api: httpx.Client) -> str:
    response = api.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def dengage_gold_sale(api: httpx.Client, token: str) -> str:
    """The multi-language template to the "Gold tier" segment; its tracking id."""
    response = api.post("/rest/push/sendInstant", headers={"Authorization": f"Bearer {token}"},
                        json={"content": {"templateId": SALE_TEMPLATE}, "segmentId": GOLD_SEGMENT})
    assert response.status_code == 200 and response.json()["code"] == 0, response.text
    return response.json()["data"]["trackingId"]


def dengage_report(api: httpx.Client, token: str, tracking_id: str) -> dict[str, Any]:
    response = api.get("/rest/push/sendInstant", params={"trackingId": tracking_id},
                       headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def post(api: httpx.Client, path: str) -> None:
    response = api.post(path)
    assert response.status_code == 200, response.text


def set_gateway(api: httpx.Client, section: dict[str, Any]) -> None:
    response = api.put("/_pushfake/gateway", json=section)
    assert response.status_code == 200, response.text


def delivery(api: httpx.Client, delivery_id: str) -> dict[str, Any]:
    response = api.get(f"/_pushfake/deliveries/{delivery_id}")
    assert response.status_code == 200, response.text
    return response.json()


# --- the page -------------------------------------------------------------------------------------
def open_inbox(page: Page, url: str, query: str = "") -> None:
    """Load the inbox and wait until its live connection (server-sent events) is open."""
    response = page.goto(f"{url}/_pushfake/inbox{query}")
    assert response is not None and response.status == 200, response and response.status
    expect(page.locator("body")).to_have_attribute("data-live", "on")


def owner(page: Page, owner_id: str) -> Locator:
    return page.locator(f'#devices section.owner[data-owner="{owner_id}"]')


def device(page: Page, owner_id: str, device_id: str) -> Locator:
    return owner(page, owner_id).locator(f'article.device[data-device="{device_id}"]')


def notifications(page: Page, owner_id: str, device_id: str) -> Locator:
    return device(page, owner_id, device_id).locator("ol.notifications > li.notification")


def all_notifications(page: Page) -> Locator:
    return page.locator("#devices li.notification")


def expect_shown(item: Locator, title: str, body: str, state: str = "delivered") -> None:
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-state", state)
    expect(item.locator(".title")).to_have_text(title)
    expect(item.locator(".body")).to_have_text(body)
    expect(item.locator(".state")).to_have_text(state)


def expect_settled(page: Page, count: int) -> None:
    """`count` notifications shown, none still on its way (queued, sending, retrying)."""
    expect(all_notifications(page)).to_have_count(count)
    expect(page.locator("#devices li.notification:is([data-state=queued], [data-state=sending], "
                        "[data-state=retrying])")).to_have_count(0)


def attributes(items: Locator, name: str) -> list[str]:
    return items.evaluate_all(f"els => els.map(e => e.getAttribute({name!r}))")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# --- tests ----------------------------------------------------------------------------------------
@browser_test
def test_the_inbox_opens_with_every_device_of_the_default_world(page, serve):
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    open_inbox(page, serve.url)

    expect(page.locator("#clock")).to_have_text(ISO_MILLIS)
    for name in ("vendor", "state"):
        expect(page.locator(f"form#filters select[name={name}]")).to_have_count(1)
    expect(page.locator("form#filters input[name=send]")).to_have_count(1)
    expect(page.locator("form#filters input[type=search][name=q]")).to_have_count(1)
    sections = page.locator("#devices section.owner")
    assert sorted(zip(attributes(sections, "data-vendor"), attributes(sections, "data-owner"), strict=True)) == [
        ("dengage", "ayse"), ("dengage", "elif"), ("dengage", "john"),
        ("leanplum", "alice"), ("leanplum", "bob"), ("leanplum", "carol")]
    expect(owner(page, "alice")).to_contain_text("alice")
    alice = device(page, "alice", "alice-iphone")
    expect(alice).to_have_attribute("data-platform", "apns")
    expect(alice).to_have_attribute("data-token-state", "active")
    expect(alice).to_contain_text("apns")
    expect(alice).to_contain_text("active")
    expect(alice).to_contain_text(re.compile("app_pushfake|pushfake demo app"))
    expect(device(page, "ayse", "ayse-iphone")).to_contain_text(re.compile(r"\bTR\b", re.IGNORECASE))
    john = owner(page, "john").locator("article.device")
    assert sorted(zip(attributes(john, "data-device"), attributes(john, "data-platform"), strict=True)) == [
        ("john-android", "fcm"), ("john-firefox", "webpush")]
    expect(all_notifications(page)).to_have_count(0)
    assert fetched and all(url.startswith(serve.url + "/") for url in fetched), f"works offline: {fetched}"


@browser_test
def test_sends_through_both_vendors_appear_live_on_the_right_devices(page, serve, fresh):
    open_inbox(page, serve.url)
    page.evaluate("window.pushfakeNotReloaded = true")  # gone if the page reloads

    leanplum_start_and_send(fresh)
    tracking = dengage_gold_sale(fresh, dengage_login(fresh))

    dana = notifications(page, "dana", "dana-phone")
    expect_shown(dana, *POINTS)
    expect(dana).to_have_attribute("data-send", "1001")
    expect(device(page, "dana", "dana-phone")).to_have_attribute("data-platform", "apns")
    ayse = notifications(page, "ayse", "ayse-iphone")
    expect_shown(ayse, *TR_SALE)
    elif_ = notifications(page, "elif", "elif-chrome")
    expect_shown(elif_, *EN_SALE)
    for item in (ayse, elif_):
        expect(item).to_have_attribute("data-send", tracking)
        expect(item).to_have_attribute("data-opened", "false")
    expect(dana.locator("ol.timeline > li")).to_have_count(3)  # queued, sending, delivered
    expect(dana.locator("ol.timeline > li").last).to_contain_text("delivered")
    assert ISO_MILLIS.match(dana.locator("time.at").get_attribute("datetime") or ""), "time.at has an ISO datetime"
    expect(all_notifications(page)).to_have_count(3)  # nobody else got one (john is not gold, alice not sent to)
    assert page.evaluate("window.pushfakeNotReloaded === true"), "the page reloaded instead of updating live"


@browser_test
def test_a_page_opened_while_pushes_are_in_flight_catches_up(page, serve, fresh):
    """What changes between the page being rendered and its live connection opening is not lost."""
    post(fresh, "/_pushfake/clock/freeze")  # the gateway's answers wait until the clock runs again
    leanplum_start_and_send(fresh)

    def once_changed(route: Route) -> None:
        """Hold the page's event stream until the delivery it has rendered as pending is delivered."""
        post(fresh, "/_pushfake/clock/unfreeze")
        for _ in range(100):
            if [d["state"] for d in fresh.get("/_pushfake/deliveries").json()["deliveries"]] == ["delivered"]:
                break
            time.sleep(0.05)
        route.continue_()

    page.route(re.compile(r"/_pushfake/inbox/events"), once_changed)
    response = page.goto(f"{serve.url}/_pushfake/inbox")
    assert response is not None and response.status == 200
    expect(page.locator("body")).to_have_attribute("data-live", "on")

    expect_shown(notifications(page, "dana", "dana-phone"), *POINTS)


@browser_test
def test_filters_show_only_the_matching_notifications(page, serve, fresh):
    set_gateway(fresh, FAIL_NEXT_FCM)
    open_inbox(page, serve.url)
    leanplum_start_and_send(fresh)
    send_message(fresh, "bob")  # bob-pixel (fcm): the gateway refuses the token
    tracking = dengage_gold_sale(fresh, dengage_login(fresh))
    expect_settled(page, 4)

    page.locator("form#filters select[name=vendor]").select_option("dengage")
    expect(all_notifications(page)).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]vendor=dengage(&|$)"))
    assert set(attributes(page.locator("#devices section.owner"), "data-vendor")) == {"dengage"}
    assert attributes(all_notifications(page), "data-send") == [tracking, tracking]

    open_inbox(page, serve.url)
    page.locator("form#filters input[name=send]").fill("1001")
    page.locator("form#filters input[name=send]").press("Enter")
    expect(all_notifications(page)).to_have_count(2)
    assert sorted(attributes(page.locator("#devices section.owner"), "data-owner")) == ["bob", "dana"]

    open_inbox(page, serve.url)
    page.locator("form#filters select[name=state]").select_option("failed")
    expect(all_notifications(page)).to_have_count(1)
    expect(notifications(page, "bob", "bob-pixel")).to_have_attribute("data-state", "failed")

    open_inbox(page, serve.url)
    page.locator("form#filters input[name=q]").fill("hafta")  # any case: "Hafta sonu indirimi"
    page.locator("form#filters input[name=q]").press("Enter")
    expect(all_notifications(page)).to_have_count(1)
    expect_shown(notifications(page, "ayse", "ayse-iphone"), *TR_SALE)

    open_inbox(page, serve.url, "?vendor=leanplum&state=delivered")  # the filters as a link, no script needed
    expect(all_notifications(page)).to_have_count(1)
    expect_shown(notifications(page, "dana", "dana-phone"), *POINTS)
    expect(page.locator("form#filters select[name=vendor]")).to_have_value("leanplum")


@browser_test
def test_clicking_a_delivered_dengage_notification_counts_an_open_in_the_report(page, serve, fresh):
    open_inbox(page, serve.url)
    token = dengage_login(fresh)
    tracking = dengage_gold_sale(fresh, token)
    elif_ = notifications(page, "elif", "elif-chrome")
    expect_shown(elif_, *EN_SALE)
    expect_settled(page, 2)
    assert dengage_report(fresh, token, tracking)["totalOpenCount"] == 0

    elif_.click()

    expect(elif_).to_have_attribute("data-opened", "true")
    expect(elif_).to_contain_text("opened")
    expect(notifications(page, "ayse", "ayse-iphone")).to_have_attribute("data-opened", "false")
    report = dengage_report(fresh, token, tracking)
    assert (report["totalDeliveredCount"], report["totalOpenCount"]) == (2, 1), report
    assert {t["itemName"]: t["openCount"] for t in report["deviceTypes"]} == {"Web": 1, "iOS": 0}


@browser_test
def test_a_gateway_failure_shows_its_reason_and_the_token_state(page, serve, fresh):
    set_gateway(fresh, FAIL_NEXT_FCM)
    open_inbox(page, serve.url)
    bob_pixel = device(page, "bob", "bob-pixel")
    expect(bob_pixel).to_have_attribute("data-token-state", "active")

    send_message(fresh, "bob")

    bob = notifications(page, "bob", "bob-pixel")
    expect_shown(bob, *POINTS, state="failed")
    expect(bob.locator(".reason")).to_have_text("UNREGISTERED")
    expect(bob.locator("ol.timeline > li").last).to_contain_text("UNREGISTERED")
    expect(bob_pixel).to_have_attribute("data-token-state", "unregistered")
    expect(bob_pixel).to_contain_text("unregistered")
    bob.click()  # a failed notification is not a control: nothing is recorded
    expect(bob).to_have_attribute("data-opened", "false")
    assert delivery(fresh, bob.get_attribute("data-delivery") or "")["engagements"] == []


@browser_test
def test_the_request_log_shows_each_call_with_its_status_warning_and_fault(page, serve, fresh):
    fault = {"id": "carol-503", "match": {"vendor": "leanplum", "operation": "sendMessage", "user": "carol"},
             "fault": {"kind": "error", "status": 503}}
    assert fresh.post("/_pushfake/faults", json=fault).status_code in (200, 201)
    open_inbox(page, serve.url)

    assert leanplum(fresh, "sendMessage", userId="nobody", messageId=1001)["warning"]["message"]
    assert fresh.get("/api", params={"action": "sendMessage", "appId": APP, "clientKey": PROD, "userId": "carol",
                                     "messageId": 1001}).status_code == 503
    refused = fresh.post("/rest/push/sendInstant", headers={"Authorization": "Bearer wrong"}, json={})
    assert refused.status_code == 401

    rows = page.locator("section#requests table tr.request")
    skipped = rows.filter(has_text="User not found; request skipped.")
    expect(skipped).to_have_count(1)
    expect(skipped).to_have_attribute("data-vendor", "leanplum")
    expect(skipped).to_have_attribute("data-status", "200")
    expect(skipped.locator(".warning")).to_have_text("User not found; request skipped.")
    faulted = page.locator('section#requests tr.request[data-status="503"]')
    expect(faulted).to_have_count(1)
    expect(faulted.locator(".fault")).to_contain_text("carol-503")
    expect(faulted.locator(".warning")).to_contain_text("Service unavailable.")
    unauthenticated = page.locator('section#requests tr.request[data-vendor=dengage][data-status="401"]')
    expect(unauthenticated).to_have_count(1)
    expect(unauthenticated.locator(".warning")).to_contain_text("Not authenticated.")
    seqs = [int(s) for s in attributes(rows, "data-seq")]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 3, f"newest first: {seqs}"


@browser_test
def test_the_state_panel_shows_a_fault_rule_the_limits_and_the_clock(page, serve, fresh):
    open_inbox(page, serve.url)
    expect(page.locator("section#state ul#faults > li.fault")).to_have_count(0)
    expect(page.locator("section#state ul#limits > li.limit").filter(has_text="dengage-concurrency")).to_have_count(1)
    expect(page.locator("section#state")).to_contain_text(re.compile("system", re.IGNORECASE))

    rule = {"id": "slow-start", "match": {"vendor": "leanplum", "operation": "start"},
            "fault": {"kind": "latency", "delay": 0.5}}
    assert fresh.post("/_pushfake/faults", json=rule).status_code in (200, 201)
    open_inbox(page, serve.url)

    shown = page.locator("section#state ul#faults > li.fault")
    expect(shown).to_have_count(1)
    for text in ("slow-start", "latency", "start"):
        expect(shown).to_contain_text(text)


@browser_test
def test_the_reset_button_asks_first_then_empties_the_inbox(page, serve, fresh):
    open_inbox(page, serve.url)
    leanplum_start_and_send(fresh)
    dengage_gold_sale(fresh, dengage_login(fresh))
    expect_settled(page, 3)
    asked: list[str] = []

    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.locator("button#reset").click()
    page.wait_for_timeout(300)  # a refused confirm must send nothing; give a wrong POST time to land
    assert asked == ["confirm"]
    assert len(fresh.get("/_pushfake/deliveries").json()["deliveries"]) == 3
    expect(all_notifications(page)).to_have_count(3)

    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    page.locator("button#reset").click()

    expect(all_notifications(page)).to_have_count(0)
    expect(owner(page, "dana")).to_have_count(0)  # made by `start`: gone with the data
    expect(device(page, "alice", "alice-iphone")).to_have_count(1)  # the fixtures' world is back
    assert asked == ["confirm", "confirm"]
    assert fresh.get("/_pushfake/deliveries").json()["deliveries"] == []


@browser_test
def test_tab_to_a_delivered_notification_and_enter_records_the_open(page, serve, fresh):
    open_inbox(page, serve.url)
    dengage_gold_sale(fresh, dengage_login(fresh))
    expect_settled(page, 2)

    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('li.notification[data-state=delivered]')"):
            break
    else:
        pytest.fail("80 presses of Tab never reached a delivered notification")
    focused = page.locator("li.notification:focus")
    delivery_id = focused.get_attribute("data-delivery") or ""
    assert focused.get_attribute("role") == "button"
    outline = page.evaluate("(s => [s.outlineStyle, s.outlineWidth, s.boxShadow])"
                            "(getComputedStyle(document.activeElement))")
    assert outline[0] != "none" and outline[1] != "0px" or outline[2] != "none", f"no visible focus: {outline}"

    page.keyboard.press("Enter")

    opened = page.locator(f'li.notification[data-delivery="{delivery_id}"]')
    expect(opened).to_have_attribute("data-opened", "true")
    assert [e["kind"] for e in delivery(fresh, delivery_id)["engagements"]] == ["open"]


@browser_test
def test_a_phone_sized_window_has_no_horizontal_scroll(page, serve, fresh):
    page.set_viewport_size({"width": 390, "height": 844})
    set_gateway(fresh, FAIL_NEXT_FCM)
    open_inbox(page, serve.url)
    leanplum_start_and_send(fresh)
    send_message(fresh, "bob")
    fresh.get("/api", params={"action": "sendMessage", "appId": APP, "clientKey": PROD, "userId": "nobody",
                              "messageId": 1001})  # a warning in the request log
    dengage_gold_sale(fresh, dengage_login(fresh))
    expect_settled(page, 4)
    expect(page.locator("section#requests tr.request").first).to_be_visible()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide in a 390 px window"
    box = page.locator("form#filters").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box


@browser_test
def test_screenshot_of_the_inbox_after_both_vendors_a_failure_and_an_open(page, serve, fresh, artifacts):
    set_gateway(fresh, FAIL_NEXT_FCM)
    open_inbox(page, serve.url)
    leanplum_start_and_send(fresh)
    send_message(fresh, "bob")
    token = dengage_login(fresh)
    tracking = dengage_gold_sale(fresh, token)
    expect_settled(page, 4)
    notifications(page, "elif", "elif-chrome").click()
    expect(notifications(page, "elif", "elif-chrome")).to_have_attribute("data-opened", "true")
    expect(notifications(page, "bob", "bob-pixel").locator(".reason")).to_have_text("UNREGISTERED")
    assert dengage_report(fresh, token, tracking)["totalOpenCount"] == 1

    shot = artifacts / "inbox.png"
    page.screenshot(path=str(shot), full_page=True)

    width, height = png_size(shot)
    assert width == 1280 and height >= 900, (width, height)


@browser_test
def test_serve_stops_on_sigint_while_an_inbox_is_open(browser: Browser, spawn_serve):
    """Ctrl-C with a page holding the live connection open must not leave `pushfake serve` hanging."""
    served = spawn_serve()
    context = browser.new_context()
    try:
        open_inbox(context.new_page(), served.url)
        status = served.stop()
    finally:
        context.close()
        if served.process.poll() is None:
            served.stop()
    assert status == 0


def test_the_readme_shows_the_inbox_picture():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "![The pushfake inbox](docs/inbox.png)" in readme
    width, height = png_size(REPO / "docs" / "inbox.png")
    assert width >= 390 and height >= 300
