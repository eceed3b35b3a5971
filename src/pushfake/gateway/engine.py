"""The simulated device gateway: carries out every delivery after the vendor has answered.

Each delivery handed over by the queue is attempted at once: the gateway decides the outcome
(see `platforms` for the codes), draws the attempt's latency, and records the answer when that
latency has passed on the fake's clock. Transient failures are retried with exponential back-off
up to the retry limit; token failures mark the token so later sends leave it out.

Timeline of a delivery: `queued` -> `sending` -> `delivered`, or `failed` with the gateway's
code, with `retrying` (and the code that caused it) between attempts.

Everything the gateway is in the middle of lives in the store, so any fake on the store carries
on where another left off, and the store's reset forgets it:

- `("gateway", "pending")`, an agenda of attempts to start and answers to give, each item plain
  data `(delivery id, attempt number, Outcome or None for "start the attempt", token-mark time)`;
  the delivery is read from the deliveries table when its turn comes;
- `("gateway", "dropped-in-flight")`: deliveries the deliveries bound dropped before they ended,
  which the gateway still finishes (their answers mark tokens and draw from the generator);
- `("gateway", "wake-at")`: the time the scheduler will next wake the gateway (None: not asked);
- `("gateway", "bucket", platform)`: each platform's throughput bucket, `(tokens left, when)`;
- under the owner `IN_FORCE`, the settings in force: `config`, `section` and `loaded-at` (when
  the fixtures' relative times count from); None means the fixtures' ones.

The gateway asks the scheduler (work of kind "gateway") to wake it at the earliest item. With a
`ManualClock`, `Fake.advance` and `Fake.run_until_idle` step the clock from one due time to the
next, so every step is stamped with its own time. On real time the scheduler's task wakes it,
and it works through at most `budget` items before giving the event loop back, so the API keeps
answering while thousands of deliveries complete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
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

IN_FORCE = "gateway-in-force"  # the store owner of the settings in force; `Fake.reset(keep_config)` keeps it
WAKE = "gateway"  # the scheduler's kind of work: look at what is due


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
        # configuration: the fixtures' section, when it was loaded, and its config built once
        self._fixtures = fixtures or {}
        self._fixtures_at = clock.now()
        self._fixtures_config: tuple[float, GatewayConfig] | None = None  # never changed in place
        self._config = store.cell(IN_FORCE, "config")
        self._section = store.cell(IN_FORCE, "section")
        self._loaded_at = store.cell(IN_FORCE, "loaded-at")
        self._pending = store.agenda("gateway", "pending")
        self._dropped = store.table("gateway", "dropped-in-flight")
        self._wake_at = store.cell("gateway", "wake-at")
        self._buckets = {name: store.cell("gateway", "bucket", name) for name in PLATFORMS}
        scheduler.handle(WAKE, self._run)
        deliveries.on_drop(self._keep_dropped)

    # --- the settings in force -------------------------------------------------------------------
    @property
    def config(self) -> GatewayConfig:
        """The settings in force: those set since the last reset, else the fixtures'. Read it;
        change it through the methods below (they write it back to the store)."""
        config = self._config.get()
        if config is not None:
            return config  # type: ignore[no-any-return]
        at = self._loaded_from()
        cached = self._fixtures_config
        if cached is None or cached[0] != at:
            cached = self._fixtures_config = (at, GatewayConfig.from_mapping(self._fixtures, at))
        return cached[1]

    @property
    def section(self) -> dict[str, Any]:
        """The settings in force written as a fixtures `gateway` section (the fixtures', or the
        one that replaced them)."""
        section = self._section.get()
        return self._fixtures if section is None else section  # type: ignore[no-any-return]

    def _loaded_from(self) -> float:
        at = self._loaded_at.get()
        return self._fixtures_at if at is None else at  # type: ignore[no-any-return]

    @contextmanager
    def _changing(self) -> Iterator[GatewayConfig]:
        """The settings in force to change in place, written back when the block ends well (the
        fixtures' are copied first: their built config is never changed)."""
        with self._store.transaction():
            config = self._config.get()
            if config is None:
                config = GatewayConfig.from_mapping(self._fixtures, self._loaded_from())
            yield config
            self._config.set(config)

    def _clear_buckets(self) -> None:
        for bucket in self._buckets.values():
            bucket.set(None)

    # --- lifecycle -------------------------------------------------------------------------------
    def reset(self, keep_config: bool = False) -> None:
        """What is left to do after the store's reset, which forgot the pending work, the buckets
        and, unless `Fake.reset(keep_config=True)` kept the owner `IN_FORCE`, the settings in
        force: without `keep_config`, the fixtures' relative times ('+30s') count anew from now."""
        if not keep_config:
            self._loaded_at.set(self._clock.now())

    def check(self, fixtures: dict[str, Any] | None) -> None:
        """ValueError naming the place if a fixtures `gateway` section is wrong."""
        GatewayConfig.from_mapping(fixtures or {}, self._clock.now())

    def replace_settings(self, section: dict[str, Any]) -> None:
        """Settings written as a fixtures `gateway` section, in force until the next full reset
        (which goes back to the fixtures'); ValueError if it is wrong."""
        config = GatewayConfig.from_mapping(section, self._clock.now())
        with self._store.transaction():
            self._config.set(config)
            self._section.set(section)
            self._clear_buckets()

    def load_fixtures(self, fixtures: dict[str, Any] | None, *, in_force: bool = True) -> None:
        """Take another fixtures `gateway` section (ValueError if it is wrong); applies at once,
        in place of any settings in force. Configuration: every fake on the store loads the same.
        Without `in_force`, the settings in force in the store stay (a fake joining a world)."""
        now = self._clock.now()
        GatewayConfig.from_mapping(fixtures or {}, now)
        with self._store.transaction():
            self._fixtures = fixtures or {}
            self._fixtures_at = now
            self._fixtures_config = None
            if not in_force:
                return
            self._config.set(None)
            self._section.set(None)
            self._loaded_at.set(None)

    def accept(self, ids: list[str]) -> None:
        """The delivery queue's consumer: start an attempt for each delivery now."""
        now = self._clock.now()
        get, add, dropped = self._deliveries.get, self._pending.add, self._dropped
        with self._store.transaction():
            for delivery_id in ids:
                if get(delivery_id) is not None:
                    add(now, (delivery_id, 1, None, None))
                elif delivery_id in dropped:  # dropped before it was handed over: never attempted
                    dropped.delete(delivery_id)
            self._wake(now)

    @property
    def pending(self) -> int:
        """Attempts waiting to start or to be answered."""
        return len(self._pending)

    # --- the work --------------------------------------------------------------------------------
    def _wake(self, when: float) -> None:
        wake_at = self._wake_at.get()
        if wake_at is None or when < wake_at:
            self._wake_at.set(when)
            self._scheduler.call_at(when, WAKE)

    def _run(self, _: Any = None) -> None:
        with self._store.transaction():
            self._wake_at.set(None)
            now, pending, done, budget = self._clock.now(), self._pending, 0, self.budget
            get, dropped = self._deliveries.get, self._dropped
            while done < budget and (due := pending.pop_due(now)) is not None:
                at, (delivery_id, attempt, outcome, since) = due
                delivery, aside = get(delivery_id), False
                if delivery is None:
                    delivery, aside = dropped.get(delivery_id), True
                if delivery is not None:
                    if outcome is None:
                        self._start(delivery, aside, attempt, at)
                    else:
                        self._answer(delivery, aside, attempt, outcome, since, at)
                done += 1
            later = pending.next_due()
            if later is not None:
                self._wake(later)

    def _keep_dropped(self, delivery: Delivery) -> None:
        """The deliveries bound dropped a delivery before it ended: the gateway still finishes
        it (as the real one would), so it keeps the record until its final answer."""
        if not delivery.final:
            self._dropped.put(delivery.id, delivery)

    def _save(self, delivery: Delivery, aside: bool) -> None:
        """Write back a delivery whose timeline moved on, where it is kept (`aside`: in the
        gateway's table of dropped ones)."""
        if aside:
            if delivery.final:
                self._dropped.delete(delivery.id)
            else:
                self._dropped.put(delivery.id, delivery)
        self._deliveries.save(delivery)  # a long-poll for this step wakes

    def _start(self, delivery: Delivery, aside: bool, attempt: int, at: float) -> None:
        config = self.config
        name = delivery.platform
        settings = config.platforms[name]
        override = self._override(config, name, delivery.token) if config.overrides else None
        outcome, since = self._decide(delivery, config, settings, override, at)
        latency = (override.latency if override is not None and override.latency is not None
                   else settings.latency).draw(self._rng)
        delivery.timeline = (*delivery.timeline, ("sending", at, None))
        self._save(delivery, aside)
        self._pending.add(at + latency, (delivery.id, attempt, outcome, since))

    def _decide(self, delivery: Delivery, config: GatewayConfig, settings: PlatformSettings,
                override: TokenOverride | None, at: float) -> tuple[Outcome, float | None]:
        """What the gateway answers this attempt, in the order a real one would find out."""
        name, token = delivery.platform, delivery.token
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
            for index, rule in enumerate(config.fail_next):
                if rule.remaining > 0 and rule.code in gateway.outcomes and rule.match.matches(name, key):
                    with self._changing() as changed:
                        changed.fail_next[index].remaining -= 1
                    return gateway.outcome(rule.code), None
        rates = override.failures if override is not None and override.failures is not None else settings.failures
        if rates:
            draw = self._rng.random()
            for code, chance in rates.items():
                if draw < chance:  # a code this platform does not answer leaves its tokens alone
                    return gateway.outcomes.get(code, gateway.delivered), None
                draw -= chance
        return gateway.delivered, None

    def _answer(self, delivery: Delivery, aside: bool, attempt: int, outcome: Outcome,
                since: float | None, at: float) -> None:
        kind = outcome.kind
        if kind == OK:
            step: tuple[str, float, str | None] = ("delivered", at, None)
        elif kind == TRANSIENT and attempt <= (retry := self.config.retry).limit:
            delay = retry.delay(attempt, self._rng.random() if retry.jitter else 0.0)
            step = ("retrying", at, outcome.code)
            self._pending.add(at + delay, (delivery.id, attempt + 1, None, None))
        else:
            if kind == TOKEN:
                delivery.token_rejected = True
                if self.tokens.mark_of(delivery.platform, delivery.token) is None:
                    self.tokens.mark(delivery.platform, delivery.token, outcome.token_status or INVALID,
                                     since if since is not None else at, outcome.code)
            step = ("failed", at, outcome.code)
        delivery.timeline = (*delivery.timeline, step)
        self._save(delivery, aside)

    @staticmethod
    def _override(config: GatewayConfig, name: str, token: Any) -> TokenOverride | None:
        key = token_key(name, token)
        found = None
        for override in config.overrides:  # the last one that matches wins
            if override.match.matches(name, key):
                found = override
        return found

    def _take(self, name: str, per_second: float, at: float) -> bool:
        """One attempt from the platform's token bucket (a second's worth of burst)."""
        cell = self._buckets[name]
        bucket = cell.get()
        left, last = (per_second, at) if bucket is None else bucket
        left = min(per_second, left + (at - last) * per_second)
        took = left >= 1
        cell.set((left - 1 if took else left, at))
        return took

    # --- configuration from Python (the fixtures' `gateway` section says the same) ---------------
    def configure(self, mapping: dict[str, Any]) -> None:
        """Add settings and rules written as in the fixtures file's `gateway` section."""
        with self._changing() as config:
            config.apply(mapping, self._clock.now())

    def set_latency(self, latency: Latency | float | dict[str, Any], *, platform: str | None = None,
                    token: Any = None, pattern: str | None = None) -> None:
        """Latency of every attempt on `platform` (all platforms if None), or only for `token` /
        tokens matching `pattern`. Accepts `Fixed`, `Uniform`, `LogNormal` or the fixtures forms."""
        model = latency_from(latency)
        match = None if token is None and pattern is None else cfg.token_match(
            {"platform": platform, "token": token, "pattern": pattern})
        with self._changing() as config:
            if match is None:
                for settings in _platforms(config, platform):
                    settings.latency = model
            else:
                config.overrides.append(TokenOverride(match, latency=model))

    def set_failures(self, rates: dict[str, float], *, platform: str | None = None, token: Any = None,
                     pattern: str | None = None) -> None:
        """Chance per attempt of each outcome code, e.g. `{"UNAVAILABLE": 0.1}`; `{}` clears.
        With no platform, every platform takes the rates of the codes it answers."""
        checked = cfg.failure_rates(platform, rates)  # before any change: a refused call changes nothing
        match = None if token is None and pattern is None else cfg.token_match(
            {"platform": platform, "token": token, "pattern": pattern})
        with self._changing() as config:
            if match is None:
                for settings in _platforms(config, platform):
                    settings.failures = dict(checked)
            else:
                config.overrides.append(TokenOverride(match, failures=checked))

    def fail_next(self, times: int, outcome: str, *, token: Any = None, pattern: str | None = None,
                  platform: str | None = None) -> None:
        """The next `times` attempts to matching tokens answer `outcome` (retries count)."""
        rule = cfg.fail_next(cfg.token_match({"platform": platform, "token": token, "pattern": pattern}),
                             times, outcome)
        with self._changing() as config:
            config.fail_next.append(rule)

    def unregister(self, token: Any = None, *, pattern: str | None = None, platform: str | None = None,
                   at: Any = None) -> None:
        """Matching tokens answer as unregistered from `at` (default now) on."""
        match = cfg.token_match({"platform": platform, "token": token, "pattern": pattern})
        now = self._clock.now()
        rule = cfg.UnregisteredFrom(match, when(now if at is None else at, now))
        with self._changing() as config:
            config.unregistered.append(rule)

    def add_outage(self, platform: str, start: Any, end: Any, outcome: str | None = None) -> None:
        """`platform` answers `outcome` (its 503 by default) to every attempt in [start, end)."""
        now = self._clock.now()
        outage = cfg.outage(platform, when(start, now), when(end, now), outcome)
        with self._changing() as config:
            config.outages.append(outage)

    def set_throughput(self, per_second: float | None, *, platform: str | None = None) -> None:
        """At most `per_second` attempts per second; more are throttled (None: no cap)."""
        cap = cfg.throughput(per_second)
        with self._changing() as config:
            for settings in _platforms(config, platform):
                settings.throughput = cap
            self._clear_buckets()

    def set_retry(self, **policy: Any) -> None:
        """Replace retry settings: limit, initial, multiplier, maximum (seconds), jitter."""
        with self._changing() as config:
            config.retry = dataclasses.replace(config.retry, **policy)

    def clear(self) -> None:
        """Back to the fixtures' gateway settings; pending deliveries carry on under them."""
        with self._store.transaction():
            self._config.set(None)
            self._clear_buckets()

    def token_mark(self, platform_name: str, token: Any) -> TokenMark | None:
        """Why later sends skip this token (None while it is usable)."""
        return self.tokens.mark_of(platform(platform_name).name, token)


def _platforms(config: GatewayConfig, name: str | None) -> list[PlatformSettings]:
    """The settings of platform `name`, or of every platform."""
    if name is None:
        return list(config.platforms.values())
    return [config.platforms[platform(name).name]]
