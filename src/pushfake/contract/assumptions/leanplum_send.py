"""Checks of what openapi/leanplum.yaml marks `assumed` about `sendMessage`: which key it takes,
the warnings when nothing is reached or nobody is found, the users it creates, and the tokens a
gateway refused. Same rules as `leanplum`: in safe mode only the production key and made-up
absent users, so a check that needs a user that exists says it is not checkable.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pushfake.contract.assumptions.leanplum import (
    VENDOR,
    control_of,
    pause,
    refused,
    started,
    text,
    unsent,
    user_view,
    warned,
)
from pushfake.contract.assumptions.support import Checks, expect
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Leanplum

SEND = "#/paths/~1api?action=sendMessage/x-pushfake-behaviours"

CHECKS = Checks(VENDOR)  # this module's checks; `assumptions.checks` gathers every module's
check = CHECKS.check


# --- sendMessage ---------------------------------------------------------------------------------
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


@check("send-message-development-key-refused", f"{SEND}/0")
def send_message_development_key(target: Target) -> str:
    answer = Leanplum(target).call("sendMessage", {"userId": target.ids.absent(), "messageId": 1}, key="development")
    refused(answer, 403, text("invalid-key"))
    return f'the development key got 403 "{text("invalid-key")}"'


@check("send-message-unknown-device-create-never", f"{SEND}/3")
def send_message_unknown_device(target: Target) -> str:
    message = message_to_own_users(target, "needs a user that exists")
    lp, user = Leanplum(target), target.ids.user()
    started(lp.call("start", {"userId": user}))
    warned(lp.call("sendMessage", {"userId": user, "deviceId": target.ids.absent(), "messageId": message},
                   key="production"), text("device-not-found"))
    return f'"{text("device-not-found")}" for a known user and an unknown device'


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
    params = {"userId": user, "deviceId": device, "messageId": message}
    skips = (text("user-not-found"), text("device-not-found"))
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
                                 key="production"), text("user-not-found"))
    return f'"{text("user-not-found")}" for an unknown user and an unknown message'
