"""The Leanplum part of a fixtures file: settings, apps, messages, users and devices."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pushfake.core.fixtures import FixtureError
from pushfake.leanplum.models import (
    DEVICE_FIELDS,
    AbTest,
    App,
    Condition,
    Device,
    Message,
    User,
    Variable,
)
from pushfake.leanplum.state import LeanplumState


@dataclass(frozen=True)
class LeanplumSettings:
    """Where real behaviour has alternatives, the choice; defaults follow DECISIONS.md."""

    detect_location: dict[str, str] = field(default_factory=lambda: {
        "country": "US", "region": "CA", "city": "San Francisco",
        "location": "37.7749,-122.4194", "locale": "en_US",
    })
    multi_status: str = "first-failure"
    multi_max_users: int = 50
    multi_max_actions: int = 500
    max_body_bytes: int = 1_048_576
    processing_delay_seconds: float = 0.0
    dev_mode_requests_per_second: float = 1.0
    retry_after_seconds: float | None = None
    latest_version: str | None = None  # the SDK logs an upgrade hint whenever this is set

    @classmethod
    def from_fixtures(cls, raw: dict[str, Any]) -> LeanplumSettings:
        names = {
            "detectLocation": "detect_location", "multiStatus": "multi_status",
            "multiMaxUsers": "multi_max_users", "multiMaxActions": "multi_max_actions",
            "maxBodyBytes": "max_body_bytes", "processingDelaySeconds": "processing_delay_seconds",
            "devModeRequestsPerSecond": "dev_mode_requests_per_second",
            "retryAfterSeconds": "retry_after_seconds", "latestVersion": "latest_version",
        }
        values = {names[k]: v for k, v in raw.items()}
        if "detect_location" in values:
            values["detect_location"] = {**cls().detect_location, **values["detect_location"]}
        return cls(**values)


@dataclass(frozen=True)
class LeanplumWorld:
    settings: LeanplumSettings
    apps: tuple[App, ...]
    users: tuple[tuple[str, User, tuple[Device, ...]], ...]  # (app id, user, devices)

    def install(self, state: LeanplumState, now: float) -> None:
        for app in self.apps:
            state.put_app(app)
        for app_id, user, devices in self.users:
            fresh = User(id=user.id, attributes=dict(user.attributes), created_at=now, last_seen=now)
            state.users(app_id).put(fresh.id, fresh)
            for device in devices:
                copy = Device(**{f.name: getattr(device, f.name) for f in fields(Device)})
                state.attach_device(app_id, fresh, copy)


def build_world(label: str, section: dict[str, Any]) -> LeanplumWorld:
    settings = LeanplumSettings.from_fixtures(section.get("settings", {}))
    apps: list[App] = []
    users: list[tuple[str, User, tuple[Device, ...]]] = []
    seen_keys: dict[str, str] = {}
    for index, raw in enumerate(section.get("apps", [])):
        where = f"{label}: leanplum.apps[{index}]"
        app = _app(where, raw)
        if any(a.id == app.id for a in apps):
            raise FixtureError(f"{where}.id: app '{app.id}' is defined twice")
        if app.production_key == app.development_key:
            raise FixtureError(f"{where}: productionKey and developmentKey must differ")
        for key in (app.production_key, app.development_key):
            if key in seen_keys:
                raise FixtureError(f"{where}: key '{key}' is already used by app '{seen_keys[key]}'")
            seen_keys[key] = app.id
        apps.append(app)
        users.extend((app.id, user, devices) for user, devices in users_from(where, raw.get("users", [])))
    return LeanplumWorld(settings, tuple(apps), tuple(users))


def _app(where: str, raw: dict[str, Any]) -> App:
    messages: dict[str, Message] = {}
    for i, m in enumerate(raw.get("messages", [])):
        message = message_from(m)
        if message.id in messages:
            raise FixtureError(f"{where}.messages[{i}].id: message {message.id} is defined twice")
        messages[message.id] = message
    return App(
        id=raw["id"],
        name=raw.get("name", raw["id"]),
        production_key=raw["productionKey"],
        development_key=raw["developmentKey"],
        variables=tuple(
            Variable(name, spec["default"], spec.get("value", spec["default"]))
            for name, spec in raw.get("variables", {}).items()
        ),
        messages=messages,
        ab_tests=tuple(AbTest(t["id"], t["variantId"], t["vars"]) for t in raw.get("abTests", [])),
        regions=raw.get("regions", {}),
        interface_rules=tuple(raw.get("interfaceRules", [])),
        interface_events=tuple(raw.get("interfaceEvents", [])),
        action_definitions=raw.get("actionDefinitions", {}),
    )


def message_from(raw: dict[str, Any]) -> Message:
    target = tuple(
        Condition(c["attribute"], op, c[op])
        for c in raw.get("target", [])
        for op in c
        if op != "attribute"
    )
    return Message(
        id=str(raw["id"]),
        name=raw.get("name", f"Message {raw['id']}"),
        channel=raw["channel"],
        title=raw.get("title", ""),
        body=raw.get("body", ""),
        variables=raw.get("variables", {}),
        data=raw.get("data", {}),
        image_url=raw.get("imageUrl"),
        open_url=raw.get("openUrl"),
        target=target,
    )


def users_from(where: str, raw_users: list[dict[str, Any]]) -> list[tuple[User, tuple[Device, ...]]]:
    out: list[tuple[User, tuple[Device, ...]]] = []
    user_ids: set[str] = set()
    device_ids: set[str] = set()
    for i, raw in enumerate(raw_users):
        if raw["id"] in user_ids:
            raise FixtureError(f"{where}.users[{i}].id: user '{raw['id']}' is defined twice")
        user_ids.add(raw["id"])
        devices = []
        for j, d in enumerate(raw.get("devices", [])):
            if d["id"] in device_ids:
                raise FixtureError(f"{where}.users[{i}].devices[{j}].id: device '{d['id']}' is defined twice")
            device_ids.add(d["id"])
            devices.append(Device(id=d["id"], user_id=raw["id"], **{k: d[k] for k in DEVICE_FIELDS if k in d}))
        out.append((User(id=raw["id"], attributes=raw.get("attributes", {})), tuple(devices)))
    return out
