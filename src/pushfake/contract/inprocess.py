"""The in-process target: a fresh fake and its app in this process, reached with no socket. The
`requests` adapter answers from the app, so the in-process target is a plain `requests.Session`
like every other target; the control plane is a `Client` over the same app."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import requests.adapters
import urllib3
from requests.structures import CaseInsensitiveDict

from pushfake.app import create_app
from pushfake.asgi_transport import CLIENT_ADDRESS, FakeTransport, LoopThread, exchange
from pushfake.client import Client
from pushfake.contract import wire
from pushfake.core.clock import ManualClock
from pushfake.fake import Fake

IN_PROCESS_URL = "http://pushfake.local"
START = 1767225600.0  # 2026-01-01T00:00:00Z: where the in-process fake's clock starts


@dataclass
class InProcessFake:
    """A fake with `seed` on a manual clock at START: its adapter, its control plane, and what
    closes them."""

    adapter: requests.adapters.BaseAdapter
    control: Client
    closers: list[Any]

    @classmethod
    def open(cls, seed: int) -> InProcessFake:
        app = create_app(Fake(seed=seed, clock=ManualClock(START)))
        loop = LoopThread()
        control = Client(IN_PROCESS_URL, transport=FakeTransport(app, loop))
        return cls(InProcessAdapter(app, loop), control, [loop.close, control.close])


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

