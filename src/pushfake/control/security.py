"""The admin token: required on the control plane when the server binds a non-loopback address.

On loopback only local processes can reach the server, and the control plane is open (a token
given there is ignored). Bound anywhere else, every control-plane request must carry the token
(`Authorization: Bearer <token>` or `X-Pushfake-Admin-Token`). Vendor routes never look at
it: they keep their own authentication.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/_pushfake"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def admin_token_for(host: str, given: str | None) -> str | None:
    """The token a server bound to `host` requires: None on loopback, else `given` or a new one."""
    if is_loopback(host):
        return None
    return given or secrets.token_urlsafe(24)


class AdminTokenMiddleware:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-pushfake-admin-token", b"").decode("latin-1")
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if not given and authorization[:7].lower() == "bearer ":
            given = authorization[7:].strip()
        if given and hmac.compare_digest(given.encode(), self.token.encode()):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": {"status": 401, "message": "the control plane needs the admin token "
                                     "(Authorization: Bearer <token>); `pushfake serve` printed it at start-up"}})
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body.encode()})
