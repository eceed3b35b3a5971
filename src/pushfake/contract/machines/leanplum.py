"""Leanplum state machines: `start`, `track` and `sendMessage` held to a model of users, devices
and messages (create dispositions, the skip warnings, messagesSent), and `multi` batches held to
the per-item rules (one element per item, in order, reqId echoed, the first failing status; an
item naming neither user nor device fails alone with 404 "Invalid app/user combination").

Safe mode keeps to the policy: own ids, development mode for everything but `sendMessage`, and
`sendMessage` only to absent ids (so a send to a known user, or with push tokens, never runs).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from pushfake.contract import spec
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, Leanplum, element_failed, element_sent_nothing, element_warned
from pushfake.contract.world import default_document

MADE_UP_ACTION = "pushfakeContractNoSuchAction"
CREATE_IF_NEEDED, CREATE_NEVER = "CreateIfNeeded", "CreateNever"
UNKNOWN_MESSAGE = 9_007_199_254_740_000  # made up: no account is expected to have it
EVENT = "pushfakeContractEvent"

DISPOSITIONS = st.sampled_from([None, CREATE_IF_NEEDED, CREATE_NEVER])
PLANS = st.sampled_from([None, "gold", "free"])
PUSH_TOKENS = st.sampled_from([None, "ios", "android"])
TOKEN_FIELDS = ("iosPushToken", "gcmRegistrationId", "webPushSubscription")

users = Bundle("leanplum_users")  # started (own) users, and the world's on a fake in full mode
absent_users = Bundle("leanplum_absent_users")  # absent ids a sendMessage with CreateIfNeeded created


@dataclass
class User:
    devices: dict[str, bool] = field(default_factory=dict)  # device id -> has a push token
    attributes: dict[str, Any] = field(default_factory=dict)
    active: bool = False  # a session started (and not paused or stopped)


@functools.cache
def _fixture_users() -> dict[str, tuple[dict[str, Any], dict[str, bool]]]:
    """The default world's users: attributes, and devices with whether they have a push token."""
    document = default_document()
    return {u["id"]: (dict(u.get("attributes") or {}),
                      {d["id"]: any(d.get(f) for f in TOKEN_FIELDS) for d in u.get("devices", ())})
            for u in document["leanplum"]["apps"][0]["users"]}


def text(key: str, **fields: Any) -> str:
    """The spec's text for `key`, from its error catalogue (`pushfake spec --vendor leanplum --errors`)."""
    return spec.text("leanplum", key, **fields)


def expect(condition: bool, expected: str, answer: Answer) -> None:
    if not condition:
        raise AssertionError(f"expected {expected}; got {answer.describe()}")


def _started(element: dict[str, Any]) -> bool:
    return element.get("success") is True and "warning" not in element and isinstance(element.get("vars"), dict)


