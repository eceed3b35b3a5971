"""A `requests` adapter that answers from a fake's ASGI app in this process, with no socket, so
the in-process target is a plain `requests.Session` like every other target."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import requests.adapters
import urllib3
from requests.structures import CaseInsensitiveDict

from pushfake.asgi_transport import CLIENT_ADDRESS, LoopThread, exchange
from pushfake.contract import wire


class InProcessAdapter(requests.adapters.BaseAdapter):
    def __init__(self, app: Any, loop: LoopThread) -> None:
        super().__init__()
        self._app = app
        self._loop = loop

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
            "headers": [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in request.headers.items()],
            "scheme": parts.scheme, "path": unquote(parts.path or "/"),
            "raw_path": (parts.path or "/").encode("latin-1"), "query_string": parts.query.encode("latin-1"),
            "server": (parts.hostname or "pushfake.local", parts.port or 80), "client": CLIENT_ADDRESS,
            "root_path": "",
        }
        status, headers, content = self._loop.run(exchange(self._app, scope, wire.body_bytes(request)))
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(pairs)
        # What a network adapter leaves in `raw`: some readers (Schemathesis) take headers from it.
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(content), headers=urllib3.HTTPHeaderDict(pairs),
                                            status=status, version=11, preload_content=False)
        response._content = content
        response.url = request.url or ""
        response.request = request
        response.reason = ""
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def close(self) -> None:
        pass

