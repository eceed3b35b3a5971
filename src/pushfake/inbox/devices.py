"""The devices the vendors' state knows, as the inbox lists them: owner, platform, app, language.

The one place the inbox reads vendor state; everything else works from deliveries. A device
with no push target (a Leanplum device that never registered a token) cannot receive a push
and is not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushfake.fake import Fake


@dataclass(frozen=True, slots=True)
class KnownDevice:
    vendor: str
    owner: str  # Leanplum user id, D·engage contact key
    id: str
    platform: str
    token: Any
    app: str
    language: str | None


def known_devices(fake: Fake) -> dict[tuple[str, str], KnownDevice]:
    """Every reachable device of both vendors, by (vendor, device id)."""
    out: dict[tuple[str, str], KnownDevice] = {}
    lp = fake.leanplum.state
    for app in lp.apps():
        for device in lp.devices(app.id).values():
            target = device.push_target()
            if target is not None:
                out["leanplum", device.id] = KnownDevice("leanplum", device.user_id, device.id, target[0], target[1],
                                                         app.id, device.locale)
    de = fake.dengage.state
    for account in de.accounts():
        contacts = de.contacts(account.id)
        for device in de.devices(account.id).values():
            contact = contacts.get(device.contact_key)
            application = account.applications.get(device.application_id)
            out["dengage", device.id] = KnownDevice(
                "dengage", device.contact_key, device.id, device.platform, device.token,
                application.name if application is not None else device.application_id,
                device.language or (contact.language if contact is not None else None))
    return out


def language_of(fake: Fake, vendor: str, owner: str) -> str | None:
    """A D·engage contact's language for a device the state no longer has (Leanplum keeps it per device)."""
    if vendor != "dengage":
        return None
    for account in fake.dengage.state.accounts():
        contact = fake.dengage.state.contacts(account.id).get(owner)
        if contact is not None:
            return contact.language
    return None
