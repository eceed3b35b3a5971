"""A Python client for a running fake's control plane (`/_pushfake/`), sync and async.

    from pushfake import Client
    fake = Client("http://127.0.0.1:8080")
    fake.reset()
    delivery = fake.wait_for_delivery(device="device-1", state="delivered", timeout=5)

`AsyncClient` has the same methods, as coroutines. Both speak the API openapi/control.yaml
describes; answers are its JSON, as dicts and lists. A control-plane error raises
`ControlError`; a wait that times out raises `WaitTimeout`.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import httpx

_ADMIN_TOKEN_ENV = "PUSHFAKE_ADMIN_TOKEN"


class ControlError(Exception):
    """The control plane refused a request (its `status` and `message`)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class WaitTimeout(TimeoutError):
    """Nothing matched a wait's filter before its timeout."""


class FakeFailure(Exception):
    """The fake failed inside (a bug in pushfake, not an injected fault); `failure` is the
    control plane's record of it, traceback included."""

    def __init__(self, failure: dict[str, Any]) -> None:
        super().__init__(f"pushfake failed in {failure['where']}: {failure['error']}\n{failure['traceback']}")
        self.failure = failure


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    pick: Callable[[Any], Any] = lambda body: body


def _q(part: str) -> str:
    return quote(str(part), safe="")