def _tracked(active: bool) -> dict[str, Any]:
    return {"success": True} if active else {"success": True, "isOffline": True}


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class _LeanplumMachine(RuleBasedStateMachine):
    """The model and the rules both machines share: starting users and tracking events."""

    target: Target  # set by the factory

    def __init__(self) -> None:
        super().__init__()
        self.target.reset()
        self.api = Leanplum(self.target)
        self.control = self.target.endpoints["leanplum"].control
        world = self.target.world.leanplum
        fixture = _fixture_users() if world.users else {}
        self.known: dict[str, User] = {}
        for user_id in world.users:
            attributes, tokens = fixture.get(user_id, ({}, {}))
            self.known[user_id] = User({d: tokens.get(d, False) for d in world.devices.get(user_id, ())},
                                       dict(attributes))
        self.messages: dict[int, dict[str, Any] | None] = {
            **dict.fromkeys(world.push_messages), **world.targeted_messages}
        self.message_ids = [*sorted(self.messages), *world.other_messages, UNKNOWN_MESSAGE]
        self.sent = 0  # deliveries the model expects the sends so far to have queued

    def dev(self, action: str, params: dict[str, Any]) -> Answer:
        self.target.advance(2)  # the fake's development mode allows one request a second per user
        return self.api.call(action, params, key="development")

    def push_token(self, device_id: str | None, kind: str | None) -> dict[str, str]:
        """A well-formed made-up push token; never in safe mode (nothing may reach a device)."""
        if self.target.safe or device_id is None or kind is None:
            return {}
        digest = hashlib.sha256(device_id.encode()).hexdigest()
        return {"iosPushToken": digest} if kind == "ios" else {"gcmRegistrationId": f"pushfake:{digest[:40]}"}

    @initialize(target=users)
    def the_worlds_users(self) -> Any:
        return multiple(*sorted(self.known))  # none in safe mode or against a real account

    @rule(target=users, disposition=DISPOSITIONS, shape=st.sampled_from(["user", "user and device", "device only"]),
          token=PUSH_TOKENS, plan=PLANS)
    def start_a_new_user(self, disposition: str | None, shape: str, token: str | None, plan: str | None) -> Any:
        device_id = self.target.ids.device() if shape != "user" else None
        user_id = "" if shape == "device only" else self.target.ids.user()  # blank: the device id is the user id
        fields = self.push_token(device_id, token)
        attributes = _given(plan=plan)
        answer = self.dev("start", {"userId": user_id, **_given(deviceId=device_id, createDisposition=disposition),
                                    **fields, **({"userAttributes": attributes} if attributes else {})})
        if disposition == CREATE_NEVER:
            expect(answer.status == 200 and element_warned(answer.element(), text("user-not-found")),
                   f"200 with the warning {text('user-not-found')!r} (CreateNever, unknown user)", answer)
            return multiple()
        expect(answer.status == 200 and _started(answer.element()), "200, a started session without warning", answer)
        known_as = user_id or str(device_id)
        self.known[known_as] = User({device_id: bool(fields)} if device_id else {}, attributes, active=True)
        return known_as

    @rule(user=users, device=st.sampled_from(["none", "own", "new"]), disposition=DISPOSITIONS, token=PUSH_TOKENS,
          plan=PLANS, data=st.data())
    def start_a_known_user(self, user: str, device: str, disposition: str | None, token: str | None,
                           plan: str | None, data: st.DataObject) -> None:
        model = self.known[user]
        device_id = None
        if device == "own" and model.devices:
            device_id = data.draw(st.sampled_from(sorted(model.devices)), label="own device")
        elif device == "new":
            device_id = self.target.ids.device()
        fields = self.push_token(device_id, token)
        attributes = _given(plan=plan)
        answer = self.dev("start", {"userId": user, **_given(deviceId=device_id, createDisposition=disposition),
                                    **fields, **({"userAttributes": attributes} if attributes else {})})
        expect(answer.status == 200 and _started(answer.element()), "200, a started session without warning", answer)
        model.attributes.update(attributes)  # merged: attributes not sent keep their value
        model.active = True
        if device_id is not None:
            model.devices[device_id] = model.devices.get(device_id, False) or bool(fields)

    @rule(user=users)
    def track_an_event(self, user: str) -> None:
        answer = self.dev("track", {"userId": user, "event": EVENT})
        expected = _tracked(self.known[user].active)
        expect(answer.status == 200 and answer.element() == expected, f"200 with {expected}", answer)


