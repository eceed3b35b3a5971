"""Checks of the behaviours openapi/leanplum.yaml marks `assumed`, one per behaviour.

Each asks the target through Leanplum's API and holds the answer to the spec's words. In safe
mode only the suite's own ids are used, every action but sendMessage runs in development mode,
and sendMessage goes only to made-up absent users; a check that needs more says so up front.
What only a pushfake can show (a gateway refusing a token, what `(detect)` became) is read from
its control plane; on a real deployment such a check is not checkable.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import requests

from pushfake.client import Client
from pushfake.contract.assumptions import support
from pushfake.contract.assumptions.support import checker, default_fixtures_of, expect
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, Leanplum
from pushfake.leanplum.world import LeanplumSettings

VENDOR = "leanplum"
START = "#/paths/~1api?action=start/x-pushfake-behaviours"
SEND = "#/paths/~1api?action=sendMessage/x-pushfake-behaviours"
MULTI = "#/paths/~1api?action=multi"
RESPONSES = "#/components/responses"
# The spec's texts, byte for byte.
USER_NOT_FOUND = "User not found; request skipped."
DEVICE_NOT_FOUND = "Device not found; request skipped."
INVALID_KEY = "Invalid access key"
APP_NOT_FOUND = "App not found."
USER_OR_DEVICE = "'userId' or 'deviceId' must be provided"
DEV_MODE_RATE = "Per device rate limit exceeded."
DETECTABLE = ("country", "region", "city", "location", "locale")
MADE_UP_ACTION = "pushfakeContractUnknownAction"


check = checker(VENDOR)


# --- helpers -------------------------------------------------------------------------------------
def pause(target: Target) -> None:
    """Let development mode's one request per second per user pass (a fake's clock is moved on)."""
    if target.is_fake(VENDOR):
        target.advance(1.0)
    else:
        time.sleep(1.1)


def control_of(target: Target, what: str) -> Client:
    return support.control_of(target, VENDOR, what)


def default_world(target: Target, what: str) -> dict[str, Any]:
    return default_fixtures_of(target, VENDOR, what)


def settings_of(target: Target, what: str) -> LeanplumSettings:
    return LeanplumSettings.from_fixtures(default_world(target, what).get("settings") or {})


def message_to_own_users(target: Target, why: str) -> Any:
    """A push message to send to users the check makes (not in safe mode: they are not absent)."""
    if target.safe:
        raise NotCheckable(f"safe mode: {why}; sendMessage never succeeds in development mode (the development key "
                           "is refused for it, and devMode with the production key), so safe mode sends it only to "
                           "made-up absent users")
    if target.world.leanplum.push_messages:
        return target.world.leanplum.push_messages[0]
    if target.settings.leanplum_test_message:
        return target.settings.leanplum_test_message
    raise NotCheckable("needs a push message of the app (a fake's default world, or the run's test message)")


def ios_token(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()  # 64 hex digits: a well-formed APNs token


def started(answer: Answer) -> Answer:
    expect(answer.status == 200 and answer.element().get("success") is True and "warning" not in answer.element(),
           "200 with a started session", answer)
    return answer


def warned(answer: Answer, text: str) -> None:
    expect(answer.status == 200 and answer.warning() == text, f'200 with the warning "{text}"', answer)


def unsent(answer: Answer) -> None:
    element = answer.element()
    expect(answer.status == 200 and element.get("success") is True and element.get("messagesSent") == 0
           and bool(answer.warning()), "200 with messagesSent 0 and a warning", answer)


def refused(answer: Answer, status: int, text: str | None = None) -> None:
    ok = (answer.status == status and answer.element().get("success") is False
          and (answer.error() == text if text is not None else bool(answer.error())))
    expect(ok, f'{status} with the error "{text}"' if text else f"{status} with an error element", answer)


def user_view(target: Target, user: str) -> dict[str, Any]:
    return control_of(target, "a user's stored state").leanplum_user(target.credentials.leanplum_app_id or "", user)


# --- /api-batch and multi ------------------------------------------------------------------------
@check("api-batch-alias", "#/info/x-pushfake-aliases/0")
def api_batch_alias(target: Target) -> str:
    lp = Leanplum(target)
    body = {**lp.credentials_for("development"), "data": [{"action": "start", "userId": target.ids.user()}]}
    prepared = target.session.prepare_request(requests.Request(
        "POST", f"{target.url(VENDOR)}/api-batch", params={"action": "multi"}, json=body))
    reason = target.gate.policy(prepared) if target.gate.policy is not None else None
    if reason is not None:  # asked up front, so nothing is withheld
        raise NotCheckable(f"safe mode does not send to /api-batch: {reason}")
    answer = Answer.of(target.session.send(prepared))
    expect(answer.status == 200 and len(answer.elements) == 1 and "token" in answer.element(),
           "200 with the one start element /api would give", answer)
    return "POST /api-batch?action=multi ran the batch as /api does"


@check("multi-one-element-per-item", f"{MULTI}/x-pushfake-behaviours/8")
def multi_one_element_per_item(target: Target) -> str:
    lp, ids = Leanplum(target), target.ids
    batch = lp.multi([{"action": "start", "userId": ids.user()},
                      {"action": "track", "userId": ids.user(), "event": "pushfakeContract"},
                      {"action": "getVars", "userId": ids.user()}])
    e = batch.elements
    in_order = (len(e) == 3 and all(x.get("success") is True for x in e) and "token" in e[0]
                and not {"token", "vars"} & set(e[1]) and "vars" in e[2] and "token" not in e[2])
    expect(batch.status == 200 and in_order, "200 with three elements in order: start (token), track, getVars", batch)
    for method in ("POST", "GET"):
        empty = lp.call("multi", {"data": []}, method=method)
        expect(empty.status == 200 and empty.body == {"response": []}, f'{method} empty batch: 200 {{"response":[]}}',
               empty)
    return "start/track/getVars answered in order; an empty batch (POST and GET) answered no elements"


@check("multi-items-inherit-top-level", f"{MULTI}/x-pushfake-behaviours/1")
def multi_items_inherit_top_level(target: Target) -> str:
    answer = Leanplum(target).multi([
        {"action": "start", "userId": target.ids.user()},
        {"action": "start", "userId": target.ids.user(), "clientKey": "pushfake-contract-wrong-key"}])
    expect(len(answer.elements) == 2 and "token" in answer.element(0) and answer.element(1).get("success") is False
           and answer.error(1) == INVALID_KEY,
           f'item 1 to start with the top-level key, item 2 refused with its own: "{INVALID_KEY}"', answer)
    return "an item without credentials started; an item with its own wrong key was refused"


@check("multi-echoes-req-id", f"{MULTI}/x-pushfake-behaviours/5")
def multi_echoes_req_id(target: Target) -> str:
    ids = target.ids
    wanted = [f"{ids.stem}req-1", f"{ids.stem}req-2"]
    answer = Leanplum(target).multi([
        {"action": "start", "userId": ids.user(), "reqId": wanted[0]},
        {"action": "track", "userId": ids.user(), "event": "pushfakeContract", "reqId": wanted[1]}])
    expect(answer.status == 200 and [e.get("reqId") for e in answer.elements] == wanted,
           f"200 with reqIds {wanted} in the elements", answer)
    return "each element carried its item's reqId"


@check("multi-sdk-actions", f"{MULTI}/x-pushfake-behaviours/6")
def multi_sdk_actions(target: Target) -> str:
    lp, user, device = Leanplum(target), target.ids.user(), target.ids.device()
    mine = {"userId": user}
    items: list[dict[str, Any]] = [
        {"action": "start", **mine, "deviceId": device}, {"action": "track", **mine, "event": "pushfakeContract"},
        {"action": "advance", **mine, "state": "pushfakeContract"},
        {"action": "setUserAttributes", **mine, "userAttributes": {"pushfakeContract": "set"}},
        {"action": "setDeviceAttributes", **mine, "deviceId": device, "locale": "tr_TR"},
        *({"action": a, **mine} for a in ("heartbeat", "pauseSession", "resumeSession", "getVars",
                                          "getNewsfeedMessages")),
        {"action": "log", "type": "info", "message": "pushfake contract check"}, {"action": "stop", **mine}]
    if target.is_fake(VENDOR):  # on a real app setVars would redefine its variables
        items.insert(-1, {"action": "setVars", "vars": {}})
    answers = []
    if target.safe:  # development mode allows one request a second per user: one item at a time
        for index, item in enumerate(items):
            if index:
                pause(target)
            answers.append(lp.multi([item]))
    else:
        answers.append(lp.multi(items, key="production"))
    for answer in answers:
        expect(answer.status == 200 and all(e.get("success") is True for e in answer.elements),
               "200 and success for every batched SDK action", answer)
    expect(sum(len(a.elements) for a in answers) == len(items), f"{len(items)} elements", f"{answers}")
    if target.endpoints[VENDOR].control is None:
        return f"{len(items)} SDK actions answered success (journal and stored state show only on a fake)"
    journaled = [a for entry in control_of(target, "the journal").journal(operation="multi") for a in entry["items"]]
    expect(sorted(journaled) == sorted(i["action"] for i in items), "every action journaled", f"{journaled}")
    stored = user_view(target, user)
    changed = (stored["attributes"].get("pushfakeContract") == "set" and stored["sessionState"] == "stopped"
               and [d.get("locale") for d in stored["devices"]] == ["tr_TR"]
               and {("track", "pushfakeContract"), ("state", "pushfakeContract")}
               <= {(e["kind"], e["name"]) for e in stored["events"]})
    expect(changed, "attribute, device locale, track and state events, and a stopped session stored", f"{stored}")
    return f"{len(items)} SDK actions answered success, were journaled and changed the user and device"


# --- start ---------------------------------------------------------------------------------------
@check("start-unknown-user-create-never", f"{START}/2")
def start_unknown_user_create_never(target: Target) -> str:
    lp, user = Leanplum(target), target.ids.user()
    for attempt in range(2):  # the second would start if the first had made the user
        if attempt:
            pause(target)
        warned(lp.call("start", {"userId": user, "createDisposition": "CreateNever"}), USER_NOT_FOUND)
    control = target.endpoints[VENDOR].control
    stored = [u["id"] for u in control.leanplum_users(target.credentials.leanplum_app_id or "")] if control else []
    expect(user not in stored, "no user stored", f"{user} stored")
    return f'"{USER_NOT_FOUND}" twice: the user was not created'


@check("start-detect-default-location", f"{START}/5")
def start_detect_default_location(target: Target) -> str:
    configured = settings_of(target, "what `(detect)` resolves to").detect_location
    user, device = target.ids.user(), target.ids.device()
    started(Leanplum(target).call("start", {"userId": user, "deviceId": device, **dict.fromkeys(DETECTABLE, "(detect)")}))
    stored = next((d for d in user_view(target, user)["devices"] if d["id"] == device), {})
    got, wanted = ({name: source.get(name) for name in DETECTABLE} for source in (stored, configured))
    expect(got == wanted, f"the device to hold {wanted}", f"{got}")
    return f"(detect) stored as {wanted}"


@check("start-include-defaults-false", f"{START}/7")
def start_include_defaults_false(target: Target) -> str:
    world = default_world(target, "which variables equal their defaults (the app's configuration)")
    app = next((a for a in world["apps"] if a["id"] == target.credentials.leanplum_app_id), {})
    defaults = {name: v["default"] for name, v in (app.get("variables") or {}).items()}
    lp = Leanplum(target)
    every = started(lp.call("start", {"userId": target.ids.user(), "includeDefaults": True})).element().get("vars")
    diff = started(lp.call("start", {"userId": target.ids.user(), "includeDefaults": False}))
    wanted = {k: v for k, v in (every or {}).items() if not (k in defaults and defaults[k] == v)}
    expect(diff.element().get("vars") == wanted, f"vars {wanted}", diff)
    return f"includeDefaults=false left out {sorted(set(every or {}) - set(wanted))}"


@check("start-latest-version", "#/components/schemas/StartElement/allOf/1/properties/latestVersion")
def start_latest_version(target: Target) -> str:
    version = started(Leanplum(target).call("start", {"userId": target.ids.user()})).element().get("latestVersion")
    if target.endpoints[VENDOR].control is None:  # a real deployment: text when sent
        expect(version is None or (isinstance(version, str) and version != ""), "text", f"{version!r}")
    else:
        configured = settings_of(target, "the configured latestVersion").latest_version
        expect(version == configured, f"latestVersion {configured!r} (absent when not configured)", f"{version!r}")
    return f"latestVersion {version!r}"


@check("start-is-registered-in-dev-mode", "#/components/schemas/StartElement/allOf/1/properties/isRegistered")
def start_is_registered(target: Target) -> str:
    registered = started(Leanplum(target).call("start", {"userId": target.ids.user()})).element().get("isRegistered")
    wanted = "false" if target.is_fake(VENDOR) else "a boolean"
    expect(registered is False or (isinstance(registered, bool) and not target.is_fake(VENDOR)),
           f"isRegistered {wanted} in development mode", f"{registered!r}")
    return f"isRegistered {registered} in development mode"


@check("api-version-any-value", "#/components/schemas/Credentials/properties/apiVersion")
def api_version_any_value(target: Target) -> str:
    lp, values, control = Leanplum(target), ("1.0.6", f"{target.ids.stem}any"), target.endpoints[VENDOR].control
    for value in values:
        user = target.ids.user()
        started(lp.call("start", {"userId": user, "apiVersion": value}))
        recorded = [e["params"].get("apiVersion") for e in control.journal(user=user)] if control else [value]
        expect(recorded == [value], f"apiVersion {value!r} recorded", f"{recorded}")
    return f"apiVersion {values} accepted" + (" and recorded" if control else "")


# --- sendMessage ---------------------------------------------------------------------------------
@check("send-message-development-key-refused", f"{SEND}/0")
def send_message_development_key(target: Target) -> str:
    answer = Leanplum(target).call("sendMessage", {"userId": target.ids.absent(), "messageId": 1}, key="development")
    refused(answer, 403, INVALID_KEY)
    return f'the development key got 403 "{INVALID_KEY}"'


@check("send-message-unknown-device-create-never", f"{SEND}/3")
def send_message_unknown_device(target: Target) -> str:
    message = message_to_own_users(target, "needs a user that exists")
    lp, user = Leanplum(target), target.ids.user()
    started(lp.call("start", {"userId": user}))
    warned(lp.call("sendMessage", {"userId": user, "deviceId": target.ids.absent(), "messageId": message},
                   key="production"), DEVICE_NOT_FOUND)
    return f'"{DEVICE_NOT_FOUND}" for a known user and an unknown device'


@check("send-message-nothing-reachable-warns", f"{SEND}/6")
def send_message_nothing_reachable(target: Target) -> str:
    message = message_to_own_users(target, "needs users that exist")
    lp, ids, user = Leanplum(target), target.ids, target.ids.user()
    started(lp.call("start", {"userId": user, "deviceId": ids.device()}))
    unsent(no_device := lp.call("sendMessage", {"userId": user, "messageId": message}, key="production"))
    found = f'no push device: "{no_device.warning()}"'
    rules = {m: r for m, r in target.world.leanplum.targeted_messages.items() if "equals" in r}
    if not rules:
        return f"{found}; outside targeting: not checked (no targeted message known)"
    (targeted, rule), other, device = next(iter(rules.items())), ids.user(), ids.device()
    started(lp.call("start", {"userId": other, "deviceId": device, "iosPushToken": ios_token(device),
                              "userAttributes": {rule["attribute"]: f"{rule['equals']}-not"}}))
    unsent(outside := lp.call("sendMessage", {"userId": other, "messageId": targeted}, key="production"))
    expect(outside.warning() != no_device.warning(), "a warning naming another reason", outside)
    return f'{found}; outside targeting: "{outside.warning()}"'


@check("send-message-create-if-needed-creates-user", f"{SEND}/7")
def send_message_create_if_needed(target: Target) -> str:
    message = message_to_own_users(target, "CreateIfNeeded creates the user")
    lp, user, device = Leanplum(target), target.ids.user(), target.ids.device()
    params, skips = {"userId": user, "deviceId": device, "messageId": message}, (USER_NOT_FOUND, DEVICE_NOT_FOUND)
    created = lp.call("sendMessage", {**params, "createDisposition": "CreateIfNeeded"}, key="production")
    again = lp.call("sendMessage", params, key="production")  # CreateNever finds them now
    for answer, what in ((created, "creates and sends nothing"), (again, "the user and device exist; nothing sent")):
        expect(answer.status == 200 and answer.element().get("success") is True and answer.warning() not in skips
               and answer.element().get("messagesSent", 0) == 0, f"200 without a not-found warning: {what}", answer)
    if target.endpoints[VENDOR].control is not None:
        stored = [d["id"] for d in user_view(target, user)["devices"]]
        expect(stored == [device], f"the user stored with device {device}", f"{stored}")
    return "the user and device were created and nothing was sent"


@check("send-message-skips-unregistered-tokens", f"{SEND}/10")
def send_message_skips_unregistered(target: Target) -> str:
    message = message_to_own_users(target, "needs a device that receives pushes")
    control = control_of(target, "a gateway refusing a token")
    lp, user, device = Leanplum(target), target.ids.user(), target.ids.device()
    registration, send = {"userId": user, "deviceId": device, "iosPushToken": ios_token(device)}, {
        "userId": user, "messageId": message}
    started(lp.call("start", registration))
    before = control.gateway()
    try:
        rule = {"token": registration["iosPushToken"], "failNext": 1, "outcome": "Unregistered"}
        control.set_gateway({**before, "rules": [*(before.get("rules") or []), rule]})
        first = lp.call("sendMessage", send, key="production")
        expect(first.element().get("messagesSent") == 1, "messagesSent 1 to the registered device", first)
        target.settle()
        rejected = [d["tokenRejected"] for d in control.deliveries(device=device)]
        expect(rejected == [True], "the gateway to refuse the token", f"{rejected}")
        unsent(later := lp.call("sendMessage", send, key="production"))
        pause(target)
        started(lp.call("start", registration))
        again = lp.call("sendMessage", send, key="production")
        expect(again.element().get("messagesSent") == 1, "messagesSent 1 once the device reported the token again",
               again)
    finally:
        control.set_gateway(before)
    return f'after the gateway refused the token: messagesSent 0, "{later.warning()}"; after start again: 1'


@check("send-message-unknown-user-hides-unknown-message", f"{SEND}/11")
def send_message_unknown_user_hides_message(target: Target) -> str:
    world = target.world.leanplum
    known = {*world.push_messages, *world.targeted_messages, *world.other_messages}
    unknown = next(m for m in range(987654321, 987654322 + len(known)) if m not in known)
    warned(Leanplum(target).call("sendMessage", {"userId": target.ids.absent(), "messageId": unknown},
                                 key="production"), USER_NOT_FOUND)
    return f'"{USER_NOT_FOUND}" for an unknown user and an unknown message'


# --- error answers -------------------------------------------------------------------------------
@check("user-or-device-must-be-provided", "#/components/schemas/UserSelector")
def user_or_device_required(target: Target) -> str:
    lp = Leanplum(target)
    answers = [lp.call("start", {}), lp.call("start", {"userId": "", "deviceId": ""})]
    if not target.safe:  # safe mode sends sendMessage only to absent ids
        answers.append(lp.call("sendMessage", {"messageId": 1}, key="production"))
    for answer in answers:
        refused(answer, 400, USER_OR_DEVICE)
    return f'400 "{USER_OR_DEVICE}" ({len(answers)} requests)'


@check("bad-request-texts", f"{RESPONSES}/BadRequest")
def bad_request_texts(target: Target) -> str:
    lp, c, ids = Leanplum(target), target.credentials, target.ids
    refused(lp.call("start", {"clientKey": c.leanplum_development_key, "devMode": True, "userId": ids.user()}, key=None),
            400, "'appId' must be provided")
    invalid = lp.call("start", {"userId": ids.user(), "userAttributes": "{not json"})
    expect(invalid.status == 400 and (invalid.error() or "").startswith("Invalid value for 'userAttributes': "),
           "400 \"Invalid value for 'userAttributes': ...\"", invalid)
    refused(lp.call(MADE_UP_ACTION, {"userId": ids.user()}), 400, f"Unknown action '{MADE_UP_ACTION}'.")
    return "400 with 'appId' must be provided, Invalid value for 'userAttributes': ..., Unknown action '...'."


@check("unknown-app-not-found", f"{RESPONSES}/NotFound")
def unknown_app_not_found(target: Target) -> str:
    refused(Leanplum(target).call("start", {"appId": f"{target.ids.stem}app", "userId": target.ids.user()}),
            404, APP_NOT_FOUND)
    return f'404 "{APP_NOT_FOUND}"'


@check("body-too-large-413", f"{RESPONSES}/PayloadTooLarge")
def body_too_large(target: Target) -> str:
    limit = settings_of(target, "the body limit (a setting of the fake; Leanplum documents none)").max_body_bytes
    lp = Leanplum(target)
    body = {**lp.credentials_for("development"), "userId": target.ids.user(), "pushfakeContractPadding": "x" * limit}
    refused(Answer.of(target.session.post(lp.url, params={"action": "start"}, json=body)), 413)
    return f"413 for a body above {limit} bytes"


@check("unsupported-media-type-415", f"{RESPONSES}/UnsupportedMediaType")
def unsupported_media_type(target: Target) -> str:
    lp = Leanplum(target)
    query = {"action": "start", **lp.credentials_for("development"), "devMode": "true", "userId": target.ids.user()}
    answer = Answer.of(target.session.post(lp.url, params=query, data=b"<start/>",
                                           headers={"Content-Type": "application/xml"}))
    refused(answer, 415)
    return f'415 for an application/xml body: "{answer.error()}"'


@check("too-many-requests-texts", f"{RESPONSES}/TooManyRequests")
def too_many_requests(target: Target) -> str:
    if target.gate.backoff_on_429:
        raise NotCheckable("the run backs off and retries on every 429 from a real deployment, so its text is not seen")
    lp, user = Leanplum(target), target.ids.user()
    started(lp.call("start", {"userId": user}))
    refused(limited := lp.call("start", {"userId": user}), 429, DEV_MODE_RATE)
    expect("Retry-After" not in limited.headers, "no Retry-After header", f"{limited.headers}")
    return (f'429 "{DEV_MODE_RATE}" for a second request within a second, without Retry-After (strict device '
            "locking and the fake's own token bucket are not checked)")
