"""The request journal: what reached the vendor routes, filtered; and clearing it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pushfake.control.views import JOURNAL_FILTERS, filters, journal_query
from pushfake.fake import Fake


async def list_journal(fake: Fake, request: Request) -> Any:
    f = filters(dict(request.query_params), JOURNAL_FILTERS, with_limit=True)
    entries = fake.journal.find(journal_query(f), f.get("limit"))
    return {"entries": [e.to_dict() for e in entries], "size": fake.journal.size}


async def clear_journal(fake: Fake, request: Request) -> Any:
    fake.journal.clear()
    return {"ok": True}
