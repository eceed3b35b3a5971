"""Behind the admin token (a server bound off loopback) the index, the specs and the docs are
the control plane's like the inbox: refused without the token, answered with its header or the
inbox's cookie; on loopback they are open. `/` itself is no control-plane path."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.types import Receive, Scope, Send

from pushfake.control.security import AdminTokenMiddleware
from tests.inbox.test_token import TOKEN, guarded  # noqa: F401 - the inbox's guarded app: the same cover

PAGES = ("/_pushfake/", "/_pushfake/openapi/leanplum.yaml", "/_pushfake/openapi/control.json", "/_pushfake/docs",
         "/_pushfake/docs/dengage")
BROWSER = "text/html,*/*;q=0.8"


def test_without_the_token_every_page_is_refused(guarded):
    for path in PAGES:
        for accept in ("application/json", BROWSER):
            response = guarded.get(path, headers={"Accept": accept})
            assert response.status_code == 401, path
            assert "openapi" not in response.text and "pushfake demo" not in response.text, path


def test_the_token_header_opens_them(guarded):
    for path in PAGES:
        assert guarded.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200, path
        assert guarded.get(path, headers={"X-Pushfake-Admin-Token": TOKEN}).status_code == 200, path
        assert guarded.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path


def test_the_cookie_the_inbox_link_sets_opens_them_in_a_browser(guarded):
    exchange = guarded.get("/_pushfake/inbox", params={"token": TOKEN})
    assert exchange.status_code == 303
    for path in PAGES:
        response = guarded.get(path, headers={"Accept": BROWSER})
        assert response.status_code == 200, path


def test_the_root_redirect_needs_no_token_but_its_target_does(guarded):
    response = guarded.get("/", headers={"Accept": BROWSER})
    assert response.status_code == 307 and response.headers["location"] == "/_pushfake/"
    assert guarded.get("/_pushfake/", headers={"Accept": BROWSER}).status_code == 401


def test_on_loopback_they_are_open(client):
    for path in PAGES:
        assert client.get(path).status_code == 200, path


def test_the_index_and_the_docs_take_the_token_in_their_url_as_the_inbox_does(guarded):
    """A person opening the index or the docs first (not the inbox) brings the token in the URL
    and gets the cookie and the page, with the token gone from the address bar."""
    for path in ("/_pushfake/", "/_pushfake/docs", "/_pushfake/docs/leanplum"):
        guarded.cookies.clear()
        exchange = guarded.get(path, params={"token": TOKEN, "x": "1"}, headers={"Accept": BROWSER})
        assert exchange.status_code == 303, path
        assert exchange.headers["location"] == f"{path}?x=1"
        assert "HttpOnly" in exchange.headers["set-cookie"] and "SameSite=Strict" in exchange.headers["set-cookie"]
        assert guarded.get(path, headers={"Accept": BROWSER}).status_code == 200, path


def test_a_page_without_the_token_tells_a_browser_what_to_open(guarded):
    for path in ("/_pushfake/", "/_pushfake/docs/dengage"):
        refused = guarded.get(path, headers={"Accept": BROWSER})
        assert refused.status_code == 401 and refused.headers["content-type"].startswith("text/html"), path
        assert "?token=" in refused.text


def test_a_token_in_the_url_opens_no_data_endpoint(guarded):
    """Only pages take the token from the URL: an API path given `?token=` stays refused, so
    the token never needs to sit in a script's URL (or a log)."""
    assert guarded.get("/_pushfake/journal", params={"token": TOKEN}).status_code == 401
    assert guarded.get("/_pushfake/openapi/leanplum.yaml", params={"token": TOKEN}).status_code == 401


def with_token(target: str) -> str:
    return f"{target}{'&' if '?' in target else '?'}{urlencode({'token': TOKEN})}"


@pytest.mark.parametrize("path", ["/_pushfake/docs/%E2%80%A2", "/_pushfake/docs/x%0D%0ASet-Cookie:%20a=b"])
def test_the_token_redirect_keeps_the_path_as_sent(guarded, path):
    """The Location is the path the browser sent, still percent-encoded: a non-ASCII page name is
    redirected (not a 500), and an encoded CR LF stays encoded instead of ending the header."""
    exchange = guarded.get(with_token(path), headers={"Accept": BROWSER})
    assert exchange.status_code == 303
    assert exchange.headers["location"] == path
    assert exchange.headers.get_list("set-cookie") == [exchange.headers["set-cookie"]]
    assert exchange.headers["set-cookie"].startswith("pushfake_admin=")


def test_the_token_redirect_keeps_the_rest_of_the_query_as_sent(guarded):
    exchange = guarded.get(with_token("/_pushfake/docs/leanplum?b=%7e&a=x+y%2Bz&flag") + "&c=%E2%80%A2",
                           headers={"Accept": BROWSER})
    assert exchange.status_code == 303
    assert exchange.headers["location"] == "/_pushfake/docs/leanplum?b=%7e&a=x+y%2Bz&flag&c=%E2%80%A2"


def test_a_byte_no_url_may_hold_is_encoded_in_the_location():
    """A client that sends a raw space, control character or non-ASCII byte anyway gets it
    percent-encoded in the Location, never a header broken in two."""
    sent: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the redirect answers before the app")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/_pushfake/docs/a b\r\n\u2022",
             "raw_path": "/_pushfake/docs/a b\r\n\u2022".encode(), "headers": [],
             "query_string": ("x=1\r\n&" + urlencode({"token": TOKEN})).encode()}
    asyncio.run(AdminTokenMiddleware(app, TOKEN)(scope, receive=None, send=send))  # type: ignore[arg-type]
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 303
    assert headers[b"location"] == b"/_pushfake/docs/a%20b%0D%0A%E2%80%A2?x=1%0D%0A"
