"""The gateway's configuration: the fixtures `gateway:` section and what it does to deliveries,
the messages a bad section gets, the Python API's matching refusals, reset/clear, and engagement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest

from pushfake import Fake, FixtureError
from pushfake.gateway import Fixed, LogNormal, Uniform
from tests.dengage import helpers as dg
from tests.gateway.helpers import (
    START,
    add_apns_devices,
    assert_no_device,
    deliver_one,
    dengage_send,
    fake_with,
    gateway_world,
    last_delivery,
    latency_of,
    leanplum_token,
    reasons,
    relative,
    sent,
    serving,
    start_device,
    times_of,
)

BOB = "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_w0h3Sk8Yq7Jm2pXcV9sRtL0aBdEfGhIjKlMn"  # bob-pixel
ALICE = "3f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d"  # alice-iphone
FIXED = {name: {"latency": 0.5} for name in ("apns", "fcm", "webpush")}


@pytest.fixture
def world(tmp_path) -> Iterator:
    """world(gateway_section) -> (fake, client) on a fixtures file with that `gateway:` section."""
    with ExitStack() as stack:
        def build(gateway):
            fake = fake_with(tmp_path, gateway)
            return fake, stack.enter_context(serving(fake))
        yield build


def test_the_world_tokens_used_here_are_the_default_worlds(fake):
    assert (leanplum_token(fake, "fcm"), leanplum_token(fake, "apns")) == (BOB, ALICE)


# --- the fixtures section, through behaviour ----------------------------------------------------
@pytest.mark.parametrize(("latency", "low", "high"), [
    (0.25, 0.25, 0.25),
    ({"fixed": 0.75}, 0.75, 0.75),
    ({"uniform": [0.2, 0.3]}, 0.2, 0.3),
    ({"lognormal": {"median": 0.4, "p99": 0.4}}, 0.4, 0.4),
])
def test_platform_latency_forms(world, latency, low, high):
    fake, client = world({"platforms": {"fcm": {"latency": latency}, "apns": {"latency": 3}}})
    assert low <= latency_of(deliver_one(fake, client, "fcm")) <= high
    assert latency_of(deliver_one(fake, client, "apns")) == 3


def test_lognormal_latency_spreads_around_its_median(world):
    fake, client = world({"platforms": {"apns": {"latency": {"lognormal": {"median": 0.05, "p99": 0.3}}}}})
    add_apns_devices(client, "many", 40)
    assert sent(client, "many") == 40
    fake.run_until_idle()
    latencies = sorted(latency_of(d) for d in fake.deliveries.find(user_id="many"))
    assert all(x > 0 for x in latencies) and len(set(latencies)) == 40
    assert 0.02 < latencies[20] < 0.12  # the sample median sits near 0.05


def test_platform_failures_and_retry_settings(world):
    fake, client = world({"retry": {"limit": 1}, "platforms": {"fcm": {"failures": {"UNAVAILABLE": 1}}}})
    bob = deliver_one(fake, client, "fcm")
    assert (bob.state, bob.reason, bob.attempts) == ("failed", "UNAVAILABLE", 2)
    assert deliver_one(fake, client, "apns").state == "delivered"


def test_retry_timing_settings(world):
    fake, client = world({
        "retry": {"limit": 2, "initialSeconds": 0.5, "multiplier": 3, "maxSeconds": 1},
        "platforms": FIXED, "rules": [{"token": BOB, "failNext": 5, "outcome": "INTERNAL"}]})
    bob = deliver_one(fake, client, "fcm")
    assert relative(bob) == [("queued", 0, None), ("sending", 0, None), ("retrying", 0.5, "INTERNAL"),
                             ("sending", 1.0, None), ("retrying", 1.5, "INTERNAL"), ("sending", 2.5, None),
                             ("failed", 3.0, "INTERNAL")]


def test_fail_next_rule_counts_attempts_then_is_used_up(world):
    fake, client = world({"platforms": FIXED, "rules": [{"token": BOB, "failNext": 2, "outcome": "INTERNAL"}]})
    first = deliver_one(fake, client, "fcm")
    assert (first.state, first.attempts, reasons(first, "retrying")) == ("delivered", 3, ["INTERNAL"] * 2)
    assert deliver_one(fake, client, "fcm").attempts == 1


@pytest.mark.parametrize("moment", ["+30s", "2026-01-01T00:00:30Z", "2026-01-01T01:00:30+01:00", START + 30])
def test_unregistered_from_rule_time_forms(world, moment):
    fake, client = world({"rules": [{"token": ALICE, "unregisteredFrom": moment}]})
    assert deliver_one(fake, client, "apns").state == "delivered"
    fake.advance(START + 30 - fake.clock.now())
    late = deliver_one(fake, client, "apns")
    assert (late.state, late.reason) == ("failed", "Unregistered")
    assert fake.gateway.token_mark("apns", ALICE).since == START + 30
    assert_no_device(client, "alice")


def test_unregistered_rule_by_pattern(world):
    fake, client = world({"rules": [{"pattern": "^fcm:", "unregisteredFrom": START}]})
    assert (deliver_one(fake, client, "fcm").reason, deliver_one(fake, client, "apns").state) == (
        "UNREGISTERED", "delivered")


def test_outage_rule(world):
    fake, client = world({"platforms": FIXED,
                          "outages": [{"platform": "fcm", "from": "+10s", "until": "+20s", "outcome": "INTERNAL"}]})
    assert deliver_one(fake, client, "fcm").attempts == 1
    fake.advance(START + 12 - fake.clock.now())
    inside = deliver_one(fake, client, "fcm")
    assert times_of(inside, "sending") == [0, 1.5, 4, 8.5] and inside.state == "delivered"
    assert reasons(inside, "retrying") == ["INTERNAL"] * 3


def test_outage_from_defaults_to_load_time(world):
    fake, client = world({"retry": {"limit": 0}, "outages": [{"platform": "webpush", "until": "+5s"}]})
    assert deliver_one(fake, client, "webpush").reason == "503"
    fake.advance(5)
    assert deliver_one(fake, client, "webpush").state == "delivered"


def test_throughput_per_second(world):
    fake, client = world({"platforms": {"apns": {"latency": 0.5, "throughputPerSecond": 1}}})
    add_apns_devices(client, "many", 3)
    assert sent(client, "many") == 3
    fake.run_until_idle()
    many = fake.deliveries.find(user_id="many")
    assert sorted(d.attempts for d in many) == [1, 2, 3] and all(d.state == "delivered" for d in many)
    assert {r for d in many for r in reasons(d, "retrying")} == {"TooManyRequests"}


def test_check_tokens_false_delivers_a_malformed_token(world):
    fake, client = world({"platforms": {"apns": {"checkTokens": False}}})
    start_device(client, "mal", "mal-phone", "iosPushToken", "ab" * 31)
    start_device(client, "mal2", "mal2-phone", "gcmRegistrationId", "short")
    assert sent(client, "mal") == 1 and sent(client, "mal2") == 1
    fake.run_until_idle()
    assert last_delivery(fake, user_id="mal").state == "delivered"
    assert last_delivery(fake, user_id="mal2").reason == "INVALID_ARGUMENT"  # fcm still checks


def test_token_overrides(world):
    fake, client = world({"platforms": FIXED, "tokens": [
        {"token": ALICE, "latency": 2.0},
        {"pattern": "^fcm:", "platform": "fcm", "failures": {"INTERNAL": 1}}]})
    assert latency_of(deliver_one(fake, client, "apns")) == 2.0
    assert latency_of(deliver_one(fake, client, "webpush")) == 0.5
    bob = deliver_one(fake, client, "fcm")
    assert (bob.state, bob.reason, bob.attempts) == ("failed", "INTERNAL", 4)


def test_a_token_override_without_platform_leaves_other_platforms_alone(tmp_path):
    """As in the Python API: fcm's code cannot reach APNs tokens; refusing the file is also fine."""
    try:
        fake = fake_with(tmp_path, {"tokens": [{"pattern": ".", "failures": {"UNAVAILABLE": 1}}]})
    except FixtureError:
        return
    with serving(fake) as client:
        assert sent(client, "alice") == 1 and sent(client, "bob") == 1
        fake.run_until_idle()
        assert last_delivery(fake, user_id="alice").state == "delivered"
        assert last_delivery(fake, user_id="bob").reason == "UNAVAILABLE"


