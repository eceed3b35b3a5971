"""Running Leanplum requests: one action, or a `multi` batch, against the fake's state.

HTTP-free: `describe` reads the request once (its action, its parameters as the spec coerces
them, a batch's items and who it is about); `answer` runs it and returns the elements (and the
deliveries to hand off). `routes` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pushfake.core.clock import Clock, wire_wait
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.limits import LimitBook
from pushfake.core.rng import SeededRandom
from pushfake.core.spec import ApiSpec
from pushfake.faults.rules import RequestFacts
from pushfake.leanplum import auth, errors
from pushfake.leanplum.actions import Call
from pushfake.leanplum.dispatch import MULTI, ActionEntry, ActionTable, Prepared
from pushfake.leanplum.errors import LeanplumError
from pushfake.leanplum.limits import UserLimits, refused
from pushfake.leanplum.models import App, Device, Event, User
from pushfake.leanplum.state import LeanplumState
from pushfake.leanplum.world import LeanplumWorld
from pushfake.plumbing import Answer, Ask, Wire

CONTEXT_EXCLUDED = frozenset({"action", "data"})
SKEW_TOLERANCE_SECONDS = 86_400.0  # a `time` further behind the fake's clock is rewritten, with a warning
LATEST_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z: a later `time` cannot be shown as a date


@dataclass(slots=True)
class LeanplumAsk(Ask):
    """A Leanplum request as read once: what `answer` runs."""

    sent: dict[str, Any] = field(default_factory=dict)  # query and body merged, as sent
    refusal: LeanplumError | None = None  # answered as it is: an unreadable request, an unknown action
    entry: ActionEntry | None = None  # the action asked for
    prepared: Prepared | None = None  # its parameters, coerced, or why they are refused
    batch: list[dict[str, Any]] = field(default_factory=list)  # a `multi`'s items
    batch_users: list[str] = field(default_factory=list)  # the distinct users (or devices) of its items


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
    def describe(self, wire: Wire) -> LeanplumAsk:
        """What a request asks, read once: its action, its parameters and who it is about."""
        sent = merge(wire.query, wire.body if isinstance(wire.body, dict) else {})
        action = sent.get("action")
        refusal: LeanplumError | None = None
        entry: ActionEntry | None = None
        prepared: Prepared | None = None
        try:
            entry = self.actions.get(action)
        except LeanplumError as exc:
            refusal = exc
        else:
            prepared = entry.read(sent)
        if wire.failure is not None:
            refusal = LeanplumError(wire.failure.status, errors.text(wire.failure.key, **wire.failure.fields))
        read = prepared.params if prepared is not None else sent
        data = read.get("data") if entry is not None and entry.name == MULTI else None
        batch = [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
        app = sent.get("appId")
        facts = RequestFacts("leanplum", wire.method, wire.path, action if isinstance(action, str) else None,
                             app if isinstance(app, str) else None, tuple(_users_of([read, *batch])), sent,
                             tuple(str(item.get("action")) for item in batch))
        accepted = refusal is None and prepared is not None and prepared.refusal is None
        return LeanplumAsk(facts, read if accepted else sent, sent, refusal, entry, prepared, batch, _users_of(batch))

    async def answer(self, ask: LeanplumAsk) -> Answer:
        if ask.refusal is not None:
            return Answer(ask.refusal.status, [ask.refusal.element()])
        assert ask.entry is not None and ask.prepared is not None  # `describe` reads both unless it refuses
        if ask.entry.name == MULTI:
            return await self._multi(ask)
        answer = Answer(200, [])
        await self._one(ask.sent, answer, (ask.entry, ask.prepared), alone=True)
        return answer

    async def _one(self, params: dict[str, Any], answer: Answer, read: tuple[ActionEntry, Prepared] | None = None,
                   alone: bool = False, counted: set[tuple[str, str]] | None = None) -> None:
        """Run one action (`read`: as `describe` read it; a batch item is read here) and add its
        element to `answer`; the first failure sets its status. `counted`: the users of this batch
        the development-mode rate has counted already (the limit is per request, so a batch counts
        once per user)."""
        try:
            entry, prepared = read or self._item(params)
            if prepared.refusal is not None:
                raise prepared.refusal
            p, skew = _own_time(prepared.params, self._clock.now())
            app = self._app(p["appId"])
            dev_mode = bool(p.get("devMode"))
            auth.check_action(app, p["clientKey"], dev_mode, entry.name)
            subject = _subject(p)
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
                    element = entry.handler(call)  # type: ignore[misc]  # `_item` refuses `multi`
            answer.pending.extend(call.pending)
            if skew and "warning" not in element:
                element["warning"] = {"message": errors.clock_skew(skew)}
            if "reqId" in p:
                element["reqId"] = p["reqId"]
            answer.body.append(element)
        except LeanplumError as exc:
            element = exc.element()
            if isinstance(params.get("reqId"), str):
                element["reqId"] = params["reqId"]
            answer.body.append(element)
            if answer.status == 200 and (alone or self.settings.multi_status == "first-failure"):
                answer.status, answer.retry_after, answer.limit = exc.status, exc.retry_after, exc.limit

    def _item(self, params: dict[str, Any]) -> tuple[ActionEntry, Prepared]:
        """A batch item's action and parameters (merged with the batch's own)."""
        entry = self.actions.get(params.get("action"))
        if entry.handler is None:  # `multi` inside a multi
            raise LeanplumError(400, errors.unknown_action(entry.name))
        return entry, entry.read(params, in_batch=True)

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

    async def _multi(self, ask: LeanplumAsk) -> Answer:
        assert ask.prepared is not None
        try:
            if ask.prepared.refusal is not None:
                raise ask.prepared.refusal
            p = ask.prepared.params
            app = self._app(p["appId"])
            auth.check_key(app, p["clientKey"])
            self._check_batch_size(ask.batch_users, ask.batch)
            self._take_token(app.id, ask.batch_users[0] if ask.batch_users else "")
        except LeanplumError as exc:
            return Answer(exc.status, [exc.element()], retry_after=exc.retry_after, limit=exc.limit)
        context = {k: v for k, v in ask.sent.items() if k not in CONTEXT_EXCLUDED}
        answer = Answer(200, [])
        counted: set[tuple[str, str]] = set()
        for item in ask.batch:  # the spec has checked every item is an object with an action
            await self._one({**context, **item}, answer, counted=counted)
        return answer

    def _check_batch_size(self, users: list[str], items: list[Any]) -> None:
        limit = self._book.of_kind("leanplum", "multi-size")
        if limit is None:
            return
        if len(users) > limit["users"] or len(items) > limit["actions"]:
            raise refused(limit, errors.multi_too_large(limit["users"], limit["actions"]))


def merge(query: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Leanplum's precedence: the body wins for every key except `action`, where the query wins."""
    merged = {**query, **body}
    if "action" in query:
        merged["action"] = query["action"]
    return merged


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


def _subject(params: dict[str, Any]) -> str:
    """Who an action is about: its userId, or else its deviceId ("" when it names neither)."""
    return str(params.get("userId") or params.get("deviceId") or "")


def _users_of(actions: list[dict[str, Any]]) -> list[str]:
    """The distinct users (or devices) `actions` are about, in order of first appearance."""
    return list(dict.fromkeys(subject for subject in map(_subject, actions) if subject))
