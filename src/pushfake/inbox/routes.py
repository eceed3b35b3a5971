"""The inbox's routes, under `/_pushfake/inbox` (so the admin-token middleware covers them):
the page, its three fragments (what the page's script swaps in on a live update), the event
stream and the static script and style sheet shipped in the package."""

from __future__ import annotations

import importlib.resources
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pushfake.fake import Fake
from pushfake.inbox.events import event_stream
from pushfake.inbox.panels import DEFAULT_REQUESTS, MAX_REQUESTS, request_rows, state_panel
from pushfake.inbox.query import STATES, FilterError, parse_filters
from pushfake.inbox.render import render
from pushfake.inbox.view import inbox_page

BASE = "/_pushfake/inbox"
API = "/_pushfake"
NO_STORE = {"Cache-Control": "no-store"}


def routes(fake: Fake) -> list[BaseRoute]:
    def html(template: str, code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(render(template, base=BASE, api=API, **context), code, headers=NO_STORE)

    async def page(request: Request) -> Response:
        try:
            filters = parse_filters(request.query_params.multi_items())
            inbox = inbox_page(fake, filters)
        except FilterError as exc:
            return html("error.html", 400, status=400, message=str(exc))
        return html("page.html", inbox=inbox, form=filters.form(), states=STATES,
                    rows=request_rows(fake, DEFAULT_REQUESTS), state=state_panel(fake))

    async def devices(request: Request) -> Response:
        try:
            inbox = inbox_page(fake, parse_filters(request.query_params.multi_items()))
        except FilterError as exc:
            return html("problem.html", 400, section="devices", message=str(exc))
        return html("devices.html", inbox=inbox)

    async def requests(request: Request) -> Response:
        raw = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        limit = DEFAULT_REQUESTS
        if raw:
            name, value = raw[0]
            if len(raw) > 1 or name != "limit" or not value.isdecimal() or not 1 <= int(value) <= MAX_REQUESTS:
                return html("problem.html", 400, section="requests",
                            message=f"the request log takes only 'limit', a number from 1 to {MAX_REQUESTS}")
            limit = int(value)
        return html("requests.html", rows=request_rows(fake, limit))

    async def state(request: Request) -> Response:
        return html("state.html", state=state_panel(fake))

    async def events(request: Request) -> Response:
        return event_stream(request, fake.deliveries.changes, fake.journal.changes)

    static = importlib.resources.files("pushfake.inbox") / "static"
    return [
        Route(BASE, page, methods=["GET"]),
        Route(f"{BASE}/devices", devices, methods=["GET"]),
        Route(f"{BASE}/requests", requests, methods=["GET"]),
        Route(f"{BASE}/state", state, methods=["GET"]),
        Route(f"{BASE}/events", events, methods=["GET"]),
        Mount(f"{BASE}/static", StaticFiles(directory=str(static)), name="inbox-static"),
    ]
