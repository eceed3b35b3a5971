"""Every vendor request takes one path, the same for both vendors: the vendor's routes read it
off the wire, its service describes it once (`plumbing.Ask`), the fault rules pick, the service
answers, the vendor renders the answer, the journal records it.

Vendor-neutral: a vendor gives a `VendorApi` its service, how its body is decoded and how its
answers and errors look; the routes only say which paths (and, for D·engage, which operation
each method is) lead to it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from pushfake.core.clock import Clock, wire_wait
from pushfake.core.decoding import DecodeError, query_params, read_body
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.journal import Entry, Journal, encode_params
from pushfake.core.limits import retry_after_header
from pushfake.faults.asgi import FaultResponse
from pushfake.faults.book import FaultBook
from pushfake.plumbing import Answer, Ask, Wire

Endpoint = Callable[[Request], Awaitable[Response]]
OPERATION_KEY = "pushfake.operation"  # the ASGI scope key the vendor operation is recorded under


@dataclass(slots=True)
class Handled:
    """A vendor's rendered answer, and the rate limit that refused it (if one did)."""

    response: Response
    limit: str | None = None


class VendorService(Protocol):
    """What a vendor's service gives the plumbing: it describes a request once, then answers it."""

    settings: Any  # has `max_body_bytes`

    def describe(self, wire: Wire) -> Ask: ...

    async def answer(self, ask: Any) -> Answer: ...


class Responder(Protocol):
    """What `Traffic.run` asks of a vendor: its answer to a request, and its error body."""

    async def respond(self, ask: Any) -> Handled: ...

    def error(self, status: int, message: str | None) -> Response: ...


@dataclass(frozen=True, slots=True)
class VendorApi:
    """One vendor on the shared plumbing: its service, how its body is decoded, how its answers
    and its errors look (`error`: a status with a text, or None for the vendor's default text)."""

    service: VendorService
    traffic: Traffic
    deliveries: DeliveryQueue
    read_body: Callable[[Request, bytes], Awaitable[Any]]
    render: Callable[[Answer, BackgroundTask | None], Response]
    error: Callable[[int, str | None], Response]

    def endpoint(self, operations: Mapping[str, str] | None = None) -> Endpoint:
        """The Starlette endpoint; `operations`: the operation each method is, where the route says."""

        async def serve(request: Request) -> Response:
            wire = await self._read(request, operations or {})
            ask = self.service.describe(wire)
            request.scope[OPERATION_KEY] = ask.facts.operation
            return await self.traffic.run(self, ask, wire.raw)

        return serve

    async def _read(self, request: Request, operations: Mapping[str, str]) -> Wire:
        wire = Wire(request.method, request.url.path, request.headers,
                    operations.get(request.method if request.method != "HEAD" else "GET"))
        try:
            wire.query = query_params(request)
            if request.method == "POST":
                wire.raw = await read_body(request, self.service.settings.max_body_bytes)
                wire.body = await self.read_body(request, wire.raw)
        except DecodeError as exc:
            wire.failure = exc
        return wire

    async def respond(self, ask: Ask) -> Handled:
        answer = await self.service.answer(ask)
        task = None
        if answer.pending and self.deliveries.hand_off_before_answer:
            self.deliveries.hand_off_now(answer.pending)
        elif answer.pending:
            task = BackgroundTask(self.deliveries.hand_off, answer.pending)
        return Handled(self.render(answer, task), answer.limit)


class Traffic:
    def __init__(self, faults: FaultBook, journal: Journal, clock: Clock) -> None:
        self.faults = faults
        self.journal = journal
        self._clock = clock

    async def run(self, vendor: Responder, ask: Ask, body: bytes | None) -> Response:
        """The response to one request (`body`: as sent): a fault's, or the vendor's answer."""
        started = time.perf_counter()
        facts = ask.facts
        entry = Entry(self.journal.next_seq(), self._clock.now(), facts.vendor, facts.method, facts.path,
                      facts.operation, facts.app, facts.user, b"{}", body or None, items=facts.items,
                      users=facts.users)
        try:
            picked = self.faults.pick(facts)
            if picked is None:
                handled = await vendor.respond(ask)
                entry.status, entry.response, entry.limit = (handled.response.status_code, handled.response.body,
                                                             handled.limit)
                return handled.response
            rule, fault = picked
            entry.fault = f"{rule.id}: {fault.short}"
            delay = self.faults.draw(fault)
            if delay > 0:
                await wire_wait(self._clock, delay)
            inner = await vendor.respond(ask) if fault.process else None
            if inner is not None:
                entry.status, entry.response, entry.limit = inner.response.status_code, inner.response.body, inner.limit
            if fault.kind in ("pass", "latency"):
                return inner.response if inner is not None else vendor.error(500, None)
            if fault.kind == "error":
                response = vendor.error(fault.status, fault.message)
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = retry_after_header(fault.retry_after)
                response.background = inner.response.background if inner is not None else None
                entry.status, entry.response = fault.status, response.body
                return response
            if fault.kind in ("reset", "hang"):
                entry.status, entry.response = 0, None  # the client got no answer
            return FaultResponse(fault, inner.response if inner is not None else None, self._clock)
        except BaseException:
            entry.status = 500
            raise
        finally:
            entry.duration_ms = (time.perf_counter() - started) * 1000
            if self.journal.enabled:
                entry.params = encode_params(ask.params)
                self.journal.add(entry)