def test_no_gateway_section_uses_the_builtin_defaults(world):
    fake, client = world(None)
    for platform in ("apns", "fcm", "webpush"):
        delivery = deliver_one(fake, client, platform)
        assert (delivery.state, delivery.attempts) == ("delivered", 1)
        assert 0 < latency_of(delivery) < 5


# --- bad sections -------------------------------------------------------------------------------
BAD = [
    ({"platforms": {"fcm": {"failures": {"NOPE": 0.1}}}}, "gateway.platforms.fcm.failures.NOPE",
     "fcm has no outcome 'NOPE'"),
    ({"platforms": {"fcm": {"failures": {"Unregistered": 0.1}}}}, "gateway.platforms.fcm.failures.Unregistered",
     "fcm has no outcome 'Unregistered'"),
    ({"rules": [{"pattern": "x", "failNext": 1, "outcome": "NOPE"}]}, "gateway.rules[0].outcome",
     "no platform answers 'NOPE'"),
    ({"platforms": {"fcm": {"failures": {"UNAVAILABLE": 1.5}}}}, "gateway.platforms.fcm.failures.UNAVAILABLE",
     "must be at most 1"),
    ({"platforms": {"fcm": {"failures": {"UNAVAILABLE": 0.7, "INTERNAL": 0.6}}}}, "gateway.platforms.fcm.failures",
     "add up to 1.3, more than 1"),
    ({"outages": [{"platform": "fcm", "from": "+20s", "until": "+10s"}]}, "gateway.outages[0]",
     "an outage ends after it starts"),
    ({"outages": [{"platform": "fcm", "until": "+10s", "outcome": "OK"}]}, "gateway.outages[0].outcome",
     "an outage answers a failure"),
    ({"rules": [{"platform": "fcm", "unregisteredFrom": "tomorrow"}]}, "gateway.rules[0].unregisteredFrom",
     "'tomorrow' is not a time"),
    ({"rules": [{"platform": "fcm", "unregisteredFrom": "2026-01-01T00:00:00"}]},
     "gateway.rules[0].unregisteredFrom", "needs a time zone"),
    ({"outages": [{"platform": "fcm", "until": "soon"}]}, "gateway.outages[0]", "'soon' is not a time"),
    ({"platforms": {"apns": {"latency": {"lognormal": {"median": 0.5, "p99": 0.1}}}}},
     "gateway.platforms.apns.latency", "needs 0 < median <= p99"),
    ({"platforms": {"apns": {"latency": {"uniform": [0.5, 0.1]}}}}, "gateway.platforms.apns.latency",
     "needs low <= high"),
    ({"platforms": {"huawei": {"latency": 1}}}, "gateway.platforms.huawei", "is not a known field"),
    ({"rules": [{"platform": "huawei", "failNext": 1, "outcome": "OK"}]}, "gateway.rules[0].platform",
     "must be one of apns, fcm, webpush"),
    ({"platforms": {"fcm": {"speed": 1}}}, "gateway.platforms.fcm.speed", "is not a known field"),
    ({"retries": {"limit": 1}}, "gateway.retries", "is not a known field"),
    ({"retry": {"limits": 1}}, "gateway.retry.limits", "is not a known field"),
    ({"rules": [{"platform": "apns", "failNext": 1, "outcome": "UNAVAILABLE"}]}, "gateway.rules[0].outcome",
     "apns has no outcome 'UNAVAILABLE'"),
    ({"tokens": [{"platform": "apns", "failures": {"UNAVAILABLE": 0.5}}]}, "gateway.tokens[0].failures.UNAVAILABLE",
     "apns has no outcome 'UNAVAILABLE'"),
    ({"platforms": {"fcm": {"throughputPerSecond": 0}}}, "gateway.platforms.fcm.throughputPerSecond",
     "must be at least 0.001"),
]


