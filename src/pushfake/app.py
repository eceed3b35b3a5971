"""The ASGI application: vendor routes over one `Fake`."""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pushfake.fake import Fake
from pushfake.leanplum import routes as leanplum_routes

log = logging.getLogger("pushfake")


def create_app(fake: Fake | None = None, **fake_options: Any) -> Starlette:
    """An ASGI app serving `fake` (or a new `Fake(**fake_options)`); `app.state.fake` holds it."""
    if fake is None:
        fake = Fake(**fake_options)
    elif fake_options:
        raise TypeError("pass either a Fake or options to build one, not both")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"Not found: {request.url.path}", 405: f"Method {request.method} not allowed."}
        response = leanplum_routes.error_response(exc.status_code, message.get(exc.status_code, exc.detail))
        response.headers.update(exc.headers or {})
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("pushfake failed on %s %s", request.method, request.url.path)
        return leanplum_routes.error_response(500, f"pushfake internal error: {type(exc).__name__}")

    app = Starlette(
        routes=leanplum_routes.routes(fake.leanplum, fake.deliveries),
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.fake = fake
    return app
