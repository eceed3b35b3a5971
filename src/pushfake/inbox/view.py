"""The inbox as display rows: owners, their devices, each device's newest notifications.

Deliveries are grouped once (one pass, oldest first, so each device's list ends with its newest)
and only the page asked for is turned into rows: with 10,000 deliveries the work per request is
the grouping plus the 50 owners shown, never deliveries x devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pushfake.core.deliveries import Delivery
from pushfake.core.times import iso
from pushfake.fake import Fake
from pushfake.inbox.devices import KnownDevice, known_devices, language_of
from pushfake.inbox.notifications import shown
from pushfake.inbox.query import FilterError, Filters, select

DEVICES_PER_PAGE = 50  # owners are never split; a page holds whole owners up to this many devices
NOTIFICATIONS_PER_DEVICE = 20


@dataclass(frozen=True, slots=True)
class Step:
    state: str
    iso: str
    text: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: str
    state: str
    send: str
    opened: bool
    title: str | None
    body: str | None
    image: str | None
    iso: str
    text: str
    reason: str | None
    timeline: list[Step]

    @property
    def openable(self) -> bool:
        return self.state == "delivered"


@dataclass(slots=True)
class DeviceRow:
    vendor: str
    owner: str
    id: str
    platform: str
    app: str
    language: str | None
    token_state: str
    notifications: list[NotificationRow] = field(default_factory=list)
    total: int = 0
    older: int = 0
    older_query: str | None = None


@dataclass(slots=True)
class OwnerRow:
    vendor: str
    id: str
    devices: list[DeviceRow]


@dataclass(slots=True)
class InboxPage:
    filters: Filters
    owners: list[OwnerRow]
    page: int
    pages: int
    owner_count: int
    delivery_count: int
    prev_query: str | None
    next_query: str | None


def readable(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def inbox_page(fake: Fake, f: Filters) -> InboxPage:
    """The page of owners `f` asks for, each with its devices and their newest notifications."""
    if f.before is not None:
        anchor = fake.deliveries.get(f.before)
        if anchor is None or anchor.device_id != f.device:
            raise FilterError(f"device {f.device!r} has no notification {f.before!r} to page back from")
    rows = select(fake.deliveries, f)
    grouped: dict[tuple[str, str], dict[str, list[Delivery]]] = {}
    latest: dict[tuple[str, str], int] = {}  # owner -> position of its newest delivery in `rows`
    newest: dict[tuple[str, str, str], int] = {}  # the same per device
    for i, d in enumerate(rows):
        key = (d.vendor, d.user_id)
        grouped.setdefault(key, {}).setdefault(d.device_id, []).append(d)
        latest[key] = newest[d.vendor, d.user_id, d.device_id] = i
    order = sorted(grouped, key=lambda key: -latest[key])
    known = known_devices(fake)
    idle: dict[tuple[str, str], list[KnownDevice]] = {}
    if not f.narrowing:  # devices nobody sent to yet, under their owners, after the busy ones
        for (vendor, device_id), device in known.items():
            if device_id not in grouped.get((vendor, device.owner), {}):
                idle.setdefault((vendor, device.owner), []).append(device)
        order += sorted(key for key in idle if key not in grouped)
    paged = _pages(order, {key: len(grouped.get(key, ())) + len(idle.get(key, ())) for key in order})
    pages = max(1, len(paged))
    chosen = paged[f.page - 1] if f.page <= len(paged) else []
    owners = [_owner(fake, f, key, grouped.get(key, {}), idle.get(key, []), known, newest) for key in chosen]
    return InboxPage(
        filters=f, owners=owners, page=f.page, pages=pages, owner_count=len(order), delivery_count=len(rows),
        prev_query=f.query_string(page=min(f.page - 1, pages)) if f.page > 1 else None,
        next_query=f.query_string(page=f.page + 1) if f.page < pages else None,
    )


def _pages(order: list[tuple[str, str]], devices: dict[tuple[str, str], int]) -> list[list[tuple[str, str]]]:
    """Owners in `order`, cut into pages of whole owners holding at most DEVICES_PER_PAGE devices
    (an owner with more has a page of its own)."""
    pages: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    held = 0
    for key in order:
        if current and held + devices[key] > DEVICES_PER_PAGE:
            pages.append(current)
            current, held = [], 0
        current.append(key)
        held += devices[key]
    if current:
        pages.append(current)
    return pages


def _owner(fake: Fake, f: Filters, key: tuple[str, str], busy: dict[str, list[Delivery]],
           idle: list[KnownDevice], known: dict[tuple[str, str], KnownDevice],
           newest: dict[tuple[str, str, str], int]) -> OwnerRow:
    vendor, owner = key
    newest_first = sorted(busy.items(), key=lambda item: -newest[vendor, owner, item[0]])
    devices = [_device(fake, f, vendor, owner, device_id, deliveries, known.get((vendor, device_id)))
               for device_id, deliveries in newest_first]
    devices += [_device(fake, f, vendor, owner, d.id, [], d) for d in sorted(idle, key=lambda d: d.id)]
    return OwnerRow(vendor, owner, devices)


def _device(fake: Fake, f: Filters, vendor: str, owner: str, device_id: str, deliveries: list[Delivery],
            known: KnownDevice | None) -> DeviceRow:
    newest_first = deliveries[::-1]
    if f.before is not None:
        at = next((i for i, d in enumerate(newest_first) if d.id == f.before), None)
        if at is None:
            raise FilterError(f"device {device_id!r} has no notification {f.before!r} to page back from")
        newest_first = newest_first[at + 1:]
    shown_rows = newest_first[:NOTIFICATIONS_PER_DEVICE]
    if known is not None and (not deliveries or known.owner == owner):
        platform, token, app, language = known.platform, known.token, known.app, known.language
    else:
        last = deliveries[-1]
        platform, token, app, language = last.platform, last.token, last.app_id, language_of(fake, vendor, owner)
    mark = fake.deliveries.tokens.mark_of(platform, token)
    older = len(newest_first) - len(shown_rows)
    return DeviceRow(
        vendor=vendor, owner=owner, id=device_id, platform=platform, app=app, language=language,
        token_state=mark.status if mark is not None else "active",
        notifications=[_notification(d) for d in shown_rows], total=len(deliveries), older=older,
        older_query=f.query_string(vendor=vendor, device=device_id, before=shown_rows[-1].id, page=None)
        if older else None,
    )


def _notification(d: Delivery) -> NotificationRow:
    title, body, image = shown(d.platform, d.payload)
    state = d.state
    failed_reason = d.reason if state == "failed" else None
    queued_at = d.timeline[0][1]
    return NotificationRow(
        id=d.id, state=state, send=d.send_id, opened=d.engaged("open"), title=title, body=body,
        image=image if _displayable(image) else None, iso=iso(queued_at), text=readable(queued_at),
        reason=failed_reason, timeline=[Step(s, iso(at), readable(at), reason) for s, at, reason in d.timeline],
    )


def _displayable(url: Any) -> bool:
    """Only web images go into an `img src`."""
    return isinstance(url, str) and url.startswith(("https://", "http://"))