@pytest.mark.parametrize(("section", "where", "phrase"), BAD, ids=[b[1] + "-" + b[2][:24] for b in BAD])
def test_a_bad_section_names_its_place(tmp_path, section, where, phrase):
    path = gateway_world(tmp_path, section)
    with pytest.raises(FixtureError) as caught:
        Fake(fixtures=path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}: "), message
    assert phrase in message, message


# --- the Python API refuses the same mistakes ---------------------------------------------------
PYTHON_BAD = [
    (lambda g: g.fail_next(1, "NOPE", platform="fcm"), "fcm has no outcome 'NOPE'"),
    (lambda g: g.fail_next(1, "Unregistered", platform="fcm"), "fcm has no outcome 'Unregistered'"),
    (lambda g: g.fail_next(0, "UNAVAILABLE", platform="fcm"), "whole number >= 1"),
    (lambda g: g.fail_next(1, "UNAVAILABLE"), "say which tokens"),
    (lambda g: g.set_failures({"UNAVAILABLE": 1.5}, platform="fcm"), "between 0 and 1"),
    (lambda g: g.set_failures({"UNAVAILABLE": 0.7, "INTERNAL": 0.6}, platform="fcm"), "more than 1"),
    (lambda g: g.add_outage("fcm", "+20s", "+10s"), "an outage ends after it starts"),
    (lambda g: g.add_outage("fcm", "+0s", "+10s", outcome="OK"), "an outage answers a failure"),
    (lambda g: g.add_outage("huawei", "+1s", "+10s"), "unknown platform 'huawei'"),
    (lambda g: g.unregister(platform="fcm", at="tomorrow"), "'tomorrow' is not a time"),
    (lambda g: g.unregister(platform="fcm", at="2026-01-01T00:00:00"), "needs a time zone"),
    (lambda g: g.set_latency(LogNormal(median=0.5, p99=0.1)), "needs 0 < median <= p99"),
    (lambda g: g.set_latency({"lognormal": {"median": 0.5, "p99": 0.1}}), "needs 0 < median <= p99"),
    (lambda g: g.set_latency(Uniform(0.5, 0.1)), "needs low <= high"),
    (lambda g: g.set_latency(Fixed(-1)), "must be >= 0"),
    (lambda g: g.set_latency(0.1, platform="huawei"), "unknown platform 'huawei'"),
    (lambda g: g.set_throughput(0), "a number > 0"),
    (lambda g: g.set_retry(limit=-1), "retry needs limit >= 0"),
    (lambda g: g.configure({"platforms": {"fcm": {"speed": 1}}}), "gateway.platforms.fcm.speed: unknown"),
    (lambda g: g.configure({"retries": {}}), "gateway.retries: unknown setting"),
    (lambda g: g.configure({"platforms": {"huawei": {}}}), "gateway.platforms.huawei: unknown platform"),
    (lambda g: g.token_mark("huawei", "x"), "unknown platform 'huawei'"),
]


