"""Each vendor request is one turn at the store (`Store.turn`), written before its answer starts.

A shared store (Redis) then writes a request's transactions in one round trip instead of one per
transaction, shared with the requests beside it, and it writes them before the response starts:
a client never hears of a change that another process cannot read yet, nor of one a crash would
lose. The memory store's turn is nothing, so the fake in one process pays nothing for this (the
app does not even add this middleware on it).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushfake.core.store import Store


class StoreBatches:
    """ASGI middleware: each vendor request one `store.turn()`; every request's writes in the
    store (`store.flushed()`) before its response starts. Paths under `outside` (the control
    plane, whose long-polls would hold a turn for seconds) commit transaction by transaction."""

    def __init__(self, app: ASGIApp, store: Store, outside: str) -> None:
        self.app, self.store, self.outside = app, store, outside

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        store = self.store

        async def flushed_first(message: Message) -> None:
            if message["type"] == "http.response.start":
                await store.flushed()
            await send(message)

        if scope["path"].startswith(self.outside):
            await self.app(scope, receive, flushed_first)
            return
        async with store.turn():
            await self.app(scope, receive, flushed_first)
