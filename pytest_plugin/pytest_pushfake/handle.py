"""`Pushfake`: what a test holds, the same over the in-process fake (`pushfake`) and the live
server (`pushfake_server`).

Every call goes through the control plane (`pushfake.Client`), so both fixtures answer with the
same dicts and fail with the same messages. The differences are time and transport:

- in process, the clock is virtual: assertions first let the device gateway finish its work
  (`settle`, which moves the virtual clock), and nothing waits in real time;
- on a live server, time is real: an assertion that does not hold yet looks again until its
  `timeout` (the `--pushfake-timeout` option, 5 s by default) before it fails.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from pushfake import Client, Fake, FakeFailure
from pushfake.leanplum.dispatch import as_read
from pytest_pushfake import assertions as a

_POLL = 0.005  # how often a live assertion looks again


class Pushfake:
    """A handle on one test's fake. `url` serves both vendors and the control plane;
    `leanplum_url` and `dengage_url` are the bases a client configures (`.../api`, `.../rest`)."""

    def __init__(self, *, control: Client, url: str, leanplum_url: str, dengage_url: str, live: bool,
                 transport: httpx.BaseTransport | None = None, fake: Fake | None = None,
                 timeout: float = 5.0, on_load_fixtures: Callable[[], None] = lambda: None) -> None:
        self.control = control  # every control-plane call (pushfake.Client), for what the handle lacks
        self.url = url
        self.leanplum_url = leanplum_url
        self.dengage_url = dengage_url
        self.live = live
        self.timeout = timeout
        self._transport = transport
        self._fake = fake
        self._defaults: dict[str, str] = {}
        self._on_load_fixtures = on_load_fixtures

    def __repr__(self) -> str:
        return f"<Pushfake {'live at ' + self.url if self.live else 'in process'}>"

    @property
    def fake(self) -> Fake:
        """The in-process `Fake` itself (not on a live server, which another thread serves)."""
        if self._fake is None:
            raise AttributeError("pushfake_server runs the fake behind HTTP; use the handle's methods")
        return self._fake

    # --- clients --------------------------------------------------------------------------------
    def http_client(self, **options: Any) -> httpx.Client:
        """An httpx client that reaches this fake (base URL `url` unless given); close it after."""
        options.setdefault("base_url", self.url)
        return httpx.Client(transport=self._transport, **options)

    def async_http_client(self, **options: Any) -> httpx.AsyncClient:
        options.setdefault("base_url", self.url)
        transport: Any = self._transport
        return httpx.AsyncClient(transport=transport, **options)

    # --- the world ------------------------------------------------------------------------------
    @property
    def leanplum_app(self) -> str:
        """The id of the fixtures' first Leanplum app, which `app=` defaults to."""
        if "app" not in self._defaults:
            apps = self.control.leanplum_apps()
            if not apps:
                raise LookupError("the fixtures have no Leanplum app")
            self._defaults["app"] = apps[0]["id"]
        return self._defaults["app"]

    @property
    def dengage_account(self) -> str:
        """The id of the fixtures' first D·engage account, which `account=` defaults to."""
        if "account" not in self._defaults:
            accounts = self.control.dengage_accounts()
            if not accounts:
                raise LookupError("the fixtures have no D·engage account")
            self._defaults["account"] = accounts[0]["id"]
        return self._defaults["account"]

    def load_fixtures(self, fixtures: dict[str, Any] | str | Path) -> None:
        """Replace the world for this test (a fixtures document, or the path of a YAML or JSON
        file); the next test gets its own fixtures back."""
        self._on_load_fixtures()
        self.control.load_fixtures(Path(fixtures) if isinstance(fixtures, str) else fixtures)
        self._defaults.clear()

    def add_user(self, user: str | dict[str, Any], *, app: str | None = None,
                 devices: list[dict[str, Any]] | None = None, attributes: dict[str, Any] | None = None) -> Any:
        """A Leanplum user: an id with `devices`/`attributes`, or a whole fixtures-file record."""
        record = {"id": user} if isinstance(user, str) else dict(user)
        if devices is not None:
            record["devices"] = devices
        if attributes is not None:
            record["attributes"] = attributes
        return self.control.add_leanplum_user(app or self.leanplum_app, record)

    def add_device(self, user: str, device: dict[str, Any], *, app: str | None = None) -> Any:
        return self.control.add_leanplum_device(app or self.leanplum_app, user, device)

    def add_message(self, message: dict[str, Any], *, app: str | None = None) -> Any:
        return self.control.add_leanplum_message(app or self.leanplum_app, message)

    def add_contact(self, contact: str | dict[str, Any], *, account: str | None = None,
                    devices: list[dict[str, Any]] | None = None, fields: dict[str, Any] | None = None) -> Any:
        """A D·engage contact: a key with `devices`/`fields`, or a whole fixtures-file record."""
        record = {"key": contact} if isinstance(contact, str) else dict(contact)
        if devices is not None:
            record["devices"] = devices
        if fields is not None:
            record["fields"] = fields
        return self.control.add_dengage_record(account or self.dengage_account, "contacts", record)

    def add_contact_device(self, contact: str, device: dict[str, Any], *, account: str | None = None) -> Any:
        return self.control.add_dengage_device(account or self.dengage_account, contact, device)

    def add_template(self, template: dict[str, Any], *, account: str | None = None) -> Any:
        return self.control.add_dengage_record(account or self.dengage_account, "templates", template)

    def add_segment(self, segment: dict[str, Any], *, account: str | None = None) -> Any:
        return self.control.add_dengage_record(account or self.dengage_account, "segments", segment)

    def add_table(self, table: dict[str, Any], *, account: str | None = None) -> Any:
        return self.control.add_dengage_record(account or self.dengage_account, "tables", table)

    def set_gateway(self, section: dict[str, Any]) -> Any:
        """The device gateway's settings (a fixtures `gateway` section) for this test."""
        return self.control.set_gateway(section)

    # --- the clock ------------------------------------------------------------------------------
    def now(self) -> float:
        return float(self.control.clock()["now"])

    def advance(self, seconds: float) -> None:
        """Move the clock on, running what falls due on the way (deliveries, retries, scheduled sends)."""
        self.control.advance(seconds)

    def set_time(self, when: float | str) -> None:
        self.control.set_time(when)

    def settle(self) -> None:
        """Move the clock on until the device gateway has finished every delivery it holds (sends
        scheduled later stay scheduled), instead of waiting for its simulated latency."""
        __tracebackhide__ = True
        if self._fake is not None:
            self._fake.run_until_idle()
        else:
            self.control.settle()

    # --- faults and limits ----------------------------------------------------------------------
    def add_fault(self, rule: dict[str, Any]) -> Any:
        """A fault rule (see openapi/control.yaml `FaultRule`) in force until removed or the test ends."""
        return self.control.add_fault(rule)

    @contextlib.contextmanager
    def faulted(self, rule: dict[str, Any]) -> Iterator[Any]:
        """A fault rule in force inside the block only."""
        with self.control.faulted(rule) as added:
            yield added

    def remove_fault(self, rule_id: str) -> None:
        self.control.remove_fault(rule_id)

    def clear_faults(self) -> None:
        self.control.clear_faults()

    def add_limit(self, limit: dict[str, Any]) -> Any:
        """A rate limit (see openapi/control.yaml `Limit`), or a change to a built-in one by id."""
        return self.control.add_limit(limit)

    def remove_limit(self, limit_id: str) -> None:
        self.control.remove_limit(limit_id)

    def clear_limits(self) -> None:
        self.control.clear_limits()

    # --- what happened --------------------------------------------------------------------------
    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journaled vendor requests, oldest first (filters: vendor, operation, app, user, status,
        since, until, after, limit)."""
        return list(self.control.journal(**filters))

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """Deliveries, oldest first (filters: vendor, app, send, user, device, state, since, until, limit)."""
        return list(self.control.deliveries(**filters))

    def inbox(self, device: str) -> list[dict[str, Any]]:
        """What reached one device: its delivered pushes, oldest first."""
        self.settle()
        return self.deliveries(device=device, state="delivered")

    def engage(self, delivery_id: str, kind: str = "open") -> Any:
        """The person opened (or clicked) a delivered push."""
        return self.control.engage(delivery_id, kind)

    def failures(self) -> list[dict[str, Any]]:
        """Errors inside the fake itself during this test (a bug in pushfake, not a fault)."""
        if self._fake is not None:  # in process: no need for a control-plane round trip after every test
            return [failure.to_dict() for failure in self._fake.failures.list()]
        return list(self.control.failures())

    def raise_failures(self) -> None:
        """FakeFailure (with the fake's traceback) if the fake failed inside during this test."""
        __tracebackhide__ = True
        failures = self.failures()
        if failures:
            if self._fake is not None:
                self._fake.failures.clear()
            else:
                self.control.clear_failures()  # reported once
            raise FakeFailure(failures[0])

    # --- assertions -----------------------------------------------------------------------------
    def assert_pushed(self, *, count: int | None = None, state: str | None = "delivered",
                      timeout: float | None = None, **expected: Any) -> dict[str, Any]:
        """The push matching `expected` (vendor, app, send, user, device, platform, title, body,
        payload={...}) in `state` (None: any); `count`: exactly that many match. Fails with the
        pushes that did arrive, closest first, and how each differs.

        It settles first: the clock moves on until the gateway has finished its deliveries, so
        read `now()` before asserting if the time of the last request matters. On a live server
        it looks again until `timeout` (default: the handle's `timeout`)."""
        __tracebackhide__ = True
        return self._pushed("assert_pushed", count, state, timeout, expected)

    def wait_for_push(self, *, timeout: float | None = None, state: str | None = "delivered",
                      count: int | None = None, **expected: Any) -> dict[str, Any]:
        """The push matching `expected` (the keywords of `assert_pushed`) as soon as it is there:
        on a live server, waiting up to `timeout` seconds; in process, once the virtual clock has
        run until the gateway is idle."""
        __tracebackhide__ = True
        return self._pushed("wait_for_push", count, state, timeout, expected)

    def _pushed(self, what: str, count: int | None, state: str | None, timeout: float | None,
                expected: dict[str, Any]) -> dict[str, Any]:
        __tracebackhide__ = True
        a.check_expected(what, expected, a.PUSH_FIELDS, a.PUSH_SUBSETS, ("count", "timeout"))
        if state is not None:
            expected["state"] = state
        return self._assert_found(what, expected, count, timeout, self.deliveries, a.PUSH_FIELDS, a.describe_push,
                                  "push")

    def assert_no_pushes(self, **expected: Any) -> None:
        """No push (in any state) matches `expected`; with no filter, no push at all."""
        __tracebackhide__ = True
        a.check_expected("assert_no_pushes", expected, a.PUSH_FIELDS, a.PUSH_SUBSETS)
        self.settle()
        rows = [d for d in self.deliveries() if not a.differences(d, expected, a.PUSH_FIELDS)]
        if rows:
            headline = (f"{a.call_text('assert_no_pushes', expected)}: {len(rows)} "
                        f"{'push' if len(rows) == 1 else 'pushes'} did happen")
            raise AssertionError(a.listing(headline, rows, a.describe_push))

    def assert_not_requested(self, **expected: Any) -> None:
        """No journaled request matches `expected` (the keywords of `assert_requested`)."""
        __tracebackhide__ = True
        a.check_expected("assert_not_requested", expected, a.REQUEST_FIELDS, a.REQUEST_SUBSETS)
        readings = _readings(expected)
        rows = [e for e in self.requests()
                if any(not a.differences(e, r, a.REQUEST_FIELDS, action_items=True) for r in readings)]
        if rows:
            headline = (f"{a.call_text('assert_not_requested', expected)}: {len(rows)} "
                        f"{'request' if len(rows) == 1 else 'requests'} did arrive")
            raise AssertionError(a.listing(headline, rows, a.describe_request))

    def assert_requested(self, *, count: int | None = None, timeout: float | None = None,
                         **expected: Any) -> dict[str, Any]:
        """The journaled request matching `expected` (vendor, action, app, user, status, method,
        path, params={...}); `action` also matches an action inside a Leanplum `multi`. Fails
        with the requests that did arrive, closest first, and how each differs."""
        __tracebackhide__ = True
        a.check_expected("assert_requested", expected, a.REQUEST_FIELDS, a.REQUEST_SUBSETS, ("count", "timeout"))
        return self._assert_found("assert_requested", expected, count, timeout, self.requests,
                                  a.REQUEST_FIELDS, a.describe_request, "request", action_items=True,
                                  readings=_readings(expected))

    def _assert_found(self, what: str, expected: dict[str, Any], count: int | None, timeout: float | None,
                      rows_now: Callable[[], list[dict[str, Any]]], fields: Mapping[str, Any],
                      describe: Callable[[Mapping[str, Any]], str], noun: str,
                      action_items: bool = False, readings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """`readings`: the ways `expected` is compared, a row matching any (the call text shows
        `expected` as written; a near miss is shown against the first)."""
        __tracebackhide__ = True
        readings = readings or [expected]
        matching = readings[0]
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise TypeError(f"{what}(): count= takes a whole number >= 1 (assert_no_pushes checks for none), "
                            f"not {count!r}")

        def look() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            rows = rows_now()
            return rows, [r for r in rows if any(not a.differences(r, e, fields, action_items) for e in readings)]

        self.settle()
        rows, matched = look()
        waited = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + waited
        while self.live and len(matched) < (count or 1) and time.monotonic() < deadline:
            time.sleep(_POLL)  # a live server's client may still be on its way: look again
            self.settle()
            rows, matched = look()
        if len(matched) < (count or 1):
            self.raise_failures()  # the fake broke: that is why
        call = a.call_text(what, {**expected, **({"count": count} if count is not None else {})})
        within = f" within {waited:g} s" if self.live and len(matched) < (count or 1) else ""
        if count is not None and len(matched) != count:
            raise AssertionError(a.listing(f"{call}: {len(matched)} matched{within}", matched, describe)
                                 if matched else a.no_match(f"{call}: none matched{within}", rows, matching, fields,
                                                            describe, noun, action_items))
        if not matched:
            raise AssertionError(a.no_match(f"{call}: no {noun} matched{within}", rows, matching, fields, describe,
                                            noun, action_items))
        return matched[0]


def _readings(expected: dict[str, Any]) -> list[dict[str, Any]]:
    """The ways a journaled request may match `expected`: with a Leanplum action's `params` read as
    the fake reads them (the journal holds what the fake acted on), so a test may write
    `messageId=3001` or `'3001'` as a client may send either; and as written, since a request
    refused for its parameters is journaled as it was sent."""
    params, action = expected.get("params"), expected.get("action")
    leanplum = expected.get("vendor", "leanplum") == "leanplum"
    if not (leanplum and isinstance(params, Mapping) and isinstance(action, str)):
        return [expected]
    return [{**expected, "params": as_read(action, dict(params))}, expected]
