"""The admin token: required on the control plane when the server binds a non-loopback address.

On loopback only local processes can reach the server, and the control plane is open (a token
given there is ignored). Bound anywhere else, every control-plane request must carry the token
(`Authorization: Bearer <token>` or `X-Pushfake-Admin-Token`). Vendor routes never look at
it: they keep their own authentication.

A browser cannot add a header when it follows a link, so the pages a person opens (the inbox,
the index `/_pushfake/`, the docs) also take the token once in their URL
(`/_pushfake/inbox?token=...`, what `pushfake serve` prints): the answer is a redirect to the
same URL without it that sets an HttpOnly, SameSite=Strict cookie scoped to `/_pushfake`, and
the cookie then stands for the token on every control-plane path (the pages' own fetches and
event stream). SameSite=Strict keeps other sites' pages from using it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, unquote_plus

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/_pushfake"
INBOX = f"{PREFIX}/inbox"
COOKIE = "pushfake_admin"


def is_page(path: str) -> bool:
    """A page a person opens in a browser: the inbox, the index, the docs."""
    return (path in (f"{PREFIX}/", f"{PREFIX}/docs") or path.startswith((INBOX, f"{PREFIX}/docs/")))


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
        if is_page(scope["path"]) and scope["method"] in ("GET", "HEAD"):
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            if any(name == "token" and self._valid(value) for name, value in query):
                await _redirect_with_cookie(send, _location_without_token(scope), cookie_value(self.token))
                return
        if self._valid(given) or self._valid_cookie(_cookie(headers.get(b"cookie", b""))):
            await self.app(scope, receive, send)
            return
        await _refuse(send, html=is_page(scope["path"]))

    def _valid(self, given: str) -> bool:
        return bool(given) and self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def _valid_cookie(self, given: str) -> bool:
        return bool(given) and self.token is not None and hmac.compare_digest(given.encode(), cookie_value(self.token).encode())


def cookie_value(token: str) -> str:
    """What the cookie holds: derived from the token (any token text fits in a cookie this way,
    and the token itself is not stored in the browser)."""
    return hmac.new(token.encode(), b"pushfake inbox cookie", hashlib.sha256).hexdigest()


def _cookie(raw: bytes) -> str:
    if not raw:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except ValueError:  # http.cookies.CookieError
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def _location_without_token(scope: Scope) -> bytes:
    """The page's URL as the client sent it (path still percent-encoded, the other query pairs
    untouched) without its `token` pairs. A byte no URL may hold raw (a control character, a
    space, non-ASCII: a client that sent it anyway) is percent-encoded, so the Location header
    stays one well-formed header."""
    path = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
    pairs = [pair for pair in scope.get("query_string", b"").split(b"&")
             if pair and unquote_plus(pair.partition(b"=")[0].decode("latin-1")) != "token"]
    target = path + (b"?" + b"&".join(pairs) if pairs else b"")
    return _UNSAFE_IN_URL.sub(lambda byte: b"%%%02X" % byte[0][0], target)


_UNSAFE_IN_URL = re.compile(rb"[\x00-\x20\x7f-\xff]")


async def _redirect_with_cookie(send: Send, location: bytes, value: str) -> None:
    """303 to `location` (the page's URL without the token), setting the cookie that stands for it."""
    cookie = f"{COOKIE}={value}; Path={PREFIX}; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303, "headers": [
        (b"location", location),
        (b"set-cookie", cookie.encode("latin-1")), (b"cache-control", b"no-store"),
        (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send: Send, *, html: bool) -> None:
    if html:
        body = ("<!doctype html><meta charset=utf-8><title>pushfake: admin token needed</title>"
                "<p>This page needs the admin token: open the <code>inbox</code> URL "
                "<code>pushfake serve</code> printed at start-up (it ends in <code>?token=...</code>).</p>")
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"error": {"status": 401, "message": "the control plane needs the admin token "
                                     "(Authorization: Bearer <token>); `pushfake serve` printed it at start-up"}})
        content_type = b"application/json"
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", content_type), (b"www-authenticate", b"Bearer")]})
    await send({"type": "http.response.body", "body": body.encode()})
