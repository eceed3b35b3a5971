"""Running D·engage requests against the fake's state: login, send, report. No HTTP here.

`describe` reads a request once (its operation and the caller's token, as far as can be told
before it runs); `answer` runs it: who is asking (401), may they (403), is there room (429),
then the request itself (400s and the rest). Every rule that can reject a send runs before
anything is stored, so a rejected request queues nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.clock import Clock, wire_wait
from pushfake.core.deliveries import Delivery, DeliveryQueue
from pushfake.core.limits import LimitBook
from pushfake.core.rng import SeededRandom
from pushfake.core.scheduler import Scheduler
from pushfake.core.spec import ApiSpec, SchemaValidator
from pushfake.dengage import audience, content, errors, report
from pushfake.dengage.errors import DengageError, invalid, not_found
from pushfake.dengage.limits import AccountLimits
from pushfake.dengage.models import (
    PUSH_PERMISSION,
    AccessToken,
    Account,
    Contact,
    MessageContent,
    PushDevice,
    Send,
    Template,
)
from pushfake.dengage.state import DengageState
from pushfake.dengage.world import DengageWorld
from pushfake.faults.rules import RequestFacts
from pushfake.plumbing import Answer, Ask, Wire

Operation = Callable[["DengageAsk"], Awaitable[Answer]]


@dataclass(slots=True)
class DengageAsk(Ask):
    """A D·engage request as read once: what `answer` runs."""

    operation: str = ""  # the spec's operationId
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    token: AccessToken | None = None  # the caller's token as found, not yet checked
    refusal: DengageError | None = None  # an unreadable request


@dataclass(frozen=True)
class Caller:
    account: Account
    userkey: str


class DengageService:
    def __init__(self, *, state: DengageState, world: DengageWorld, spec: ApiSpec, clock: Clock,
                 rng: SeededRandom, deliveries: DeliveryQueue, scheduler: Scheduler, limits: LimitBook) -> None:
        self.state = state
        self.world = world
        self.settings = world.settings
        self.spec = spec
        self._clock = clock
        self._rng = rng
        self._deliveries = deliveries
        deliveries.on_drop(self._forget_delivery)
        self._scheduler = scheduler
        scheduler.handle("dengage-scheduled-send", self._deliver_scheduled)
        self.limits = AccountLimits(limits)
        self._operations: dict[str, Operation] = {
            "login": self._login, "sendInstantPush": self._send_instant, "getSendInstantPushReport": self._report}
        ops = {op["operationId"]: op for _, _, op in spec.operations()}
        for operation_id in ops.keys() - self._operations.keys():
            raise RuntimeError(f"{spec.name}: no D·engage handler for {operation_id}")
        if self._operations.keys() - ops.keys():
            raise RuntimeError(f"{spec.name} lacks the operations {sorted(self._operations.keys() - ops.keys())}")
        self._login_body = self._body_validator(ops["login"])
        self._send_body = self._body_validator(ops["sendInstantPush"])
        self._report_query = spec.query_validator(ops["getSendInstantPushReport"])

    def _body_validator(self, operation: dict[str, Any]) -> SchemaValidator:
        return self.spec.validator(operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])

    def configure(self, world: DengageWorld) -> None:
        """Serve another world (fixtures loaded at run time); takes effect at the next reset."""
        self.world = world
        self.settings = world.settings

    def reset(self) -> None:
        self.world.install(self.state)

    # --- inspection ------------------------------------------------------------------------
    def contact(self, account_id: str, key: str) -> Contact | None:
        return self.state.contacts(account_id).get(key)

    def device(self, account_id: str, device_id: str) -> PushDevice | None:
        return self.state.devices(account_id).get(device_id)

    def send(self, account_id: str, tracking_id: str) -> Send | None:
        return self.state.send(account_id, tracking_id)

    def engage(self, delivery_id: str, kind: str = "open") -> Delivery:
        """A person opened or clicked a D·engage push: counts in reports and engaged-token sends."""
        found = self._deliveries.get(delivery_id)
        if found is None or found.vendor != "dengage":
            raise KeyError(f"no D·engage delivery {delivery_id!r}")
        delivery = self._deliveries.engage(delivery_id, kind)
        for account in self.state.accounts():
            device = self.state.devices(account.id).get(delivery.device_id)
            if device is not None and device.application_id == delivery.app_id:
                device.engaged = True
                self.state.put_device(account.id, device)
        return delivery

    # --- requests ------------------------------------------------------------------------------
    def describe(self, wire: Wire) -> DengageAsk:
        """What a request asks, read once: its operation, and the account and API user it comes
        from as far as can be told before it runs (the login's user, the token's owner)."""
        operation = wire.operation or ""
        token: AccessToken | None = None
        who: tuple[str, str] | None = None
        if operation == "login":
            userkey = wire.body.get("userkey") if isinstance(wire.body, dict) else None
            account = self.state.account_of_user(userkey) if isinstance(userkey, str) else None
            who = (account.id, userkey) if account is not None and isinstance(userkey, str) else None
        else:
            token = self._token(wire.headers.get("authorization"))
            who = (token.account_id, token.userkey) if token is not None else None
        params = {**wire.query, **wire.body} if isinstance(wire.body, dict) else dict(wire.query)
        facts = RequestFacts("dengage", wire.method, wire.path, operation, who[0] if who else None,
                             (who[1],) if who else (), params)
        failure = wire.failure
        unreadable = DengageError(failure.status, errors.text(failure.key, **failure.fields)) if failure else None
        return DengageAsk(facts, params, operation, wire.query, wire.body, token, unreadable)

    async def answer(self, ask: DengageAsk) -> Answer:
        try:
            if ask.refusal is not None:
                raise ask.refusal
            return await self._operations[ask.operation](ask)
        except DengageError as exc:
            return Answer(exc.status, exc.body(), retry_after=exc.retry_after, limit=exc.limit)

    async def _login(self, ask: DengageAsk) -> Answer:
        body = ask.body
        _check(self._login_body, body)
        account = self.state.account_of_user(body["userkey"])
        user = account.api_users.get(body["userkey"]) if account else None
        if account is None or user is None or user.password != body["password"]:
            raise DengageError(401, errors.WRONG_LOGIN)
        lifetime = self.settings.token_lifetime_seconds
        token = AccessToken(self._rng.secret(64), account.id, user.userkey, self._clock.now() + lifetime)
        self.state.put_token(token, self._clock.now())
        return Answer(200, {"access_token": token.value, "token_type": "Bearer", "expires_in": lifetime})

    async def _send_instant(self, ask: DengageAsk) -> Answer:
        caller = self._caller(ask.token, errors.SEND)
        if PUSH_PERMISSION not in caller.account.api_users[caller.userkey].permissions:
            raise DengageError(403, errors.FORBIDDEN)
        with self.limits.admitted(caller.account.id, caller.userkey, errors.SEND.too_many_requests):
            if self.settings.processing_delay_seconds:
                await wire_wait(self._clock, self.settings.processing_delay_seconds)
            return self._send(caller.account, ask.body)

    async def _report(self, ask: DengageAsk) -> Answer:
        caller = self._caller(ask.token, errors.REPORT)
        with self.limits.admitted(caller.account.id, caller.userkey, errors.REPORT.too_many_requests):
            _check(self._report_query, ask.query)
            data = report.of(self.state, self._deliveries, caller.account.id, ask.query)
            return Answer(200, {"code": 0, "message": "Success", "data": data})

    # --- who may ask ----------------------------------------------------------------------------
    def _caller(self, token: AccessToken | None, refusals: errors.Refusals) -> Caller:
        """The caller behind the request's token (`Bearer <t>` or a bare `<t>`); a 401 in the
        words of the operation asked (`refusals`)."""
        if token is not None and token.expires_at <= self._clock.now():
            self.state.tokens().delete(token.value)  # expired tokens go the first time they are shown
            token = None
        if token is None:
            raise DengageError(401, refusals.not_authenticated)
        account = self.state.account(token.account_id)
        if account is None or token.userkey not in account.api_users:
            raise DengageError(401, refusals.not_authenticated)
        return Caller(account, token.userkey)

    def _token(self, authorization: str | None) -> AccessToken | None:
        value = (authorization or "").strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        return self.state.tokens().get(value) if value else None

    # --- SendInstantPush -------------------------------------------------------------------------
    def _send(self, account: Account, body: dict[str, Any]) -> Answer:
        _check(self._send_body, body)
        body = _left_out_when_empty(body)
        plan = self._plan(account, body)
        tracking_id = body.get("trackingId") or self._rng.uuid4()
        now = self._clock.now()
        with self.state.transaction():
            if self.state.send(account.id, tracking_id) is not None:
                raise invalid("trackingId", f"'{tracking_id}' is already used by another send.")
            send = Send(tracking_id, account.id, now, plan.schedule_at, plan.application_ids,
                        "Scheduled" if plan.schedule_at is not None else "Sending")
            self.state.put_send(send)
            pending = self._deliver(account, send, plan) if plan.schedule_at is None else []
        if plan.schedule_at is not None:
            self._scheduler.call_at(plan.schedule_at, "dengage-scheduled-send", (account.id, plan, send))
        return Answer(200, {"code": 0, "message": "Success", "data": {"trackingId": tracking_id}}, pending)

    def _plan(self, account: Account, body: dict[str, Any]) -> _Plan:
        """Every check that can refuse the send, before anything is stored."""
        if "applicationIds" not in body and self.settings.require_application_ids:
            raise invalid("applicationIds", "is required.")
        inline = self._request_template(body)  # cross-field content rules come before lookups
        if "applicationIds" in body:
            application_ids = tuple(dict.fromkeys(i.lower() for i in body["applicationIds"]))
            for app_id in application_ids:
                if app_id not in account.applications:
                    raise not_found("Application", app_id)
        else:
            application_ids = tuple(account.applications)
        segment_id, table_id = _lower(body.get("segmentId")), _lower(body.get("tableId"))
        if segment_id is not None and segment_id not in account.segments:
            raise not_found("Segment", segment_id)
        if table_id is not None and table_id not in account.tables:
            raise not_found("Table", table_id)
        template = inline if inline is not None else self._stored_template(account, body["content"]["templateId"])
        return _Plan(application_ids, segment_id, table_id, template,
                     bool(body.get("useOnlyEngagedTokens")), self._schedule_at(body.get("scheduleDate")))

    def _request_template(self, body: dict[str, Any]) -> Template | None:
        """The request's own content as a template; None when it names a stored template."""
        if "multiLangContent" in body:
            multi = body["multiLangContent"]
            contents = {c["language"].upper(): _content(c) for c in multi["contents"]}
            default = multi["defaultLanguage"].upper()
            if default not in contents:
                raise invalid("multiLangContent.defaultLanguage", f"no content is given in '{default}'.")
            return Template("", "request", default, contents)
        if "templateId" in body["content"]:
            return None
        return Template("", "request", "", {"": _content(body["content"])})

    @staticmethod
    def _stored_template(account: Account, template_id: str) -> Template:
        template = account.templates.get(template_id.lower())
        if template is None:
            raise DengageError(404, errors.TEMPLATE_NOT_FOUND)
        return template

    def _schedule_at(self, text: str | None) -> float | None:
        if text is None:
            return None
        when = content.parse_schedule_date(text)
        if when is None:
            raise invalid("scheduleDate", f"'{text}' is not a valid date.")
        if when < self._clock.now():
            raise invalid("scheduleDate", f"'{text}' is in the past.")
        return when if when > self._clock.now() else None

    def _deliver(self, account: Account, send: Send, plan: _Plan) -> list[str]:
        chosen = audience.contacts(self.state, account, plan.segment_id, plan.table_id)
        devices = audience.devices(self.state, account, chosen, plan.application_ids, plan.engaged_only,
                                   self._deliveries.tokens.usable)
        # one rendering per contact and language, shared by the contact's devices in that language
        payloads: dict[tuple[str, str], dict[str, Any]] = {}
        deliveries = []
        for delivery_id, device in zip(self._deliveries.new_ids(len(devices)), devices, strict=True):
            contact = chosen[device.contact_key]
            language = content.language_for(plan.template, device, contact)
            payload = payloads.get((device.contact_key, language))
            if payload is None:
                rendered = content.payload(plan.template.contents[language], contact)
                payload = payloads[(device.contact_key, language)] = {
                    **rendered, **({"language": language} if language else {}), "trackingId": send.tracking_id}
            deliveries.append(Delivery(delivery_id, "dengage", device.application_id, send.tracking_id,
                                       device.contact_key, device.id, device.platform, device.token, payload))
        self._deliveries.record(*deliveries)
        send.delivery_ids.extend(d.id for d in deliveries)
        send.status = "Sending"
        self.state.put_send(send)
        return list(send.delivery_ids)

    def _deliver_scheduled(self, due: tuple[str, _Plan, Send]) -> None:
        """A scheduled send falls due (through whichever fake on the store finds it due): the
        send as stored, or as it was scheduled if the sends bound has dropped it since."""
        account_id, plan, scheduled = due
        with self.state.transaction():
            account = self.state.account(account_id)
            if account is None:
                return
            send = self.state.send(account_id, scheduled.tracking_id) or scheduled
            ids = self._deliver(account, send, plan)
        self._deliveries.hand_off_now(ids)

    def _forget_delivery(self, delivery: Delivery) -> None:
        """A delivery dropped to keep the deliveries bound leaves its send's list too, so sends
        hold no more ids than there are deliveries (the oldest go first, and a send's ids are in
        the order they were made, so the dropped one is its send's first)."""
        if delivery.vendor != "dengage":
            return
        for account in self.state.accounts():
            if delivery.app_id in account.applications:
                send = self.state.send(account.id, delivery.send_id)
                if send is not None and send.delivery_ids and send.delivery_ids[0] == delivery.id:
                    del send.delivery_ids[0]
                    self.state.put_send(send)
                return