@pytest.mark.parametrize(("call", "phrase"), PYTHON_BAD, ids=[p for _, p in PYTHON_BAD])
def test_the_python_api_refuses_with_value_error(fake, call, phrase):
    with pytest.raises(ValueError, match=phrase.replace("(", r"\(")) as caught:
        call(fake.gateway)
    assert phrase in str(caught.value)


def test_a_refused_call_changes_nothing(fake, client):
    for bad in ({"UNAVAILABLE": 0.7, "INTERNAL": 0.6}, {"UNAVAILABLE": 1.0, "NOPE": 0.1}):
        with pytest.raises(ValueError):
            fake.gateway.set_failures(bad, platform="fcm")
    with pytest.raises(ValueError):
        fake.gateway.set_retry(limit=0, jitter=2)
    fake.gateway.fail_next(1, "UNAVAILABLE", platform="fcm")
    assert deliver_one(fake, client, "fcm").attempts == 2  # failures off, retry limit untouched


@pytest.mark.parametrize("moment", ["+1m", "2026-01-01T00:01:00Z", START + 60,
                                    datetime.fromtimestamp(START + 60, UTC)])
def test_python_api_time_forms_match_the_fixtures(fake, client, moment):
    fake.gateway.unregister(ALICE, platform="apns", at=moment)
    fake.advance(59)
    assert deliver_one(fake, client, "apns").state == "delivered"
    fake.advance(START + 60 - fake.clock.now())
    assert deliver_one(fake, client, "apns").reason == "Unregistered"
    assert fake.gateway.token_mark("apns", ALICE).since == START + 60


