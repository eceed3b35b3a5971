"""What the gateway is told to do: latency, failure rates, rules, outages, throughput, retries.

One `GatewayConfig` is built from the fixtures file's `gateway` section (`from_mapping`) and
changed at run time through `Gateway`'s methods; both paths build the same small records, so a
fixtures file and a Python call mean exactly the same thing. Times are read by `core.times.when`
(epoch seconds, ISO 8601, or `+30s` from the moment the config is loaded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import re2

from pushfake.core.latency import Latency, LogNormal, latency_from
from pushfake.core.times import when
from pushfake.gateway.platforms import PLATFORMS, Outcome, platform

# Assumed defaults: the vendors publish no gateway latency; these are typical of a healthy
# provider connection and keep a live demo quick.
DEFAULT_LATENCY: dict[str, Latency] = {
    "apns": LogNormal(median=0.05, p99=0.3),
    "fcm": LogNormal(median=0.08, p99=0.4),
    "webpush": LogNormal(median=0.1, p99=0.5),
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Transient failures are tried again after initial * multiplier**(n-1) seconds (at most
    `maximum`), spread by +/- `jitter` (a fraction), up to `limit` retries."""

    limit: int = 3
    initial: float = 1.0
    multiplier: float = 2.0
    maximum: float = 60.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.limit < 0 or self.initial < 0 or self.multiplier < 1 or self.maximum < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("retry needs limit >= 0, initialSeconds >= 0, multiplier >= 1, "
                             "maxSeconds >= 0 and 0 <= jitter <= 1")

    def delay(self, retry: int, draw: float) -> float:
        """Seconds before retry number `retry` (1-based); `draw` is a uniform [0, 1) value."""
        base = min(self.maximum, self.initial * self.multiplier ** (retry - 1))
        return base * (1 + self.jitter * (2 * draw - 1)) if self.jitter else base


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """Which tokens a rule is about: one token (a web push endpoint), a regex, and/or a platform."""

    platform: str | None = None
    token: str | None = None
    pattern: Any = None  # a compiled re2 pattern (see `token_pattern`)

    def matches(self, platform_name: str, key: str) -> bool:
        return ((self.platform is None or self.platform == platform_name)
                and (self.token is None or self.token == key)
                and (self.pattern is None or self.pattern.search(key) is not None))


@dataclass(slots=True)
class PlatformSettings:
    latency: Latency
    failures: dict[str, float] = field(default_factory=dict)  # outcome code -> probability
    throughput: float | None = None  # attempts per second before the gateway throttles
    check_tokens: bool = True


@dataclass(slots=True)
class TokenOverride:
    match: TokenMatch
    latency: Latency | None = None
    failures: dict[str, float] | None = None


@dataclass(slots=True)
class FailNext:
    match: TokenMatch
    remaining: int
    code: str


@dataclass(frozen=True, slots=True)
class UnregisteredFrom:
    match: TokenMatch
    at: float


@dataclass(frozen=True, slots=True)
class Outage:
    platform: str
    start: float
    end: float
    code: str


@dataclass(slots=True)
class GatewayConfig:
    platforms: dict[str, PlatformSettings]
    overrides: list[TokenOverride] = field(default_factory=list)
    fail_next: list[FailNext] = field(default_factory=list)
    unregistered: list[UnregisteredFrom] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    retry: RetryPolicy = RetryPolicy()

    @classmethod
    def default(cls) -> GatewayConfig:
        return cls({name: PlatformSettings(DEFAULT_LATENCY[name]) for name in PLATFORMS})

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any] | None, now: float) -> GatewayConfig:
        """A config from a fixtures `gateway` section; ValueError names the bad place."""
        config = cls.default()
        config.apply(mapping or {}, now)
        return config

    def apply(self, mapping: dict[str, Any], now: float) -> None:
        """Add a fixtures-style mapping's settings and rules to this config."""
        for section, value in mapping.items():
            apply_section = _SECTIONS.get(section)
            if apply_section is None:
                raise ValueError(f"gateway.{section}: unknown setting")
            try:
                apply_section(self, value, now)
            except ValueError as exc:
                raise ValueError(f"gateway.{section}{_where(exc)}") from None