def _filters(given: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


class _Api(abc.ABC):
    """Every control-plane call, once; `Client` and `AsyncClient` differ only in `_run`."""

    @abc.abstractmethod
    def _run(self, call: _Call) -> Any:
        """Send `call`; the answer (sync), or a coroutine giving it (async)."""

    # --- server ---------------------------------------------------------------------------------
    def health(self) -> Any:
        return self._run(_Call("GET", "/health"))

    def stats(self) -> Any:
        """Per kind (journal, deliveries, events, sends, tokens): how many are held and how many
        were dropped to keep the bounds since the last reset."""
        return self._run(_Call("GET", "/stats"))

    def reset(self, *, keep_config: bool = False, seed: int | None = None, restart_clock: bool = False,
              now: float | str | None = None) -> Any:
        """Back to the fixtures' world; `keep_config` keeps the faults, limits and gateway settings.
        `seed` replaces the seed; `restart_clock` puts the clock back to its start (real time on a
        live server), `now` restarts it at that time."""
        body = _filters({"keepConfig": keep_config, "seed": seed, "restartClock": restart_clock or None, "now": now})
        return self._run(_Call("POST", "/reset", json=body))

    def failures(self) -> Any:
        """Errors inside the fake itself (a bug, not an injected fault), oldest first."""
        return self._run(_Call("GET", "/failures", pick=lambda b: b["failures"]))

    def clear_failures(self) -> Any:
        return self._run(_Call("DELETE", "/failures"))

    def load_fixtures(self, fixtures: dict[str, Any] | str | Path) -> Any:
        """Replace the world: a fixtures document (a dict), YAML text (a str), or a file (a Path)."""
        if isinstance(fixtures, dict):
            return self._run(_Call("PUT", "/fixtures", json=fixtures))
        text = fixtures.read_text(encoding="utf-8") if isinstance(fixtures, Path) else fixtures
        return self._run(_Call("PUT", "/fixtures", content=text.encode(), headers={"content-type": "application/yaml"}))

    def gateway(self) -> Any:
        return self._run(_Call("GET", "/gateway"))

    def set_gateway(self, section: dict[str, Any]) -> Any:
        """Replace the device gateway's settings with a fixtures `gateway` section."""
        return self._run(_Call("PUT", "/gateway", json=section))

    # --- Leanplum state -------------------------------------------------------------------------
    def leanplum_apps(self) -> Any:
        return self._run(_Call("GET", "/leanplum/apps", pick=lambda b: b["apps"]))

    def leanplum_users(self, app: str) -> Any:
        return self._run(_Call("GET", f"/leanplum/apps/{_q(app)}/users", pick=lambda b: b["users"]))

    def leanplum_user(self, app: str, user: str) -> Any:
        return self._run(_Call("GET", f"/leanplum/apps/{_q(app)}/users/{_q(user)}"))

    def add_leanplum_user(self, app: str, user: dict[str, Any]) -> Any:
        """A user (with `devices`) in its fixtures-file form."""
        return self._run(_Call("POST", f"/leanplum/apps/{_q(app)}/users", json=user))

    def add_leanplum_device(self, app: str, user: str, device: dict[str, Any]) -> Any:
        return self._run(_Call("POST", f"/leanplum/apps/{_q(app)}/users/{_q(user)}/devices", json=device))

    def leanplum_messages(self, app: str) -> Any:
        return self._run(_Call("GET", f"/leanplum/apps/{_q(app)}/messages", pick=lambda b: b["messages"]))

    def add_leanplum_message(self, app: str, message: dict[str, Any]) -> Any:
        return self._run(_Call("POST", f"/leanplum/apps/{_q(app)}/messages", json=message))

    # --- D·engage state -------------------------------------------------------------------------
    def dengage_accounts(self) -> Any:
        return self._run(_Call("GET", "/dengage/accounts", pick=lambda b: b["accounts"]))

    def dengage_records(self, account: str, kind: str) -> Any:
        """`kind`: contacts, templates, segments or tables."""
        return self._run(_Call("GET", f"/dengage/accounts/{_q(account)}/{_q(kind)}", pick=lambda b: b[kind]))

    def add_dengage_record(self, account: str, kind: str, record: dict[str, Any]) -> Any:
        """A contact (with `devices`), template, segment or table in its fixtures-file form."""
        return self._run(_Call("POST", f"/dengage/accounts/{_q(account)}/{_q(kind)}", json=record))

    def dengage_contact(self, account: str, key: str) -> Any:
        return self._run(_Call("GET", f"/dengage/accounts/{_q(account)}/contacts/{_q(key)}"))

    def add_dengage_device(self, account: str, contact: str, device: dict[str, Any]) -> Any:
        return self._run(_Call("POST", f"/dengage/accounts/{_q(account)}/contacts/{_q(contact)}/devices", json=device))

    # --- deliveries -----------------------------------------------------------------------------
    def deliveries(self, *, vendor: str | None = None, app: str | None = None, send: str | None = None,
                   user: str | None = None, device: str | None = None, state: str | None = None,
                   since: float | None = None, until: float | None = None, limit: int | None = None) -> Any:
        """Deliveries matching every filter, oldest first (`device=` is that device's inbox)."""
        params = _filters({"vendor": vendor, "app": app, "send": send, "user": user, "device": device,
                           "state": state, "since": since, "until": until, "limit": limit})
        return self._run(_Call("GET", "/deliveries", params=params, pick=lambda b: b["deliveries"]))

    def delivery(self, delivery_id: str) -> Any:
        return self._run(_Call("GET", f"/deliveries/{_q(delivery_id)}"))

    def engage(self, delivery_id: str, kind: str = "open") -> Any:
        """The person opened (or clicked) a delivered notification."""
        return self._run(_Call("POST", f"/deliveries/{_q(delivery_id)}/engage", json={"kind": kind}))

    # --- journal --------------------------------------------------------------------------------
    def journal(self, *, vendor: str | None = None, operation: str | None = None, app: str | None = None,
                user: str | None = None, status: int | None = None, since: float | None = None,
                until: float | None = None, after: int | None = None, limit: int | None = None) -> Any:
        """Journaled requests matching every filter, oldest first."""
        params = _filters({"vendor": vendor, "operation": operation, "app": app, "user": user, "status": status,
                           "since": since, "until": until, "after": after, "limit": limit})
        return self._run(_Call("GET", "/journal", params=params, pick=lambda b: b["entries"]))

    def clear_journal(self) -> Any:
        return self._run(_Call("DELETE", "/journal"))

    # --- clock ----------------------------------------------------------------------------------
    def clock(self) -> Any:
        return self._run(_Call("GET", "/clock"))

    def advance(self, seconds: float) -> Any:
        """Move the clock on, running what falls due on the way (deliveries, retries, sends)."""
        return self._run(_Call("POST", "/clock/advance", json={"seconds": seconds}))

    def set_time(self, now: float | str) -> Any:
        """Move the clock on to `now` (epoch seconds or ISO 8601)."""
        return self._run(_Call("PUT", "/clock", json={"now": now}))

    def settle(self) -> Any:
        """Move the clock on until the device gateway is idle (every delivery handed to it final)."""
        return self._run(_Call("POST", "/clock/settle"))

    def freeze(self) -> Any:
        return self._run(_Call("POST", "/clock/freeze"))

    def unfreeze(self) -> Any:
        return self._run(_Call("POST", "/clock/unfreeze"))

    # --- faults and limits ----------------------------------------------------------------------
    def faults(self) -> Any:
        return self._run(_Call("GET", "/faults", pick=lambda b: b["faults"]))

    def add_fault(self, rule: dict[str, Any]) -> Any:
        """Add a fault rule (control spec `FaultRule`); returns it with its id."""
        return self._run(_Call("POST", "/faults", json=rule))

    def fault(self, rule_id: str) -> Any:
        return self._run(_Call("GET", f"/faults/{_q(rule_id)}"))

    def remove_fault(self, rule_id: str) -> Any:
        return self._run(_Call("DELETE", f"/faults/{_q(rule_id)}"))

    def clear_faults(self) -> Any:
        return self._run(_Call("DELETE", "/faults"))

    def limits(self) -> Any:
        return self._run(_Call("GET", "/limits", pick=lambda b: b["limits"]))

    def add_limit(self, limit: dict[str, Any]) -> Any:
        """Add a limit (control spec `Limit`), or replace one with the same id."""
        return self._run(_Call("POST", "/limits", json=limit))

    def limit(self, limit_id: str) -> Any:
        return self._run(_Call("GET", f"/limits/{_q(limit_id)}"))

    def remove_limit(self, limit_id: str) -> Any:
        return self._run(_Call("DELETE", f"/limits/{_q(limit_id)}"))

    def clear_limits(self) -> Any:
        return self._run(_Call("DELETE", "/limits"))

    # --- waiting --------------------------------------------------------------------------------
    def wait_for_delivery(self, timeout: float = 10.0, **filters: Any) -> Any:
        """The first delivery matching the filters (those of `deliveries`), as soon as it exists;
        WaitTimeout after `timeout` seconds."""
        return self._wait("delivery", timeout, filters)

    def wait_for_request(self, timeout: float = 10.0, **filters: Any) -> Any:
        """The first journaled request matching the filters (those of `journal`)."""
        return self._wait("request", timeout, filters)

    def _wait(self, kind: str, timeout: float, filters: dict[str, Any]) -> Any:
        def pick(body: Any) -> Any:
            if "failure" in body:
                raise FakeFailure(body["failure"])
            if not body["found"]:
                raise WaitTimeout(f"no {kind} matching {filters} within {timeout} s")
            return body[kind]

        return self._run(_Call("POST", "/wait", json={"for": kind, "filter": _filters(filters), "timeout": timeout},
                               timeout=timeout + 10.0, pick=pick))


def _headers(admin_token: str | None) -> dict[str, str]:
    token = admin_token or os.environ.get(_ADMIN_TOKEN_ENV)
    return {"authorization": f"Bearer {token}"} if token else {}


def _answer(call: _Call, response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise ControlError(response.status_code, response.text[:200] or "not a control-plane answer") from None
    if response.status_code >= 400:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise ControlError(response.status_code, error.get("message", json.dumps(body)[:200]))
    return call.pick(body)


class Client(_Api):
    """The control plane of the fake at `url`, over a blocking httpx client. `admin_token`
    (or $PUSHFAKE_ADMIN_TOKEN) is needed only when the server binds a non-loopback address."""

    def __init__(self, url: str = "http://127.0.0.1:8080", *, admin_token: str | None = None,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        # plain http needs no certificates: loading them is most of a client's 20 ms start
        self._http = httpx.Client(base_url=f"{self.url}/_pushfake", headers=_headers(admin_token),
                                  timeout=timeout, transport=transport, verify=self.url.startswith("https:"))

    def _run(self, call: _Call) -> Any:
        response = self._http.request(call.method, call.path, params=call.params, json=call.json,
                                      content=call.content, headers=call.headers,
                                      timeout=call.timeout if call.timeout is not None else httpx.USE_CLIENT_DEFAULT)
        return _answer(call, response)

    @contextlib.contextmanager
    def faulted(self, rule: dict[str, Any]) -> Iterator[Any]:
        """A fault rule in force inside the block only."""
        added = self.add_fault(rule)
        try:
            yield added
        finally:
            self.remove_fault(added["id"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Api):
    """`Client`'s methods as coroutines, over an async httpx client."""

    def __init__(self, url: str = "http://127.0.0.1:8080", *, admin_token: str | None = None,
                 timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=f"{self.url}/_pushfake", headers=_headers(admin_token),
                                       timeout=timeout, transport=transport)

    async def _run(self, call: _Call) -> Any:  # type: ignore[override]
        response = await self._http.request(
            call.method, call.path, params=call.params, json=call.json, content=call.content, headers=call.headers,
            timeout=call.timeout if call.timeout is not None else httpx.USE_CLIENT_DEFAULT)
        return _answer(call, response)

    @contextlib.asynccontextmanager
    async def faulted(self, rule: dict[str, Any]) -> AsyncIterator[Any]:
        """A fault rule in force inside the block only."""
        added = await self.add_fault(rule)
        try:
            yield added
        finally:
            await self.remove_fault(added["id"])

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
