"""httpx transports that answer from a fake's ASGI app in this process, with no socket.

Async clients run the app in their own event loop. Blocking clients hand the request to one
background event-loop thread and wait for its answer, so they work the same from plain tests,
from other threads and from inside an async test.

A fault that cuts the connection (reset, truncate) or never answers (hang) has no socket to act
on here; it reaches the client as the httpx error a live server would cause.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

import httpx

from pushfake.faults.asgi import DroppedConnection

CLIENT_ADDRESS = ("127.0.0.1", 50000)  # the control plane answers loopback callers only


class LoopThread:
    """One event loop in a daemon thread, for blocking callers."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._started()).result()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="pushfake-in-process", daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def close(self) -> None:
        with self._lock:
            loop, self._loop, thread, self._thread = self._loop, None, self._thread, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Send every request to `app`, whatever its host."""

    def __init__(self, app: Any, loop: LoopThread) -> None:
        async def answered(scope: Any, receive: Any, send: Any) -> None:
            try:
                await app(scope, receive, send)
            except DroppedConnection:
                raise
            except Exception:  # noqa: BLE001, S110 - answered 500 already, and kept in the fake's failures
                pass

        self._asgi = httpx.ASGITransport(app=answered, client=CLIENT_ADDRESS)
        self._loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._asgi.handle_async_request(request)
        except DroppedConnection as dropped:
            raise _as_httpx_error(dropped, request) from None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=request.read(),
                             extensions=request.extensions)

        async def answer() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self.handle_async_request(copy)
            return response.status_code, response.headers.raw, await response.aread()

        status, headers, content = self._loop.run(answer())
        return httpx.Response(status, headers=headers, content=content, request=request)


def _as_httpx_error(dropped: DroppedConnection, request: httpx.Request) -> httpx.TransportError:
    """What httpx raises when a live server does what the fault does."""
    if dropped.kind == "hang":
        return httpx.ReadTimeout(f"{dropped} (no answer before the timeout)", request=request)
    if dropped.kind == "truncate":
        return httpx.RemoteProtocolError(f"{dropped}: the body ended early", request=request)
    return httpx.ReadError(f"{dropped}: connection reset by peer", request=request)
