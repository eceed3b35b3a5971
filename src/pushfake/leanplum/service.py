"""Running Leanplum requests: one action, or a `multi` batch, against the fake's state.

HTTP-free: it takes the merged parameters and returns (status, elements, deliveries to hand
off). `routes` turns that into a response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pushfake.core.clock import Clock, wire_wait
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.limits import LimitBook
from pushfake.core.rng import SeededRandom
from pushfake.core.spec import ApiSpec
from pushfake.leanplum import auth, errors
from pushfake.leanplum.actions import Call
from pushfake.leanplum.dispatch import MULTI, ActionTable
from pushfake.leanplum.errors import LeanplumError
from pushfake.leanplum.limits import UserLimits, refused
from pushfake.leanplum.models import App, Device, Event, User
from pushfake.leanplum.state import LeanplumState
from pushfake.leanplum.world import LeanplumWorld

CONTEXT_EXCLUDED = frozenset({"action", "data"})
SKEW_TOLERANCE_SECONDS = 86_400.0  # a `time` further behind the fake's clock is rewritten, with a warning
LATEST_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z: a later `time` cannot be shown as a date


@dataclass
class Outcome:
    status: int
    elements: list[dict[str, Any]]
    pending: list[str] = field(default_factory=list)
    retry_after: float | None = None
    limit: str | None = None  # the id of the rate limit that refused it (or its first failing item)


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
        limits: LimitBook,
    ) -> None:
        self.state = state
        self.world = world
        self.settings = world.settings
        self.spec = spec
        self.actions = ActionTable(spec)
        self._clock = clock
        self._rng = rng
        self._deliveries = deliveries
        self._book = limits
        self.limits = UserLimits(clock, limits)

    def configure(self, world: LeanplumWorld) -> None:
        """Serve another world (fixtures loaded at run time); takes effect at the next reset."""
        self.world = world
        self.settings = world.settings

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
        outcome = Outcome(200, [])
        await self._one(params, outcome, alone=True)
        return outcome

    async def _one(self, params: dict[str, Any], outcome: Outcome, alone: bool = False,
                   counted: set[tuple[str, str]] | None = None) -> None:
        """Run one action and add its element to `outcome`; the first failure sets its status.
        `counted`: the users of this batch the development-mode rate has counted already (the
        limit is per request, so a batch counts once per user)."""
        try:
            entry = self.actions.get(params.get("action"))
            if entry.handler is None:  # `multi` inside a multi
                raise LeanplumError(400, errors.unknown_action(entry.name))
            p = entry.prepare(params, in_batch=not alone)
            p, skew = _own_time(p, self._clock.now())
            app = self._app(p["appId"])
            dev_mode = bool(p.get("devMode"))
            auth.check_action(app, p["clientKey"], dev_mode, entry.name)
            subject = str(p.get("userId") or p.get("deviceId") or "")
            if alone:
                self._take_token(app.id, subject)
            first = counted is None or (app.id, subject) not in counted
            with self.limits.hold(app.id, subject, dev_mode and first):
                if counted is not None:
                    counted.add((app.id, subject))
                if self.settings.processing_delay_seconds:
                    await wire_wait(self._clock, self.settings.processing_delay_seconds)
                call = Call(app, p, self.state, self.settings, self._clock, self._rng, self._deliveries)
                with self.state.transaction():
                    element = entry.handler(call)
            outcome.pending.extend(call.pending)
            if skew and "warning" not in element:
                element["warning"] = {"message": errors.clock_skew(skew)}
            if "reqId" in p:
                element["reqId"] = p["reqId"]
            outcome.elements.append(element)
        except LeanplumError as exc:
            element = exc.element()
            if isinstance(params.get("reqId"), str):
                element["reqId"] = params["reqId"]
            outcome.elements.append(element)
            if outcome.status == 200 and (alone or self.settings.multi_status == "first-failure"):
                outcome.status, outcome.retry_after, outcome.limit = exc.status, exc.retry_after, exc.limit

    def _take_token(self, app_id: str, user_id: str) -> None:
        refusal = self._book.take("leanplum", app_id, user_id)
        if refusal is not None:
            limit, wait = refusal
            raise refused(limit, errors.TOO_MANY_REQUESTS, wait)

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
            users = _users_of(items)
            self._check_batch_size(users, items)
            self._take_token(app.id, users[0] if users else "")
        except LeanplumError as exc:
            return Outcome(exc.status, [exc.element()], retry_after=exc.retry_after, limit=exc.limit)
        context = {k: v for k, v in params.items() if k not in CONTEXT_EXCLUDED}
        outcome = Outcome(200, [])
        counted: set[tuple[str, str]] = set()
        for item in items:  # the spec has checked every item is an object with an action
            await self._one({**context, **item}, outcome, counted=counted)
        return outcome

    def _check_batch_size(self, users: list[str], items: list[Any]) -> None:
        limit = self._book.of_kind("leanplum", "multi-size")
        if limit is None:
            return
        if len(users) > limit["users"] or len(items) > limit["actions"]:
            raise refused(limit, errors.multi_too_large(limit["users"], limit["actions"]))


def _own_time(params: dict[str, Any], now: float) -> tuple[dict[str, Any], int]:
    """`params` with `time` replaced by `now` where Leanplum rewrites it (more than a day behind,
    as recorded: "Device clock skew detected (38 days behind). Rewriting timestamp."), or where no
    date could show it (past the year 9999); and the days behind to warn about (0: no warning)."""
    sent = params.get("time")
    if not isinstance(sent, float):
        return params, 0
    if now - sent > SKEW_TOLERANCE_SECONDS:
        return {**params, "time": now}, int((now - sent) // 86_400)
    if sent > LATEST_TIME:
        return {**params, "time": now}, 0
    return params, 0


def _users_of(items: list[Any]) -> list[str]:
    """The distinct users (or devices) a batch is about, in order of first appearance."""
    return list(dict.fromkeys(
        str(item.get("userId") or item.get("deviceId"))
        for item in items
        if isinstance(item, dict) and (item.get("userId") or item.get("deviceId"))
    ))