class _Sessions(_LeanplumMachine):
    """sendMessage to known, unknown and absent users and devices, with every createDisposition."""

    def send_message(self, user_id: str, data: st.DataObject) -> bool:
        """One sendMessage, checked against the model; whether it created the user."""
        model = self.known.get(user_id)
        shapes = ["none", "new", *(["own"] if model is not None and model.devices else [])]
        shape = data.draw(st.sampled_from(shapes), label="device")
        device_id = None
        if shape == "own" and model is not None:
            device_id = data.draw(st.sampled_from(sorted(model.devices)), label="own device")
        elif shape == "new":
            device_id = self.target.ids.absent()
        message_id = data.draw(st.sampled_from(self.message_ids), label="messageId")
        disposition = data.draw(DISPOSITIONS, label="createDisposition")
        force = data.draw(st.booleans(), label="force")
        params = {"userId": user_id, "messageId": message_id,
                  **_given(deviceId=device_id, createDisposition=disposition), **({"force": True} if force else {})}
        if data.draw(st.sampled_from(["production"] * 4 + ["development"]), label="key") == "development":
            answer = self.dev("sendMessage", params)  # sendMessage needs the production key
            refused = text("invalid-key")
            expect(answer.status == 403 and element_failed(answer.element(), refused), f"403 {refused!r}", answer)
            return False
        answer = self.api.call("sendMessage", params, key="production")
        element = answer.element()
        creates = disposition == CREATE_IF_NEEDED  # CreateNever is sendMessage's default
        created = False
        if model is None:
            if not creates:
                expect(answer.status == 200 and element_warned(element, text("user-not-found")),
                       f"200 with the warning {text('user-not-found')!r}", answer)
                return False
            model = self.known[user_id] = User()
            created = True
        if device_id is not None and device_id not in model.devices:
            if not creates:
                expect(answer.status == 200 and element_warned(element, text("device-not-found")),
                       f"200 with the warning {text('device-not-found')!r}", answer)
                return created
            model.devices[device_id] = False  # created, without a push token
        if message_id not in self.messages:
            expect(answer.status == 200 and element_warned(element, text("message-not-found")),
                   f"200 with the warning {text('message-not-found')!r} (message {message_id})", answer)
            return created
        targeting = self.messages[message_id]
        if targeting is not None and not force and (
                model.attributes.get(targeting.get("attribute")) != targeting.get("equals")):
            expect(answer.status == 200 and element_sent_nothing(element),
                   "200, messagesSent 0 and a warning (outside the message's targeting)", answer)
            return created
        reachable = sum(model.devices[d] for d in ([device_id] if device_id is not None else model.devices))
        if reachable == 0:
            expect(answer.status == 200 and element_sent_nothing(element),
                   "200, messagesSent 0 and a warning (no device with a push token)", answer)
        else:
            sent = {"success": True, "result": "Message sent", "messagesSent": reachable}
            expect(answer.status == 200 and element == sent, f"200 with {sent}", answer)
            self.sent += reachable
        return created

    @rule(target=absent_users, data=st.data())
    def send_to_an_unknown_user(self, data: st.DataObject) -> Any:
        user_id = self.target.ids.absent()
        return user_id if self.send_message(user_id, data) else multiple()

    @rule(user=absent_users, data=st.data())
    def send_to_a_user_a_send_created(self, user: str, data: st.DataObject) -> None:
        self.send_message(user, data)

    @precondition(lambda self: not self.target.safe)
    @rule(user=users, data=st.data())
    def send_to_a_known_user(self, user: str, data: st.DataObject) -> None:
        self.send_message(user, data)

    @precondition(lambda self: self.control is not None)
    @invariant()
    def deliveries_are_the_models(self) -> None:
        queued = len(self.control.deliveries(vendor="leanplum"))
        assert queued == self.sent, (
            f"the fake queued {queued} Leanplum deliveries; the sends' messagesSent add up to {self.sent}")


@dataclass
class _Item:
    """One batch item and what its element must be."""

    item: dict[str, Any]
    status: int
    expected: str
    holds: Callable[[dict[str, Any]], bool]
    user: str | None = None  # a user the item starts


def _warns(key: str, **fields: Any) -> tuple[str, Callable[[dict[str, Any]], bool]]:
    """(what the element must be, its test): a success with the spec's warning `key`."""
    said = text(key, **fields)
    return f"the warning {said!r}", lambda element: element_warned(element, said)


def _fails(key: str, **fields: Any) -> tuple[str, Callable[[dict[str, Any]], bool]]:
    """(what the element must be, its test): a failure with the spec's error `key`."""
    said = text(key, **fields)
    return f"the error {said!r}", lambda element: element_failed(element, said)


