"""Running D·engage requests against the fake's state: login, send, report. No HTTP here.

Every rule that can reject a send runs before anything is stored, so a rejected request
queues nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.deliveries import Delivery, DeliveryQueue
from pushfake.core.limits import Limit, LimitBook
from pushfake.core.rng import SeededRandom
from pushfake.core.scheduler import Scheduler
from pushfake.core.spec import ApiSpec, SchemaValidator
from pushfake.dengage import audience, content, errors
from pushfake.dengage.errors import DengageError, invalid, not_found
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


@dataclass
class Result:
    status: int
    body: dict[str, Any]
    pending: list[str] = field(default_factory=list)


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
        self._book = limits
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        ops = {op["operationId"]: op for _, _, op in spec.operations()}
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
        with self._lock:
            self._in_flight.clear()
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

    # --- login and authentication -------------------------------------------------------------
    def login(self, body: dict[str, Any]) -> Result:
        try:
            _check(self._login_body, body)
            account = self.state.account_of_user(body["userkey"])
            user = account.api_users.get(body["userkey"]) if account else None
            if account is None or user is None or user.password != body["password"]:
                raise DengageError(401, errors.WRONG_LOGIN)
        except DengageError as exc:
            return Result(exc.status, exc.body())
        lifetime = self.settings.token_lifetime_seconds
        token = AccessToken(self._rng.secret(64), account.id, user.userkey, self._clock.now() + lifetime)
        self.state.put_token(token, self._clock.now())
        return Result(200, {"access_token": token.value, "token_type": "Bearer", "expires_in": lifetime})

    def authenticate(self, authorization: str | None, refusals: errors.Refusals) -> Caller:
        """The caller behind an `Authorization` header (`Bearer <t>` or a bare `<t>`); a 401 in
        the words of the operation asked (`refusals`)."""
        token = self._token(authorization)
        if token is not None and token.expires_at <= self._clock.now():
            self.state.tokens().delete(token.value)  # expired tokens go the first time they are shown
            token = None
        if token is None:
            raise DengageError(401, refusals.not_authenticated)
        account = self.state.account(token.account_id)
        if account is None or token.userkey not in account.api_users:
            raise DengageError(401, refusals.not_authenticated)
        return Caller(account, token.userkey)

    def account_of_token(self, authorization: str | None) -> tuple[str, str] | None:
        """(account, API user) a token belongs to, without checking or changing anything (the
        journal and fault rules use it before the request runs)."""
        token = self._token(authorization)
        return (token.account_id, token.userkey) if token is not None else None

    def _token(self, authorization: str | None) -> AccessToken | None:
        value = (authorization or "").strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        return self.state.tokens().get(value) if value else None

    @contextmanager
    def admitted(self, caller: Caller, refusals: errors.Refusals) -> Iterator[None]:
        """Count a request in flight for the caller's account, or refuse it with 429 (in the words
        of `refusals`); then take a token from the account's buckets, if any."""
        concurrency = self._book.of_kind("dengage", "concurrency")
        with self._lock:
            if concurrency is not None and self._in_flight.get(caller.account.id, 0) >= concurrency["limit"]:
                raise refused(concurrency, refusals.too_many_requests)
            bucket = self._book.take("dengage", caller.account.id, caller.userkey)
            if bucket is not None:
                raise refused(bucket[0], refusals.too_many_requests, bucket[1])
            self._in_flight[caller.account.id] = self._in_flight.get(caller.account.id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[caller.account.id] -= 1

    # --- SendInstantPush -----------------------------------------------------------------------
    def require_push_permission(self, caller: Caller) -> None:
        if PUSH_PERMISSION not in caller.account.api_users[caller.userkey].permissions:
            raise DengageError(403, errors.FORBIDDEN)

    def send_instant(self, caller: Caller, body: dict[str, Any]) -> Result:
        account = caller.account
        self.require_push_permission(caller)
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
            self._scheduler.call_at(plan.schedule_at, lambda: self._deliver_scheduled(account, send, plan))
        return Result(200, {"code": 0, "message": "Success", "data": {"trackingId": tracking_id}}, pending)

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

    def _deliver_scheduled(self, account: Account, send: Send, plan: _Plan) -> None:
        with self.state.transaction():
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

    # --- the send report ---------------------------------------------------------------------------
    def report(self, caller: Caller, query: dict[str, str]) -> Result:
        _check(self._report_query, query)
        send = self.state.send(caller.account.id, query["trackingId"])
        if send is None:
            raise not_found("Send", query["trackingId"])
        app_id = query.get("applicationId")
        app_id = app_id.lower() if app_id is not None else None  # UUIDs compare without regard to case
        deliveries = [d for d in map(self._deliveries.get, send.delivery_ids)
                      if d is not None and (app_id is None or d.app_id.lower() == app_id)]
        devices = self.state.devices(caller.account.id)
        browsers = {d.device_id: device.browser if (device := devices.get(d.device_id)) is not None else None
                    for d in deliveries if d.platform == "webpush"}
        return Result(200, {"code": 0, "message": "Success", "data": _report(send, deliveries, browsers)})


def refused(limit: Limit, message: str, retry_after: float | None = None) -> DengageError:
    """A limit's 429, with Retry-After only if the limit is configured to send it."""
    configured = limit.settings.get("retryAfter")
    if configured is True:
        configured = retry_after
    return DengageError(429, limit.settings.get("message", message),
                        retry_after=configured if configured not in (None, False) else None, limit=limit.id)


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


_PLATFORM_NAMES = {"apns": "iOS", "fcm": "Android", "webpush": "Web"}


def _items(counts: dict[str, list[int]]) -> list[dict[str, Any]]:
    return [{"itemName": name, "deliveredCount": c[0], "openCount": c[1]} for name, c in sorted(counts.items())]


def _report(send: Send, deliveries: list[Delivery], browsers: dict[str, str | None]) -> dict[str, Any]:
    """One pass over the send's deliveries (a report may be polled while 10,000 are in flight).
    `browsers`: the browser of each web device, by device id."""
    delivered = opened = bounced = errors = 0
    first_failure: str | None = None
    finished = True
    by_platform: dict[str, list[int]] = {}  # name -> [delivered, opened]
    by_browser: dict[str, list[int]] = {}  # web-push deliveries only
    for d in deliveries:
        state = d.timeline[-1][0]
        counts = [by_platform.setdefault(_PLATFORM_NAMES.get(d.platform, d.platform), [0, 0])]
        if d.platform == "webpush":
            counts.append(by_browser.setdefault(browsers.get(d.device_id) or "Other", [0, 0]))
        if state == "delivered":
            delivered += 1
            for c in counts:
                c[0] += 1
        elif state == "failed":
            if d.token_rejected:
                bounced += 1
            else:
                errors += 1
            if first_failure is None:
                first_failure = d.timeline[-1][2]
        else:
            finished = False
        if d.engagements and d.engaged("open"):
            opened += 1
            for c in counts:
                c[1] += 1
    status = send.status if send.status == "Scheduled" else ("Completed" if finished else "Sending")
    return {
        "trackingId": send.tracking_id,
        "status": status,
        "createdAt": content.iso(send.created_at),
        "scheduleDate": content.iso(send.schedule_at) if send.schedule_at is not None else None,
        "totalCount": len(deliveries),
        "totalDeliveredCount": delivered,
        "totalOpenCount": opened,
        "totalBounceCount": bounced,
        "totalErrorCount": errors,
        "errorMessage": first_failure,
        "browsers": _items(by_browser),
        "deviceTypes": _items(by_platform),
    }
