"""Where a contract run sends its requests: the in-process fake, a live `pushfake serve`, or a
real deployment. Every request goes through one gated `requests.Session` (see `gate`); a fake
target also has its control plane, used only to reset it between checks and to settle its clock.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import requests.adapters

from pushfake.client import Client
from pushfake.contract.gate import Gate, session_through
from pushfake.contract.inprocess import IN_PROCESS_URL, START, InProcessFake
from pushfake.contract.safety import SafetyPolicy, TestIds
from pushfake.contract.settings import IN_PROCESS, ContractSettings, Credentials, SettingsError
from pushfake.contract.spec import leanplum_actions
from pushfake.contract.world import World


@dataclass
class Endpoint:
    """One vendor's side of the target."""

    vendor: str
    url: str
    fake: bool
    control: Client | None = None

    @property
    def kind(self) -> str:
        if self.url == IN_PROCESS_URL:
            return IN_PROCESS
        return "pushfake" if self.fake else "real"


@dataclass
class Target:
    settings: ContractSettings
    endpoints: dict[str, Endpoint]
    credentials: Credentials
    ids: TestIds
    gate: Gate
    session: requests.Session
    safe: bool
    world: World = field(default_factory=World)
    epoch: int = 0  # bumped by every reset: cached tokens of an older epoch are stale
    placeholders: tuple[str, ...] = ()  # a dry run's variables not set, each sent as its placeholder
    _closers: list[Any] = field(default_factory=list)

    def url(self, vendor: str) -> str:
        return self.endpoints[vendor].url

    def is_fake(self, vendor: str) -> bool:
        return self.endpoints[vendor].fake

    @property
    def all_fake(self) -> bool:
        return all(e.fake for e in self.endpoints.values())

    def controls(self) -> list[Client]:
        """The control planes of the fake endpoints, each once."""
        seen: dict[str, Client] = {}
        for endpoint in self.endpoints.values():
            if endpoint.control is not None:
                seen.setdefault(endpoint.url, endpoint.control)
        return list(seen.values())

    def reset(self) -> None:
        """Give every fake endpoint its starting world, seed and clock back (a real one is left
        as it is). Called before each check, so that one check can be run alone and repeat."""
        for endpoint in self.endpoints.values():
            if endpoint.control is not None and endpoint.vendor == self._first_on(endpoint.url):
                if endpoint.kind == IN_PROCESS:  # a live server's clock keeps real time
                    endpoint.control.reset(keep_config=True, seed=self.settings.seed, restart_clock=True, now=START)
                else:
                    endpoint.control.reset(keep_config=True, seed=self.settings.seed)
        if self.all_fake:  # every endpoint starts afresh: a check's made-up ids follow from it alone
            self.ids.restart()
        self.epoch += 1

    def _first_on(self, url: str) -> str:
        return next(vendor for vendor, e in self.endpoints.items() if e.url == url)

    def now(self, vendor: str) -> float:
        """The target's time: the fake's clock, or this machine's for a real deployment."""
        control = self.endpoints[vendor].control
        return float(control.clock()["now"]) if control is not None else time.time()

    def advance(self, seconds: float) -> None:
        """Move the fakes' clocks on (a real deployment's time passes by itself)."""
        for control in self.controls():
            control.advance(seconds)

    def settle(self) -> None:
        """Let the fakes' gateways finish every due delivery."""
        for control in self.controls():
            control.settle()

    def close(self) -> None:
        self.session.close()
        for close in reversed(self._closers):
            close()


def open_target(settings: ContractSettings, *, environ: dict[str, str] | None = None,
                network: requests.adapters.BaseAdapter | None = None) -> Target:
    """Resolve the settings' targets, probe which are pushfakes, and build the gated session.
    `network` replaces the real network adapter (tests use it to prove nothing is sent)."""
    closers: list[Any] = []
    endpoints: dict[str, Endpoint] = {}
    in_process: InProcessFake | None = None
    probed: dict[str, bool] = {}
    for vendor in settings.vendors:
        url = settings.targets.get(vendor)
        if url is None:
            if in_process is None:
                in_process = InProcessFake.open(settings.seed)
                closers += in_process.closers
            endpoints[vendor] = Endpoint(vendor, IN_PROCESS_URL, True, in_process.control)
            continue
        if url not in probed:
            probed[url] = False if settings.dry_run else _is_pushfake(url)
        control = Client(url, admin_token=settings.admin_token) if probed[url] else None
        if control is not None:
            closers.append(control.close)
        endpoints[vendor] = Endpoint(vendor, url, probed[url], control)
    if settings.shared_by_vendors() and not probed[settings.shared or ""]:
        raise SettingsError(settings.one_host_refusal())
    all_fake = all(e.fake for e in endpoints.values())
    safe = (not all_fake) if settings.safe is None else settings.safe
    credentials = Credentials.from_environment(environ, fake=all_fake, dry_run=settings.dry_run)
    missing = [name for vendor, e in endpoints.items() if not e.fake for name in credentials.missing(vendor)]
    if missing and not settings.dry_run:  # a dry run sends nothing: placeholders stand in
        raise SettingsError("a real deployment needs its credentials in the environment: set " + ", ".join(missing))
    ids = TestIds(settings.prefix, _run_id(settings, all_fake))
    fake_limits = all_fake  # limits protect a real account; a fake needs none, safe mode or not
    gate = Gate(
        policy=SafetyPolicy(settings, ids, leanplum_actions()) if safe else None,
        budget=settings.budget if settings.budget is not None or fake_limits else ContractSettings.DEFAULT_BUDGET,
        rate=settings.rate if settings.rate is not None or fake_limits else ContractSettings.DEFAULT_RATE,
        dry_run=settings.dry_run,
        backoff_on_429=not all_fake,
        secrets=credentials.hidden(),
    )
    inner: requests.adapters.BaseAdapter = network or requests.adapters.HTTPAdapter()
    if in_process is not None and all(e.kind == IN_PROCESS for e in endpoints.values()):
        inner = in_process.adapter
    elif in_process is not None:
        inner = _Split(in_process.adapter, inner)
    session = session_through(gate, inner)
    world = World.from_target({vendor: e.fake and not safe for vendor, e in endpoints.items()})
    return Target(settings, endpoints, credentials, ids, gate, session, safe, world=world,
                  placeholders=tuple(missing), _closers=closers)


def _run_id(settings: ContractSettings, all_fake: bool) -> str:
    """Fakes are reset between checks, so ids can repeat: they follow the seed. A real account
    keeps what earlier runs created, so its ids are new each run."""
    salt = "" if all_fake else f"{time.time_ns()}"
    return hashlib.sha256(f"{settings.seed}:{salt}".encode()).hexdigest()[:8]


def _is_pushfake(url: str) -> bool:
    """Whether `url` serves pushfake's control plane (one GET, not through the gate)."""
    try:
        answer = httpx.get(f"{url}/_pushfake/health", timeout=5.0)
        return answer.status_code == 200 and answer.json().get("status") == "ok" and "seed" in answer.json()
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


class _Split(requests.adapters.BaseAdapter):
    """In-process for pushfake.local, the network for the rest (one vendor in process, one not)."""

    def __init__(self, local: requests.adapters.BaseAdapter, network: requests.adapters.BaseAdapter) -> None:
        super().__init__()
        self._local, self._network = local, network

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        local = (request.url or "").startswith(IN_PROCESS_URL)
        return (self._local if local else self._network).send(request, *args, **kwargs)

    def close(self) -> None:
        self._local.close()
        self._network.close()