# --- reset and clear ----------------------------------------------------------------------------
@pytest.mark.parametrize("restore", ["reset", "clear"])
def test_reset_and_clear_drop_run_time_settings(world, restore):
    fake, client = world({"platforms": FIXED, "retry": {"limit": 1}})
    fake.gateway.set_latency(3.0, platform="fcm")
    fake.gateway.fail_next(5, "503", platform="webpush")
    fake.gateway.set_retry(limit=0)
    getattr(fake if restore == "reset" else fake.gateway, restore)()
    fake.gateway.fail_next(1, "INTERNAL", platform="fcm")
    bob = deliver_one(fake, client, "fcm")
    assert (bob.state, bob.attempts, latency_of(bob)) == ("delivered", 2, 0.5)  # fixtures' retry and latency
    carol = deliver_one(fake, client, "webpush")
    assert (carol.state, carol.attempts) == ("delivered", 1)


def test_reset_restarts_the_fixtures_fail_next_count(world):
    fake, client = world({"platforms": FIXED, "rules": [{"token": BOB, "failNext": 1, "outcome": "INTERNAL"}]})
    assert deliver_one(fake, client, "fcm").attempts == 2
    assert deliver_one(fake, client, "fcm").attempts == 1  # used up
    fake.reset()
    bob = deliver_one(fake, client, "fcm")
    assert (bob.attempts, reasons(bob, "retrying")) == (2, ["INTERNAL"])


@pytest.mark.parametrize("fixtures_rule", [
    {"rules": [{"platform": "apns", "unregisteredFrom": "+30s"}]},
    {"retry": {"limit": 0}, "outages": [{"platform": "apns", "from": "+30s", "until": "+60s"}]},
])
def test_clear_keeps_the_fixtures_relative_times_where_they_were(world, fixtures_rule):
    """Relative times count from when the fake was built or last reset; clear() is no reset."""
    fake, client = world(fixtures_rule)
    fake.advance(40)
    fake.gateway.fail_next(1, "INTERNAL", platform="fcm")
    fake.gateway.clear()  # drop the run-time rule only
    assert deliver_one(fake, client, "apns").state == "failed"  # still 40 s after START


def test_reset_forgets_token_marks_and_pending_work(fake, client):
    fake.gateway.unregister(BOB, platform="fcm")
    deliver_one(fake, client, "fcm")
    assert fake.gateway.token_mark("fcm", BOB) is not None
    assert sent(client, "alice") == 1
    assert fake.gateway.pending == 1
    fake.reset()
    assert fake.gateway.pending == 0 and fake.gateway.token_mark("fcm", BOB) is None
    assert deliver_one(fake, client, "fcm").state == "delivered"


def test_relative_times_restart_at_reset(world):
    fake, client = world({"rules": [{"token": ALICE, "unregisteredFrom": "+30s"}]})
    fake.advance(100)
    fake.reset()
    restarted = fake.clock.now()
    assert deliver_one(fake, client, "apns").state == "delivered"
    fake.advance(restarted + 30 - fake.clock.now())
    late = deliver_one(fake, client, "apns")
    assert (late.reason, fake.gateway.token_mark("apns", ALICE).since) == ("Unregistered", restarted + 30)


