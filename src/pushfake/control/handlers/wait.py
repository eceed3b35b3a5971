"""A long-poll: answer once a delivery or a journal entry matching a filter exists, the
timeout passes, or the fake fails inside (what was awaited may then never come)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from pushfake.control.requests import json_body
from pushfake.control.views import (
    DELIVERY_FILTERS,
    JOURNAL_FILTERS,
    delivery_query,
    delivery_view,
    filters,
    journal_query,
)
from pushfake.core.changes import Changes
from pushfake.fake import Fake


async def wait(fake: Fake, request: Request) -> Any:
    body = await json_body(request, "wait")
    timeout = float(body.get("timeout", 10))
    changes, look = _watch(fake, body["for"], body.get("filter") or {})
    started = time.monotonic()
    failed_before = fake.failures.last_seq
    while True:
        change, failure = changes.subscribe(), fake.failures.changes.subscribe()
        try:
            found = look()
            left = timeout - (time.monotonic() - started)
            broken = fake.failures.list(after=failed_before)
            if found is not None or left <= 0 or broken:
                waited = {"waited": round(time.monotonic() - started, 3)}
                if found is None and broken:  # what was awaited may never come: say why now
                    return {"found": False, "failure": broken[0].to_dict(), **waited}
                return {"found": found is not None, **(found or {}), **waited}
            await asyncio.wait({change, failure}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changes.unsubscribe(change)
            fake.failures.changes.unsubscribe(failure)


def _watch(fake: Fake, kind: str, raw_filter: dict[str, Any]
           ) -> tuple[Changes, Callable[[], dict[str, Any] | None]]:
    """What to wake up on and how to look, for a wait on `kind` ('delivery' or 'request');
    the filter is checked (400) before any waiting."""
    if kind == "delivery":
        query = delivery_query(filters(raw_filter, DELIVERY_FILTERS, with_limit=False))

        def delivery() -> dict[str, Any] | None:
            rows = fake.deliveries.find(**query)
            return {"delivery": delivery_view(rows[0])} if rows else None

        return fake.deliveries.changes, delivery
    journal_filter = journal_query(filters(raw_filter, JOURNAL_FILTERS, with_limit=False))

    def request() -> dict[str, Any] | None:
        rows = fake.journal.find(journal_filter)
        return {"request": rows[0].to_dict()} if rows else None

    return fake.journal.changes, request
