"""What the simulated device gateway does to deliveries: every outcome code, token marks and the
skips they cause in later sends (both vendors), retries on the virtual clock, the payload limit,
outages, throttling and per-token overrides."""

from __future__ import annotations

import pytest

from pushfake.core.tokens import TokenMark
from pushfake.gateway import PLATFORMS, Fixed, RetryPolicy
from pushfake.gateway.platforms import PAYLOAD_LIMIT_BYTES, payload_size
from tests.dengage import helpers as dg
from tests.gateway.helpers import (
    LEANPLUM_USER,
    add_apns_devices,
    assert_no_device,
    deliver_one,
    dengage_send,
    dengage_token,
    last_delivery,
    leanplum_token,
    outcome_cases,
    reasons,
    relative,
    sent,
    start_device,
    times_of,
    token_key,
)

LATENCY = 0.5


@pytest.fixture
def fixed(fake):
    """Every attempt takes LATENCY seconds, so timelines can be checked exactly."""
    fake.gateway.set_latency(Fixed(LATENCY))
    return fake


# --- every outcome code of every platform -----------------------------------------------------
def test_every_outcome_has_a_kind_these_tests_cover():
    kinds = {o.kind for gateway in PLATFORMS.values() for o in gateway.outcomes.values()}
    assert kinds <= {"ok", "transient", "permanent", "token"}
    assert set(PLATFORMS) == {"apns", "fcm", "webpush"}


@pytest.mark.parametrize(("platform", "code"), outcome_cases("ok"))
def test_an_ok_outcome_delivers(fixed, client, platform, code):
    fixed.gateway.fail_next(1, code, platform=platform)
    delivery = deliver_one(fixed, client, platform)
    assert relative(delivery) == [("queued", 0, None), ("sending", 0, None), ("delivered", LATENCY, None)]
    assert not delivery.token_rejected


@pytest.mark.parametrize(("platform", "code"), outcome_cases("transient"))
def test_a_transient_outcome_is_retried_then_delivered(fixed, client, platform, code):
    fixed.gateway.fail_next(1, code, platform=platform)
    delivery = deliver_one(fixed, client, platform)
    first_retry = LATENCY + RetryPolicy().delay(1, 0.0)
    assert relative(delivery) == [
        ("queued", 0, None), ("sending", 0, None), ("retrying", LATENCY, code),
        ("sending", first_retry, None), ("delivered", first_retry + LATENCY, None)]
    assert delivery.attempts == 2 and not delivery.token_rejected
    assert fixed.gateway.token_mark(platform, delivery.token) is None


@pytest.mark.parametrize(("platform", "code"), outcome_cases("permanent"))
def test_a_permanent_outcome_fails_without_retry(fixed, client, platform, code):
    fixed.gateway.fail_next(1, code, platform=platform)
    delivery = deliver_one(fixed, client, platform)
    assert (delivery.state, delivery.reason, delivery.attempts) == ("failed", code, 1)
    assert not delivery.token_rejected
    assert fixed.gateway.token_mark(platform, delivery.token) is None
    assert sent(client, LEANPLUM_USER[platform]) == 1  # the token is still used


@pytest.mark.parametrize(("platform", "code"), outcome_cases("token"))
def test_a_token_outcome_fails_marks_the_token_and_later_sends_skip_it(fixed, client, platform, code):
    fixed.gateway.set_failures({code: 1.0}, platform=platform)
    delivery = deliver_one(fixed, client, platform)
    assert (delivery.state, delivery.reason, delivery.attempts) == ("failed", code, 1)
    assert delivery.token_rejected
    answered = delivery.timeline[-1][1]
    status = PLATFORMS[platform].outcomes[code].token_status
    assert status in ("invalid", "unregistered")
    assert fixed.gateway.token_mark(platform, delivery.token) == TokenMark(
        platform, token_key(delivery.token), status, answered, code)
    assert_no_device(client, LEANPLUM_USER[platform])
    assert len(fixed.deliveries.find(user_id=LEANPLUM_USER[platform])) == 1


