"""What a contract run is told: its targets, its limits, and the credentials it reads from the
environment (never from the command line, so they stay out of shell history and reports)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pushfake.core.resources import VENDORS
IN_PROCESS = "in-process"
# Schemathesis's phases of a conformance check, in the order it runs them: the spec's own examples,
# the coverage phase's boundary and near-miss cases, then Hypothesis's fuzzing.
PHASES = ("examples", "coverage", "fuzzing")

# Where each credential comes from. The fake's own fixture credentials stand in when a variable is
# unset and the target is a fake; a real deployment needs them set.
ENV = {
    "leanplum_app_id": "PUSHFAKE_LEANPLUM_APP_ID",
    "leanplum_production_key": "PUSHFAKE_LEANPLUM_PRODUCTION_KEY",
    "leanplum_development_key": "PUSHFAKE_LEANPLUM_DEVELOPMENT_KEY",
    "dengage_userkey": "PUSHFAKE_DENGAGE_USERKEY",
    "dengage_password": "PUSHFAKE_DENGAGE_PASSWORD",
    "dengage_application_ids": "PUSHFAKE_DENGAGE_APPLICATION_IDS",
}
# The default world's credentials (src/pushfake/fixtures/default.yaml): not secrets.
FIXTURE_CREDENTIALS = {
    "leanplum_app_id": "app_pushfake",
    "leanplum_production_key": "prod_pushfake",
    "leanplum_development_key": "dev_pushfake",
    "dengage_userkey": "pushfake",
    "dengage_password": "pushfake-secret",
    "dengage_application_ids": "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d,2b7e9a41-3c5d-4e6f-8a9b-0c1d2e3f4a5b",
}
# Credentials that are secrets (scrubbed from every report); application and app ids are not.
SECRET_FIELDS = ("leanplum_production_key", "leanplum_development_key", "dengage_userkey", "dengage_password")


def placeholder(variable: str) -> str:
    """How a report writes a credential it does not show: a reference to its environment
    variable (`${PUSHFAKE_DENGAGE_PASSWORD}`), for a secret scrubbed from a report and for a
    credential a dry run has not been given alike."""
    return f"${{{variable}}}"


class SettingsError(ValueError):
    """A contract option or environment variable that cannot be used; the message says which."""


@dataclass(frozen=True)
class Credentials:
    """The accounts the suite uses. `from_env` marks which values came from the environment:
    those are secrets and never appear in a report. `placeholders` marks the values a dry run
    against a real deployment was not given: each is its variable's `placeholder`."""

    leanplum_app_id: str | None = None
    leanplum_production_key: str | None = None
    leanplum_development_key: str | None = None
    dengage_userkey: str | None = None
    dengage_password: str | None = None
    dengage_application_ids: tuple[str, ...] = ()
    from_env: frozenset[str] = frozenset()
    placeholders: frozenset[str] = frozenset()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, *, fake: bool,
                         dry_run: bool = False) -> Credentials:
        """Read every variable of `ENV`; unset ones take the fixture values for a fake target,
        and placeholders in a dry run against a real one (it sends nothing, so shows where each
        would go)."""
        environ = os.environ if environ is None else environ
        values: dict[str, str] = {}
        given, stand_ins = set(), set()
        for name, variable in ENV.items():
            if environ.get(variable):
                values[name] = environ[variable]
                given.add(name)
            elif fake:
                values[name] = FIXTURE_CREDENTIALS[name]
            elif dry_run:
                values[name] = placeholder(variable)
                stand_ins.add(name)
        apps = tuple(a.strip() for a in values.pop("dengage_application_ids", "").split(",") if a.strip())
        return cls(**values, dengage_application_ids=apps, from_env=frozenset(given),
                   placeholders=frozenset(stand_ins))

    def secrets(self) -> dict[str, str]:
        """{environment variable: value} for every secret read from the environment."""
        return {ENV[name]: value for name in SECRET_FIELDS
                if name in self.from_env and (value := getattr(self, name))}

    def hidden(self) -> dict[str, str]:
        """{environment variable: value as sent} for every value a report writes as its
        `placeholder`: the secrets, and the placeholders themselves (so a logged curl command
        expands each from the environment)."""
        return {**self.secrets(), **{ENV[name]: placeholder(ENV[name]) for name in self.placeholders}}

    def missing(self, vendor: str) -> list[str]:
        """The environment variables `vendor` needs that are not set (in a dry run, those a
        placeholder stands for)."""
        names = [n for n in ENV if n.startswith(vendor)]
        return [ENV[n] for n in names if not getattr(self, n) or n in self.placeholders]


