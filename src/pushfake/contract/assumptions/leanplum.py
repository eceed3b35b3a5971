"""Checks of the behaviours openapi/leanplum.yaml marks `assumed` about sessions and batches
(`start`, `multi`, `/api-batch`), and what every Leanplum check shares: the pointers, the spec's
texts, and how an answer is read (`started`, `warned`, `unsent`, `refused`). `leanplum_send`
holds the checks of `sendMessage`, `leanplum_errors` those of the error answers, `leanplum_input`
those of how a request is read.

Each asks the target through Leanplum's API and holds the answer to the spec's words. In safe
mode only the suite's own ids are used, every action but sendMessage runs in development mode,
and sendMessage goes only to made-up absent users; a check that needs more says so up front.
What only a pushfake can show (a gateway refusing a token, what `(detect)` became) is read from
its control plane; on a real deployment such a check is not checkable.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from pushfake.client import Client
from pushfake.contract.assumptions import support
from pushfake.contract.assumptions.support import Checks, default_fixtures_of, expect
from pushfake.contract import spec
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, Leanplum, element_failed, element_sent_nothing, element_warned
from pushfake.leanplum.world import LeanplumSettings

VENDOR = "leanplum"
START = "#/paths/~1api?action=start/x-pushfake-behaviours"
MULTI = "#/paths/~1api?action=multi"
DETECTABLE = ("country", "region", "city", "location", "locale")


CHECKS = Checks(VENDOR)  # this module's checks; `assumptions.checks` gathers every module's
check = CHECKS.check


# --- helpers -------------------------------------------------------------------------------------
def text(key: str, **fields: Any) -> str:
    """The spec's text for `key`, byte for byte, from its error catalogue
    (`pushfake spec --vendor leanplum --errors`)."""
    return spec.text(VENDOR, key, **fields)


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


def started(answer: Answer) -> Answer:
    expect(answer.status == 200 and answer.element().get("success") is True and "warning" not in answer.element(),
           "200 with a started session", answer)
    return answer


def warned(answer: Answer, text: str) -> None:
    expect(answer.status == 200 and element_warned(answer.element(), text), f'200 with the warning "{text}"', answer)


def unsent(answer: Answer) -> None:
    expect(answer.status == 200 and element_sent_nothing(answer.element()), "200 with messagesSent 0 and a warning",
           answer)


def refused(answer: Answer, status: int, text: str | None = None) -> None:
    expect(answer.status == status and element_failed(answer.element(), text),
           f'{status} with the error "{text}"' if text else f"{status} with an error element", answer)


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
           and answer.error(1) == text("invalid-key"),
           f'item 1 to start with the top-level key, item 2 refused with its own: "{text("invalid-key")}"', answer)
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
        warned(lp.call("start", {"userId": user, "createDisposition": "CreateNever"}), text("user-not-found"))
    control = target.endpoints[VENDOR].control
    stored = [u["id"] for u in control.leanplum_users(target.credentials.leanplum_app_id or "")] if control else []
    expect(user not in stored, "no user stored", f"{user} stored")
    return f'"{text("user-not-found")}" twice: the user was not created'


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
