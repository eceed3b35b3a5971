"""Helpers shared by the fault and rate-limit tests: the default world's ids, vendor calls made
with a plain httpx client, fixtures documents with changed settings, and in-process clients."""

from __future__ import annotations

import asyncio
import copy
import functools
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import yaml

from pushfake import Client, Fake, create_app
from pushfake.core.resources import default_fixtures
from tests.support import LiveServer

T = TypeVar("T")

APP = "app_pushfake"
PROD = "prod_pushfake"
DEV = "dev_pushfake"
CREDS = {"appId": APP, "clientKey": PROD}
DEV_CREDS = {"appId": APP, "clientKey": DEV, "devMode": True}

ACCOUNT = "acc_pushfake"
USERKEY = "pushfake"
PASSWORD = "pushfake-secret"
SEND_PATH = "/rest/push/sendInstant"
CONTENT = {"title": "Hello", "message": "A message"}

LOCKING_TEXT = "Request failed due to concurrent requests to the same profile ID"
DEV_MODE_TEXT = "Per device rate limit exceeded."
LP_BUCKET_TEXT = "Too many requests."
DE_CONCURRENCY_TEXT = "Too Many Requests"  # SendInstantPush's own 429 text (seed 001)
DE_BUCKET_TEXT = "Too Many Requests"
BUILT_IN_LIMITS = {"leanplum-device-locking", "leanplum-dev-mode-rate", "leanplum-multi-size", "dengage-concurrency"}


# --- Leanplum ---------------------------------------------------------------------------------
def lp(http: httpx.Client, action: str, *, creds: dict[str, Any] | None = None, **params: Any) -> httpx.Response:
    """POST /api?action=<action> with the credentials and `params` as a JSON body."""
    return http.post(f"/api?action={action}", json={**(CREDS if creds is None else creds), **params})


async def alp(http: httpx.AsyncClient, action: str, *, creds: dict[str, Any] | None = None,
              **params: Any) -> httpx.Response:
    return await http.post(f"/api?action={action}", json={**(CREDS if creds is None else creds), **params})


def lp_elements(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert set(body) == {"response"}, body
    return body["response"]


def lp_error(response: httpx.Response) -> str:
    [item] = lp_elements(response)
    assert item["success"] is False, item
    return item["error"]["message"]


def lp_ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    item = lp_elements(response)[-1]
    assert item["success"] is True, item
    return item


# --- D·engage ---------------------------------------------------------------------------------
def de_login(http: httpx.Client, userkey: str = USERKEY) -> dict[str, str]:
    """The Authorization header of a fresh D·engage token."""
    response = http.post("/rest/login", json={"userkey": userkey, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def ade_login(http: httpx.AsyncClient, userkey: str = USERKEY) -> dict[str, str]:
    response = await http.post("/rest/login", json={"userkey": userkey, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def de_send(http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return http.post(SEND_PATH, json={"content": CONTENT}, headers=headers)


def de_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and set(body) == {"code", "message"}, body
    return body["message"]


# --- worlds -----------------------------------------------------------------------------------
@functools.cache
def _default_document() -> dict[str, Any]:
    return yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))


def document(*, leanplum: dict[str, Any] | None = None, dengage: dict[str, Any] | None = None,
             **top: Any) -> dict[str, Any]:
    """The default fixtures document with `leanplum.settings` / `dengage.settings` updated and
    top-level keys (`faults`, `limits`, ...) set."""
    doc = copy.deepcopy(_default_document())
    doc["leanplum"]["settings"].update(leanplum or {})
    doc["dengage"].setdefault("settings", {}).update(dengage or {})
    doc.update(top)
    return doc


def restore_default_world(fake: Fake) -> None:
    """A shared live server back in the default world, on a running clock."""
    if fake.clock.frozen:
        fake.clock.unfreeze()
    fake.load_fixtures(default_fixtures())


# --- clients ----------------------------------------------------------------------------------
@contextmanager
def http_client(url: str, timeout: float = 5.0) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=timeout) as http:
        yield http


@contextmanager
def control(server: LiveServer) -> Iterator[Client]:
    with Client(server.url, timeout=5.0) as client:
        yield client


def run_in_process(fake: Fake, body: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run `body` with an async httpx client on `fake`'s ASGI app, in process."""
    async def main() -> T:
        transport = httpx.ASGITransport(app=create_app(fake))
        async with httpx.AsyncClient(transport=transport, base_url="http://pushfake.test", timeout=5.0) as http:
            return await body(http)

    return asyncio.run(main())


def is_json(text: bytes) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
