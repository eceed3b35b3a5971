"""The site's routes: the index at `/_pushfake/` (JSON for a client, HTML for a browser), the specs
at `/_pushfake/openapi/{name}.{yaml,json}`, the docs pages at `/_pushfake/docs[/{name}]`, all
under the control plane's prefix so the admin-token middleware covers them; and `/`, which
sends a browser to the index and answers anything else as before (the Leanplum 404: `/` is no
vendor's path).

A request that names no spec, or no format, is a 404 in the control plane's error shape.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from pushfake.control.routes import error_response, ok
from pushfake.control.security import PREFIX
from pushfake.control.views import shown
from pushfake.core.resources import SPEC_FILES
from pushfake.fake import Fake
from pushfake.inbox.render import environment
from pushfake.site.docs import docs_page
from pushfake.site.index import index, links
from pushfake.site.negotiation import wants_html
from pushfake.site.specs import UnknownSpec, check_name, not_modified, served, split_file_name

INDEX = f"{PREFIX}/"
NO_STORE = {"Cache-Control": "no-store", "Vary": "Accept"}
REVALIDATE = "no-cache"  # cacheable, checked with If-None-Match each time (a new version changes them)


def render(template: str, **context: Any) -> str:
    return environment("pushfake.site").get_template(template).render(prefix=PREFIX, links=links(), **context)


@functools.cache
def docs_html(name: str | None) -> str:
    """The docs page of spec `name` (None: the page listing all three), rendered once: the
    documents do not change while the server runs."""
    if name is None:
        return render("docs_index.html", pages=[docs_page(n) for n in SPEC_FILES])
    return render("docs.html", page=docs_page(name))


def routes(fake: Fake) -> list[BaseRoute]:
    async def front(request: Request) -> Response:
        data = index(fake)
        if wants_html(request.headers.get("accept", "")):
            return HTMLResponse(render("index.html", index=data), headers=NO_STORE)
        response = ok(data)
        response.headers.update(NO_STORE)
        return response

    async def spec(request: Request) -> Response:
        try:
            document = served(*split_file_name(request.path_params["file"]))
        except UnknownSpec as exc:
            return _unknown(exc)
        headers = {"ETag": document.etag, "Cache-Control": REVALIDATE}
        if not_modified(request.headers.get("if-none-match"), document.etag):
            return Response(status_code=304, headers=headers)
        return Response(document.body, media_type=document.media_type, headers=headers)

    async def docs(request: Request) -> Response:
        return HTMLResponse(docs_html(None))

    async def docs_of(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            check_name(name)
        except UnknownSpec as exc:
            return _unknown(exc)
        return HTMLResponse(docs_html(name))

    return [
        Route(INDEX, front, methods=["GET"]),
        Route(f"{PREFIX}/openapi/{{file}}", spec, methods=["GET"]),
        Route(f"{PREFIX}/docs", docs, methods=["GET"]),
        Route(f"{PREFIX}/docs/{{name}}", docs_of, methods=["GET"]),
        Route("/", RootRedirect()),  # an ASGI app, not a function: every method reaches it, as before
    ]


class RootRedirect:
    """`/` for a browser (GET or HEAD, HTML accepted): a 307 to the index. Anything else is the
    404 it always was, rendered by the app's handler in Leanplum's error shape."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method in ("GET", "HEAD") and wants_html(request.headers.get("accept", "")):
            response = Response(status_code=307, headers={"Location": INDEX, "Vary": "Accept"})
            await response(scope, receive, send)
            return
        raise HTTPException(404, headers={"Vary": "Accept"})


def _unknown(exc: UnknownSpec) -> Response:
    return error_response(404, f"no {exc.kind} {shown(exc.what)}: {exc.expected}")
