"""Who a send reaches: contacts by segment, table or everyone; their devices in the apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pushfake.dengage.models import Account, Contact, FieldCondition, PushDevice
from pushfake.dengage.state import DengageState


def in_segment(rule: tuple[FieldCondition, ...], fields: dict[str, Any]) -> bool:
    return all(_holds(c, fields) for c in rule)


def _holds(condition: FieldCondition, fields: dict[str, Any]) -> bool:
    present = condition.field in fields
    actual = fields.get(condition.field)
    if condition.op == "equals":
        return present and actual == condition.value
    if condition.op == "notEquals":
        return not present or actual != condition.value
    if condition.op == "in":
        return present and actual in condition.value
    if condition.op == "exists":
        return present == bool(condition.value)
    raise ValueError(f"unknown segment operator {condition.op!r}")


def contacts(state: DengageState, account: Account, segment_id: str | None,
             table_id: str | None) -> dict[str, Contact]:
    table = state.contacts(account.id)
    if segment_id is not None:
        rule = account.segments[segment_id].rule
        return {c.key: c for c in table.values() if in_segment(rule, c.fields)}
    if table_id is not None:
        keys = account.tables[table_id].contact_keys
        return {k: c for k in keys if (c := table.get(k)) is not None}
    return {c.key: c for c in table.values()}


def devices(state: DengageState, account: Account, chosen: dict[str, Contact],
            application_ids: tuple[str, ...], engaged_only: bool,
            usable: Callable[[str, Any], bool]) -> list[PushDevice]:
    """Every reachable device of the chosen contacts in the applications, in the store's order.

    `usable(platform, token)` says whether a gateway still accepts the token; one it rejected
    (unregistered, invalid) is no longer reachable.
    """
    apps = set(application_ids)
    return [
        d for d in state.devices(account.id).values()
        if d.contact_key in chosen and d.application_id in apps and (d.engaged or not engaged_only)
        and usable(d.platform, d.token)
    ]
