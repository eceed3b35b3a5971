"""End to end through HTTP on a pinned clock: a vendor accepts a send, the gateway carries each
delivery to its device, and what the devices receive and the vendor reports agree."""

from __future__ import annotations

import json

import pytest

from pushfake.gateway import Fixed, wire_payload
from tests.dengage.helpers import (
    ACCOUNT, AYSE_IPHONE, ELIF_CHROME, GOLD_SEGMENT, SALE_TEMPLATE, login, reached, report, send, tracking_id,
)
from tests.gateway.helpers import good_token, register, sent, states

POINTS = {"title": "Your points", "body": "You have 100 points waiting, Sam!", "data": {"screen": "rewards"},
          "openUrl": "https://example.com/rewards", "messageId": "1001"}
TR_SALE = {"title": "Hafta sonu indirimi", "message": "Ayşe, pazara kadar her şey %20 indirimli.", "language": "TR"}
EN_SALE = {"title": "Weekend sale", "message": "Elif, everything is 20% off until Sunday.", "language": "EN"}
GOLD_SALE = {"content": {"templateId": SALE_TEMPLATE}, "segmentId": GOLD_SEGMENT}


def world_token(fake, device_id):
    return fake.dengage.device(ACCOUNT, device_id).token


def by_user(fake, tracking):
    rows = fake.deliveries.find(send_id=tracking)
    assert len({d.user_id for d in rows}) == len(rows)
    return {d.user_id: d for d in rows}


def device_types(data):
    return sorted((t["itemName"], t["deliveredCount"], t["openCount"]) for t in data["deviceTypes"])


def counts(data):
    keys = ("status", "totalCount", "totalDeliveredCount", "totalOpenCount", "totalBounceCount",
            "totalErrorCount", "errorMessage")
    return {k: data[k] for k in keys}


# --- Leanplum ------------------------------------------------------------------------------------
def test_leanplum_send_with_values_reaches_every_device_rendered_in_its_platforms_shape(client, fake, clock):
    register(client, "sam", "sam-iphone", "apns", good_token("apns", 1))
    register(client, "sam", "sam-pixel", "fcm", good_token("fcm", 1))
    register(client, "sam", "sam-browser", "webpush", good_token("webpush", 1))
    sent_at = clock.now()
    assert sent(client, "sam", 1001, values={"name": "Sam"}) == 3
    assert sent(client, "alice", 1001, values={"name": "Sam"}) == 1

    fake.run_until_idle()

    platforms = {"alice-iphone": "apns", "sam-iphone": "apns", "sam-pixel": "fcm", "sam-browser": "webpush"}
    received = {}
    for device_id, platform in platforms.items():
        [delivery] = fake.deliveries.find(device_id=device_id)
        assert (delivery.vendor, delivery.send_id, delivery.platform) == ("leanplum", "1001", platform)
        assert states(delivery) == ["queued", "sending", "delivered"]
        assert delivery.timeline[0][1] == delivery.timeline[1][1] == sent_at  # first attempt at hand-off
        assert delivery.payload == POINTS
        received[platform] = delivery.payload
    assert len(fake.deliveries.find()) == 4

    apns = wire_payload("apns", received["apns"])
    assert apns["aps"]["alert"] == {"title": "Your points", "body": "You have 100 points waiting, Sam!"}
    assert apns["data"] == {"screen": "rewards"} and apns["openUrl"] == "https://example.com/rewards"

    fcm = wire_payload("fcm", received["fcm"])["message"]
    assert fcm["notification"] == {"title": "Your points", "body": "You have 100 points waiting, Sam!"}
    assert all(isinstance(v, str) for v in fcm["data"].values()), fcm["data"]  # FCM data is string to string
    assert json.loads(fcm["data"]["data"]) == {"screen": "rewards"}
    assert (fcm["data"]["openUrl"], fcm["data"]["messageId"]) == ("https://example.com/rewards", "1001")

    web = wire_payload("webpush", received["webpush"])
    assert (web["title"], web["body"]) == ("Your points", "You have 100 points waiting, Sam!")
    assert web["data"]["data"] == {"screen": "rewards"} and web["data"]["openUrl"] == "https://example.com/rewards"


