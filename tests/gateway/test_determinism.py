"""One seed, one sequence of requests: one delivery log, whatever the latency draws, random
failures, retries with jitter and outages along the way."""

from __future__ import annotations

from collections import Counter

from pushfake import Fake, ManualClock
from pushfake.gateway import LogNormal
from tests.dengage import helpers as dg
from tests.gateway.helpers import START, bad_token, delivery_log, good_token, register, send_message, serving

PLATFORM_ORDER = ("apns", "fcm", "webpush")
USERS = [f"user{n}" for n in range(6)] + ["alice", "bob", "carol"]


def workload(fake: Fake) -> list[tuple]:
    """A mixed run on `fake` through HTTP; its delivery log once the gateway is idle."""
    gateway = fake.gateway
    gateway.set_latency(LogNormal(median=0.05, p99=0.4))
    gateway.set_latency(LogNormal(median=0.2, p99=1.5), platform="webpush")
    gateway.set_failures({"UNAVAILABLE": 0.3, "UNREGISTERED": 0.05}, platform="fcm")
    gateway.set_failures({"ServiceUnavailable": 0.25}, platform="apns")
    gateway.set_failures({"503": 0.2, "410": 0.05}, platform="webpush")
    gateway.set_retry(jitter=0.5)
    gateway.add_outage("apns", "+0.5s", "+2s")
    with serving(fake) as client:
        for n, user in enumerate(USERS[:6]):
            for k, platform in enumerate(PLATFORM_ORDER[: 1 + n % 3]):
                token = bad_token(platform, 10 * n + k) if n == 4 else good_token(platform, 10 * n + k)
                register(client, user, f"{user}-{platform}", platform, token)
        login = dg.login(client)
        for round_ in range(3):
            for user in USERS:
                send_message(client, user, 1001, values={"name": f"{user}#{round_}"})
            dg.tracking_id(dg.send(client, login, {"content": {"templateId": dg.SALE_TEMPLATE},
                                                   "segmentId": dg.GOLD_SEGMENT}))
            dg.tracking_id(dg.send(client, login, {"content": dg.CONTENT}))
            fake.advance(0.7)
        fake.run_until_idle()
    return delivery_log(fake)


def run_fresh(seed: int, start: float | None = None) -> list[tuple]:
    clock = ManualClock() if start is None else ManualClock(start)
    return workload(Fake(seed=seed, clock=clock))


def relative(log: list[tuple], t0: float) -> list[tuple]:
    return [(i, device_id, tuple((s, round(at - t0, 6), r) for s, at, r in timeline), rejected)
            for i, device_id, timeline, rejected in log]


def without_ids(log: list[tuple]) -> list[tuple]:
    return sorted((device_id, timeline, rejected) for _, device_id, timeline, rejected in log)


def test_the_same_seed_and_requests_give_the_same_delivery_log():
    first, second = run_fresh(11), run_fresh(11)
    assert first == second
    # the run exercised what could make it diverge: retries, failures of each kind, deliveries
    steps = Counter(state for _, _, timeline, _ in first for state, _, _ in timeline)
    assert steps["retrying"] > 0 and steps["failed"] > 0 and steps["delivered"] > 0
    assert any(rejected for *_, rejected in first)
    assert any(timeline[-1][2] == "ServiceUnavailable" and len(timeline) > 4 for _, _, timeline, _ in first)
    assert len(first) > 40


def test_a_different_seed_gives_a_different_log():
    first, other = run_fresh(11), run_fresh(12)
    assert first != other
    assert without_ids(first) != without_ids(other)  # the timelines differ, not only the ids


def test_reset_then_the_same_requests_give_a_fresh_fakes_log():
    fake = Fake(seed=11, clock=ManualClock())
    before_reset = workload(fake)
    fake.reset()
    assert fake.deliveries.find() == [] and fake.gateway.pending == 0
    restarted_at = fake.clock.now()
    again = workload(fake)
    assert again == run_fresh(11, start=restarted_at)
    # and it is the first run over again, shifted to the new start: same ids, steps and reasons
    assert relative(again, restarted_at) == relative(before_reset, START)
