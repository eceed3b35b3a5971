"""The ASGI application: vendor routes over one `Fake`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pushfake.core.clock import SystemClock
from pushfake.dengage import routes as dengage_routes
from pushfake.fake import Fake
from pushfake.leanplum import routes as leanplum_routes

log = logging.getLogger("pushfake")


def create_app(fake: Fake | None = None, **fake_options: Any) -> Starlette:
    """An ASGI app serving `fake` (or a new `Fake(**fake_options)`); `app.state.fake` holds it."""
    if fake is None:
        fake = Fake(**fake_options)
    elif fake_options:
        raise TypeError("pass either a Fake or options to build one, not both")

    def vendor_error(request: Request, status: int, message: str) -> Response:
        render = dengage_routes.error_response if request.url.path.startswith("/rest") else leanplum_routes.error_response
        return render(status, message)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"Not found: {request.url.path}", 405: f"Method {request.method} not allowed."}
        response = vendor_error(request, exc.status_code, message.get(exc.status_code, exc.detail))
        response.headers.update(exc.headers or {})
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("pushfake failed on %s %s", request.method, request.url.path)
        return vendor_error(request, 500, f"pushfake internal error: {type(exc).__name__}")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """On real time, run scheduled work (future D·engage sends) as it falls due."""
        task = asyncio.create_task(fake.scheduler.run_forever()) if isinstance(fake.clock, SystemClock) else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=[
            *leanplum_routes.routes(fake.leanplum, fake.deliveries),
            *dengage_routes.routes(fake.dengage, fake.deliveries, fake.clock),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.fake = fake
    return app
