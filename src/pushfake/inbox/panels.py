"""The request log and the state panel as display rows: recent vendor calls with the warning or
error their answer carried, and the faults, rate limits and clock in force."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pushfake.control.views import clock_view
from pushfake.core.journal import Entry, Query
from pushfake.core.times import iso
from pushfake.fake import Fake
from pushfake.inbox.view import readable

DEFAULT_REQUESTS = 50
MAX_REQUESTS = 1000


@dataclass(frozen=True, slots=True)
class RequestRow:
    seq: int
    iso: str
    text: str
    vendor: str
    method: str
    path: str
    operation: str
    status: int
    message: str | None
    fault: str | None
    limit: str | None


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: str
    kind: str
    what: str


@dataclass(frozen=True, slots=True)
class StatePanel:
    clock_iso: str
    clock_text: str
    clock_kind: str
    frozen: bool
    faults: list[RuleRow]
    limits: list[RuleRow]
    gateway: str


def request_rows(fake: Fake, limit: int) -> list[RequestRow]:
    """The newest `limit` vendor requests, newest first."""
    return [RequestRow(e.seq, iso(e.at), readable(e.at), e.vendor, e.method, e.path, e.operation or "?", e.status,
                       answer_message(e), e.fault, e.limit)
            for e in reversed(fake.journal.find(Query(), limit))]


def answer_message(entry: Entry) -> str | None:
    """The warning or error text an answer carried: each element's `warning` / `error` message of
    a Leanplum `response` list, or the `message` of an error body (D·engage's, the control plane's)."""
    if not entry.response:
        return None
    try:
        body = json.loads(entry.response)
    except ValueError:
        return None if entry.status < 400 else entry.response[:200].decode("utf-8", errors="replace")
    if not isinstance(body, dict):
        return None
    messages: list[str] = []
    items = body.get("response")
    if isinstance(items, list):
        for item in items:
            for key in ("error", "warning"):
                found = item.get(key) if isinstance(item, dict) else None
                if isinstance(found, dict) and isinstance(found.get("message"), str):
                    messages.append(found["message"])
    elif entry.status >= 400 and isinstance(body.get("message"), str):
        messages.append(body["message"])
    return "; ".join(dict.fromkeys(messages)) or None


def state_panel(fake: Fake) -> StatePanel:
    clock = clock_view(fake.clock)
    faults = [RuleRow(rule.id, " then ".join(step.short for step in rule.steps), _what(rule.match.to_dict()))
              for rule in fake.faults.rules()]
    limits = []
    for limit in fake.limits.limits():
        described = limit.to_dict()
        kind = described.pop("kind")
        limit_id = described.pop("id")
        limits.append(RuleRow(limit_id, kind, _what(described)))
    return StatePanel(
        clock_iso=clock["iso"], clock_text=readable(clock["now"]), clock_kind=clock["kind"], frozen=clock["frozen"],
        faults=faults, limits=limits,
        gateway=json.dumps(fake.gateway.section, indent=1, sort_keys=True, default=str),
    )


def _what(described: dict[str, Any]) -> str:
    parts = [f"{k}={v if not isinstance(v, dict | list) else json.dumps(v, separators=(',', ':'))}"
             for k, v in described.items() if v is not None]
    return " ".join(parts) or "every request"
