"""`Fake`: everything one fake holds (store, clock, seed, deliveries, gateway, vendor services).

The same `Fake` serves every transport: the ASGI app from `create_app`, a uvicorn server
(`pushfake serve`) and in-process test clients.
"""

from __future__ import annotations

import gc
from pathlib import Path

from pushfake.core.clock import Clock, ManualClock, SystemClock
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.deliveries import Delivery
from pushfake.core.fixtures import FixtureError, read_fixtures
from pushfake.core.rng import SeededRandom
from pushfake.core.scheduler import Scheduler
from pushfake.core.spec import ApiSpec
from pushfake.core.store import MemoryStore, Store
from pushfake.dengage.service import DengageService
from pushfake.dengage.state import DengageState
from pushfake.dengage.world import build_world as build_dengage_world
from pushfake.gateway import Gateway
from pushfake.leanplum.service import LeanplumService
from pushfake.leanplum.state import LeanplumState
from pushfake.leanplum.world import build_world as build_leanplum_world


class Fake:
    """A fake loaded with a world. Keyword-only; every argument has a working default.

    - `fixtures`: path of a fixtures file (YAML or JSON); None for the default world.
    - `seed`: seeds every random draw; None takes the fixtures' `seed` (default 0).
    - `clock`: `SystemClock()` by default; pass a `ManualClock` to pin time.
    - `store`: `MemoryStore()` by default.
    """

    def __init__(
        self,
        *,
        fixtures: str | Path | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        store: Store | None = None,
    ) -> None:
        label, document = read_fixtures(fixtures)
        self.fixtures_label = label
        self.seed = seed if seed is not None else int(document.get("seed", 0))
        self.clock = clock if clock is not None else SystemClock()
        self.store = store if store is not None else MemoryStore()
        self.rng = SeededRandom(self.seed)
        self.deliveries = DeliveryQueue(self.store, self.clock, self.rng)
        self.scheduler = Scheduler(self.clock)
        try:
            self.gateway = Gateway(store=self.store, clock=self.clock, rng=self.rng, scheduler=self.scheduler,
                                   deliveries=self.deliveries, fixtures=document.get("gateway"))
        except ValueError as exc:
            raise FixtureError(f"{label}: {exc}") from None
        self.deliveries.attach(self.gateway.accept)
        self.leanplum = LeanplumService(
            state=LeanplumState(self.store),
            world=build_leanplum_world(label, document.get("leanplum", {})),
            spec=ApiSpec.from_resource("leanplum.yaml"),
            clock=self.clock,
            rng=self.rng,
            deliveries=self.deliveries,
        )
        self.dengage = DengageService(
            state=DengageState(self.store),
            world=build_dengage_world(label, document.get("dengage", {})),
            spec=ApiSpec.from_resource("dengage.yaml"),
            clock=self.clock,
            rng=self.rng,
            deliveries=self.deliveries,
            scheduler=self.scheduler,
        )
        self.reset()

    def reset(self) -> None:
        """Back to the world the fake started with, and the same seed."""
        with self.store.transaction():
            gc.unfreeze()  # what a live server froze may now be garbage; let the collector see it
            self.store.reset()
            self.rng.reseed(self.seed)
            self.scheduler.clear()
            self.gateway.reset()
            self.leanplum.reset()
            self.dengage.reset()

    def advance(self, seconds: float) -> None:
        """Move a `ManualClock` on by `seconds`, running everything that falls due on the way
        (gateway attempts and answers, retries, scheduled sends), each at its own time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        clock = self._manual_clock("advance")
        self._run_scheduled(clock, until=clock.now() + seconds)

    def run_until_idle(self) -> None:
        """Move a `ManualClock` on until the gateway is idle: every delivery handed to it has its
        final state. Sends scheduled for later than that stay scheduled (`advance` reaches them)."""
        self._run_scheduled(self._manual_clock("run_until_idle"), until=None)

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

    def _run_scheduled(self, clock: ManualClock, until: float | None) -> None:
        """Step the clock from one due item to the next up to `until` (None: while the gateway
        has work), so each item runs at, and stamps, its own time."""
        while (due := self.scheduler.next_due()) is not None and (
                due <= until if until is not None else self.gateway.pending > 0):
            if due > clock.now():
                clock.set(due)
            self.scheduler.run_due()
        if until is not None:
            clock.set(until)
