"""Running Leanplum requests: one action, or a `multi` batch, against the fake's state.

HTTP-free: it takes the merged parameters and returns (status, elements, deliveries to hand
off). `routes` turns that into a response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.rng import SeededRandom
from pushfake.core.spec import ApiSpec
from pushfake.leanplum import auth, errors
from pushfake.leanplum.actions import Call
from pushfake.leanplum.dispatch import MULTI, ActionTable
from pushfake.leanplum.errors import LeanplumError
from pushfake.leanplum.limits import UserLimits
from pushfake.leanplum.models import App, Device, Event, User
from pushfake.leanplum.state import LeanplumState
from pushfake.leanplum.world import LeanplumWorld

CONTEXT_EXCLUDED = frozenset({"action", "data"})


@dataclass
class Outcome:
    status: int
    elements: list[dict[str, Any]]
    pending: list[str] = field(default_factory=list)
    retry_after: float | None = None


class LeanplumService:
    def __init__(
        self,
        *,
        state: LeanplumState,
        world: LeanplumWorld,
        spec: ApiSpec,
        clock: Clock,
        rng: SeededRandom,
        deliveries: DeliveryQueue,
    ) -> None:
        self.state = state
        self.world = world
        self.settings = world.settings
        self.spec = spec
        self.actions = ActionTable(spec)
        self._clock = clock
        self._rng = rng
        self._deliveries = deliveries
        self.limits = UserLimits(
            clock, self.settings.dev_mode_requests_per_second, self.settings.retry_after_seconds
        )

    def reset(self) -> None:
        self.limits.reset()
        self.world.install(self.state, self._clock.now())

    # --- inspection, for tests and the control plane --------------------------------------
    def user(self, app_id: str, user_id: str) -> User | None:
        return self.state.user(app_id, user_id)

    def device(self, app_id: str, device_id: str) -> Device | None:
        return self.state.device(app_id, device_id)

    def devices_of(self, app_id: str, user_id: str) -> list[Device]:
        return self.state.devices_of(app_id, user_id)

    def events(self, app_id: str, user_id: str) -> list[Event]:
        return self.state.events(app_id, user_id)

    # --- requests ----------------------------------------------------------------------------
    async def handle(self, params: dict[str, Any]) -> Outcome:
        try:
            entry = self.actions.get(params.get("action"))
        except LeanplumError as exc:
            return Outcome(exc.status, [exc.element()])
        if entry.name == MULTI:
            return await self._multi(params)
        pending: list[str] = []
        status, element, retry_after = await self._one(params, pending)
        return Outcome(status, [element], pending, retry_after)

    async def _one(
        self, params: dict[str, Any], pending: list[str]
    ) -> tuple[int, dict[str, Any], float | None]:
        try:
            entry = self.actions.get(params.get("action"))
            if entry.handler is None:  # `multi` inside a multi
                raise LeanplumError(400, errors.unknown_action(entry.name))
            p = entry.prepare(params)
            app = self._app(p["appId"])
            dev_mode = bool(p.get("devMode"))
            auth.check_action(app, p["clientKey"], dev_mode, entry.name)
            subject = str(p.get("userId") or p.get("deviceId") or "")
            with self.limits.hold(app.id, subject, dev_mode):
                if self.settings.processing_delay_seconds:
                    await self._clock.sleep(self.settings.processing_delay_seconds)
                call = Call(app, p, self.state, self.settings, self._clock, self._rng, self._deliveries)
                with self.state.transaction():
                    element = entry.handler(call)
            pending.extend(call.pending)
            if "reqId" in p:
                element["reqId"] = p["reqId"]
            return 200, element, None
        except LeanplumError as exc:
            element = exc.element()
            if isinstance(params.get("reqId"), str):
                element["reqId"] = params["reqId"]
            return exc.status, element, exc.retry_after

    def _app(self, app_id: str) -> App:
        app = self.state.app(app_id)
        if app is None:
            raise LeanplumError(404, errors.APP_NOT_FOUND)
        return app

    async def _multi(self, params: dict[str, Any]) -> Outcome:
        try:
            p = self.actions.get(MULTI).prepare(params)
            app = self._app(p["appId"])
            auth.check_key(app, p["clientKey"])
            items = p["data"]
            self._check_batch_size(items)
        except LeanplumError as exc:
            return Outcome(exc.status, [exc.element()], retry_after=exc.retry_after)
        context = {k: v for k, v in params.items() if k not in CONTEXT_EXCLUDED}
        outcome = Outcome(200, [])
        for item in items:  # the spec has checked every item is an object with an action
            status, element, retry_after = await self._one({**context, **item}, outcome.pending)
            outcome.elements.append(element)
            if status != 200 and outcome.status == 200 and self.settings.multi_status == "first-failure":
                outcome.status, outcome.retry_after = status, retry_after
        return outcome

    def _check_batch_size(self, items: list[Any]) -> None:
        users = {
            str(item.get("userId") or item.get("deviceId"))
            for item in items
            if isinstance(item, dict) and (item.get("userId") or item.get("deviceId"))
        }
        limit_users, limit_actions = self.settings.multi_max_users, self.settings.multi_max_actions
        if len(users) > limit_users or len(items) > limit_actions:
            raise LeanplumError(403, errors.MULTI_TOO_LARGE.format(users=limit_users, actions=limit_actions))
