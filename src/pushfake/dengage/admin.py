"""What the control plane creates and reads in D·engage's state: contacts and their devices,
templates, segments and tables.

Records arrive in their fixtures-file form and are built by the same code that loads a
fixtures file. An account is replaced, never changed in place: the world a reset goes back to
holds the original.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pushfake.core.admin import AdminError, check_record, unwrapped, view
from pushfake.core.fixtures import FixtureError
from pushfake.dengage.models import Account, Contact, PushDevice
from pushfake.dengage.state import DengageState
from pushfake.dengage.world import account_from, contacts_from

_PARTS = {"templates": "dengageTemplate", "segments": "dengageSegment", "tables": "dengageTable"}


def account_of(state: DengageState, account_id: str) -> Account:
    account = state.account(account_id)
    if account is None:
        raise AdminError(404, f"no D·engage account {account_id!r}")
    return account


def add_contact(state: DengageState, account_id: str, raw: Any) -> Contact:
    check_record("dengageContact", raw)
    account = account_of(state, account_id)
    if state.contacts(account_id).get(raw["key"]) is not None:
        raise AdminError(409, f"contact {raw['key']!r} already exists in account {account_id!r}")
    (contact, devices), = _built(lambda: contacts_from("body", {"contacts": [raw]}, account), "body.contacts[0]")
    _check_new_devices(state, account_id, devices)
    with state.transaction():
        state.put_contact(account_id, contact)
        for device in devices:
            state.put_device(account_id, device)
    return contact


def add_device(state: DengageState, account_id: str, contact_key: str, raw: Any) -> PushDevice:
    account = account_of(state, account_id)
    if state.contacts(account_id).get(contact_key) is None:
        raise AdminError(404, f"no contact {contact_key!r} in account {account_id!r}")
    check_record("dengageContact", {"key": contact_key, "devices": [raw]}, "devices[0]")
    (_, (device,)), = _built(lambda: contacts_from("body", {"contacts": [{"key": contact_key, "devices": [raw]}]},
                                                   account), "body.contacts[0].devices[0]")
    _check_new_devices(state, account_id, [device])
    state.put_device(account_id, device)
    return device


def add_part(state: DengageState, account_id: str, kind: str, raw: Any) -> Any:
    """Add a template, segment or table (`kind`: templates, segments, tables)."""
    check_record(_PARTS[kind], raw)
    account = account_of(state, account_id)
    if kind == "tables":
        unknown = [k for k in raw["contacts"] if state.contacts(account_id).get(k) is None]
        if unknown:
            raise AdminError(400, f"contacts: unknown contact {unknown[0]!r}")
    built = _built(lambda: account_from({"id": account.id, "apiUsers": [], "applications": [], kind: [raw]}))
    (part_id, part), = getattr(built, kind).items()
    existing: dict[str, Any] = getattr(account, kind)
    if part_id in existing:
        raise AdminError(409, f"{kind[:-1]} {part_id!r} already exists in account {account_id!r}")
    state.put_account(dataclasses.replace(account, **{kind: {**existing, part_id: part}}))
    return part


def contact_view(state: DengageState, account_id: str, contact: Contact) -> dict[str, Any]:
    devices = [d for d in state.devices(account_id).values() if d.contact_key == contact.key]
    return {"key": contact.key, "language": contact.language, "fields": contact.fields,
            "devices": [device_view(d) for d in devices]}


def device_view(device: PushDevice) -> dict[str, Any]:
    return {"id": device.id, "contactKey": device.contact_key, "applicationId": device.application_id,
            "platform": device.platform, "token": device.token, "engaged": device.engaged,
            "language": device.language, "browser": device.browser}


def part_view(part: Any) -> dict[str, Any]:
    return view(part)


def _check_new_devices(state: DengageState, account_id: str, devices: Any) -> None:
    taken = [d.id for d in devices if state.devices(account_id).get(d.id) is not None]
    if taken:
        raise AdminError(409, f"device {taken[0]!r} already exists in account {account_id!r}")


def _built(build: Any, wrapper: str = "body") -> Any:
    """Build with the fixtures code; its FixtureError becomes a 400 whose place is the caller's."""
    try:
        return build()
    except FixtureError as exc:
        raise AdminError(400, unwrapped(str(exc), wrapper)) from None
