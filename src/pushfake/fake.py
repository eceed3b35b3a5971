"""`Fake`: everything one fake holds (store, clock, seed, deliveries, gateway, vendor services,
fault rules, rate limits and the request journal).

The same `Fake` serves every transport: the ASGI app from `create_app`, a uvicorn server
(`pushfake serve`) and in-process test clients.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from pushfake.core.clock import LATEST, Clock, ManualClock, SystemClock, checked_step, checked_time
from pushfake.core.clock import OWNER as CLOCK
from pushfake.core.deliveries import Delivery, DeliveryQueue
from pushfake.core.failures import Failures
from pushfake.core.fixtures import FixtureError, check_fixtures, read_fixtures
from pushfake.core.journal import DEFAULT_BODY_BYTES, DEFAULT_BYTES, DEFAULT_SIZE, Journal
from pushfake.core.limits import IN_FORCE as LIMITS_IN_FORCE
from pushfake.core.limits import Limit, LimitBook
from pushfake.core.retention import bounds_from
from pushfake.core.rng import SeededRandom
from pushfake.core.scheduler import Scheduler
from pushfake.core.spec import ApiSpec
from pushfake.core.store import MemoryStore, Store
from pushfake.core.stores import open_store
from pushfake.dengage.service import DengageService
from pushfake.dengage.state import DengageState
from pushfake.dengage.world import DengageWorld
from pushfake.dengage.world import build_world as build_dengage_world
from pushfake.faults.book import IN_FORCE as FAULTS_IN_FORCE
from pushfake.faults.book import FaultBook
from pushfake.gateway import Gateway
from pushfake.gateway.engine import IN_FORCE as GATEWAY_IN_FORCE
from pushfake.leanplum.service import LeanplumService
from pushfake.leanplum.state import LeanplumState
from pushfake.leanplum.world import LeanplumWorld
from pushfake.leanplum.world import build_world as build_leanplum_world
from pushfake.traffic import Traffic

log = logging.getLogger("pushfake")

WORLD = "world"  # the owner of the world's marker, which `reset` keeps (as it keeps the clock's, CLOCK)


class Fake:
    """A fake loaded with a world. Keyword-only; every argument has a working default.

    - `fixtures`: path of a fixtures file (YAML or JSON); None for the default world.
    - `seed`: seeds every random draw; None takes the fixtures' `seed` (default 0).
    - `clock`: `SystemClock()` by default; pass a `ManualClock` to pin time.
    - `store`: `MemoryStore()` by default; a `Store`, or a spec `pushfake.core.stores.open_store`
      reads (`"memory"`, `"redis://HOST:PORT/DB"`: the namespace `pushfake`). A store that
      already holds the world of these fixtures and seed keeps it as it is (a restarted server,
      another worker); one that holds another is reset to this one, saying so in the log.
    - `journal_size`: how many requests the journal keeps; None takes the fixtures'
      `journal.size` (default 10,000).
    - `journal_bytes`: how many bytes the journal's entries may hold together; None takes the
      fixtures' `journal.bytes` (default 64 MiB). Each entry keeps at most `journal.bodyBytes`
      (default 64 KiB) of its body, answer and parameters, with their true lengths.
    - `retention`: how many deliveries, events, sends and tokens are kept, oldest dropped, e.g.
      `{"deliveries": 500_000}`; over the fixtures' `retention` section, over the defaults
      (`core.retention.DEFAULT_BOUNDS`). `GET /_pushfake/stats` counts what was dropped.
    - `unguessable_secrets`: draw D·engage access tokens and Leanplum session tokens from
      `secrets` instead of the seed (`pushfake serve` sets it when it binds a non-loopback
      address); every other id stays seeded.
    """

    def __init__(
        self,
        *,
        fixtures: str | Path | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        store: Store | str | None = None,
        journal_size: int | None = None,
        journal_bytes: int | None = None,
        retention: dict[str, int] | None = None,
        unguessable_secrets: bool = False,
    ) -> None:
        bounds_from(retention)  # a wrong argument is refused as such, before the fixtures are read
        self._retention = dict(retention or {})
        label, document = read_fixtures(fixtures)
        self.seed = seed if seed is not None else int(document.get("seed", 0))
        self.workers = 1  # processes serving this world (`pushfake serve --workers`), each with this configuration
        self.store = open_store(store) if isinstance(store, str) else store if store is not None else MemoryStore()
        self.clock = clock if clock is not None else SystemClock(self.store)  # a live clock's state: the world's
        self.rng = SeededRandom(self.seed, unguessable=unguessable_secrets, store=self.store)
        self.deliveries = DeliveryQueue(self.store, self.clock, self.rng)
        self.failures = Failures(self.store)
        self.scheduler = Scheduler(self.clock, self.store, on_error=self._scheduled_work_failed)
        if isinstance(self.clock, SystemClock):
            self.clock.on_change(self.scheduler.wake)
        journal = document.get("journal", {})
        self.journal = Journal(self.store, journal_size or journal.get("size", DEFAULT_SIZE),
                               max_bytes=journal_bytes or journal.get("bytes", DEFAULT_BYTES),
                               body_bytes=journal.get("bodyBytes", DEFAULT_BODY_BYTES),
                               enabled=journal.get("enabled", True))
        self.faults = FaultBook(self.clock, self.seed, self.store)
        self.limits = LimitBook(self.clock, self.store)
        self.traffic = Traffic(self.faults, self.journal, self.clock)
        self.gateway = Gateway(store=self.store, clock=self.clock, rng=self.rng, scheduler=self.scheduler,
                               deliveries=self.deliveries)
        self.deliveries.attach(self.gateway.accept)
        leanplum_world, dengage_world, rules, limits = self._worlds(label, document)
        self._digest = _fixtures_digest(document)
        self.leanplum = LeanplumService(
            state=LeanplumState(self.store),
            world=leanplum_world,
            spec=ApiSpec.of("leanplum"),
            clock=self.clock,
            rng=self.rng,
            deliveries=self.deliveries,
            limits=self.limits,
        )
        self.dengage = DengageService(
            state=DengageState(self.store),
            world=dengage_world,
            spec=ApiSpec.of("dengage"),
            clock=self.clock,
            rng=self.rng,
            deliveries=self.deliveries,
            scheduler=self.scheduler,
            limits=self.limits,
        )
        self._start(label, document, rules, limits)

    def _start(self, label: str, document: dict[str, Any], rules: list[Any], limits: list[Limit]) -> None:
        """Install the fixtures' world, unless the store holds it already: then join it as it is.
        Under one transaction, so fakes starting at once on one store install it once."""
        with self.store.transaction():
            marker = self.store.cell(WORLD, "fixtures")
            held = marker.get()
            if held == self._marker():
                self._configure(label, document, rules, limits, in_force=False)
                return
            if held is not None:
                log.warning("pushfake: the world in the store was made from other fixtures or another seed; "
                            "replaced by %s, seed %s", label, self.seed)
            self._apply(label, document, rules, limits)

    def _marker(self) -> str:
        """What the world's marker holds once this fake's world is installed: its fixtures and seed."""
        return f"{self._digest}:{self.seed}"

    def load_fixtures(self, fixtures: str | Path | dict[str, Any], label: str = "fixtures", *,
                      keep_journal: bool = False) -> None:
        """Replace the world with another fixtures file (a path, or the document itself), then
        reset to it; the seed and the journal's bounds stay (whether it journals is the new
        document's), and with `keep_journal` its entries (`pushfake serve --watch`). Nothing
        changes if it is wrong (FixtureError naming the place)."""
        if isinstance(fixtures, dict):
            document = check_fixtures(label, fixtures)
        else:
            label, document = read_fixtures(fixtures)
        leanplum_world, dengage_world, rules, limits = self._worlds(label, document)
        self.leanplum.configure(leanplum_world)
        self.dengage.configure(dengage_world)
        self._digest = _fixtures_digest(document)
        self._apply(label, document, rules, limits, keep_journal=keep_journal)
        self.journal.configure(document.get("journal", {}).get("enabled", True))  # for every fake on the store

    def _worlds(self, label: str, document: dict[str, Any]
                ) -> tuple[LeanplumWorld, DengageWorld, list[Any], list[Limit]]:
        """Everything a fixtures document describes, checked before any of it is used."""
        leanplum_world = build_leanplum_world(label, document.get("leanplum", {}))
        dengage_world = build_dengage_world(label, document.get("dengage", {}))
        try:
            rules = document.get("faults", [])
            self.faults.parse_all(rules)
            limits = self.limits.parse_all(_vendor_limits(leanplum_world, dengage_world), "settings")
            limits += self.limits.parse_all(document.get("limits", []))
            self.gateway.check(document.get("gateway"))
            bounds_from(document.get("retention"), self._retention)
        except ValueError as exc:
            raise FixtureError(f"{label}: {exc}") from None
        return leanplum_world, dengage_world, rules, limits

    def _apply(self, label: str, document: dict[str, Any], rules: list[Any], limits: list[Limit], *,
               keep_journal: bool = False) -> None:
        self._configure(label, document, rules, limits)
        self.reset(keep_journal=keep_journal)

    def _configure(self, label: str, document: dict[str, Any], rules: list[Any], limits: list[Limit], *,
                   in_force: bool = True) -> None:
        """The fixtures' configuration in this fake; `in_force` puts it in force in the store too
        (else what is in force there stays: a fake joining a running world)."""
        self.fixtures_label = label
        self.gateway.load_fixtures(document.get("gateway"), in_force=in_force)
        self.faults.configure(rules, in_force=in_force)
        self.limits.configure(limits, in_force=in_force)
        bounds = bounds_from(document.get("retention"), self._retention)
        self.deliveries.kept.bound = bounds["deliveries"]
        self.leanplum.state.kept_events.bound = bounds["events"]
        self.dengage.state.kept_sends.bound = bounds["sends"]
        self.dengage.state.kept_tokens.bound = bounds["tokens"]

    def reset(self, keep_config: bool = False, *, seed: int | None = None, restart_clock: bool = False,
              now: float | None = None, keep_journal: bool = False) -> None:
        """Back to the world the fake started with, and the same seed. With `keep_config`, the
        data only: fault rules, rate limits and gateway settings in force stay as they are.

        `seed` replaces the fake's seed from now on. The clock stays where it is unless
        `restart_clock` (a `ManualClock` back to its start, a live server's clock back to real
        time and running) or `now` (the clock restarts there, even in the past) says otherwise.
        `keep_journal` keeps what happened so far: the requests journaled and the failures inside
        the fake (`pushfake serve --watch` reloads the world, not the history a test reads).
        """
        if now is not None:
            now = checked_time(now)  # refused before anything changes
        if seed is not None:
            self.seed = int(seed)
        if restart_clock or now is not None:
            self.clock.restart(now)
        with self.store.transaction():
            gc.unfreeze()  # what a live server froze may now be garbage; let the collector see it
            self.store.reset(keep=(WORLD, CLOCK) + (("journal", "failures") if keep_journal else ())
                             + ((GATEWAY_IN_FORCE, FAULTS_IN_FORCE, LIMITS_IN_FORCE) if keep_config else ()))
            self.store.cell(WORLD, "fixtures").set(self._marker())
            self.rng.reseed(self.seed)
            self.gateway.reset(keep_config=keep_config)
            self.faults.reset(self.seed)
            self.leanplum.reset()
            self.dengage.reset()
        self.deliveries.changes.notify()  # whoever watches (an open inbox page) sees the reset
        self.journal.changes.notify()

    def stats(self) -> dict[str, dict[str, int]]:
        """What the fake holds and has dropped to keep its bounds since the last reset, per kind
        (`GET /_pushfake/stats`)."""
        lp, de = self.leanplum.state, self.dengage.state
        return {
            "journal": self.journal.stats(),
            "deliveries": self.deliveries.stats(),
            "events": lp.kept_events.stats(),
            "sends": de.kept_sends.stats(),
            "tokens": {**de.kept_tokens.stats(), "held": len(de.tokens()), "expired": de.expired_tokens},
        }

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`, running everything that falls due on the way
        (gateway attempts and answers, retries, scheduled sends), each at its own time.

        On a live server's `SystemClock` the clock stands still while the due work runs, then
        goes on running (or stays frozen if it was)."""
        checked_step(self.clock.now(), seconds)  # refused before anything runs
        self._stepped(lambda clock: self._run_scheduled(clock, until=clock.now() + seconds))

    def set_time(self, when: float) -> None:
        """Move the clock on to `when` (epoch seconds), running what falls due on the way."""
        when = checked_time(when)  # refused before anything runs
        if when < self.clock.now():
            raise ValueError("a clock cannot go backwards")
        self._stepped(lambda clock: self._run_scheduled(clock, until=when))

    def run_until_idle(self) -> None:
        """Move the clock on until the gateway is idle: every delivery handed to it has its final
        state. Sends scheduled for later than that stay scheduled (`advance` reaches them). On a
        live server's clock, as with `advance`, the clock stands still while the work runs."""
        self._stepped(lambda clock: self._run_scheduled(clock, until=None))

    def _stepped(self, run: Any) -> None:
        clock = self.clock
        if isinstance(clock, SystemClock):
            was_frozen = clock.frozen
            clock.freeze()
            try:
                run(clock)
            finally:
                if not was_frozen:
                    clock.unfreeze()
        else:
            run(self._manual_clock("advance"))

    def _scheduled_work_failed(self, exc: Exception) -> None:
        log.error("pushfake failed in scheduled work", exc_info=exc)
        self.failures.record("scheduled work", exc, self.clock.now())

    def engage(self, delivery_id: str, kind: str = "open") -> Delivery:
        """A person opened or clicked a delivered notification (D·engage counts it in reports
        and in `useOnlyEngagedTokens` sends)."""
        delivery = self.deliveries.get(delivery_id)
        if delivery is not None and delivery.vendor == "dengage":
            return self.dengage.engage(delivery_id, kind)
        return self.deliveries.engage(delivery_id, kind)

    def _manual_clock(self, what: str) -> ManualClock:
        if not isinstance(self.clock, ManualClock):
            raise TypeError(f"{what}() needs a ManualClock; this fake runs on real time")
        return self.clock

    def _run_scheduled(self, clock: ManualClock | SystemClock, until: float | None) -> None:
        """Step the clock from one due item to the next up to `until` (None: while the gateway
        has work), so each item runs at, and stamps, its own time. Work due past the clock's
        last moment (the year 9999) stays scheduled: the clock cannot get there."""
        while (due := self.scheduler.next_due()) is not None and due <= LATEST and (
                due <= until if until is not None else self.gateway.pending > 0):
            if due > clock.now():
                clock.set(due)
            self.scheduler.run_due()
        if until is not None:
            clock.set(until)


def _fixtures_digest(document: dict[str, Any]) -> str:
    """The fixtures document's SHA-256, the same in every process that reads the same file."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _vendor_limits(leanplum: LeanplumWorld, dengage: DengageWorld) -> list[dict[str, Any]]:
    """The built-in limits, with the numbers the vendors' settings give."""
    lp, de = leanplum.settings, dengage.settings
    retry = {"retryAfter": lp.retry_after_seconds} if lp.retry_after_seconds is not None else {}
    limits: list[dict[str, Any]] = [{"kind": "device-locking", **retry}]
    if lp.dev_mode_requests_per_second > 0:
        limits.append({"kind": "dev-mode-rate", "perSecond": lp.dev_mode_requests_per_second, **retry})
    limits.append({"kind": "multi-size", "users": lp.multi_max_users, "actions": lp.multi_max_actions})
    limits.append({"kind": "concurrency", "limit": de.concurrency_limit})
    return limits
