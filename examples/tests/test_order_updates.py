"""Order updates through Leanplum, with the httpx client pointed at the real host."""

from __future__ import annotations

import pytest
from default_world import LEANPLUM_APP, LEANPLUM_KEY, SHIPPED_MESSAGE
from notifier.leanplum_client import LeanplumClient, LeanplumError, Sent

SHIPPED = SHIPPED_MESSAGE["id"]
LEANPLUM_503 = {"match": {"vendor": "leanplum", "operation": "sendMessage"}, "fault": {"kind": "error", "status": 503}}


def test_order_shipped_reaches_the_customers_phone(pushfake, notifier):
    assert notifier.order_shipped("alice", "A-1042") is True

    push = pushfake.assert_pushed(user="alice", title="Your order shipped", body="Order A-1042 is on its way.")
    assert (push["device"], push["platform"]) == ("alice-iphone", "apns")
    pushfake.assert_requested(action="sendMessage", user="alice", status=200,
                              params={"messageId": SHIPPED, "apiVersion": "1.0.6", "values": {"order": "A-1042"}})


def test_a_phone_registered_with_start_gets_the_push(pushfake, leanplum, notifier):
    leanplum.start("dana", device_id="dana-pixel", gcm_registration_id="fcm:" + "d" * 40, attributes={"plan": "free"})

    assert notifier.order_shipped("dana", "A-7") is True
    pushfake.assert_pushed(device="dana-pixel", platform="fcm", body="Order A-7 is on its way.")


def test_a_seeded_customer_with_two_devices_gets_two_pushes(pushfake, notifier):
    pushfake.add_user("erin", attributes={"plan": "gold"}, devices=[
        {"id": "erin-iphone", "iosPushToken": "ab" * 32},
        {"id": "erin-tablet", "gcmRegistrationId": "fcm:" + "e" * 40},
    ])

    assert notifier.order_shipped("erin", "B-12") is True
    pushfake.assert_pushed(user="erin", body="Order B-12 is on its way.", count=2)


def test_an_unknown_customer_is_skipped_not_failed(pushfake, leanplum, notifier):
    assert notifier.order_shipped("nobody", "C-1") is False
    assert leanplum.send_message("nobody", SHIPPED) == Sent(0, "User not found; request skipped.")
    pushfake.assert_no_pushes()


def test_the_development_key_is_refused_with_leanplums_message(pushfake, http):
    client = LeanplumClient(http, app_id=LEANPLUM_APP, client_key="dev_pushfake")  # sendMessage needs production

    with pytest.raises(LeanplumError, match=r"^Invalid access key$") as caught:
        client.send_message("alice", 1001)
    assert caught.value.status == 403
    pushfake.assert_requested(action="sendMessage", status=403, count=1)  # a refusal is not retried
    pushfake.assert_no_pushes()


def test_a_503_is_retried_after_a_short_wait(pushfake, leanplum, waits):
    with pushfake.faulted({**LEANPLUM_503, "times": 1}):
        assert leanplum.send_message("bob", 1001).messages_sent == 1

    pushfake.assert_requested(action="sendMessage", user="bob", count=2)
    pushfake.assert_requested(action="sendMessage", status=503, count=1)
    pushfake.assert_pushed(device="bob-pixel", count=1)  # the failed attempt sent nothing
    assert waits == [0.5]


@pytest.mark.pushfake(faults=[LEANPLUM_503])
def test_leanplum_down_for_good_gives_up_after_two_retries(pushfake, leanplum, waits):
    with pytest.raises(LeanplumError, match=r"^Service unavailable\.$") as caught:
        leanplum.send_message("bob", 1001)

    assert caught.value.status == 503
    pushfake.assert_requested(action="sendMessage", status=503, count=3)
    pushfake.assert_no_pushes()
    assert waits == [0.5, 1.0]


def test_a_429_waits_retry_after_on_the_fakes_clock(pushfake, http):
    pushfake.add_limit({"kind": "token-bucket", "vendor": "leanplum", "rate": 1, "burst": 1, "retryAfter": True})
    client = LeanplumClient(http, app_id=LEANPLUM_APP, client_key=LEANPLUM_KEY, sleep=pushfake.advance)
    started = pushfake.now()

    assert client.send_message("bob", 1001).messages_sent == 1
    assert client.send_message("bob", 1001).messages_sent == 1  # the bucket is empty: 429, wait, again

    assert pushfake.now() - started == pytest.approx(1.0)  # Retry-After, waited on the virtual clock
    pushfake.assert_requested(action="sendMessage", status=429, count=1)
    pushfake.assert_pushed(device="bob-pixel", count=2)
