"""How the control plane shows records, and reads its query filters."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from pushfake.core.admin import AdminError
from pushfake.core.clock import Clock, SystemClock
from pushfake.core.deliveries import Delivery
from pushfake.core.journal import Query
from pushfake.core.times import iso

DELIVERY_FILTERS: dict[str, Callable[[str], Any]] = {
    "vendor": str, "app": str, "send": str, "user": str, "device": str, "state": str,
    "since": float, "until": float,
}
JOURNAL_FILTERS: dict[str, Callable[[str], Any]] = {
    "vendor": str, "operation": str, "app": str, "user": str, "status": int,
    "since": float, "until": float, "after": int,
}


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id, "vendor": d.vendor, "app": d.app_id, "send": d.send_id, "user": d.user_id,
        "device": d.device_id, "platform": d.platform, "token": d.token, "payload": d.payload,
        "state": d.state, "reason": d.reason, "attempts": d.attempts, "tokenRejected": d.token_rejected,
        "timeline": [{"state": s, "at": at, "reason": reason} for s, at, reason in d.timeline],
        "engagements": [{"kind": k, "at": at} for k, at, _ in d.engagements],
    }


def clock_view(clock: Clock) -> dict[str, Any]:
    """The clock as the control plane and the inbox show it: now, frozen or not, system or manual."""
    now = clock.now()
    kind = "system" if isinstance(clock, SystemClock) else "manual"
    return {"now": now, "iso": iso(now), "frozen": bool(getattr(clock, "frozen", True)), "kind": kind}


def shown(value: Any, limit: int = 60) -> str:
    """A client's value quoted in an error message, cut short: plain text in single quotes,
    anything else as JSON (never a Python repr: `true`, not `True`)."""
    if isinstance(value, str) and value.isprintable() and "'" not in value:  # surrogates are not printable
        text = f"'{value}'"
    else:
        text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= limit else f"{text[:limit - 1]}…"


def filters(raw: dict[str, Any], allowed: dict[str, Callable[[str], Any]], *, with_limit: bool) -> dict[str, Any]:
    """Typed filters from query parameters (or a wait call's `filter`); 400 on an unknown name
    or a value of the wrong type."""
    names = set(allowed) | ({"limit"} if with_limit else set())
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in names:
            raise AdminError(400, f"unknown filter {shown(name)}; filters are {', '.join(sorted(names))}")
        kind = int if name == "limit" else allowed[name]
        try:
            if isinstance(value, bool | dict | list):
                raise TypeError(name)
            out[name] = kind(value)
        except (TypeError, ValueError):
            raise AdminError(400, f"filter {shown(name)}: {shown(value)} is not {'a number' if kind is not str else 'text'}") \
                from None
        if isinstance(out[name], float) and not math.isfinite(out[name]):
            raise AdminError(400, f"filter {shown(name)}: {shown(value)} is not a finite number")
    if with_limit and out.get("limit", 1) < 1:
        raise AdminError(400, "filter 'limit' must be >= 1")
    return out


def delivery_query(f: dict[str, Any]) -> dict[str, Any]:
    """`DeliveryQueue.find` keyword arguments from delivery filters."""
    names = {"vendor": "vendor", "app": "app_id", "send": "send_id", "user": "user_id", "device": "device_id",
             "state": "state", "since": "since", "until": "until"}
    return {names[k]: v for k, v in f.items() if k in names}


def journal_query(f: dict[str, Any]) -> Query:
    return Query(**{k: v for k, v in f.items() if k != "limit"})