# --- token invalidation, both vendors ----------------------------------------------------------
def test_leanplum_skips_a_token_fcm_called_unregistered(fake, client):
    bob_token = leanplum_token(fake, "fcm")
    fake.gateway.unregister(bob_token, platform="fcm")
    assert sent(client, "bob") == 1
    fake.run_until_idle()
    [delivery] = fake.deliveries.find(user_id="bob")
    assert (delivery.state, delivery.reason, delivery.token_rejected) == ("failed", "UNREGISTERED", True)
    assert fake.gateway.token_mark("fcm", bob_token).status == "unregistered"
    assert_no_device(client, "bob")
    assert len(fake.deliveries.find(user_id="bob")) == 1
    assert sent(client, "alice") == 1  # other users' tokens are untouched


def test_dengage_bounces_an_unregistered_token_and_leaves_it_out_later(fake, client):
    token = dg.login(client)
    fake.gateway.unregister(dengage_token(fake, "ayse-iphone"), platform="apns")
    first = dengage_send(client, token, segmentId=dg.GOLD_SEGMENT)
    assert dg.reached(fake, first) == {dg.AYSE_IPHONE, dg.ELIF_CHROME}
    fake.run_until_idle()
    report = dg.report(client, token, first)
    assert (report["status"], report["totalCount"], report["totalDeliveredCount"]) == ("Completed", 2, 1)
    assert (report["totalBounceCount"], report["totalErrorCount"]) == (1, 0)
    assert report["errorMessage"] == "Unregistered"

    later = dengage_send(client, token, segmentId=dg.GOLD_SEGMENT)
    assert dg.reached(fake, later) == {dg.ELIF_CHROME}
    fake.run_until_idle()
    report = dg.report(client, token, later)
    assert (report["totalCount"], report["totalDeliveredCount"], report["totalBounceCount"]) == (1, 1, 0)
    assert report["errorMessage"] is None


def test_dengage_counts_a_failure_that_is_not_the_tokens_as_an_error(fake, client):
    token = dg.login(client)
    fake.gateway.set_retry(limit=0)
    fake.gateway.fail_next(1, "ServiceUnavailable", platform="apns")
    tracking = dengage_send(client, token, segmentId=dg.GOLD_SEGMENT)
    fake.run_until_idle()
    report = dg.report(client, token, tracking)
    assert (report["totalBounceCount"], report["totalErrorCount"]) == (0, 1)
    assert report["errorMessage"] == "ServiceUnavailable"
    assert dg.reached(fake, dengage_send(client, token, segmentId=dg.GOLD_SEGMENT)) == {
        dg.AYSE_IPHONE, dg.ELIF_CHROME}


def test_apns_unregistered_from_a_past_time_carries_that_time(fake, client):
    fake.advance(100)
    since = fake.clock.now() - 40
    fake.gateway.unregister(leanplum_token(fake, "apns"), platform="apns", at=since)
    delivery = deliver_one(fake, client, "apns")
    assert (delivery.state, delivery.reason) == ("failed", "Unregistered")
    mark = fake.gateway.token_mark("apns", delivery.token)
    assert (mark.status, mark.since, mark.reason) == ("unregistered", since, "Unregistered")


def test_unregistered_from_a_future_time_delivers_until_then(fake, client):
    fake.gateway.unregister(leanplum_token(fake, "apns"), platform="apns", at="+30s")
    from_time = fake.clock.now() + 30
    assert deliver_one(fake, client, "apns").state == "delivered"
    fake.advance(from_time - fake.clock.now())
    delivery = deliver_one(fake, client, "apns")
    assert (delivery.state, delivery.reason) == ("failed", "Unregistered")
    assert fake.gateway.token_mark("apns", delivery.token).since == from_time


