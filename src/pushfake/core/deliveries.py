"""Deliveries: one canonical record per push that would reach one device.

Vendors create deliveries while answering a send (state `queued`) and hand them to the
delivery queue *after* the response has gone out, as the real services do. The queue keeps the
newest `bound` deliveries (`core.retention`): the oldest are dropped and counted, and the
gateway (told by `on_drop`) keeps those it has not finished in its own table until their final
answer, without storing them here again. The simulated device gateway (`pushfake.gateway`)
attaches as the consumer and moves them on: `sending`, `retrying`, then `delivered` or
`failed`. Views (a device's inbox, a send, a user) are queries over these records, never copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pushfake.core.clock import Clock
from pushfake.core.retention import DEFAULT_BOUNDS, Kept
from pushfake.core.rng import SeededRandom
from pushfake.core.store import MemoryStore, Store
from pushfake.core.tokens import TokenRegistry


class StateChange(NamedTuple):
    """One step of a delivery's timeline, as callers read it."""

    state: str  # queued, sending, retrying, delivered, failed; "open" / "click" for engagements
    at: float
    reason: str | None = None


# Stored steps are plain tuples: CPython stops tracking a plain tuple of plain values in its
# garbage collector (a NamedTuple stays tracked), so a million stored deliveries add one tracked
# object each, not three, and full collections stay short.
_Step = tuple[str, float, str | None]


@dataclass(slots=True)
class Delivery:
    id: str
    vendor: str  # "leanplum" or "dengage"
    app_id: str
    send_id: str  # Leanplum message id, D·engage tracking id
    user_id: str
    device_id: str
    platform: str  # apns, fcm, webpush
    token: Any
    payload: dict[str, Any]
    timeline: tuple[_Step, ...] = ()
    engagements: tuple[_Step, ...] = ()  # "open" / "click", as a person would
    token_rejected: bool = False  # the gateway refused the token itself (a bounce)

    @property
    def state(self) -> str:
        return self.timeline[-1][0]

    @property
    def changes(self) -> tuple[StateChange, ...]:
        return tuple(StateChange(*step) for step in self.timeline)

    @property
    def reason(self) -> str | None:
        """Why the latest step happened (a gateway's failure code), if it says."""
        return self.timeline[-1][2]

    @property
    def attempts(self) -> int:
        """How many times the gateway was asked (the first try and each retry)."""
        return sum(1 for step in self.timeline if step[0] == "sending")

    @property
    def final(self) -> bool:
        return self.timeline[-1][0] in FINAL_STATES

    def reached(self, state: str) -> bool:
        return any(step[0] == state for step in self.timeline)

    def engaged(self, kind: str) -> bool:
        return any(step[0] == kind for step in self.engagements)

    def advance(self, state: str, at: float, reason: str | None = None) -> None:
        self.timeline = (*self.timeline, (state, at, reason))


FINAL_STATES = frozenset({"delivered", "failed"})
Consumer = Callable[[list[str]], None]
DropListener = Callable[[Delivery], None]


class DeliveryQueue:
    """Records deliveries in the store and hands their ids to whoever consumes them."""

    def __init__(self, store: Store, clock: Clock, rng: SeededRandom) -> None:
        self._table = store.table("deliveries")
        self._clock = clock
        self._rng = rng
        self._consumer: Consumer | None = None
        self.tokens = TokenRegistry(store)  # tokens a gateway rejected; sends skip them
        self.changes = store.changes("deliveries")  # wakes whoever long-polls for a delivery
        self.kept = Kept(store, "deliveries", "kept", bound=DEFAULT_BOUNDS["deliveries"])
        self._drop_listeners: list[DropListener] = []
        # On a shared store the hand-off is written with the request, before its answer: a process
        # killed after answering must leave no accepted send's deliveries queued for no one. In one
        # process it runs after the answer, which then does not wait for the gateway's bookkeeping.
        self.hand_off_before_answer = not isinstance(store, MemoryStore)

    def on_drop(self, listener: DropListener) -> None:
        """Call `listener` with each delivery dropped to keep the bound, so a record that lists
        deliveries (a D·engage send) can forget it too and stay bounded with them."""
        self._drop_listeners.append(listener)

    def new_ids(self, count: int) -> list[str]:
        return self._rng.uuid4s(count)

    def record(self, *deliveries: Delivery) -> None:
        """Store `deliveries` as queued (not yet handed off), all at this moment."""
        step = ("queued", self._clock.now(), None)
        table, kept = self._table, self.kept
        for delivery in deliveries:
            delivery.timeline = (*delivery.timeline, step)
            table.put(delivery.id, delivery)
            for old in kept.add(delivery.id):
                dropped = table.get(old)
                table.delete(old)
                if dropped is not None:
                    for listener in self._drop_listeners:
                        listener(dropped)
        self.changes.notify()

    def save(self, delivery: Delivery) -> None:
        """Write back a delivery whose timeline moved on (the gateway's answers); one dropped
        to keep the bound stays dropped."""
        if delivery.id in self._table:
            self._table.put(delivery.id, delivery)
        self.changes.notify()

    def stats(self) -> dict[str, int]:
        return {**self.kept.stats(), "held": len(self._table)}

    def hand_off_now(self, ids: Iterable[str]) -> None:
        """Give recorded deliveries to the consumer (for work that runs outside a request)."""
        batch = list(ids)
        if self._consumer is not None and batch:
            self._consumer(batch)

    async def hand_off(self, ids: Iterable[str]) -> None:
        """Give recorded deliveries to the consumer; runs after the response is sent.

        A coroutine on purpose: Starlette runs a sync background task in its thread pool, where
        hand-offs queue up behind each other under load.
        """
        self.hand_off_now(ids)

    def engage(self, delivery_id: str, kind: str) -> Delivery:
        """Record that the person opened or clicked the notification of a delivery."""
        if kind not in ("open", "click"):
            raise ValueError(f"engagement is 'open' or 'click', not {kind!r}")
        delivery = self._table.get(delivery_id)
        if delivery is None:
            raise KeyError(f"no delivery {delivery_id!r}")
        if not delivery.reached("delivered"):
            raise ValueError(f"delivery {delivery_id} is {delivery.state}; only a delivered "
                             "notification can be opened or clicked")
        delivery.engagements = (*delivery.engagements, (kind, self._clock.now(), None))
        self._table.put(delivery.id, delivery)
        self.changes.notify()
        return delivery

    def attach(self, consumer: Consumer | None) -> None:
        self._consumer = consumer

    def get(self, delivery_id: str) -> Delivery | None:
        return self._table.get(delivery_id)

    def find(
        self,
        *,
        vendor: str | None = None,
        app_id: str | None = None,
        send_id: str | None = None,
        user_id: str | None = None,
        device_id: str | None = None,
        state: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Delivery]:
        """Deliveries matching every filter given (`state`: the current one; `since` / `until`:
        when it was queued), oldest first."""
        wanted = {"vendor": vendor, "app_id": app_id, "send_id": send_id,
                  "user_id": user_id, "device_id": device_id, "state": state}
        filters = [(k, v) for k, v in wanted.items() if v is not None]
        rows = [d for d in self._table.values() if all(getattr(d, k) == v for k, v in filters)
                and (since is None or d.timeline[0][1] >= since) and (until is None or d.timeline[0][1] <= until)]
        rows.sort(key=lambda d: d.timeline[0][1])
        return rows
