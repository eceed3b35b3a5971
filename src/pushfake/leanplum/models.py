"""Leanplum records: apps and their configuration, users, devices, events.

Slotted dataclasses: a million users with a device each must fit in well under 1.5 GiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    default: Any
    value: Any  # the server-side value; equals `default` when the dashboard never changed it


@dataclass(frozen=True, slots=True)
class Condition:
    """One clause of a message's targeting: a user attribute compared with a value."""

    attribute: str
    op: str  # equals, notEquals, in, exists, greaterThan, lessThan
    value: Any = None


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    name: str
    channel: str  # "push" (manual delivery) or "inApp" (returned by start)
    title: str = ""
    body: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    image_url: str | None = None
    open_url: str | None = None
    target: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class AbTest:
    id: int
    variant_id: int
    vars: dict[str, Any]


@dataclass(frozen=True, slots=True)
class App:
    id: str
    production_key: str
    development_key: str
    name: str = ""
    variables: tuple[Variable, ...] = ()
    messages: dict[str, Message] = field(default_factory=dict)
    ab_tests: tuple[AbTest, ...] = ()
    regions: dict[str, Any] = field(default_factory=dict)
    interface_rules: tuple[Any, ...] = ()
    interface_events: tuple[Any, ...] = ()
    action_definitions: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class User:
    id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    device_ids: list[str] = field(default_factory=list)
    created_at: float = 0.0
    sessions: int = 0
    session_state: str = "none"  # none, active, background, paused, stopped
    last_seen: float = 0.0


PUSH_TOKEN_FIELDS = ("iosPushToken", "gcmRegistrationId", "webPushSubscription")
DEVICE_FIELDS = (
    "appVersion", "systemName", "systemVersion", "browserName", "browserVersion",
    "deviceName", "deviceModel", "locale", "country", "region", "city", "location",
    "locationAccuracyType", "timezone", "timezoneOffsetSeconds",
) + PUSH_TOKEN_FIELDS


@dataclass(slots=True)
class Device:
    """A device as Leanplum knows it. Field names are the wire names, so updates are a loop."""

    id: str
    user_id: str
    appVersion: str | None = None
    systemName: str | None = None
    systemVersion: str | None = None
    browserName: str | None = None
    browserVersion: str | None = None
    deviceName: str | None = None
    deviceModel: str | None = None
    locale: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    location: str | None = None
    locationAccuracyType: str | None = None
    timezone: str | None = None
    timezoneOffsetSeconds: int | None = None
    iosPushToken: str | None = None
    gcmRegistrationId: str | None = None
    webPushSubscription: dict[str, Any] | None = None

    def push_target(self) -> tuple[str, Any] | None:
        """The platform and token a push to this device goes to, or None if unreachable."""
        if self.iosPushToken:
            return "apns", self.iosPushToken
        if self.gcmRegistrationId:
            return "fcm", self.gcmRegistrationId
        if self.webPushSubscription:
            return "webpush", self.webPushSubscription
        return None


@dataclass(frozen=True, slots=True)
class Event:
    """A tracked event or state (`advance`), kept so tests can see what an SDK reported."""

    user_id: str
    kind: str  # "track" or "state"
    name: str
    time: float
    params: dict[str, Any] = field(default_factory=dict)
    value: float | None = None
