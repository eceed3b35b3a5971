"""What each device receives: the content in its language, contact fields filled in; and dates.

Placeholders are `{{contact.<field>}}` (the contact's key is `{{contact.contactKey}}`); an
unknown field renders empty. Languages match without regard to case.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any

from pushfake.dengage.models import Contact, MessageContent, PushDevice, Template

_PLACEHOLDER = re.compile(r"\{\{\s*contact\.([A-Za-z0-9_]+)\s*\}\}")
_DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ",
)
_FRACTION = re.compile(r"\.(\d{1,3})Z?$")


def parse_schedule_date(text: str) -> float | None:
    """Seconds since the epoch for a UTC date in one of the documented formats, else None."""
    if _FRACTION.search(text) is None and "." in text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render(text: str, contact: Contact) -> str:
    if "{{" not in text:
        return text
    parts = _split(text)  # literal, field, literal, field, ..., literal
    out = list(parts)
    for i in range(1, len(parts), 2):
        value = contact.key if parts[i] == "contactKey" else contact.fields.get(parts[i])
        out[i] = "" if value is None else str(value)
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _split(text: str) -> tuple[str, ...]:
    """A template split once into literals and field names, for sends to thousands of contacts."""
    return tuple(_PLACEHOLDER.split(text))


def language_for(template: Template, device: PushDevice, contact: Contact) -> str:
    """The language of `template` a device gets: its own (documented: the device table's), else
    its contact's (assumed), else the send's default (documented)."""
    for language in (device.language, contact.language):
        if language is not None and language.upper() in template.contents:
            return language.upper()
    return template.default_language



def payload(content: MessageContent, contact: Contact) -> dict[str, Any]:
    out: dict[str, Any] = {"title": render(content.title, contact), "message": render(content.message, contact)}
    if content.media_url:
        out["mediaUrl"] = render(content.media_url, contact)
    if content.target_url:
        out["targetUrl"] = render(content.target_url, contact)
    return out
