"""What each Leanplum action does to the world and answers. No HTTP here.

Each handler takes a `Call` (the app, the normalised parameters and the services it may
touch) and returns one response element, or raises `LeanplumError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.deliveries import Delivery, DeliveryQueue
from pushfake.core.rng import SeededRandom
from pushfake.core.tokens import UNREGISTERED
from pushfake.leanplum import errors, rules
from pushfake.leanplum.errors import LeanplumError, warning_element
from pushfake.leanplum.models import DEVICE_FIELDS, PUSH_TOKEN_FIELDS, App, Device, Event, User
from pushfake.leanplum.state import LeanplumState
from pushfake.leanplum.world import LeanplumSettings

CREATE_IF_NEEDED = "CreateIfNeeded"
CREATE_NEVER = "CreateNever"
DETECTABLE = ("country", "region", "city", "location", "locale")
DEFAULT_LOCATION_ACCURACY = "IP"  # seed 002: "The type of location that is provided ... Default: IP."


@dataclass
class Call:
    app: App
    params: dict[str, Any]
    state: LeanplumState
    settings: LeanplumSettings
    clock: Clock
    rng: SeededRandom
    deliveries: DeliveryQueue
    pending: list[str] = field(default_factory=list)  # delivery ids to hand off after the response


Handler = Callable[[Call], dict[str, Any]]


@dataclass
class Subject:
    """The user (and device) an action is about, or the warning that skips it."""

    user: User | None = None
    device: Device | None = None
    skipped: dict[str, Any] | None = None


def resolve(call: Call, default_disposition: str, device_must_exist: bool = False) -> Subject:
    """Find (or create) the user and device. CreateNever requires the user to exist; with
    `device_must_exist` (sendMessage: "if the user/device does not exist, the API request is
    skipped") a named device too, otherwise a new device is added to the existing user (start:
    CreateNever "requires that the user already exists")."""
    p = call.params
    user_id = p.get("userId") or ""
    device_id = p.get("deviceId") or ""
    if not user_id and not device_id:
        raise LeanplumError(400, errors.USER_OR_DEVICE_REQUIRED)
    disposition = p.get("createDisposition") or default_disposition
    users, devices = call.state.users(call.app.id), call.state.devices(call.app.id)
    device = devices.get(device_id) if device_id else None
    if not user_id:
        user_id = device.user_id if device is not None else device_id
    user = users.get(user_id)
    now = call.clock.now()
    if user is None:
        if disposition == CREATE_NEVER:
            return Subject(skipped=warning_element(errors.USER_NOT_FOUND))
        user = User(id=user_id, created_at=now, last_seen=now)
        users.put(user.id, user)
    if device_id and (device is None or device.user_id != user.id):
        if disposition == CREATE_NEVER and device_must_exist:
            return Subject(user=user, skipped=warning_element(errors.DEVICE_NOT_FOUND))
        device = device if device is not None else Device(id=device_id, user_id=user.id)
        call.state.attach_device(call.app.id, user, device)
    return Subject(user=user, device=device)


@dataclass
class Resolved:
    """The user an action runs for (and the device, when one was named)."""

    user: User
    device: Device | None


def for_user(disposition: str, *, device_must_exist: bool = False
             ) -> Callable[[Callable[[Call, Resolved], dict[str, Any]]], Handler]:
    """Make a handler that resolves the user first and answers the skip warning if there is none."""

    def wrap(action: Callable[[Call, Resolved], dict[str, Any]]) -> Handler:
        def handler(call: Call) -> dict[str, Any]:
            subject = resolve(call, disposition, device_must_exist)
            if subject.skipped is not None:
                return subject.skipped
            assert subject.user is not None  # resolve gives a user whenever it does not skip
            return action(call, Resolved(subject.user, subject.device))

        return handler

    return wrap


def _apply_device_fields(call: Call, device: Device) -> None:
    p = call.params
    for name in DEVICE_FIELDS:
        if name in p:
            value = p[name]
            if name in DETECTABLE and value == "(detect)":
                value = call.settings.detect_location.get(name)
            setattr(device, name, value)
    if "location" in p and "locationAccuracyType" not in p:
        device.locationAccuracyType = DEFAULT_LOCATION_ACCURACY
    if any(name in p for name in PUSH_TOKEN_FIELDS):
        _registered_again(call, device)
    call.state.devices(call.app.id).put(device.id, device)


def _registered_again(call: Call, device: Device) -> None:
    """A device that reports a token a gateway called unregistered has been given it anew (the app
    was reinstalled or re-subscribed): sends may use it again until a gateway says otherwise."""
    target = device.push_target()
    if target is None:
        return
    mark = call.deliveries.tokens.mark_of(*target)
    if mark is not None and mark.status == UNREGISTERED and mark.since < call.clock.now():
        call.deliveries.tokens.forget(*target)


def variables(app: App, include_defaults: bool) -> dict[str, Any]:
    """The app's variables as a user sees them: server values, then A/B test overrides."""
    values = {v.name: v.value for v in app.variables}
    for test in app.ab_tests:
        values.update(test.vars)
    if include_defaults:
        return values
    defaults = {v.name: v.default for v in app.variables}
    return {k: v for k, v in values.items() if k not in defaults or defaults[k] != v}


