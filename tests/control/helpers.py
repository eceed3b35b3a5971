"""Helpers for the control-plane tests: a `pushfake serve` subprocess, vendor calls over HTTP,
and glue that lets one test body drive `Client` and `AsyncClient` alike."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from pushfake import AsyncClient, Client

APP = "app_pushfake"
PROD = "prod_pushfake"
ACCOUNT = "acc_pushfake"
USERKEY = "pushfake"
PASSWORD = "pushfake-secret"
MOBILE_APP = "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"
WEB_APP = "2b7e9a41-3c5d-4e6f-8a9b-0c1d2e3f4a5b"
IOS_TOKEN = "a1" * 32  # a well-formed APNs token nobody in the default world has
HTTP_TIMEOUT = 10.0
_stderr: dict[int, Any] = {}  # pid -> the file its stderr goes to


# --- the server -------------------------------------------------------------------------------
@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str  # always through 127.0.0.1
    banner: list[str]

    @property
    def admin_token(self) -> str | None:
        """The token the banner printed, or None when the control plane is open (loopback)."""
        line = next(line for line in self.banner if line.strip().startswith("control"))
        return line.rsplit("admin token: ", 1)[1].strip() if "admin token: " in line else None


def spawn(*args: str) -> Served:
    """Start `pushfake serve --port 0 ARGS`; read its banner up to the control-plane line."""
    # stderr goes to a file: a pipe nobody reads would stall the server once it filled up
    err = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [sys.executable, "-m", "pushfake", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=err, text=True,
    )
    _stderr[process.pid] = err
    assert process.stdout is not None
    first = process.stdout.readline()
    if " listening on http://" not in first:
        _, problem = stop(process)
        raise AssertionError(f"pushfake serve did not start: {first!r} {problem}")
    banner = [first]
    while not banner[-1].strip().startswith("control"):
        line = process.stdout.readline()
        assert line, f"the banner ended early: {banner}"
        banner.append(line)
    port = first.strip().rsplit(":", 1)[1]
    return Served(process, f"http://127.0.0.1:{port}", banner)


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT, a bounded wait, then kill; returns what was left on stdout, and all of stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate(timeout=10)
    err = _stderr.pop(process.pid)
    err.seek(0)
    text = err.read()
    err.close()
    return out, text


@contextlib.contextmanager
def serving(*args: str, clean_log: bool = True) -> Iterator[Served]:
    """A server for the block; with `clean_log`, its stderr must end without a traceback."""
    served = spawn(*args)
    try:
        yield served
    finally:
        _, err = stop(served.process)
    if clean_log:
        assert "Traceback" not in err, err


# --- vendor calls -----------------------------------------------------------------------------
_http: list[httpx.Client] = []


def http() -> httpx.Client:
    """One shared HTTP client for vendor calls (making one per call costs ~40 ms of TLS set-up)."""
    if not _http:
        _http.append(httpx.Client(timeout=HTTP_TIMEOUT))
    return _http[0]


def close_http() -> None:
    while _http:
        _http.pop().close()


def leanplum(url: str, action: str, *, app: str = APP, key: str = PROD, **params: Any) -> httpx.Response:
    """GET /api?action=... with the app's credentials."""
    return http().get(f"{url}/api", params={"action": action, "appId": app, "clientKey": key, **params})


def leanplum_multi(url: str, data: list[dict[str, Any]]) -> httpx.Response:
    return http().post(f"{url}/api?action=multi", json={"appId": APP, "clientKey": PROD, "data": data})


def element(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 400, 401, 403, 404, 429, 500, 502, 503, 504), response.text
    return response.json()["response"][-1]


def send_message(url: str, user: str, message_id: int = 1001) -> dict[str, Any]:
    """A Leanplum sendMessage that sends one push."""
    response = leanplum(url, "sendMessage", userId=user, messageId=message_id)
    assert response.status_code == 200, response.text
    item = element(response)
    assert item.get("result") == "Message sent" and item["messagesSent"] == 1, item
    return item


def dengage_login(url: str, userkey: str = USERKEY, password: str = PASSWORD) -> str:
    response = http().post(f"{url}/rest/login", json={"userkey": userkey, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def dengage_send(url: str, token: str, body: dict[str, Any] | None = None) -> str:
    """POST /rest/push/sendInstant; the tracking id."""
    response = http().post(f"{url}/rest/push/sendInstant", json=body or {"content": {"title": "T", "message": "M"}},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["code"] == 0, response.text
    return response.json()["data"]["trackingId"]


def dengage_report(url: str, token: str, tracking_id: str) -> httpx.Response:
    return http().get(f"{url}/rest/push/sendInstant", params={"trackingId": tracking_id},
                      headers={"Authorization": f"Bearer {token}"})


def at(delivery: dict[str, Any], state: str) -> float:
    """When a delivery reached `state` (its first time)."""
    return next(step["at"] for step in delivery["timeline"] if step["state"] == state)


# --- one test body for Client and AsyncClient --------------------------------------------------
Factory = Callable[..., Client | AsyncClient]


async def a(value: Any) -> Any:
    """The value of a client call: awaited for AsyncClient, as is for Client."""
    return await value if inspect.isawaitable(value) else value


@contextlib.asynccontextmanager
async def opened(factory: Factory, url: str, **options: Any) -> AsyncIterator[Any]:
    client = factory(url, **options)
    try:
        yield client
    finally:
        if isinstance(client, AsyncClient):
            await client.aclose()
        else:
            client.close()


def drive(factory: Factory, url: str, scenario: Callable[[Any], Any], **options: Any) -> None:
    """Run `async def scenario(client)` with a client made by `factory`, in `asyncio.run`."""
    async def main() -> None:
        async with opened(factory, url, **options) as client:
            await scenario(client)

    asyncio.run(main())


@contextlib.asynccontextmanager
async def faulted(client: Any, rule: dict[str, Any]) -> AsyncIterator[Any]:
    """`client.faulted(rule)` as an async context manager, whichever the client."""
    if isinstance(client, AsyncClient):
        async with client.faulted(rule) as added:
            yield added
    else:
        with client.faulted(rule) as added:
            yield added


def in_background(client: Any, method: str, *args: Any, **kwargs: Any) -> asyncio.Task[tuple[Any, float]]:
    """Start a client call concurrently (a thread for Client); the task gives (result or the
    exception raised, time.time() when it ended)."""
    async def timed() -> tuple[Any, float]:
        call = getattr(client, method)
        try:
            if isinstance(client, AsyncClient):
                result = await call(*args, **kwargs)
            else:
                result = await asyncio.to_thread(call, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - handed to the test to check
            result = exc
        return result, time.time()

    return asyncio.ensure_future(timed())


async def off_loop(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A blocking vendor call without stopping an AsyncClient's event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)
