"""The simulated device gateway: carries out every delivery after the vendor has answered.

Each delivery handed over by the queue is attempted at once: the gateway decides the outcome
(see `platforms` for the codes), draws the attempt's latency, and records the answer when that
latency has passed on the fake's clock. Transient failures are retried with exponential back-off
up to the retry limit; token failures mark the token so later sends leave it out.

Timeline of a delivery: `queued` -> `sending` -> `delivered`, or `failed` with the gateway's
code, with `retrying` (and the code that caused it) between attempts.

The gateway keeps its own heap of pending attempts and answers, and asks the scheduler to wake
it at the earliest one. With a `ManualClock`, `Fake.advance` and `Fake.run_until_idle` step the
clock from one due time to the next, so every step is stamped with its own time. On real time
the scheduler's task wakes it, and it works through at most `budget` items before giving the
event loop back, so the API keeps answering while thousands of deliveries complete.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.deliveries import Delivery, DeliveryQueue
from pushfake.core.latency import Latency, latency_from
from pushfake.core.rng import SeededRandom
from pushfake.core.scheduler import Scheduler
from pushfake.core.store import Store
from pushfake.core.times import when
from pushfake.core.tokens import INVALID, TokenMark, TokenRegistry, token_key
from pushfake.gateway import config as cfg
from pushfake.gateway.config import GatewayConfig, PlatformSettings, TokenOverride
from pushfake.gateway.platforms import (
    OK,
    PLATFORMS,
    TOKEN,
    TRANSIENT,
    Outcome,
    platform,
    token_is_well_formed,
    within_limit,
)

# (due, order, delivery, attempt number, outcome or None for "start the attempt", token mark time)
_Entry = tuple[float, int, Delivery, int, Outcome | None, float | None]


class Gateway:
    """Runs deliveries; also the Python API for shaping how the gateways behave."""

    budget = 512  # items per wake-up before the event loop gets a turn

    def __init__(self, *, store: Store, clock: Clock, rng: SeededRandom, scheduler: Scheduler,
                 deliveries: DeliveryQueue, fixtures: dict[str, Any] | None = None) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng
        self._scheduler = scheduler
        self._deliveries = deliveries
        self.tokens: TokenRegistry = deliveries.tokens
        self._fixtures = fixtures or {}
        self.section: dict[str, Any] = self._fixtures  # the section in force (fixtures', or replaced)
        self._loaded_at = clock.now()  # what the fixtures' relative times ('+30s') count from
        self.config = GatewayConfig.from_mapping(self._fixtures, self._loaded_at)
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        self._wake_at = math.inf
        self._buckets: dict[str, list[float]] = {}  # platform -> [tokens left, last refill time]

    # --- lifecycle -------------------------------------------------------------------------------
    def reset(self, keep_config: bool = False) -> None:
        """Forget pending work; unless `keep_config`, go back to the fixtures' configuration
        (relative times anew)."""
        with self._store.transaction():
            self._heap.clear()
            self._wake_at = math.inf
            self._buckets.clear()
            if not keep_config:
                self._loaded_at = self._clock.now()
                self.config = GatewayConfig.from_mapping(self._fixtures, self._loaded_at)
                self.section = self._fixtures

    def check(self, fixtures: dict[str, Any] | None) -> None:
        """ValueError naming the place if a fixtures `gateway` section is wrong."""
        GatewayConfig.from_mapping(fixtures or {}, self._clock.now())

    def replace_settings(self, section: dict[str, Any]) -> None:
        """Settings written as a fixtures `gateway` section, in force until the next full reset
        (which goes back to the fixtures'); ValueError if it is wrong."""
        config = GatewayConfig.from_mapping(section, self._clock.now())
        with self._store.transaction():
            self.config = config
            self.section = section
            self._buckets.clear()

    def load_fixtures(self, fixtures: dict[str, Any] | None) -> None:
        """Take another fixtures `gateway` section (ValueError if it is wrong); applies at once."""
        config = GatewayConfig.from_mapping(fixtures or {}, self._clock.now())
        with self._store.transaction():
            self._fixtures = fixtures or {}
            self.section = self._fixtures
            self._loaded_at = self._clock.now()
            self.config = config

    def accept(self, ids: list[str]) -> None:
        """The delivery queue's consumer: start an attempt for each delivery now."""
        now = self._clock.now()
        get = self._deliveries.get
        with self._store.transaction():
            heap, order = self._heap, self._order
            for delivery_id in ids:
                delivery = get(delivery_id)
                if delivery is not None:
                    heapq.heappush(heap, (now, next(order), delivery, 1, None, None))
            self._wake(now)

    @property
    def pending(self) -> int:
        """Attempts waiting to start or to be answered."""
        return len(self._heap)

    # --- the work --------------------------------------------------------------------------------
    def _wake(self, when: float) -> None:
        if when < self._wake_at:
            self._wake_at = when
            self._scheduler.call_at(when, self._run)

    def _run(self) -> None:
        with self._store.transaction():
            self._wake_at = math.inf
            now, heap, done = self._clock.now(), self._heap, 0
            while heap and heap[0][0] <= now and done < self.budget:
                due, _, delivery, attempt, outcome, since = heapq.heappop(heap)
                if outcome is None:
                    self._start(delivery, attempt, due)
                else:
                    self._answer(delivery, attempt, outcome, since, due)
                done += 1
            if heap:
                self._wake(heap[0][0])

    def _start(self, delivery: Delivery, attempt: int, at: float) -> None:
        name = delivery.platform
        settings = self.config.platforms[name]
        override = self._override(name, delivery.token) if self.config.overrides else None
        outcome, since = self._decide(delivery, settings, override, at)
        latency = (override.latency if override is not None and override.latency is not None
                   else settings.latency).draw(self._rng)
        delivery.timeline = (*delivery.timeline, ("sending", at, None))
        self._deliveries.changes.notify()  # in memory already; a long-poll for `sending` wakes
        heapq.heappush(self._heap, (at + latency, next(self._order), delivery, attempt, outcome, since))

    def _decide(self, delivery: Delivery, settings: PlatformSettings, override: TokenOverride | None,
                at: float) -> tuple[Outcome, float | None]:
        """What the gateway answers this attempt, in the order a real one would find out."""
        name, token, config = delivery.platform, delivery.token, self.config
        gateway = PLATFORMS[name]
        mark = self.tokens.mark_of(name, token)
        if mark is not None:  # a gateway keeps answering the same for a token it has dropped
            return gateway.outcomes.get(mark.reason, gateway.bad_token), mark.since
        if settings.check_tokens and not token_is_well_formed(name, token):
            return gateway.bad_token, None
        if config.unregistered:
            key = token_key(name, token)
            for rule in config.unregistered:
                if at >= rule.at and rule.match.matches(name, key):
                    return gateway.unregistered, rule.at
        if not within_limit(name, delivery.payload):
            return gateway.too_large, None
        for outage in config.outages:
            if outage.platform == name and outage.start <= at < outage.end:
                return gateway.outcome(outage.code), None
        if settings.throughput is not None and not self._take(name, settings.throughput, at):
            return gateway.throttled, None
        if config.fail_next:
            key = token_key(name, token)
            for rule in config.fail_next:
                if rule.remaining > 0 and rule.code in gateway.outcomes and rule.match.matches(name, key):
                    rule.remaining -= 1
                    return gateway.outcome(rule.code), None
        rates = override.failures if override is not None and override.failures is not None else settings.failures
        if rates:
            draw = self._rng.random()
            for code, chance in rates.items():
                if draw < chance:  # a code this platform does not answer leaves its tokens alone
                    return gateway.outcomes.get(code, gateway.delivered), None
                draw -= chance
        return gateway.delivered, None

    def _answer(self, delivery: Delivery, attempt: int, outcome: Outcome, since: float | None,
                at: float) -> None:
        kind = outcome.kind
        if kind == OK:
            step: tuple[str, float, str | None] = ("delivered", at, None)
        elif kind == TRANSIENT and attempt <= self.config.retry.limit:
            retry = self.config.retry
            delay = retry.delay(attempt, self._rng.random() if retry.jitter else 0.0)
            step = ("retrying", at, outcome.code)
            heapq.heappush(self._heap, (at + delay, next(self._order), delivery, attempt + 1, None, None))
        else:
            if kind == TOKEN:
                delivery.token_rejected = True
                if self.tokens.mark_of(delivery.platform, delivery.token) is None:
                    self.tokens.mark(delivery.platform, delivery.token, outcome.token_status or INVALID,
                                     since if since is not None else at, outcome.code)
            step = ("failed", at, outcome.code)
        delivery.timeline = (*delivery.timeline, step)
        self._deliveries.save(delivery)

    def _override(self, name: str, token: Any) -> TokenOverride | None:
        key = token_key(name, token)
        found = None
        for override in self.config.overrides:  # the last one that matches wins
            if override.match.matches(name, key):
                found = override
        return found

    def _take(self, name: str, per_second: float, at: float) -> bool:
        """One attempt from the platform's token bucket (a second's worth of burst)."""
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = [per_second, at]
        bucket[0] = min(per_second, bucket[0] + (at - bucket[1]) * per_second)
        bucket[1] = at
        if bucket[0] >= 1:
            bucket[0] -= 1
            return True
        return False

    # --- configuration from Python (the fixtures' `gateway` section says the same) ---------------
    def configure(self, mapping: dict[str, Any]) -> None:
        """Add settings and rules written as in the fixtures file's `gateway` section."""
        with self._store.transaction():
            self.config.apply(mapping, self._clock.now())

    def set_latency(self, latency: Latency | float | dict[str, Any], *, platform: str | None = None,
                    token: Any = None, pattern: str | None = None) -> None:
        """Latency of every attempt on `platform` (all platforms if None), or only for `token` /
        tokens matching `pattern`. Accepts `Fixed`, `Uniform`, `LogNormal` or the fixtures forms."""
        model = latency_from(latency)
        with self._store.transaction():
            if token is None and pattern is None:
                for _, settings in self._platforms(platform):
                    settings.latency = model
            else:
                match = cfg.token_match({"platform": platform, "token": token, "pattern": pattern})
                self.config.overrides.append(TokenOverride(match, latency=model))

    def set_failures(self, rates: dict[str, float], *, platform: str | None = None, token: Any = None,
                     pattern: str | None = None) -> None:
        """Chance per attempt of each outcome code, e.g. `{"UNAVAILABLE": 0.1}`; `{}` clears.
        With no platform, every platform takes the rates of the codes it answers."""
        checked = cfg.failure_rates(platform, rates)  # before any change: a refused call changes nothing
        with self._store.transaction():
            if token is None and pattern is None:
                for _, settings in self._platforms(platform):
                    settings.failures = dict(checked)
            else:
                match = cfg.token_match({"platform": platform, "token": token, "pattern": pattern})
                self.config.overrides.append(TokenOverride(match, failures=checked))

    def fail_next(self, times: int, outcome: str, *, token: Any = None, pattern: str | None = None,
                  platform: str | None = None) -> None:
        """The next `times` attempts to matching tokens answer `outcome` (retries count)."""
        match = cfg.token_match({"platform": platform, "token": token, "pattern": pattern})
        with self._store.transaction():
            self.config.fail_next.append(cfg.fail_next(match, times, outcome))

    def unregister(self, token: Any = None, *, pattern: str | None = None, platform: str | None = None,
                   at: Any = None) -> None:
        """Matching tokens answer as unregistered from `at` (default now) on."""
        match = cfg.token_match({"platform": platform, "token": token, "pattern": pattern})
        now = self._clock.now()
        with self._store.transaction():
            self.config.unregistered.append(cfg.UnregisteredFrom(match, when(now if at is None else at, now)))

    def add_outage(self, platform: str, start: Any, end: Any, outcome: str | None = None) -> None:
        """`platform` answers `outcome` (its 503 by default) to every attempt in [start, end)."""
        now = self._clock.now()
        with self._store.transaction():
            self.config.outages.append(cfg.outage(platform, when(start, now), when(end, now), outcome))

    def set_throughput(self, per_second: float | None, *, platform: str | None = None) -> None:
        """At most `per_second` attempts per second; more are throttled (None: no cap)."""
        cap = cfg.throughput(per_second)
        with self._store.transaction():
            for _, settings in self._platforms(platform):
                settings.throughput = cap
            self._buckets.clear()

    def set_retry(self, **policy: Any) -> None:
        """Replace retry settings: limit, initial, multiplier, maximum (seconds), jitter."""
        with self._store.transaction():
            self.config.retry = dataclasses.replace(self.config.retry, **policy)

    def clear(self) -> None:
        """Back to the fixtures' gateway settings; pending deliveries carry on under them."""
        with self._store.transaction():
            self.config = GatewayConfig.from_mapping(self._fixtures, self._loaded_at)
            self._buckets.clear()

    def token_mark(self, platform_name: str, token: Any) -> TokenMark | None:
        """Why later sends skip this token (None while it is usable)."""
        return self.tokens.mark_of(platform(platform_name).name, token)

    def _platforms(self, name: str | None) -> list[tuple[str, PlatformSettings]]:
        if name is None:
            return list(self.config.platforms.items())
        chosen = platform(name).name
        return [(chosen, self.config.platforms[chosen])]