def _in_app_messages(app: App, user: User) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for message in app.messages.values():
        if message.channel != "inApp" or not rules.matches(message.target, user.attributes):
            continue
        out[message.id] = {
            "action": "Alert",
            "vars": {"__name__": "Alert", "Title": message.title, "Message": message.body,
                     "Dismiss text": "OK", "Dismiss action": {"__name__": ""}},
            "whenTriggers": {"children": [{"subject": "start", "objects": [], "verb": ""}], "verb": "OR"},
            "whenLimits": {"children": [], "subject": None, "objects": []},
            "unlessTriggers": {"children": [], "subject": None, "objects": []},
            "priority": 1000,
            "countdown": 86400,
            "hasImpressionCriteria": False,
            "parentCampaignId": None,
        }
    return out


def _content(call: Call, user: User) -> dict[str, Any]:
    """The variables-and-messages block start and getVars answer with."""
    app, p = call.app, call.params
    body: dict[str, Any] = {
        "vars": variables(app, p.get("includeDefaults", True)),
        "messages": _in_app_messages(app, user),
        "variants": [{"id": t.variant_id} for t in app.ab_tests],
        "regions": app.regions,
        "interfaceRules": list(app.interface_rules),
        "interfaceEvents": list(app.interface_events),
    }
    if app.action_definitions:
        body["actionDefinitions"] = app.action_definitions
    if p.get("includeVariantDebugInfo"):
        body["variantDebugInfo"] = {
            "abTests": [{"id": t.id, "variantId": t.variant_id, "vars": t.vars} for t in app.ab_tests]
        }
    return body


@for_user(CREATE_IF_NEEDED)
def start(call: Call, subject: Resolved) -> dict[str, Any]:
    user = subject.user
    ignored = [name for name in DEVICE_FIELDS if name in call.params] if subject.device is None else []
    if subject.device is not None:
        _apply_device_fields(call, subject.device)
    _merge_attributes(user, call.params.get("userAttributes"))
    if call.params.get("background"):
        user.session_state = "background"
    else:
        user.session_state = "active"
        user.sessions += 1
    user.last_seen = call.clock.now()
    call.state.users(call.app.id).put(user.id, user)
    dev_mode = bool(call.params.get("devMode"))
    return {
        "success": True,
        **_content(call, user),
        "token": call.rng.secret(),
        **({"latestVersion": call.settings.latest_version} if call.settings.latest_version else {}),
        "syncNewsfeed": False,
        **({"isRegistered": False} if dev_mode else {}),
        # Without a deviceId there is no device to hold them: said, not dropped in silence.
        **({"warning": {"message": errors.device_fields_ignored(ignored)}} if ignored else {}),
    }


def _merge_attributes(user: User, attributes: dict[str, Any] | None) -> None:
    if attributes:
        user.attributes = {**user.attributes, **attributes}


@for_user(CREATE_NEVER, device_must_exist=True)
def send_message(call: Call, subject: Resolved) -> dict[str, Any]:
    p, user = call.params, subject.user
    message = call.app.messages.get(p["messageId"])
    if message is None or message.channel != "push":
        return warning_element(errors.MESSAGE_NOT_FOUND)
    if not p.get("force"):
        failed = rules.failed_clause(message.target, user.attributes)
        if failed is not None:
            return warning_element(errors.text("targeting-not-met", attribute=failed.attribute, op=failed.op),
                                   messagesSent=0)
    targets = [subject.device] if subject.device is not None else call.state.devices_of(call.app.id, user.id)
    usable = call.deliveries.tokens.usable  # a token a gateway rejected is no longer the device's
    reachable = [(d, target) for d in targets
                 if d is not None and (target := d.push_target()) is not None and usable(*target)]
    if not reachable:
        return warning_element(errors.NO_PUSH_DEVICE, messagesSent=0)
    payload = {**rules.render_payload(message, p.get("values") or {}), "messageId": message.id}
    deliveries = [
        Delivery(
            id=delivery_id, vendor="leanplum", app_id=call.app.id, send_id=message.id,
            user_id=user.id, device_id=device.id, platform=platform, token=token,
            payload=payload,  # one rendering per send, shared by its deliveries
        )
        for delivery_id, (device, (platform, token)) in zip(
            call.deliveries.new_ids(len(reachable)), reachable, strict=True)  # type: ignore[misc]
    ]
    call.deliveries.record(*deliveries)
    call.pending.extend(d.id for d in deliveries)
    return {"success": True, "result": "Message sent", "messagesSent": len(reachable)}


