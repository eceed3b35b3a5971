"""Checks of how the fake reads what a Leanplum client sends, where openapi/leanplum.yaml marks
the reading `assumed`: query against body, null, whole numbers written as decimals, an empty
body, a `time` far from the clock, device fields without a device, devMode with sendMessage, and
the length caps. Same rules as `leanplum`: own ids only, development mode except for sendMessage,
which goes only to made-up absent users.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from pushfake.contract.assumptions.leanplum import (
    VENDOR,
    control_of,
    refused,
    started,
    text,
    user_view,
    warned,
)
from pushfake.contract.assumptions.support import Checks, expect
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, Leanplum

INFO = "#/info/x-pushfake-behaviours"
START = "#/paths/~1api?action=start/x-pushfake-behaviours"
SEND = "#/paths/~1api?action=sendMessage/x-pushfake-behaviours"
SCHEMAS = "#/components/schemas"
CLOCK_SKEW = re.compile(r"Device clock skew detected \((\d+) days behind\)\. Rewriting timestamp\.")
DAY = 86_400.0

CHECKS = Checks(VENDOR)  # this module's checks; `assumptions.checks` gathers every module's
check = CHECKS.check


def _device(target: Target, user: str, device: str) -> dict[str, Any]:
    return next((d for d in user_view(target, user)["devices"] if d["id"] == device), {})


def _send(target: Target, method: str, path: str, *, params: dict[str, Any], **kwargs: Any) -> Answer | None:
    """Send a request the Leanplum caller cannot build, if safe mode lets it through (asked up
    front, so nothing is withheld); None if it does not."""
    prepared = target.session.prepare_request(requests.Request(
        method, f"{target.url(VENDOR)}{path}", params=params, **kwargs))
    if target.gate.policy is not None and target.gate.policy(prepared) is not None:
        return None
    return Answer.of(target.session.send(prepared))


@check("query-body-precedence", f"{INFO}/0")
def query_body_precedence(target: Target) -> str:
    lp, user, device, seen = Leanplum(target), target.ids.user(), target.ids.device(), []
    body = {**lp.credentials_for("development"), "userId": user, "deviceId": device, "locale": "pf_BODY"}
    query = {"action": "start", "locale": "pf_QUERY"}
    both = _send(target, "POST", "/api", params=query, json={**body, "action": "getVars"})
    if both is not None:  # safe mode does not send an action two ways
        expect(both.status == 200 and "token" in both.element(), "the query's action=start to run", both)
        seen.append("action=start in the query ran, not action=getVars in the body")
    if target.endpoints[VENDOR].control is not None:
        if both is None:
            started(lp.call("start", body, key=None, query={"locale": "pf_QUERY"}))
        locale = _device(target, user, device).get("locale")
        expect(locale == "pf_BODY", "the body's locale pf_BODY stored", f"{locale!r}")
        seen.append("the body's locale was stored, not the query's")
    if not seen:
        raise NotCheckable("which value a deployment kept shows only through a pushfake's control plane, and safe "
                           "mode does not send an action two ways")
    return "; ".join(seen)


@check("null-counts-as-absent", f"{INFO}/1")
def null_counts_as_absent(target: Target) -> str:
    user = target.ids.user()
    started(Leanplum(target).call("start", {"userId": user, "createDisposition": None, "appVersion": None,
                                            "userAttributes": None, "time": None}))
    return "start with createDisposition, appVersion, userAttributes and time null started (CreateIfNeeded applied)"


@check("whole-number-as-decimal", f"{INFO}/2")
def whole_number_as_decimal(target: Target) -> str:
    lp, user, device = Leanplum(target), target.ids.user(), target.ids.device()
    started(lp.call("start", {"userId": user, "deviceId": device, "timezoneOffsetSeconds": "-18000.0"}))
    warned(lp.call("sendMessage", {"userId": target.ids.absent(), "messageId": 1.0}, key="production"),
           text("user-not-found"))
    seen = 'timezoneOffsetSeconds "-18000.0" started; messageId 1.0 was read (the unknown user\'s warning)'
    if target.endpoints[VENDOR].control is not None:
        stored = _device(target, user, device).get("timezoneOffsetSeconds")
        expect(stored == -18000, "timezoneOffsetSeconds stored as -18000", f"{stored!r}")
        seen += "; stored as -18000"
    return seen


@check("empty-body-400", f"{INFO}/3")
def empty_body_400(target: Target) -> str:
    answer = _send(target, "POST", "/api", params={"action": "log", "devMode": "true"}, data=b"")
    if answer is None:
        raise NotCheckable("safe mode does not send an empty body")
    refused(answer, 400, text("missing-parameter", name="appId"))
    return "log with an empty body: 400 \"'appId' must be provided\""


@check("time-far-behind-is-rewritten", f"{INFO}/4")
def time_far_behind(target: Target) -> str:
    lp, now = Leanplum(target), target.now(VENDOR)
    behind = lp.call("start", {"userId": target.ids.user(), "time": round(now - 40 * DAY)})
    started_with_warning = behind.status == 200 and behind.element().get("success") is True
    match = CLOCK_SKEW.fullmatch(behind.warning() or "")
    expect(started_with_warning and match is not None and abs(int(match.group(1)) - 40) <= 1,
           'a start with "Device clock skew detected (40 days behind). Rewriting timestamp."', behind)
    started(lp.call("start", {"userId": target.ids.user(), "time": 253_402_300_800}))
    return f'40 days behind: "{behind.warning()}"; a time past the year 9999 started without a warning'


@check("start-without-device-warns", f"{START}/10")
def start_without_device_warns(target: Target) -> str:
    lp, user = Leanplum(target), target.ids.user()
    answer = lp.call("start", {"userId": user, "locale": "tr_TR", "timezone": "TRT"})
    ok = answer.status == 200 and answer.element().get("success") is True and "token" in answer.element()
    warning = answer.warning() or ""
    expect(ok and "locale" in warning and "timezone" in warning, "a started session with a warning naming "
           "locale and timezone", answer)
    if target.endpoints[VENDOR].control is not None:
        devices = user_view(target, user)["devices"]
        expect(devices == [], "no device stored", f"{devices}")
    return f'started with the warning "{warning}"'


@check("send-message-dev-mode-never-succeeds", f"{SEND}/12")
def send_message_dev_mode(target: Target) -> str:
    lp, params = Leanplum(target), {"userId": target.ids.absent(), "messageId": 1, "devMode": True}
    refused(lp.call("sendMessage", params, key="development"), 403, text("invalid-key"))
    refused(lp.call("sendMessage", params, key="production"), 403, text("dev-mode-not-permitted"))
    # The same two rules leave start one way to run in development mode: the development key.
    refused(lp.call("start", {"userId": target.ids.user(), "devMode": True}, key="production"), 403,
            text("dev-mode-not-permitted"))
    started(lp.call("start", {"userId": target.ids.user()}, key="development"))
    return (f'devMode=true: the development key got 403 "{text("invalid-key")}", the production key 403 '
            f'"{text("dev-mode-not-permitted")}" (start: the production key the same 403, the development key started)')


@check("length-caps", f"{SCHEMAS}/Text", f"{SCHEMAS}/Credentials/properties/appId",
       f"{SCHEMAS}/Credentials/properties/clientKey", f"{SCHEMAS}/MultiParams/allOf/1/properties/data",
       f"{SCHEMAS}/TrackParams/allOf/2/properties/event")
def length_caps(target: Target) -> str:
    lp, ids, development = Leanplum(target), target.ids, Leanplum(target).credentials_for("development")
    cases = [
        ("appVersion", lp.call("start", {"userId": ids.user(), "appVersion": "x" * 2001}),
         "is too long (at most 2000 characters)"),
        ("appId", lp.call("start", {**development, "appId": "a" * 201, "userId": ids.user()}, key=None),
         "is too long (at most 200 characters)"),
        ("clientKey", lp.call("start", {**development, "clientKey": "k" * 201, "userId": ids.user()}, key=None),
         "is too long (at most 200 characters)"),
        ("event", lp.call("track", {"userId": ids.user(), "event": "e" * 140}),
         "is too long (at most 139 characters)"),
        ("data", lp.multi([{"action": "heartbeat", "userId": ids.user()}] * 2001), "has too many items (at most 2000)"),
    ]
    for name, answer, detail in cases:
        refused(answer, 400, text("invalid-value", name=name, detail=detail))
    return "appVersion over 2000, appId and clientKey over 200, event over 139 characters and 2001 batch items: 400"



@check("json-numbers-within-64-bits", f"{SCHEMAS}/JsonNumber")
def json_numbers_within_64_bits(target: Target) -> str:
    lp, seen = Leanplum(target), []
    for number in (2**63, -(2**63) - 1, 1e19):
        user = target.ids.user()
        answer = lp.call("start", {"userId": user, "userAttributes": {"pushfakeContract": number}})
        refused(answer, 400)
        if target.endpoints[VENDOR].control is not None:
            stored = [u["id"] for u in control_of(target, "the users").leanplum_users(
                target.credentials.leanplum_app_id or "")]
            expect(user not in stored, "no user stored", f"{user} stored")
        seen.append(f"{number:g}: \"{answer.error()}\"")
    return "400 for " + ", ".join(seen)