class _At(ValueError):
    """A ValueError that knows where (below its section) it happened."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


def _where(exc: ValueError) -> str:
    return f"{exc.where}: {exc}" if isinstance(exc, _At) else f": {exc}"


def _located(where: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except _At as exc:
        raise _At(where + exc.where, str(exc)) from None
    except (ValueError, TypeError, re.error) as exc:
        raise _At(where, str(exc)) from None


# --- sections ------------------------------------------------------------------------------------
def _retry(config: GatewayConfig, value: dict[str, Any], now: float) -> None:
    names = {"limit": "limit", "initialSeconds": "initial", "multiplier": "multiplier",
             "maxSeconds": "maximum", "jitter": "jitter"}
    unknown = set(value) - set(names)
    if unknown:
        raise ValueError(f"unknown retry setting {sorted(unknown)[0]!r}")
    current = config.retry
    config.retry = RetryPolicy(**{
        field_name: value.get(key, getattr(current, field_name)) for key, field_name in names.items()})


def _platforms(config: GatewayConfig, value: dict[str, Any], now: float) -> None:
    for name, settings in value.items():
        _located(f".{name}", _one_platform, config, name, settings)


def _one_platform(config: GatewayConfig, name: str, settings: dict[str, Any]) -> None:
    target = config.platforms[platform(name).name]  # platform() refuses an unknown name
    for key, item in settings.items():
        if key == "latency":
            target.latency = _located(".latency", latency_from, item)
        elif key == "failures":
            target.failures = _located(".failures", failure_rates, name, item)
        elif key == "throughputPerSecond":
            target.throughput = _located(".throughputPerSecond", throughput, item)
        elif key == "checkTokens":
            target.check_tokens = bool(item)
        else:
            raise _At(f".{key}", "unknown platform setting")


def _tokens(config: GatewayConfig, value: list[dict[str, Any]], now: float) -> None:
    for i, item in enumerate(value):
        config.overrides.append(_located(f"[{i}]", _override, item))


def _override(item: dict[str, Any]) -> TokenOverride:
    match = token_match(item)
    latency = _located(".latency", latency_from, item["latency"]) if "latency" in item else None
    failures = (_located(".failures", failure_rates, match.platform, item["failures"])
                if "failures" in item else None)
    return TokenOverride(match, latency, failures)


def _rules(config: GatewayConfig, value: list[dict[str, Any]], now: float) -> None:
    for i, item in enumerate(value):
        _located(f"[{i}]", _rule, config, item, now)


def _rule(config: GatewayConfig, item: dict[str, Any], now: float) -> None:
    match = token_match(item)
    if "failNext" in item:
        config.fail_next.append(fail_next(match, item["failNext"], item.get("outcome")))
    elif "unregisteredFrom" in item:
        config.unregistered.append(UnregisteredFrom(match, _located(".unregisteredFrom", when, item["unregisteredFrom"], now)))
    else:
        raise ValueError("a rule needs failNext (with outcome) or unregisteredFrom")


def _outages(config: GatewayConfig, value: list[dict[str, Any]], now: float) -> None:
    for i, item in enumerate(value):
        config.outages.append(_located(f"[{i}]", outage_from, item, now))


def outage_from(item: dict[str, Any], now: float) -> Outage:
    return outage(item.get("platform"), when(item.get("from", now), now), when(item.get("until"), now),
                  item.get("outcome"))


_SECTIONS = {"retry": _retry, "platforms": _platforms, "tokens": _tokens, "rules": _rules, "outages": _outages}


# --- building blocks, shared with the Python API -------------------------------------------------
def token_match(item: dict[str, Any]) -> TokenMatch:
    name = item.get("platform")
    if name is not None:
        platform(name)
    token = item.get("token")
    if isinstance(token, dict):
        token = token.get("endpoint")
    pattern = item.get("pattern")
    if token is None and pattern is None and name is None:
        raise ValueError("say which tokens: token, pattern or platform")
    compiled = token_pattern(pattern) if pattern is not None else None
    return TokenMatch(name, None if token is None else str(token), compiled)


MAX_PATTERN_LENGTH = 1000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the caller's error, not a log line on stderr


def token_pattern(pattern: Any) -> Any:
    """A client's token pattern compiled by RE2, whose matching time is linear in the token's
    length: Python's `re` backtracks, and `(a+)+$` on a long token would hold the event loop for
    minutes. What RE2 cannot run in linear time (backreferences, lookaround) is refused."""
    if not isinstance(pattern, str):
        raise _At(".pattern", f"a pattern is text, not {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _At(".pattern", f"a pattern is at most {MAX_PATTERN_LENGTH} characters, not {len(pattern)}")
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise _At(".pattern", f"{pattern!r} is not a regular expression pushfake can match in linear time "
                              f"(RE2 syntax, no backreferences or lookaround): {detail}") from None


def failure_rates(platform_name: str | None, rates: dict[str, float]) -> dict[str, float]:
    """Outcome code -> probability, checked: the codes exist and the chances add up to <= 1."""
    out: dict[str, float] = {}
    for code, chance in rates.items():
        _located(f".{code}", _known_code, platform_name, str(code))
        if not isinstance(chance, int | float) or not 0 <= chance <= 1:
            raise _At(f".{code}", f"a probability is between 0 and 1, not {chance!r}")
        out[str(code)] = float(chance)
    if sum(out.values()) > 1 + 1e-9:
        raise ValueError(f"the failure probabilities add up to {sum(out.values()):g}, more than 1")
    return out


def fail_next(match: TokenMatch, times: Any, code: Any) -> FailNext:
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise _At(".failNext", f"the number of attempts to fail is a whole number >= 1, not {times!r}")
    if code is None:
        raise _At(".outcome", "failNext needs an outcome code")
    _located(".outcome", _known_code, match.platform, str(code))
    return FailNext(match, times, str(code))


def outage(platform_name: Any, start: float, end: float, code: Any = None) -> Outage:
    if platform_name is None:
        raise _At(".platform", "an outage names its platform")
    chosen = platform(str(platform_name))
    if end <= start:
        raise ValueError("an outage ends after it starts")
    if code is None:
        code = chosen.unavailable.code
    elif chosen.outcome(str(code)).kind == "ok":
        raise _At(".outcome", f"an outage answers a failure, not {code!r}")
    return Outage(chosen.name, start, end, str(code))


def throughput(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"attempts per second is a number > 0 (or null for no cap), not {value!r}")
    return float(value)


def _known_code(platform_name: str | None, code: str) -> Outcome | None:
    """The outcome for `code` on the platform; with no platform, some platform must know it."""
    if platform_name is not None:
        return platform(platform_name).outcome(code)
    if not any(code in p.outcomes for p in PLATFORMS.values()):
        known = sorted({c for p in PLATFORMS.values() for c in p.outcomes})
        raise ValueError(f"no platform answers {code!r}; known codes: {', '.join(known)}")
    return None
