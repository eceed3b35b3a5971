"""Every vendor request passes through here: the fault rules pick, the vendor answers, the
journal records. Vendor-neutral: a vendor's routes say what the request is (`RequestFacts`),
how to answer it, and how their error body looks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.responses import Response

from pushfake.core.clock import Clock, wire_wait
from pushfake.core.journal import Entry, Journal, encode_params
from pushfake.core.limits import retry_after_header
from pushfake.faults.asgi import Connections, FaultResponse
from pushfake.faults.book import FaultBook
from pushfake.faults.rules import RequestFacts

ErrorRenderer = Callable[[int, str | None], Response]  # (status, text or the vendor's default)


@dataclass(slots=True)
class Handled:
    """A vendor's answer, and the rate limit that refused it (if one did)."""

    response: Response
    limit: str | None = None


class Traffic:
    def __init__(self, faults: FaultBook, journal: Journal, clock: Clock) -> None:
        self.faults = faults
        self.journal = journal
        self._clock = clock

    async def run(self, facts: RequestFacts, body: bytes | None, handle: Callable[[], Awaitable[Handled]],
                  render_error: ErrorRenderer, connections: Connections | None) -> Response:
        """The response to one request (`body`: as sent); `connections` lets a fault cut the
        request's connection."""
        started = time.perf_counter()
        entry = Entry(self.journal.next_seq(), self._clock.now(), facts.vendor, facts.method, facts.path,
                      facts.operation, facts.app, facts.user, b"{}", body or None, items=facts.items)
        try:
            picked = self.faults.pick(facts)
            if picked is None:
                handled = await handle()
                entry.status, entry.response, entry.limit = (handled.response.status_code, handled.response.body,
                                                             handled.limit)
                return handled.response
            rule, fault = picked
            entry.fault = f"{rule.id}: {fault.short}"
            delay = self.faults.draw(fault)
            if delay > 0:
                await wire_wait(self._clock, delay)
            inner = await handle() if fault.process else None
            if inner is not None:
                entry.status, entry.response, entry.limit = inner.response.status_code, inner.response.body, inner.limit
            if fault.kind in ("pass", "latency"):
                return inner.response if inner is not None else render_error(500, None)
            if fault.kind == "error":
                response = render_error(fault.status, fault.message)
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = retry_after_header(fault.retry_after)
                response.background = inner.response.background if inner is not None else None
                entry.status, entry.response = fault.status, response.body
                return response
            if fault.kind in ("reset", "hang"):
                entry.status, entry.response = 0, None  # the client got no answer
            return FaultResponse(fault, inner.response if inner is not None else None, connections, self._clock)
        except BaseException:
            entry.status = 500
            raise
        finally:
            entry.duration_ms = (time.perf_counter() - started) * 1000
            if self.journal.enabled:
                entry.params = encode_params(facts.params)
                self.journal.add(entry)
