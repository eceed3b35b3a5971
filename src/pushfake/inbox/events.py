"""The inbox's live updates: a server-sent event stream saying *what* changed, never the data.

`ready` at once; `deliveries` when a delivery is recorded, moves on or is engaged; `requests`
when the journal records a vendor call. A burst of changes becomes one event of each kind per
`COALESCE` seconds (the page refetches what it shows, so more would only add load). A comment
every `PING` seconds keeps proxies from closing an idle stream.

The stream ends when the client goes (Starlette listens for the disconnect) and when the server
shuts down: the connection is registered with `Connections.hold`, so a graceful shutdown cuts it
instead of waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from pushfake.core.changes import Changes
from pushfake.faults.asgi import Connections

COALESCE = 0.2  # real seconds: a pace for a person's screen, not simulated time
PING = 15.0


def event_stream(request: Request, deliveries: Changes, journal: Changes, *, coalesce: float = COALESCE,
                 ping: float = PING) -> StreamingResponse:
    connections = Connections.of(request.scope)
    if connections is not None and connections.transport(request.scope) is not None:
        connections.hold(request.scope)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_events(deliveries, journal, coalesce, ping), media_type="text/event-stream",
                             headers=headers)


async def _events(deliveries: Changes, journal: Changes, coalesce: float, ping: float) -> AsyncIterator[str]:
    moved, called = deliveries.subscribe(), journal.subscribe()
    try:
        yield "retry: 2000\nevent: ready\ndata: {}\n\n"
        while True:
            done, _ = await asyncio.wait({moved, called}, timeout=ping, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                yield ": ping\n\n"
                continue
            await asyncio.sleep(coalesce)  # let the rest of a burst land in this event
            out = []
            if moved.done():
                moved = deliveries.subscribe()  # before sending: a change meanwhile is not lost
                out.append("event: deliveries\ndata: {}\n\n")
            if called.done():
                called = journal.subscribe()
                out.append("event: requests\ndata: {}\n\n")
            yield "".join(out)
    finally:
        deliveries.unsubscribe(moved)
        journal.unsubscribe(called)
