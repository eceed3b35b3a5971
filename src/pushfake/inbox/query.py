"""The inbox's filters, read from a query string, and the deliveries they select.

Filters arrive from a plain HTML form, so an empty value means "not set". Anything else that is
unknown or out of range is refused with a message a person can act on (`FilterError`, shown
as a 400 page), never a 500.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlencode

from pushfake.core.deliveries import Delivery, DeliveryQueue
from pushfake.core.resources import VENDORS
from pushfake.inbox.notifications import shown

STATES = ("queued", "sending", "retrying", "delivered", "failed")
MAX_TEXT = 200  # longer search text is a mistake, not a query
MAX_PAGE = 100_000
IGNORED = frozenset({"token"})  # the admin token, when the middleware did not take it (loopback)


class FilterError(ValueError):
    """A filter the inbox cannot apply; the message says which and what it accepts."""


@dataclass(frozen=True, slots=True)
class Filters:
    vendor: str | None = None
    send: str | None = None
    state: str | None = None
    q: str | None = None
    page: int = 1
    device: str | None = None  # one device's notifications (the "older" link)
    before: str | None = None  # with `device`: only notifications older than this delivery

    @property
    def narrowing(self) -> bool:
        """Whether anything but the page is set (then devices without a match are left out)."""
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name != "page")

    def query_string(self, **changes: Any) -> str:
        """This filter set as a query string, with `changes` applied (None removes one)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        if values.get("page") == 1:
            values["page"] = None
        return urlencode({k: v for k, v in values.items() if v is not None})

    def form(self) -> dict[str, str]:
        """What the filter form's fields show."""
        return {name: getattr(self, name) or "" for name in ("vendor", "send", "state", "q")}


def parse_filters(params: Iterable[tuple[str, str]]) -> Filters:
    """`Filters` from query parameters; FilterError on an unknown name or value."""
    known = {f.name for f in fields(Filters)}
    raw: dict[str, str] = {}
    for name, value in params:
        if name in IGNORED:
            continue
        if name not in known:
            raise FilterError(f"unknown filter {name!r}; the inbox filters are {', '.join(sorted(known))}")
        if name in raw:
            raise FilterError(f"filter {name!r} is given twice")
        value = value.strip()
        if value:
            raw[name] = value
    for name, value in raw.items():
        if len(value) > MAX_TEXT:
            raise FilterError(f"filter {name!r} is longer than {MAX_TEXT} characters")
    _one_of(raw, "vendor", VENDORS)
    _one_of(raw, "state", STATES)
    page = 1
    if "page" in raw:
        if not raw["page"].isdecimal() or not 1 <= int(raw["page"]) <= MAX_PAGE:
            raise FilterError(f"page {raw['page']!r} is not a page number (1, 2, ...)")
        page = int(raw["page"])
    if "before" in raw and "device" not in raw:
        raise FilterError("'before' pages one device's notifications; give 'device' too")
    return Filters(vendor=raw.get("vendor"), send=raw.get("send"), state=raw.get("state"), q=raw.get("q"),
                   page=page, device=raw.get("device"), before=raw.get("before"))


def _one_of(raw: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> None:
    if name in raw and raw[name] not in allowed:
        raise FilterError(f"{name} {raw[name]!r} is not one of {', '.join(allowed)}")


def select(queue: DeliveryQueue, f: Filters) -> list[Delivery]:
    """The deliveries the filters keep, oldest first (as `DeliveryQueue.find` gives them)."""
    rows = queue.find(vendor=f.vendor, send_id=f.send, state=f.state, device_id=f.device)
    if f.q is None:
        return rows
    needle = f.q.casefold()
    texts: dict[tuple[str, int], str] = {}  # a send's deliveries share one rendering: read it once

    def text_of(d: Delivery) -> str:
        key = (d.platform, id(d.payload))
        found = texts.get(key)
        if found is None:
            n = shown(d.platform, d.payload)
            found = texts[key] = f"{n.title or ''}\n{n.body or ''}".casefold()
        return found

    return [d for d in rows if needle in f"{d.user_id}\n{d.device_id}\n{d.send_id}".casefold()
            or needle in text_of(d)]
