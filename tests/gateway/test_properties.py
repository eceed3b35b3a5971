"""Whatever sends, faults, retry policies and clock moves come in, once the gateway is idle every
delivery has one final state reached by a well-formed timeline, none is lost or duplicated, and
the vendors' answers and reports agree with the deliveries."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from pushfake import Fake, ManualClock
from pushfake.core.tokens import token_key
from pushfake.gateway import PLATFORMS
from tests.dengage import helpers as dg
from tests.gateway.helpers import (
    TIMELINE_GRAMMAR, bad_token, good_token, register, send_message, serving, states,
)
from tests.support import deterministic

PLATFORM_NAMES = sorted(PLATFORMS)
FAILURES = {name: sorted(c for c, o in p.outcomes.items() if o.kind != "ok") for name, p in PLATFORMS.items()}
KIND = {(name, code): o.kind for name, p in PLATFORMS.items() for code, o in p.outcomes.items()}
WORLD_USERS = ["alice", "bob", "carol"]

platform_and_code = st.sampled_from(PLATFORM_NAMES).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(FAILURES[name])))
seconds = st.floats(0, 15, allow_nan=False)


def marked(fake: Fake) -> set[tuple[str, str]]:
    return {(m.platform, m.key) for m in fake.deliveries.tokens.marks()}


class GatewayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.fake = Fake(seed=3, clock=ManualClock())
        self._serving = serving(self.fake)
        self.client = self._serving.__enter__()
        self.login = dg.login(self.client)
        self.users = list(WORLD_USERS)
        self.tokens = [(d.platform, d.token) for d in self.fake.dengage.state.devices(dg.ACCOUNT).values()]
        self.limits = {self.fake.gateway.config.retry.limit}
        self.leanplum_sends: list[tuple[int, set[str], set[tuple[str, str]]]] = []  # messagesSent, ids, marks
        self.dengage_sends: list[tuple[str, set[tuple[str, str]] | None]] = []  # tracking id, marks if immediate
        self.last_schedule = 0.0

    @initialize(devices=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(PLATFORM_NAMES),
                                           st.sampled_from([True, True, False])),  # mostly valid tokens
                                 min_size=1, max_size=6))
    def create_users(self, devices: list[tuple[int, str, bool]]) -> None:
        for n, (user_no, platform, valid) in enumerate(devices):
            user, token = f"u{user_no}", (good_token if valid else bad_token)(platform, n)
            register(self.client, user, f"{user}-d{n}", platform, token)
            self.tokens.append((platform, token))
            if user not in self.users:
                self.users.append(user)

    # --- sends ------------------------------------------------------------------------------------
    @rule(pick=st.integers(0, 100), with_values=st.booleans())
    def leanplum_send(self, pick: int, with_values: bool) -> None:
        before, marks = {d.id for d in self.fake.deliveries.find()}, marked(self.fake)
        params = {"values": {"name": "Sam"}} if with_values else {}
        count = send_message(self.client, self.users[pick % len(self.users)], 1001, **params)["messagesSent"]
        new = {d.id for d in self.fake.deliveries.find()} - before
        assert len(new) == count
        self.leanplum_sends.append((count, new, marks))

    @rule(audience=st.sampled_from([{}, {"segmentId": dg.GOLD_SEGMENT}, {"tableId": dg.BETA_TABLE}]),
          engaged_only=st.booleans(), delay=st.none() | st.integers(1, 30))
    def dengage_send(self, audience: dict[str, str], engaged_only: bool, delay: int | None) -> None:
        body = {"content": {"templateId": dg.SALE_TEMPLATE}, **audience, "useOnlyEngagedTokens": engaged_only}
        if delay is not None:
            when = math.ceil(self.fake.clock.now()) + delay
            body["scheduleDate"] = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.last_schedule = max(self.last_schedule, when)
        marks = marked(self.fake)
        tracking = dg.tracking_id(dg.send(self.client, self.login, body))
        self.dengage_sends.append((tracking, marks if delay is None else None))

    # --- faults and settings ------------------------------------------------------------------------
    @rule(failure=platform_and_code, times=st.integers(1, 6), token_pick=st.none() | st.integers(0, 100))
    def fail_next(self, failure: tuple[str, str], times: int, token_pick: int | None) -> None:
        platform, code = failure
        tokens = [t for p, t in self.tokens if p == platform]
        if token_pick is None or not tokens:
            self.fake.gateway.fail_next(times, code, platform=platform)
        else:
            self.fake.gateway.fail_next(times, code, token=tokens[token_pick % len(tokens)], platform=platform)

    @rule(platform=st.sampled_from(PLATFORM_NAMES), data=st.data())
    def set_failures(self, platform: str, data: st.DataObject) -> None:
        codes = data.draw(st.lists(st.sampled_from(FAILURES[platform]), unique=True, max_size=3))
        weights = data.draw(st.lists(st.floats(0.01, 1), min_size=len(codes), max_size=len(codes)))  # no subnormal: 0.9 / 5e-324 is inf
        total = sum(weights)
        scale = data.draw(st.floats(0, 0.9)) / total if total else 0.0
        self.fake.gateway.set_failures({c: w * scale for c, w in zip(codes, weights, strict=True)}, platform=platform)

    @rule(failure=platform_and_code, start=seconds, length=st.floats(0.1, 20), default_code=st.booleans())
    def add_outage(self, failure: tuple[str, str], start: float, length: float, default_code: bool) -> None:
        platform, code = failure
        now = self.fake.clock.now()
        self.fake.gateway.add_outage(platform, now + start, now + start + length, None if default_code else code)

    @rule(platform=st.none() | st.sampled_from(PLATFORM_NAMES), per_second=st.sampled_from([None, 0.5, 1, 3, 50]))
    def set_throughput(self, platform: str | None, per_second: float | None) -> None:
        self.fake.gateway.set_throughput(per_second, platform=platform)

    @rule(pick=st.integers(0, 100), after=st.none() | seconds)
    def unregister(self, pick: int, after: float | None) -> None:
        platform, token = self.tokens[pick % len(self.tokens)]
        at = None if after is None else self.fake.clock.now() + after
        self.fake.gateway.unregister(token, platform=platform, at=at)

    @rule(limit=st.integers(0, 4), initial=st.floats(0, 2), multiplier=st.floats(1, 3),
          maximum=st.floats(0, 30), jitter=st.sampled_from([0, 0.3, 1]))
    def set_retry(self, limit: int, initial: float, multiplier: float, maximum: float, jitter: float) -> None:
        self.fake.gateway.set_retry(limit=limit, initial=initial, multiplier=multiplier, maximum=maximum,
                                    jitter=jitter)
        self.limits.add(limit)

    @rule(by=seconds)
    def advance(self, by: float) -> None:
        self.fake.advance(by)

    @rule()
    def settle(self) -> None:
        self.fake.run_until_idle()
        assert self.fake.gateway.pending == 0
        self.check_deliveries()

    def teardown(self) -> None:
        try:
            if self.last_schedule > self.fake.clock.now():
                self.fake.advance(self.last_schedule - self.fake.clock.now() + 1)
            self.fake.run_until_idle()
            self.check_deliveries()
            self.check_sends()
        finally:
            self._serving.__exit__(None, None, None)

    # --- the invariants -----------------------------------------------------------------------------
    def check_deliveries(self) -> None:
        for d in self.fake.deliveries.find():
            assert TIMELINE_GRAMMAR.fullmatch(" ".join(states(d))), d.timeline  # one final step, last
            times = [at for _, at, _ in d.timeline]
            assert times == sorted(times), d.timeline
            assert d.attempts <= max(self.limits) + 1, (d.attempts, self.limits)
            for state, _, reason in d.timeline:
                if state == "retrying":
                    assert KIND[d.platform, reason] == "transient", d.timeline
                elif state == "failed":
                    assert KIND[d.platform, reason] != "ok", d.timeline
                else:
                    assert reason is None, d.timeline
            if d.state == "failed" and KIND[d.platform, d.reason] == "transient":  # retries ran out
                assert min(self.limits) <= d.attempts - 1 <= max(self.limits), (d.attempts, self.limits)
            token_failure = d.state == "failed" and KIND[d.platform, d.reason] == "token"
            assert d.token_rejected == token_failure, d.timeline
            if d.token_rejected:
                assert self.fake.gateway.token_mark(d.platform, d.token) is not None

    def check_sends(self) -> None:
        everything = self.fake.deliveries.find()
        ids = {d.id for d in everything}
        assert len(ids) == len(everything)
        by_id = {d.id: d for d in everything}
        sent_ids: set[str] = set()
        total = 0
        for count, new, marks in self.leanplum_sends:
            rows = [by_id[i] for i in new]
            assert all(d.vendor == "leanplum" for d in rows)
            assert len({d.device_id for d in rows}) == len(rows) == count  # one per device per send
            assert not any((d.platform, token_key(d.platform, d.token)) in marks for d in rows)
            sent_ids |= new
            total += count
        for tracking, marks in self.dengage_sends:
            rows = self.fake.deliveries.find(send_id=tracking)
            data = dg.report(self.client, self.login, tracking)
            assert len({d.device_id for d in rows}) == len(rows) == data["totalCount"]
            if marks is not None:
                assert not any((d.platform, token_key(d.platform, d.token)) in marks for d in rows)
            failed = [d for d in rows if d.state == "failed"]
            assert data["status"] == "Completed"
            assert data["totalDeliveredCount"] == sum(d.state == "delivered" for d in rows)
            assert data["totalBounceCount"] == sum(d.token_rejected for d in failed)
            assert data["totalErrorCount"] == sum(not d.token_rejected for d in failed)
            assert (data["errorMessage"] is None) == (not failed)
            assert data["errorMessage"] is None or data["errorMessage"] in {d.reason for d in failed}
            sent_ids |= {d.id for d in rows}
            total += data["totalCount"]
        assert sent_ids == ids and total == len(ids)  # nothing lost, nothing made up


TestGatewayMachine = GatewayMachine.TestCase
TestGatewayMachine.settings = settings(deterministic(60), stateful_step_count=30)
