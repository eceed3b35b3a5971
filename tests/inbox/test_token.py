"""The inbox behind the admin token (a server bound to a non-loopback address): a browser opens
`/_pushfake/inbox?token=...` once, gets a cookie, and the cookie stands for the token on every
control-plane path; a wrong token or cookie gets nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from pushfake import Fake, create_app
from pushfake.control.security import COOKIE
from tests.inbox.dom import parse

TOKEN = "t0ken/with;odd chars"


@pytest.fixture
def guarded(fake: Fake) -> Iterator[TestClient]:
    with TestClient(create_app(fake, admin_token=TOKEN), follow_redirects=False) as client:
        yield client


def test_without_the_token_the_inbox_and_its_parts_are_refused(guarded):
    for path in ("/_pushfake/inbox", "/_pushfake/inbox/devices", "/_pushfake/inbox/events",
                 "/_pushfake/inbox/static/inbox.js"):
        response = guarded.get(path)
        assert response.status_code == 401, path
    page = guarded.get("/_pushfake/inbox")
    assert page.headers["content-type"].startswith("text/html") and "?token=" in page.text
    assert guarded.get("/_pushfake/deliveries").json()["error"]["status"] == 401


def test_the_token_in_the_url_sets_a_strict_http_only_cookie_and_redirects_to_the_url_without_it(guarded):
    response = guarded.get("/_pushfake/inbox", params={"vendor": "dengage", "token": TOKEN, "page": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == "/_pushfake/inbox?vendor=dengage&page=1"
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert attributes == {"path", "httponly", "samesite"}
    assert "SameSite=Strict" in cookie and "Path=/_pushfake;" in cookie + ";"
    assert TOKEN not in cookie and "t0ken" not in cookie, "the browser keeps a derived value, not the token"

    followed = guarded.get(response.headers["location"])
    assert followed.status_code == 200
    vendor = parse(followed.text).by_id("filters").one("select", name="vendor")
    assert "selected" in vendor.one("option", value="dengage").attrs, "the filters survived the redirect"
    for path in ("/_pushfake/inbox/devices", "/_pushfake/inbox/requests", "/_pushfake/inbox/state",
                 "/_pushfake/inbox/static/inbox.css", "/_pushfake/deliveries"):
        assert guarded.get(path).status_code == 200, path
    assert guarded.post("/_pushfake/reset", json={}).status_code == 200, "the page's reset button works too"


def test_a_wrong_token_or_cookie_gets_nothing(guarded):
    assert guarded.get("/_pushfake/inbox", params={"token": "nope"}).status_code == 401
    assert "set-cookie" not in guarded.get("/_pushfake/inbox", params={"token": "nope"}).headers
    guarded.cookies.set(COOKIE, "nope", path="/_pushfake")
    assert guarded.get("/_pushfake/inbox").status_code == 401
    assert guarded.get("/_pushfake/deliveries").status_code == 401
    guarded.cookies.clear()
    guarded.cookies.set(COOKIE, TOKEN.replace("/", "").replace(";", "").replace(" ", ""), path="/_pushfake")
    assert guarded.get("/_pushfake/inbox").status_code == 401, "the token itself is not the cookie's value"


def test_headers_still_work_and_vendor_routes_never_need_the_token(guarded):
    assert guarded.get("/_pushfake/inbox", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get("/_pushfake/inbox/state", headers={"X-Pushfake-Admin-Token": TOKEN}).status_code == 200
    assert guarded.post("/rest/login", json={"userkey": "pushfake", "password": "pushfake-secret"}).status_code == 200


def test_on_loopback_the_inbox_is_open_and_a_token_in_the_url_is_ignored(client):
    assert client.get("/_pushfake/inbox").status_code == 200
    assert client.get("/_pushfake/inbox", params={"token": "anything"}).status_code == 200