# --- D·engage ------------------------------------------------------------------------------------
def test_multi_language_template_reaches_the_segment_in_each_contacts_language(client, fake):
    token = login(client)
    tracking = tracking_id(send(client, token, GOLD_SALE))
    fake.run_until_idle()

    assert reached(fake, tracking) == {AYSE_IPHONE, ELIF_CHROME}
    users = by_user(fake, tracking)
    assert users["ayse"].payload == {**TR_SALE, "trackingId": tracking}
    assert users["elif"].payload == {**EN_SALE, "trackingId": tracking}  # DE is not in the template: default
    assert all(states(d) == ["queued", "sending", "delivered"] for d in users.values())
    assert wire_payload("apns", users["ayse"].payload)["aps"]["alert"] == {
        "title": TR_SALE["title"], "body": TR_SALE["message"]}
    web = wire_payload("webpush", users["elif"].payload)
    assert (web["title"], web["body"], web["data"]["language"]) == (EN_SALE["title"], EN_SALE["message"], "EN")

    data = report(client, token, tracking)
    assert counts(data) == {"status": "Completed", "totalCount": 2, "totalDeliveredCount": 2, "totalOpenCount": 0,
                            "totalBounceCount": 0, "totalErrorCount": 0, "errorMessage": None}
    assert device_types(data) == [("Web", 1, 0), ("iOS", 1, 0)]


def test_report_says_sending_until_every_attempt_is_answered(client, fake, clock):
    fake.gateway.set_latency(Fixed(2.0))
    token = login(client)
    sent_at = clock.now()
    tracking = tracking_id(send(client, token, GOLD_SALE))
    assert counts(report(client, token, tracking))["status"] == "Sending"

    fake.advance(1.0)
    assert {d.state for d in fake.deliveries.find(send_id=tracking)} == {"sending"}
    data = report(client, token, tracking)
    assert (data["status"], data["totalCount"], data["totalDeliveredCount"]) == ("Sending", 2, 0)
    assert device_types(data) == [("Web", 0, 0), ("iOS", 0, 0)]

    fake.advance(1.0)
    assert [d.timeline[-1] for d in fake.deliveries.find(send_id=tracking)] == [("delivered", sent_at + 2.0, None)] * 2
    data = report(client, token, tracking)
    assert (data["status"], data["totalDeliveredCount"]) == ("Completed", 2)


def test_report_counts_a_delivery_whose_retries_run_out_as_an_error(client, fake):
    fake.gateway.fail_next(4, "ServiceUnavailable", token=world_token(fake, "ayse-iphone"))  # limit 3: 4 attempts
    token = login(client)
    tracking = tracking_id(send(client, token, GOLD_SALE))
    fake.run_until_idle()

    ayse, elif_ = by_user(fake, tracking)["ayse"], by_user(fake, tracking)["elif"]
    assert (ayse.state, ayse.reason, ayse.attempts, ayse.token_rejected) == ("failed", "ServiceUnavailable", 4, False)
    assert elif_.state == "delivered"
    data = report(client, token, tracking)
    assert counts(data) == {"status": "Completed", "totalCount": 2, "totalDeliveredCount": 1, "totalOpenCount": 0,
                            "totalBounceCount": 0, "totalErrorCount": 1, "errorMessage": "ServiceUnavailable"}
    assert device_types(data) == [("Web", 1, 0), ("iOS", 0, 0)]
    assert fake.gateway.token_mark("apns", ayse.token) is None  # an error is not the token's fault


