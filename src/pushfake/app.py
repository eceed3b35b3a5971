"""The ASGI application: vendor routes and the control plane over one `Fake`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from pushfake.batches import StoreBatches
from pushfake.control import routes as control_routes
from pushfake.control.security import PREFIX, AdminTokenMiddleware
from pushfake.core.clock import SystemClock
from pushfake.core.store import MemoryStore
from pushfake.core import admin
from pushfake.core.server_limits import (DRAIN_MULTIPLE, MAX_TARGET_BYTES, TARGET_TOO_LONG, ServerLimits,
                                         accept_burst, guarded)
from pushfake.dengage import errors as dengage_errors
from pushfake.dengage import routes as dengage_routes
from pushfake.fake import Fake
from pushfake.faults.asgi import Connections, DroppedConnection
from pushfake.inbox import routes as inbox_routes
from pushfake.leanplum import errors as leanplum_errors
from pushfake.leanplum import routes as leanplum_routes
from pushfake.site import routes as site_routes

log = logging.getLogger("pushfake")


def create_app(fake: Fake | None = None, *, admin_token: str | None = None, **fake_options: Any) -> Starlette:
    """An ASGI app serving `fake` (or a new `Fake(**fake_options)`); `app.state.fake` holds it.

    `admin_token`: when given, every control-plane request must carry it (`pushfake serve`
    passes one when it binds a non-loopback address). `app.state.connections` lets faults cut
    connections when the app is served by uvicorn with `uvicorn_config` (`Connections.of` finds
    it from a request's scope).
    """
    if fake is None:
        fake = Fake(**fake_options)
    elif fake_options:
        raise TypeError("pass either a Fake or options to build one, not both")
    connections = Connections()

    def vendor_error(request: Request, status: int, message: str) -> Response:
        path = request.url.path
        if path.startswith(PREFIX):
            return control_routes.error_response(status, message)
        render = dengage_routes.error_response if path.startswith("/rest") else leanplum_routes.error_response
        return render(status, message)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"Not found: {request.url.path}", 405: f"Method {request.method} not allowed."}
        response = vendor_error(request, exc.status_code, message.get(exc.status_code, exc.detail))
        response.headers.update(exc.headers or {})
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, DroppedConnection):  # a fault, on purpose
            log.exception("pushfake failed on %s %s", request.method, request.url.path)
            fake.failures.record(f"{request.method} {request.url.path}", exc, fake.clock.now())
        return vendor_error(request, 500, f"pushfake internal error: {type(exc).__name__}")

    @contextlib.asynccontextmanager
    async def scheduled_work() -> AsyncIterator[None]:
        """On real time, run scheduled work as it falls due, and keep GC pauses short."""
        tasks = []
        if isinstance(fake.clock, SystemClock):
            lease = getattr(fake.store, "lease", None)  # a shared store: one process runs the due work
            tasks = [asyncio.create_task(fake.scheduler.run_forever(lease=lease("scheduler") if lease else None)),
                     asyncio.create_task(_freeze_stored_state())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """Scheduled work while serving; a shared store writes from this event loop meanwhile."""
        on_loop = getattr(fake.store, "on_this_loop", None)
        async with on_loop() if on_loop else contextlib.nullcontext(), scheduled_work():
            yield

    app = Starlette(
        routes=[
            *leanplum_routes.routes(fake.leanplum, fake.traffic, fake.deliveries),
            *dengage_routes.routes(fake.dengage, fake.traffic, fake.deliveries),
            *inbox_routes.routes(fake),
            *site_routes.routes(fake),
            *control_routes.routes(fake),
        ],
        middleware=[*([] if isinstance(fake.store, MemoryStore) else [Middleware(StoreBatches, store=fake.store, outside=PREFIX)]),
                    *([Middleware(AdminTokenMiddleware, token=admin_token)] if admin_token else [])],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.fake = fake
    app.state.connections = connections
    return app


def parser_refusal(target: bytes, reason: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The answer to a request uvicorn's parser cannot take (`server_limits.Refuse`): a target
    too long (414) or a malformed request (400), in the error shape of the API its path names
    (`/api`: Leanplum's, `/rest`: D·engage's), else the control plane's plain JSON error."""
    path = _target_path(target)
    status = 414 if reason == TARGET_TOO_LONG else 400
    if path.startswith("/api"):
        response = leanplum_routes.error_response(status, leanplum_errors.parser_refusal(status, MAX_TARGET_BYTES))
    elif path.startswith("/rest"):
        response = dengage_routes.error_response(status, dengage_errors.parser_refusal(status, MAX_TARGET_BYTES))
    else:
        message = admin.TARGET_TOO_LONG if status == 414 else admin.MALFORMED_REQUEST
        response = control_routes.error_response(status, message.format(limit=MAX_TARGET_BYTES))
    return response.status_code, response.raw_headers, bytes(response.body)


def _target_path(target: bytes) -> str:
    """The path of a request target, in origin form (`/api?x`) or absolute form (`http://h/api`)."""
    text = target.decode("latin-1")
    if not text.startswith("/") and "://" in text:
        text = "/" + text.split("://", 1)[1].partition("/")[2]
    return text.partition("?")[0]


def uvicorn_config(app: Starlette, *, limits: ServerLimits | None = None,
                   middleware: Callable[[ASGIApp], ASGIApp] | None = None, http: str = "auto",
                   **options: Any) -> Any:
    """A `uvicorn.Config` for `app` whose connections the app's faults can cut (reset, hang,
    truncate), whose graceful shutdown does not wait for a hanging request, and whose slow or
    idle clients cannot exhaust it (`limits`: header and body deadlines, a connection cap; see
    `pushfake.core.server_limits`). What the HTTP parser refuses is answered in the vendor's
    shape (`parser_refusal`), the same on either parser (`http`: "auto", "h11", "httptools").
    `middleware` wraps the whole app (`pushfake serve`'s access log); uvicorn's own access log is
    off, as it cannot name the vendor operation."""
    import uvicorn
    from uvicorn.config import HTTP_PROTOCOLS
    from uvicorn.importer import import_from_string

    fake: Fake = app.state.fake

    def drain_bytes() -> int:
        """How much of an oversized body is read (and dropped) after its 413: a few times the
        largest body a vendor accepts, so the client reads the answer instead of a reset."""
        return DRAIN_MULTIPLE * max(fake.leanplum.settings.max_body_bytes, fake.dengage.settings.max_body_bytes)

    options.setdefault("timeout_graceful_shutdown", 5)
    options.setdefault("access_log", False)
    options.setdefault("backlog", accept_burst())
    options.setdefault("h11_max_incomplete_event_size", 2 * MAX_TARGET_BYTES)  # a target at the limit, and headers
    if http not in ("auto", "h11", "httptools"):
        raise ValueError(f"http is 'auto', 'h11' or 'httptools', not {http!r}")
    base = app.state.connections.protocol_class(import_from_string(HTTP_PROTOCOLS[http]))
    protocol = guarded(base, limits or ServerLimits(), drain_bytes, parser_refusal)
    return uvicorn.Config(middleware(app) if middleware else app, http=protocol, **options)


async def _freeze_stored_state(every: float = 0.5) -> None:
    """After each full garbage collection, move its survivors out of later collections' scans.

    A busy server keeps every delivery it stores; without this each full collection walks all of
    them and its pause (100-400 ms seen) grows with the store. What survives a full collection is
    not cyclic garbage, so freezing it leaks nothing; objects dropped later (a reset) are still
    freed by reference counting, and `Fake.reset` unfreezes the rest.
    """
    collected = False

    def note(phase: str, info: dict[str, int]) -> None:
        nonlocal collected
        if phase == "stop" and info.get("generation") == 2:
            collected = True

    gc.callbacks.append(note)
    try:
        while True:
            await asyncio.sleep(every)
            if collected:
                collected = False
                gc.freeze()
    finally:
        gc.callbacks.remove(note)
