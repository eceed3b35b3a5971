"""Sale campaigns through D·engage: login, a cached token, SendInstantPush to a segment."""

from __future__ import annotations

import pytest
from default_world import DENGAGE_PASSWORD, DENGAGE_USER, GOLD_SEGMENT, MOBILE_APP
from notifier.dengage_client import DengageClient, DengageError


def test_the_sale_reaches_the_gold_segment_in_each_customers_language(pushfake, notifier):
    tracking_id = notifier.announce_sale(GOLD_SEGMENT)

    pushfake.assert_pushed(vendor="dengage", send=tracking_id, count=2)
    pushfake.assert_pushed(send=tracking_id, device="ayse-iphone", title="Hafta sonu indirimi")
    pushfake.assert_pushed(send=tracking_id, device="elif-chrome", title="Weekend sale",
                           body="Elif, everything is 20% off until Sunday.")
    pushfake.assert_no_pushes(user="john")  # tier silver
    pushfake.assert_requested(vendor="dengage", action="sendInstantPush", status=200,
                              params={"segmentId": GOLD_SEGMENT, "trackingId": tracking_id})


def test_a_new_gold_contact_is_in_the_segment(pushfake, notifier):
    pushfake.add_contact({"key": "mehmet", "language": "TR"}, fields={"name": "Mehmet", "tier": "gold"}, devices=[
        {"id": "mehmet-android", "applicationId": MOBILE_APP, "platform": "android", "token": "mehmet:" + "m" * 40},
    ])

    notifier.announce_sale(GOLD_SEGMENT)
    pushfake.assert_pushed(device="mehmet-android", platform="fcm", title="Hafta sonu indirimi",
                           body="Mehmet, pazara kadar her şey %20 indirimli.")


def test_the_token_is_reused_and_renewed_when_it_expires(pushfake, http):
    client = DengageClient(http, userkey=DENGAGE_USER, password=DENGAGE_PASSWORD, clock=pushfake.now)
    client.send_instant_push(title="Flash sale", message="Two hours only", segment_id=GOLD_SEGMENT)
    client.send_instant_push(title="Flash sale", message="One hour left", segment_id=GOLD_SEGMENT)
    pushfake.assert_requested(action="login", count=1)

    pushfake.advance(3600)  # the default world's tokenLifetimeSeconds
    client.send_instant_push(title="Next week", message="Another sale", segment_id=GOLD_SEGMENT)

    pushfake.assert_requested(action="login", count=2)
    pushfake.assert_requested(action="sendInstantPush", status=200, count=3)
    assert pushfake.requests(status=401) == []  # renewed before use, never refused


def test_a_token_that_expired_unnoticed_is_renewed_after_the_401(pushfake, dengage):
    # `dengage` keeps time with time.monotonic, which does not see the fake's clock move
    dengage.send_instant_push(title="Flash sale", message="Two hours only", segment_id=GOLD_SEGMENT)
    pushfake.advance(3601)
    tracking_id = dengage.send_instant_push(title="Last call", message="Ends tonight", segment_id=GOLD_SEGMENT)

    pushfake.assert_requested(action="sendInstantPush", status=401, count=1)
    pushfake.assert_requested(action="login", count=2)
    pushfake.assert_pushed(send=tracking_id, title="Last call", count=2)


def test_a_wrong_password_raises_dengages_message(pushfake, http):
    client = DengageClient(http, userkey=DENGAGE_USER, password="not-the-password")

    with pytest.raises(DengageError, match=r"^Invalid userkey or password\.$") as caught:
        client.send_instant_push(title="Flash sale", message="Two hours only", segment_id=GOLD_SEGMENT)
    assert caught.value.status == 401
    pushfake.assert_requested(action="login", status=401, count=1)
    pushfake.assert_no_pushes()
