"""How many records of each kind a client can make the fake keep, oldest dropped first.

A fake that runs all day under CI is sent deliveries, events, D·engage sends and logins without
end; each kind is kept up to a bound so its memory stays flat. What was dropped is counted
(`GET /_pushfake/stats`), so a test that finds an old record gone can see why. Bounds come from
the fixtures' `retention` section, or `Fake(retention=...)` / `pushfake serve --retention`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pushfake.core.store import Store

# Defaults: far more than one test (or one suite between resets) makes, small enough that a
# server at every bound stays near a hundred MB (see bench/ `resources`).
DEFAULT_BOUNDS: dict[str, int] = {
    "deliveries": 100_000,  # a delivery with its payload and timeline: about 1 KB
    "events": 100_000,  # Leanplum tracked events and states, all apps and users together
    "sends": 10_000,  # D·engage sends (their reports), all accounts together
    "tokens": 10_000,  # D·engage access tokens not yet expired (expired ones go at once)
}


def bounds_from(*layers: Mapping[str, Any] | None) -> dict[str, int]:
    """The defaults, overridden by each layer in turn (the fixtures', then the caller's)."""
    out = dict(DEFAULT_BOUNDS)
    for layer in layers:
        for kind, bound in (layer or {}).items():
            if kind not in DEFAULT_BOUNDS:
                raise ValueError(f"retention: no kind {kind!r}; kinds are {', '.join(sorted(DEFAULT_BOUNDS))}")
            if not isinstance(bound, int) or isinstance(bound, bool) or bound < 1:
                raise ValueError(f"retention.{kind}: a whole number >= 1, not {bound!r}")
            out[kind] = bound
    return out


class Kept:
    """Keys of one kind of record in the order they were made, held in the store (`ordered`,
    with a `dropped` counter beside it); `add` returns the keys over the bound (the oldest),
    which the owner then deletes. Re-adding a key keeps its first place."""

    __slots__ = ("bound", "_order", "_dropped")

    def __init__(self, store: Store, *name: str, bound: int) -> None:
        self.bound = bound
        self._order = store.ordered(*name)
        self._dropped = store.counter(*name, "dropped")

    def add(self, key: Any) -> list[Any]:
        order = self._order
        order.add(key)
        if len(order) <= self.bound:
            return []
        over = []
        while len(order) > self.bound:
            over.append(order.pop_oldest())
        self._dropped.add(len(over))
        return over

    def discard(self, key: Any) -> None:
        self._order.discard(key)

    def oldest(self) -> Any:
        return self._order.oldest()

    def __len__(self) -> int:
        return len(self._order)

    @property
    def dropped(self) -> int:
        return self._dropped.value

    def stats(self) -> dict[str, int]:
        return {"held": len(self._order), "dropped": self._dropped.value, "max": self.bound}
