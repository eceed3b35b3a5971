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
    """Send every request to `app`, whatever its host. (httpx's own ASGITransport would do, but
    it looks for trio with a failing import on every request: ~150 µs each.)"""

    def __init__(self, app: Any, loop: LoopThread) -> None:
        self._app = app
        self._loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._answer(request, await request.aread())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._loop.run(self._answer(request, request.read()))

    async def _answer(self, request: httpx.Request, body: bytes) -> httpx.Response:
        try:
            status, headers, content = await exchange(self._app, scope_of(request), body)
        except DroppedConnection as dropped:
            raise _as_httpx_error(dropped, request) from None
        return httpx.Response(status, headers=headers, content=content, request=request)


def scope_of(request: httpx.Request) -> dict[str, Any]:
    url = request.url
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
        "headers": [(k.lower(), v) for k, v in request.headers.raw], "scheme": url.scheme, "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0], "query_string": url.query,
        "server": (url.host, url.port), "client": CLIENT_ADDRESS, "root_path": "",
    }


async def exchange(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, list[Any], bytes]:
    """One request through the ASGI app: (status, headers, body). An error inside the app after
    it answered (a 500, recorded in the fake's failures) is not raised again: a client of the
    real service would only see the 500."""
    done = asyncio.Event()
    sent_body = False
    status, headers, parts = 500, [], []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if sent_body:
            await done.wait()
            return {"type": "http.disconnect"}
        sent_body = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            if scope["method"] != "HEAD":
                parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    except DroppedConnection:
        raise
    except Exception:
        if not done.is_set():
            raise
    return status, headers, b"".join(parts)


def _as_httpx_error(dropped: DroppedConnection, request: httpx.Request) -> httpx.TransportError:
    """What httpx raises when a live server does what the fault does."""
    if dropped.kind == "hang":
        return httpx.ReadTimeout(f"{dropped} (no answer before the timeout)", request=request)
    if dropped.kind == "truncate":
        return httpx.RemoteProtocolError(f"{dropped}: the body ended early", request=request)
    return httpx.ReadError(f"{dropped}: connection reset by peer", request=request)