@dataclass(frozen=True)
class _Plan:
    application_ids: tuple[str, ...]
    segment_id: str | None
    table_id: str | None
    template: Template
    engaged_only: bool
    schedule_at: float | None


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _content(raw: dict[str, Any]) -> MessageContent:
    return MessageContent(raw["title"], raw["message"], raw.get("mediaUrl"), raw.get("targetUrl"))


def _left_out_when_empty(body: dict[str, Any]) -> dict[str, Any]:
    """The send as meant: every field sent as null is left out, and so is a content.templateId
    sent as "" ("leave templateId empty"). Runs after the schema check, which allows both."""
    out = {k: v for k, v in body.items() if v is not None}
    if isinstance(out.get("content"), dict):
        out["content"] = {k: v for k, v in out["content"].items() if v is not None and (k, v) != ("templateId", "")}
    if isinstance(out.get("multiLangContent"), dict):
        multi = out["multiLangContent"]
        out["multiLangContent"] = {**multi, "contents": [{k: v for k, v in c.items() if v is not None}
                                                         for c in multi["contents"]]}
    return out


def _check(validator: SchemaValidator, instance: Any) -> None:
    problem = validator.problem(instance)
    if problem is None:
        return
    if problem.custom_message:
        raise invalid(problem.custom_field or problem.location or "body", problem.custom_message)
    raise invalid(problem.location or "body", f"{problem.plain}.")  # plain words, never the validator's
