"""What the control plane creates and reads in Leanplum's state: users, devices, messages.

Records arrive in their fixtures-file form and are built by the same code that loads a
fixtures file, so a record made at run time is exactly one a fixtures file could have made.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pushfake.core.admin import AdminError, check_record, view
from pushfake.leanplum.models import DEVICE_FIELDS, App, Device, Message, User
from pushfake.leanplum.state import LeanplumState
from pushfake.leanplum.world import message_from, users_from


def app_of(state: LeanplumState, app_id: str) -> App:
    app = state.app(app_id)
    if app is None:
        raise AdminError(404, f"no Leanplum app {app_id!r}")
    return app


def add_user(state: LeanplumState, app_id: str, raw: Any, now: float) -> User:
    check_record("user", raw)
    app_of(state, app_id)
    (user, devices), = users_from("body", [raw])
    if state.user(app_id, user.id) is not None:
        raise AdminError(409, f"user {user.id!r} already exists in app {app_id!r}")
    taken = [d.id for d in devices if state.device(app_id, d.id) is not None]
    if taken:
        raise AdminError(409, f"device {taken[0]!r} already exists in app {app_id!r}")
    user.created_at = user.last_seen = now
    with state.transaction():
        state.users(app_id).put(user.id, user)
        for device in devices:
            state.attach_device(app_id, user, device)
    return user


def add_device(state: LeanplumState, app_id: str, user_id: str, raw: Any) -> Device:
    check_record("device", raw)
    app_of(state, app_id)
    user = state.user(app_id, user_id)
    if user is None:
        raise AdminError(404, f"no user {user_id!r} in app {app_id!r}")
    if state.device(app_id, raw["id"]) is not None:
        raise AdminError(409, f"device {raw['id']!r} already exists in app {app_id!r}")
    device = Device(id=raw["id"], user_id=user_id, **{k: raw[k] for k in DEVICE_FIELDS if k in raw})
    with state.transaction():
        state.attach_device(app_id, user, device)
    return device


def add_message(state: LeanplumState, app_id: str, raw: Any) -> Message:
    check_record("message", raw)
    app = app_of(state, app_id)
    message = message_from(raw)
    if message.id in app.messages:
        raise AdminError(409, f"message {message.id!r} already exists in app {app_id!r}")
    state.put_app(dataclasses.replace(app, messages={**app.messages, message.id: message}))
    return message


def user_view(state: LeanplumState, app_id: str, user: User) -> dict[str, Any]:
    return {
        "id": user.id, "attributes": user.attributes, "createdAt": user.created_at,
        "lastSeen": user.last_seen, "sessions": user.sessions, "sessionState": user.session_state,
        "devices": [device_view(d) for d in state.devices_of(app_id, user.id)],
        "events": [{"kind": e.kind, "name": e.name, "time": e.time, "params": e.params, "value": e.value}
                   for e in state.events(app_id, user.id)],
    }


def device_view(device: Device) -> dict[str, Any]:
    return {k: v for k, v in view(device).items() if v is not None}


def message_view(message: Message) -> dict[str, Any]:
    return {**view(message), "target": [{"attribute": c.attribute, c.op: c.value} for c in message.target]}
