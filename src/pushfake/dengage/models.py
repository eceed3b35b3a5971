"""D·engage records: accounts and what they own, contacts, devices, tokens and sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PUSH_PERMISSION = "Push.Manage"


@dataclass(frozen=True, slots=True)
class ApiUser:
    userkey: str
    password: str
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Application:
    id: str
    name: str
    platform: str  # "mobile" or "web"


@dataclass(frozen=True, slots=True)
class FieldCondition:
    """One clause of a segment's rule: a contact field compared with a value."""

    field: str
    op: str  # equals, notEquals, in, exists
    value: Any = None


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    name: str
    rule: tuple[FieldCondition, ...]


@dataclass(frozen=True, slots=True)
class ContactTable:
    id: str
    name: str
    contact_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MessageContent:
    title: str
    message: str
    media_url: str | None = None
    target_url: str | None = None


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    name: str
    default_language: str  # upper case
    contents: dict[str, MessageContent]  # by upper-case language; one entry for single-language

    @property
    def multi_language(self) -> bool:
        return len(self.contents) > 1


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    api_users: dict[str, ApiUser]
    applications: dict[str, Application]
    segments: dict[str, Segment] = field(default_factory=dict)
    tables: dict[str, ContactTable] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)


@dataclass(slots=True)
class Contact:
    key: str
    language: str  # upper case
    fields: dict[str, Any]


@dataclass(slots=True)
class PushDevice:
    id: str
    contact_key: str
    application_id: str
    platform: str  # apns, fcm, webpush
    token: Any
    engaged: bool = False
    language: str | None = None  # upper case; None: the contact's language
    browser: str | None = None  # web devices: the browser the send report names


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    account_id: str
    userkey: str
    expires_at: float


@dataclass(slots=True)
class Send:
    tracking_id: str
    account_id: str
    created_at: float
    schedule_at: float | None
    application_ids: tuple[str, ...]
    status: str  # Scheduled, Sending, Completed
    delivery_ids: list[str] = field(default_factory=list)