@pytest.mark.parametrize(("field", "token", "code"), [
    pytest.param("iosPushToken", "ab" * 31, "BadDeviceToken", id="apns-62-hex"),
    pytest.param("iosPushToken", "a" * 65, "BadDeviceToken", id="apns-odd-length"),
    pytest.param("gcmRegistrationId", "short-token", "INVALID_ARGUMENT", id="fcm-too-short"),
    pytest.param("webPushSubscription", {"endpoint": "http://push.example/sub", "keys": {
        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg"}}, "400", id="webpush-plain-http"),
])
def test_a_malformed_token_fails_once_then_is_skipped(fake, client, field, token, code):
    start_device(client, "mal", "mal-device", field, token)
    assert sent(client, "mal") == 1
    fake.run_until_idle()
    [delivery] = fake.deliveries.find(user_id="mal")
    assert (delivery.state, delivery.reason, delivery.attempts, delivery.token_rejected) == (
        "failed", code, 1, True)
    assert fake.gateway.token_mark(delivery.platform, token).status == "invalid"
    assert_no_device(client, "mal")


# --- retries on the virtual clock ------------------------------------------------------------------
def expected_timeline(failures: int, policy: RetryPolicy, latency: float, code: str) -> list[tuple]:
    """A delivery whose first `failures` attempts answer `code` (transient), then succeed."""
    steps: list[tuple] = [("queued", 0, None)]
    at = 0.0
    for attempt in range(1, failures + 2):
        steps.append(("sending", at, None))
        at += latency
        if attempt > failures:
            steps.append(("delivered", at, None))
        elif attempt > policy.limit:
            steps.append(("failed", at, code))
            break
        else:
            steps.append(("retrying", at, code))
            at += policy.delay(attempt, 0.0)
    return steps


def test_default_backoff_is_one_two_four_seconds(fixed, client):
    fixed.gateway.fail_next(3, "UNAVAILABLE", token=leanplum_token(fixed, "fcm"))
    delivery = deliver_one(fixed, client, "fcm")
    assert relative(delivery) == expected_timeline(3, RetryPolicy(), LATENCY, "UNAVAILABLE")
    assert relative(delivery) == [
        ("queued", 0, None), ("sending", 0, None), ("retrying", 0.5, "UNAVAILABLE"),
        ("sending", 1.5, None), ("retrying", 2, "UNAVAILABLE"), ("sending", 4, None),
        ("retrying", 4.5, "UNAVAILABLE"), ("sending", 8.5, None), ("delivered", 9, None)]


def test_retries_stop_at_the_limit_with_the_last_code(fixed, client):
    fixed.gateway.fail_next(10, "UNAVAILABLE", platform="fcm")
    delivery = deliver_one(fixed, client, "fcm")
    assert delivery.attempts == RetryPolicy().limit + 1 == 4
    assert (delivery.state, delivery.reason, delivery.token_rejected) == ("failed", "UNAVAILABLE", False)
    assert relative(delivery) == expected_timeline(10, RetryPolicy(), LATENCY, "UNAVAILABLE")
    assert fixed.gateway.token_mark("fcm", delivery.token) is None


def test_retry_limit_zero_gives_one_attempt(fixed, client):
    fixed.gateway.set_retry(limit=0)
    fixed.gateway.fail_next(1, "TooManyRequests", platform="apns")
    delivery = deliver_one(fixed, client, "apns")
    assert relative(delivery) == [("queued", 0, None), ("sending", 0, None), ("failed", LATENCY, "TooManyRequests")]


def test_maximum_caps_the_delay(fixed, client):
    fixed.gateway.set_retry(maximum=1.5)
    fixed.gateway.fail_next(3, "503", platform="webpush")
    delivery = deliver_one(fixed, client, "webpush")
    assert times_of(delivery, "sending") == [0, 1.5, 3.5, 5.5]  # delays 1, then 1.5 instead of 2 and 4
    assert times_of(delivery, "delivered") == [6]


def test_initial_and_multiplier_shape_the_delays(fixed, client):
    fixed.gateway.set_retry(initial=0.25, multiplier=3)
    fixed.gateway.fail_next(3, "INTERNAL", platform="fcm")
    delivery = deliver_one(fixed, client, "fcm")
    assert relative(delivery) == expected_timeline(3, RetryPolicy(initial=0.25, multiplier=3), LATENCY, "INTERNAL")
    assert times_of(delivery, "sending") == [0, 0.75, 2.0, 4.75]  # delays .25, .75, 2.25


def test_jitter_spreads_delays_around_the_base(fixed, client):
    fixed.gateway.set_retry(jitter=0.5)
    fixed.gateway.fail_next(3, "UNAVAILABLE", platform="fcm")
    delivery = deliver_one(fixed, client, "fcm")
    steps = relative(delivery)
    delays = [steps[i + 1][1] - step[1] for i, step in enumerate(steps) if step[0] == "retrying"]
    assert len(delays) == 3 and delivery.state == "delivered"
    for n, delay in enumerate(delays, start=1):
        assert 0.5 * 2 ** (n - 1) <= delay <= 1.5 * 2 ** (n - 1)
    assert delays != [1, 2, 4]


def test_a_thirty_second_outage_with_six_retries_ends_delivered(fixed, client):
    fixed.gateway.set_retry(limit=6)
    fixed.gateway.add_outage("fcm", "+0s", "+30s")
    delivery = deliver_one(fixed, client, "fcm")
    assert times_of(delivery, "sending") == [0, 1.5, 4, 8.5, 17, 33.5]
    assert reasons(delivery, "retrying") == ["UNAVAILABLE"] * 5
    assert times_of(delivery, "delivered") == [34]


# --- payload limit ------------------------------------------------------------------------------
TOO_LARGE = {"apns": "PayloadTooLarge", "fcm": "INVALID_ARGUMENT", "webpush": "413"}


@pytest.mark.parametrize("platform", sorted(TOO_LARGE))
def test_a_payload_over_4kb_fails_permanently_and_keeps_the_token(fixed, client, platform):
    delivery = deliver_one(fixed, client, platform, values={"name": "x" * 5000})
    assert (delivery.state, delivery.reason, delivery.attempts) == ("failed", TOO_LARGE[platform], 1)
    assert delivery.token_rejected is False
    assert fixed.gateway.token_mark(platform, delivery.token) is None
    assert deliver_one(fixed, client, platform).state == "delivered"


@pytest.mark.parametrize("platform", sorted(TOO_LARGE))
def test_the_limit_is_4096_wire_bytes(fixed, client, platform):
    probe = deliver_one(fixed, client, platform, values={"name": "x"})
    room = PAYLOAD_LIMIT_BYTES - payload_size(platform, probe.payload)
    at_limit = deliver_one(fixed, client, platform, values={"name": "x" * (1 + room)})
    assert payload_size(platform, at_limit.payload) == 4096
    assert at_limit.state == "delivered"
    over = deliver_one(fixed, client, platform, values={"name": "x" * (2 + room)})
    assert payload_size(platform, over.payload) == 4097
    assert (over.state, over.reason) == ("failed", TOO_LARGE[platform])


# --- outages ------------------------------------------------------------------------------------
def test_an_outage_answers_unavailable_inside_its_window_only(fixed, client):
    added = fixed.clock.now()
    fixed.gateway.add_outage("fcm", "+10s", "+20s")
    before = deliver_one(fixed, client, "fcm")
    assert (before.state, before.attempts) == ("delivered", 1)
    fixed.advance(added + 12 - fixed.clock.now())
    inside = deliver_one(fixed, client, "fcm")
    assert times_of(inside, "sending") == [0, 1.5, 4, 8.5]  # 12 s .. 20.5 s after the outage was added
    assert reasons(inside, "retrying") == ["UNAVAILABLE"] * 3
    assert inside.state == "delivered"


def test_an_outage_is_half_open_and_only_its_platform(fixed, client):
    fixed.gateway.set_retry(limit=0)
    start = fixed.clock.now()
    fixed.gateway.add_outage("fcm", start + 10, start + 20)
    fixed.advance(10)
    at_start = deliver_one(fixed, client, "fcm")
    assert (at_start.state, at_start.reason) == ("failed", "UNAVAILABLE")
    apns = deliver_one(fixed, client, "apns")
    assert (apns.state, apns.attempts) == ("delivered", 1)
    fixed.advance(start + 20 - fixed.clock.now())
    assert deliver_one(fixed, client, "fcm").state == "delivered"


def test_an_outage_answers_its_own_outcome(fixed, client):
    fixed.gateway.add_outage("fcm", "+0s", "+3s", outcome="INTERNAL")
    delivery = deliver_one(fixed, client, "fcm")
    assert reasons(delivery, "retrying") == ["INTERNAL", "INTERNAL"]
    assert times_of(delivery, "sending") == [0, 1.5, 4] and delivery.state == "delivered"


# --- throughput ---------------------------------------------------------------------------------
def test_throughput_cap_throttles_a_burst_then_retries_deliver(fixed, client):
    add_apns_devices(client, "many", 6)
    fixed.gateway.set_throughput(2, platform="apns")
    assert sent(client, "many") == 6
    assert sent(client, "bob") == 1
    fixed.run_until_idle()
    many = fixed.deliveries.find(user_id="many")
    assert all(d.state == "delivered" for d in many)
    assert sum(d.attempts == 1 for d in many) == 2  # the bucket holds a second's worth: 2
    assert sorted(len(reasons(d, "retrying")) for d in many) == [0, 0, 1, 1, 2, 2]
    assert {r for d in many for r in reasons(d, "retrying")} == {"TooManyRequests"}
    assert sorted(times_of(d, "delivered")[0] for d in many) == [0.5, 0.5, 2, 2, 4.5, 4.5]
    assert last_delivery(fixed, user_id="bob").attempts == 1  # fcm has no cap


# --- per-token and pattern overrides ------------------------------------------------------------
def test_a_latency_override_for_one_token(fixed, client):
    add_apns_devices(client, "pair", 2)
    fixed.gateway.set_latency(Fixed(2.0), token="01" * 32)
    assert sent(client, "pair") == 2
    fixed.run_until_idle()
    latency = {d.device_id: times_of(d, "delivered") for d in fixed.deliveries.find(user_id="pair")}
    assert latency == {"pair-0": [LATENCY], "pair-1": [2.0]}


def test_a_failures_override_by_pattern(fixed, client):
    fixed.gateway.set_failures({"UNAVAILABLE": 1.0}, pattern="^fcm:", platform="fcm")
    token = dg.login(client)
    dengage_send(client, token, tableId=dg.BETA_TABLE)  # john-android's token does not start "fcm:"
    bob = deliver_one(fixed, client, "fcm")  # bob-pixel's does
    assert (bob.state, bob.reason, bob.attempts) == ("failed", "UNAVAILABLE", 4)
    john = last_delivery(fixed, device_id="john-android")
    assert (john.state, john.attempts) == ("delivered", 1)


def test_a_failures_override_without_platform_leaves_other_platforms_alone(fixed, client):
    """A pattern override names fcm's code and matches every token: APNs has no UNAVAILABLE, so
    its deliveries cannot take it. Refusing the override up front would also be fine."""
    try:
        fixed.gateway.set_failures({"UNAVAILABLE": 1.0}, pattern=".")
    except ValueError:
        return
    assert sent(client, "alice") == 1 and sent(client, "bob") == 1
    fixed.run_until_idle()
    assert last_delivery(fixed, user_id="alice").state == "delivered"
    assert last_delivery(fixed, user_id="bob").reason == "UNAVAILABLE"