def _recorded(kind: str, *, name_param: str | None = None) -> Callable[[Call], dict[str, Any]]:
    """An action that finds (or creates) the user and records what was reported."""

    @for_user(CREATE_IF_NEEDED)
    def handler(call: Call, subject: Resolved) -> dict[str, Any]:
        user, p = subject.user, call.params
        value = p.get("value")
        call.state.record_event(call.app.id, Event(
            user_id=user.id, kind=kind, name=str(p.get(name_param, "")) if name_param else kind,
            time=p.get("time", call.clock.now()), params=p.get("params") or {},
            value=float(value) if value is not None else None,
        ))
        # Recorded answers to a track outside a session carry isOffline: true.
        offline = kind == "track" and user.session_state != "active"
        _update_session(call, user, kind)
        return {"success": True, "isOffline": True} if offline else {"success": True}

    return handler


_SESSION_STATES = {"pauseSession": "paused", "stop": "stopped"}


def _update_session(call: Call, user: User, kind: str) -> None:
    if kind == "resumeSession":
        if user.session_state == "background":
            user.sessions += 1
        user.session_state = "active"
    elif kind in _SESSION_STATES:
        user.session_state = _SESSION_STATES[kind]
    user.last_seen = call.clock.now()
    call.state.users(call.app.id).put(user.id, user)


@for_user(CREATE_IF_NEEDED)
def set_user_attributes(call: Call, subject: Resolved) -> dict[str, Any]:
    user = subject.user
    _merge_attributes(user, call.params.get("userAttributes"))
    new_id = call.params.get("newUserId")
    users = call.state.users(call.app.id)
    if new_id and new_id != user.id:
        if new_id in users:
            raise LeanplumError(400, errors.invalid_value("newUserId", f"user '{new_id}' already exists"))
        users.delete(user.id)
        user.id = new_id
        for device_id in user.device_ids:
            device = call.state.device(call.app.id, device_id)
            if device is not None:
                device.user_id = new_id
                call.state.devices(call.app.id).put(device.id, device)
    users.put(user.id, user)
    return {"success": True}


def set_device_attributes(call: Call) -> dict[str, Any]:
    if not call.params.get("deviceId"):
        raise LeanplumError(400, errors.must_be_provided("deviceId"))
    return _set_device_attributes(call)


@for_user(CREATE_IF_NEEDED)
def _set_device_attributes(call: Call, subject: Resolved) -> dict[str, Any]:
    assert subject.device is not None  # a deviceId was given, and CreateIfNeeded creates it
    _apply_device_fields(call, subject.device)
    return {"success": True}


@for_user(CREATE_IF_NEEDED)
def get_vars(call: Call, subject: Resolved) -> dict[str, Any]:
    return {"success": True, **_content(call, subject.user)}


@for_user(CREATE_IF_NEEDED)
def get_newsfeed_messages(call: Call, subject: Resolved) -> dict[str, Any]:
    return {"success": True, "newsfeedMessages": {}}


def accept(call: Call) -> dict[str, Any]:
    """Actions without a user (setVars, log): accepted; the request itself is the record."""
    return {"success": True}


HANDLERS: dict[str, Handler] = {
    "start": start,
    "sendMessage": send_message,
    "track": _recorded("track", name_param="event"),
    "advance": _recorded("state", name_param="state"),
    "setUserAttributes": set_user_attributes,
    "setDeviceAttributes": set_device_attributes,
    "heartbeat": _recorded("heartbeat"),
    "pauseSession": _recorded("pauseSession"),
    "resumeSession": _recorded("resumeSession"),
    "stop": _recorded("stop"),
    "getVars": get_vars,
    "setVars": accept,
    "getNewsfeedMessages": get_newsfeed_messages,
    "log": accept,
}