def test_report_counts_a_rejected_token_as_a_bounce_and_later_sends_leave_it_out(client, fake):
    fake.gateway.unregister(world_token(fake, "elif-chrome"))
    token = login(client)
    tracking = tracking_id(send(client, token, GOLD_SALE))
    fake.run_until_idle()

    elif_ = by_user(fake, tracking)["elif"]
    assert (elif_.state, elif_.reason, elif_.token_rejected) == ("failed", "410", True)
    data = report(client, token, tracking)
    assert counts(data) == {"status": "Completed", "totalCount": 2, "totalDeliveredCount": 1, "totalOpenCount": 0,
                            "totalBounceCount": 1, "totalErrorCount": 0, "errorMessage": "410"}
    assert device_types(data) == [("Web", 0, 0), ("iOS", 1, 0)]

    again = tracking_id(send(client, token, GOLD_SALE))
    fake.run_until_idle()
    assert reached(fake, again) == {AYSE_IPHONE}
    data = report(client, token, again)
    assert (data["status"], data["totalCount"], data["totalBounceCount"]) == ("Completed", 1, 0)


# --- engagement ----------------------------------------------------------------------------------
def test_an_opened_push_counts_in_the_report_and_makes_the_device_engaged(client, fake):
    token = login(client)
    engaged_only = {**GOLD_SALE, "useOnlyEngagedTokens": True}
    before = tracking_id(send(client, token, engaged_only))
    assert reached(fake, before) == {ELIF_CHROME}  # the world's only engaged device in the segment
    with pytest.raises(ValueError):  # not delivered yet: nothing to open
        fake.engage(by_user(fake, before)["elif"].id, "open")

    tracking = tracking_id(send(client, token, GOLD_SALE))
    fake.run_until_idle()
    opened = fake.engage(by_user(fake, tracking)["ayse"].id, "open")
    assert opened.engaged("open")

    data = report(client, token, tracking)
    assert (data["totalOpenCount"], data["totalDeliveredCount"]) == (1, 2)
    assert device_types(data) == [("Web", 1, 0), ("iOS", 1, 1)]

    after = tracking_id(send(client, token, engaged_only))
    assert reached(fake, after) == {AYSE_IPHONE, ELIF_CHROME}
    fake.run_until_idle()
    assert by_user(fake, after)["ayse"].state == "delivered"


def test_a_failed_push_cannot_be_opened(client, fake):
    fake.gateway.fail_next(1, "PayloadTooLarge", token=world_token(fake, "ayse-iphone"))
    token = login(client)
    tracking = tracking_id(send(client, token, GOLD_SALE))
    fake.run_until_idle()
    ayse = by_user(fake, tracking)["ayse"]
    assert ayse.state == "failed"
    with pytest.raises(ValueError):
        fake.engage(ayse.id, "open")
    assert report(client, token, tracking)["totalOpenCount"] == 0


# --- scheduled sends -----------------------------------------------------------------------------
def test_a_scheduled_send_goes_through_the_gateway_when_its_date_comes(client, fake, clock):
    fake.gateway.set_latency(Fixed(0.5))
    start = clock.now()  # 2026-01-01T00:00:00Z
    token = login(client)
    tracking = tracking_id(send(client, token, {**GOLD_SALE, "scheduleDate": "2026-01-01T00:10:00Z"}))
    assert sent(client, "alice") == 1  # immediate work alongside

    fake.run_until_idle()  # finishes the immediate send; the scheduled one is in the future
    assert fake.deliveries.find(device_id="alice-iphone")[0].state == "delivered"
    assert clock.now() == start + 0.5  # idle once alice's answer is in: no further
    assert fake.deliveries.find(send_id=tracking) == []
    data = report(client, token, tracking)
    assert (data["status"], data["totalCount"]) == ("Scheduled", 0)

    fake.advance(598.5)
    assert fake.deliveries.find(send_id=tracking) == []
    fake.advance(1)  # the date: deliveries are made and handed to the gateway at once
    due = start + 600
    assert {d.timeline for d in fake.deliveries.find(send_id=tracking)} == {(("queued", due, None), ("sending", due, None))}
    assert report(client, token, tracking)["status"] == "Sending"

    fake.advance(0.5)
    assert reached(fake, tracking) == {AYSE_IPHONE, ELIF_CHROME}
    assert {d.timeline[-1] for d in fake.deliveries.find(send_id=tracking)} == {("delivered", due + 0.5, None)}
    data = report(client, token, tracking)
    assert (data["status"], data["totalCount"], data["totalDeliveredCount"]) == ("Completed", 2, 2)
