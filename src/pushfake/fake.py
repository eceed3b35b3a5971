"""`Fake`: everything one fake holds (store, clock, seed, deliveries, vendor services).

The same `Fake` serves every transport: the ASGI app from `create_app`, a uvicorn server
(`pushfake serve`) and in-process test clients.
"""

from __future__ import annotations

import gc
from pathlib import Path

from pushfake.core.clock import Clock, SystemClock
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.fixtures import read_fixtures
from pushfake.core.rng import SeededRandom
from pushfake.core.scheduler import Scheduler
from pushfake.core.spec import ApiSpec
from pushfake.core.store import MemoryStore, Store
from pushfake.dengage.service import DengageService
from pushfake.dengage.state import DengageState
from pushfake.dengage.world import build_world as build_dengage_world
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
            self.leanplum.reset()
            self.dengage.reset()

    def advance(self, seconds: float) -> int:
        """Move a `ManualClock` on and run what fell due (scheduled sends); returns how many ran."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("advance() needs a ManualClock; this fake runs on real time")
        advance(seconds)
        return self.scheduler.run_due()