ITEM_KINDS = ("start", "start never", "track", "track without event", "made-up action", "send with dev key",
              "send with production key", "no user or device")


class _Batches(_LeanplumMachine):
    """multi: every item runs in order and answers its own element; every item is about another
    user, as development mode allows one request a second per user."""

    def item(self, kind: str, used: set[str], data: st.DataObject) -> _Item:
        ids = self.target.ids
        if kind == "track":
            candidates = sorted(set(self.known) - used)
            if candidates:
                user = data.draw(st.sampled_from(candidates), label="tracked user")
                used.add(user)
                expected = _tracked(self.known[user].active)
                return _Item({"action": "track", "userId": user, "event": EVENT}, 200, str(expected),
                             lambda e: {k: v for k, v in e.items() if k != "reqId"} == expected)
            kind = "start"
        if kind == "start":
            user = ids.user()
            return _Item({"action": "start", "userId": user}, 200, "a started session", _started, user=user)
        if kind == "start never":
            return _Item({"action": "start", "userId": ids.user(), "createDisposition": CREATE_NEVER}, 200,
                         *_warns("user-not-found"))
        if kind == "track without event":
            return _Item({"action": "track", "userId": ids.user()}, 400, *_fails("missing-parameter", name="event"))
        if kind == "no user or device":  # recorded: that item fails with 404, the others run
            return _Item({"action": "setUserAttributes", "userAttributes": {"pushfakeContract": "set"}}, 404,
                         *_fails("invalid-app-user"))
        if kind == "made-up action":
            return _Item({"action": MADE_UP_ACTION, "userId": ids.user()}, 400,
                         *_fails("unknown-action", name=MADE_UP_ACTION))
        send = {"action": "sendMessage", "userId": ids.absent(), "messageId": UNKNOWN_MESSAGE}
        if kind == "send with dev key":  # inherits the batch's development key
            return _Item(send, 403, *_fails("invalid-key"))
        send.update(clientKey=self.api.credentials.leanplum_production_key, devMode=False)  # the item's own win
        return _Item(send, 200, *_warns("user-not-found"))

    @rule(target=users, data=st.data())
    def run_a_batch(self, data: st.DataObject) -> Any:
        used: set[str] = set()
        items = [self.item(data.draw(st.sampled_from(ITEM_KINDS), label="item"), used, data)
                 for _ in range(data.draw(st.integers(0, 5), label="items"))]
        for index, planned in enumerate(items):
            if data.draw(st.booleans(), label="with reqId"):
                planned.item["reqId"] = f"pushfake-contract-req-{index}"
        self.target.advance(2)
        answer = self.api.multi([p.item for p in items], key="development")
        status = next((p.status for p in items if p.status != 200), 200)
        expect(answer.status == status, f"status {status} (the first failing item's, else 200)", answer)
        elements = answer.elements
        expect(isinstance(answer.body, dict) and len(elements) == len(items),
               f"one element per item ({len(items)})", answer)
        for index, (planned, element) in enumerate(zip(items, elements, strict=True)):
            expect(planned.holds(element), f"element {index} ({planned.item['action']}) to be {planned.expected}, "
                   f"not {element}", answer)
            if "reqId" in planned.item:
                expect(element.get("reqId") == planned.item["reqId"], f"element {index} echoes its reqId", answer)
        started = [p.user for p in items if p.user is not None]
        for user in started:
            self.known[user] = User(active=True)
        return multiple(*started)


def _factory(base: type[_LeanplumMachine]) -> Callable[[Target], type[RuleBasedStateMachine]]:
    def factory(target: Target) -> type[RuleBasedStateMachine]:
        return type(base.__name__.lstrip("_"), (base,), {"target": target})

    return factory


MACHINES = {"leanplum-sessions": _factory(_Sessions), "leanplum-batches": _factory(_Batches)}
