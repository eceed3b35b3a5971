"""The in-process fake behind the `pushfake` fixture: fakes kept for the session (one per fixtures
file, reset for each test, since building one costs ~12 ms and a reset ~40 µs), and the respx
router that sends the vendors' real hosts into them.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from pushfake import Client, Fake, ManualClock, create_app
from pushfake.asgi_transport import FakeTransport, LoopThread
from pytest_pushfake.handle import Pushfake
from pytest_pushfake.settings import Settings

LOCAL_HOST = "pushfake.local"  # the in-process fake's own name (`pushfake.url`)
VENDOR_HOSTS = re.compile(
    r"(api|www)\.leanplum\.com"  # the Leanplum API and its older host, used by the SDKs
    r"|([a-z0-9]+-)?api\.dengage\.com"  # D·engage, and its regional hosts (tr-api, eu-api, ...)
    rf"|{re.escape(LOCAL_HOST)}"
)


class VendorRouter(respx.MockRouter):
    """Requests to the vendors' hosts go to the fake. Others go on to another respx router if the
    test has one, else to the network, as if pushfake were not there."""

    def __init__(self, transport: FakeTransport) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self._fake = transport
        self.route(name="other hosts").mock(side_effect=self._other_host)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if VENDOR_HOSTS.fullmatch(request.url.host):
            return self._fake.handle_request(request)
        return super().handler(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        if VENDOR_HOSTS.fullmatch(request.url.host):
            return await self._fake.handle_async_request(request)  # already read whole: no stream to hand on
        return await super().async_handler(request)

    def _other_host(self, request: httpx.Request) -> httpx.Request | None:
        others = [r for r in (self.Mocker.routers if self.Mocker else []) if r is not self]
        return None if others else request  # None: not ours, ask the next router; request: pass through


class VendorLookupGuard:
    """Clients respx cannot route (requests, urllib, aiohttp, subprocesses aside) would reach the
    real vendors from a `pushfake` test, and push to real phones. While it is on, looking up a
    vendor's host fails instead, saying what to use."""

    def __init__(self) -> None:
        self._original: Any = None

    def start(self) -> None:
        original = self._original = socket.getaddrinfo

        def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if isinstance(name, str) and VENDOR_HOSTS.fullmatch(name.lower().rstrip(".")):
                raise socket.gaierror(socket.EAI_NONAME, f"pushfake: {name} is the real vendor, and the `pushfake` "
                                      "fixture routes only httpx to its fake; give this client "
                                      "pushfake_server.leanplum_url / .dengage_url instead")
            return original(host, *args, **kwargs)

        socket.getaddrinfo = guarded

    def stop(self) -> None:
        if self._original is not None:
            socket.getaddrinfo, self._original = self._original, None


@dataclass
class _Kept:
    """One fake kept for the session, with what serves it."""

    fake: Fake
    transport: FakeTransport
    control: Client
    router: VendorRouter
    label: str


@dataclass
class InProcessPool:
    loop: LoopThread = field(default_factory=LoopThread)
    guard: VendorLookupGuard = field(default_factory=VendorLookupGuard)
    _kept: dict[str, _Kept] = field(default_factory=dict)

    def open(self, settings: Settings) -> tuple[Pushfake, Any]:
        """A handle on a fake in its fixtures' fresh state, routed; and the function that ends it."""
        kept = self._kept.get(settings.fixtures_key)
        if kept is None or kept.fake.fixtures_label != kept.label:  # a test loaded other fixtures
            kept = self._kept[settings.fixtures_key] = self._keep(settings)
        kept.fake.reset(seed=settings.seed, restart_clock=True, now=settings.clock)
        for rule in settings.faults:
            kept.fake.faults.add(rule)
        kept.router.start()
        self.guard.start()
        handle = Pushfake(control=kept.control, url=f"http://{LOCAL_HOST}",
                          leanplum_url="https://api.leanplum.com/api", dengage_url="https://api.dengage.com/rest",
                          live=False, transport=kept.transport, fake=kept.fake)

        def close() -> None:
            self.guard.stop()
            kept.router.stop(quiet=True)
            kept.router.reset()

        return handle, close

    def _keep(self, settings: Settings) -> _Kept:
        fixtures = settings.fixtures
        fake = Fake(fixtures=None if isinstance(fixtures, dict) else fixtures, seed=settings.seed,
                    clock=ManualClock())
        if isinstance(fixtures, dict):
            fake.load_fixtures(fixtures, label="pushfake marker or fixture")
        transport = FakeTransport(create_app(fake), self.loop)
        control = Client(f"http://{LOCAL_HOST}", transport=transport)
        return _Kept(fake, transport, control, VendorRouter(transport), fake.fixtures_label)

    def close(self) -> None:
        for kept in self._kept.values():
            kept.control.close()
        self._kept.clear()
        self.loop.close()
