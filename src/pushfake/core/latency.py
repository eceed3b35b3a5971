"""How long something takes: fixed, uniform, or log-normal. The gateway draws each attempt's
answer time from one; a fault's `delay` is one too.

Real push gateways answer most requests quickly and a few very slowly, so the log-normal model
is given the way people describe latency: its median and its 99th percentile. Every draw comes
from the fake's seeded generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from pushfake.core.rng import SeededRandom

_Z99 = 2.3263478740408408  # the standard normal's 99th percentile


class Latency(Protocol):
    def draw(self, rng: SeededRandom) -> float:
        """Seconds for one attempt."""


@dataclass(frozen=True, slots=True)
class Fixed:
    seconds: float

    def __post_init__(self) -> None:
        _non_negative("fixed latency", self.seconds)

    def draw(self, rng: SeededRandom) -> float:
        return self.seconds


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    def __post_init__(self) -> None:
        _non_negative("uniform latency's low", self.low)
        if self.high < self.low:
            raise ValueError(f"uniform latency needs low <= high, got {self.low} and {self.high}")

    def draw(self, rng: SeededRandom) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class LogNormal:
    median: float
    p99: float
    _mu: float = field(init=False, repr=False)
    _sigma: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not (0 < self.median <= self.p99):
            raise ValueError(f"log-normal latency needs 0 < median <= p99, got {self.median} and {self.p99}")
        object.__setattr__(self, "_mu", math.log(self.median))
        object.__setattr__(self, "_sigma", (math.log(self.p99) - math.log(self.median)) / _Z99)

    def draw(self, rng: SeededRandom) -> float:
        return rng.lognormal(self._mu, self._sigma) if self._sigma else self.median


def latency_from(value: Any) -> Latency:
    """A model from its fixtures form: `0.05`, `{fixed: 0.05}`, `{uniform: [0.01, 0.2]}`,
    `{lognormal: {median: 0.05, p99: 0.4}}`; a model object passes through."""
    if isinstance(value, Fixed | Uniform | LogNormal):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Fixed(float(value))
    if isinstance(value, dict) and len(value) == 1:
        (kind, arg), = value.items()
        if kind == "fixed" and isinstance(arg, int | float):
            return Fixed(float(arg))
        if kind == "uniform" and isinstance(arg, list | tuple) and len(arg) == 2:
            return Uniform(float(arg[0]), float(arg[1]))
        if kind == "lognormal" and isinstance(arg, dict) and set(arg) == {"median", "p99"}:
            return LogNormal(float(arg["median"]), float(arg["p99"]))
    raise ValueError(
        f"latency {value!r} is none of: seconds, {{fixed: s}}, {{uniform: [low, high]}}, "
        "{lognormal: {median: s, p99: s}}")


def latency_dict(latency: Latency) -> Any:
    """The fixtures form of a model, as `latency_from` reads it (a fixed model as its seconds)."""
    if isinstance(latency, Fixed):
        return latency.seconds
    if isinstance(latency, Uniform):
        return {"uniform": [latency.low, latency.high]}
    if isinstance(latency, LogNormal):
        return {"lognormal": {"median": latency.median, "p99": latency.p99}}
    return repr(latency)


def _non_negative(what: str, seconds: float) -> None:
    if not seconds >= 0:
        raise ValueError(f"{what} must be >= 0 seconds, got {seconds}")