# --- engagement ---------------------------------------------------------------------------------
def test_engaging_a_leanplum_delivery(fake, client):
    assert sent(client, "alice") == 1
    [queued] = fake.deliveries.find(user_id="alice")
    with pytest.raises(ValueError, match="only a delivered"):
        fake.engage(queued.id, "open")
    fake.run_until_idle()
    fake.advance(7)
    opened = fake.engage(queued.id, "open")
    assert opened.engaged("open") and not opened.engaged("click")
    clicked = fake.engage(queued.id, "click")
    assert [(kind, at) for kind, at, _ in clicked.engagements] == [("open", fake.clock.now()), ("click", fake.clock.now())]
    assert fake.deliveries.get(queued.id).engaged("click")
    with pytest.raises(ValueError, match="'open' or 'click'"):
        fake.engage(queued.id, "swipe")
    with pytest.raises(KeyError):
        fake.engage("no-such-delivery")


def test_a_failed_delivery_cannot_be_engaged(fake, client):
    fake.gateway.fail_next(1, "BadDeviceToken", platform="apns")
    failed = deliver_one(fake, client, "apns")
    assert failed.state == "failed"
    with pytest.raises(ValueError, match="is failed"):
        fake.engage(failed.id)
    assert fake.deliveries.get(failed.id).engagements == ()


def test_dengage_opens_count_in_the_report_and_make_a_token_engaged(fake, client):
    token = dg.login(client)
    assert dg.reached(fake, dengage_send(client, token, segmentId=dg.GOLD_SEGMENT, useOnlyEngagedTokens=True)) == {
        dg.ELIF_CHROME}
    tracking = dengage_send(client, token, segmentId=dg.GOLD_SEGMENT)
    ayse = last_delivery(fake, send_id=tracking, device_id="ayse-iphone")
    with pytest.raises(ValueError):
        fake.engage(ayse.id, "open")  # still queued: nothing changes
    assert dg.reached(fake, dengage_send(client, token, segmentId=dg.GOLD_SEGMENT, useOnlyEngagedTokens=True)) == {
        dg.ELIF_CHROME}
    fake.run_until_idle()
    report = dg.report(client, token, tracking)
    assert (report["totalOpenCount"], report["totalDeliveredCount"]) == (0, 2)

    fake.engage(ayse.id, "open")
    fake.engage(last_delivery(fake, send_id=tracking, device_id="elif-chrome").id, "click")
    report = dg.report(client, token, tracking)
    assert report["totalOpenCount"] == 1  # a click is not an open
    assert {t["itemName"]: t["openCount"] for t in report["deviceTypes"]} == {"iOS": 1, "Web": 0}
    assert dg.reached(fake, dengage_send(client, token, segmentId=dg.GOLD_SEGMENT, useOnlyEngagedTokens=True)) == {
        dg.AYSE_IPHONE, dg.ELIF_CHROME}


def test_failure_rates_for_every_platform_apply_where_the_code_exists(fake, client):
    fake.gateway.set_latency(Fixed(0.5))
    fake.gateway.set_retry(limit=0)
    fake.gateway.set_failures({"ServiceUnavailable": 1.0})  # an APNs code: FCM and web push keep delivering
    for user in ("alice", "bob", "carol"):
        client.post("/api?action=sendMessage", json={"appId": "app_pushfake", "clientKey": "prod_pushfake",
                                                     "userId": user, "messageId": 1001})
    fake.run_until_idle()
    assert {d.platform: (d.state, d.reason) for d in fake.deliveries.find()} == {
        "apns": ("failed", "ServiceUnavailable"), "fcm": ("delivered", None), "webpush": ("delivered", None)}


def test_a_refused_failure_rate_changes_no_platform(fake):
    before = {name: dict(s.failures) for name, s in fake.gateway.config.platforms.items()}
    with pytest.raises(ValueError, match="no platform answers 'NOPE'"):
        fake.gateway.set_failures({"ServiceUnavailable": 0.5, "NOPE": 0.1})
    assert {name: s.failures for name, s in fake.gateway.config.platforms.items()} == before