@dataclass(frozen=True, kw_only=True)
class ContractSettings:
    """One run's options; `pushfake contract` and the pytest options build the same record."""

    targets: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(VENDORS))
    vendors: tuple[str, ...] = VENDORS
    examples: int = 50
    phases: tuple[str, ...] = PHASES  # Schemathesis's phases the conformance checks run
    seed: int = 0
    safe: bool | None = None  # None: safe against anything but a pushfake
    dry_run: bool = False
    budget: int | None = None  # None: unlimited on a fake, DEFAULT_BUDGET otherwise
    rate: float | None = None  # requests per second; None: uncapped on a fake, DEFAULT_RATE otherwise
    leanplum_test_message: str | None = None
    leanplum_test_device: tuple[str, str] | None = None  # (userId, deviceId)
    dengage_table: str | None = None
    dengage_segment: str | None = None
    prefix: str = "pushfake-contract"
    admin_token: str | None = None
    shared: str | None = None  # a bare target URL (`shared_target`): for both vendors, only if a pushfake

    DEFAULT_BUDGET = 2000
    DEFAULT_RATE = 5.0

    def __post_init__(self) -> None:
        if self.examples < 1:
            raise SettingsError(f"examples: at least 1, not {self.examples}")
        strange = [p for p in self.phases if p not in PHASES]
        if strange or not self.phases:
            raise SettingsError(f"phases: some of {', '.join(PHASES)}, not {', '.join(strange) or 'none'}")
        if self.budget is not None and self.budget < 0:
            raise SettingsError(f"budget: a number of requests (0 or more), not {self.budget}")
        if self.rate is not None and self.rate <= 0:
            raise SettingsError(f"rate: requests per second above 0, not {self.rate}")
        unknown = [v for v in self.vendors if v not in VENDORS]
        if unknown or not self.vendors:
            raise SettingsError(f"vendors: some of {', '.join(VENDORS)}, not {', '.join(unknown) or 'none'}")
        if bool(self.leanplum_test_message) != bool(self.leanplum_test_device):
            raise SettingsError("a Leanplum test message and a test device go together: give both or neither")
        if not self.prefix or not self.prefix.replace("-", "").isalnum():
            raise SettingsError(f"prefix: letters, digits and dashes, not {self.prefix!r}")

    def shared_by_vendors(self) -> bool:
        """Whether a bare target URL (`shared`) stands for more than one of the run's vendors."""
        return self.shared is not None and sum(self.targets.get(v) == self.shared for v in self.vendors) > 1

    def one_host_refusal(self) -> str:
        """Why a bare URL that is not a pushfake cannot stand for both vendors: a real deployment
        has a host per vendor, each to see only its own credentials."""
        known = ("is not known to be a pushfake (a dry run sends nothing, not even a probe)" if self.dry_run
                 else "is not a pushfake")
        return (f"{self.shared} {known}, so it cannot stand for both vendors (a real deployment has a host per "
                "vendor, and each must see only its own credentials): give each vendor its URL "
                "(--target leanplum=URL --target dengage=URL) or run one vendor (--vendor leanplum)")


def parse_targets(values: list[str] | tuple[str, ...]) -> dict[str, str | None]:
    """`URL` (every vendor) or `VENDOR=URL`, repeatable; `in-process` is the in-process fake."""
    targets: dict[str, str | None] = dict.fromkeys(VENDORS)
    for value in values:
        vendor, sep, url = value.partition("=")
        if sep and vendor in VENDORS:
            targets[vendor] = _url(url)
        else:
            for name in VENDORS:
                targets[name] = _url(value)
    return targets


def shared_target(values: list[str] | tuple[str, ...]) -> str | None:
    """The URL given bare (for every vendor) in `parse_targets`' values, the last one if several:
    right for a pushfake, which answers both vendors, never for a real deployment (one host each)."""
    bare = [value for value in values if value.partition("=")[0] not in VENDORS]
    return _url(bare[-1]) if bare else None


def _url(value: str) -> str | None:
    if value == IN_PROCESS:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"target: an http(s) URL, VENDOR=URL or {IN_PROCESS!r}, not {value!r}")
    if parts.query or parts.fragment:
        raise SettingsError(f"target: a base URL without query or fragment, not {value!r}")
    return value.rstrip("/")


def parse_phases(value: str | None) -> tuple[str, ...]:
    """`coverage,fuzzing`: a comma-separated list of phases; None or empty: all of them."""
    return tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip())) if value else PHASES


def parse_test_device(value: str | None) -> tuple[str, str] | None:
    """`USER_ID:DEVICE_ID`, the one device a full Leanplum sendMessage may reach."""
    if value is None:
        return None
    user, sep, device = value.partition(":")
    if not sep or not user or not device:
        raise SettingsError(f"Leanplum test device: USER_ID:DEVICE_ID, not {value!r}")
    return user, device
