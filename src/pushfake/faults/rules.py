"""Fault rules: which requests a rule is about, and on which of them it fires.

A rule fires on a matching request (vendor, operation, app, user, parameter values, inside
its time window) when its trigger says so: every time, the `nth` matching request only, with
a `probability` (a seeded draw), at most `times` times. Each firing applies the next fault of
its `sequence` ("fail twice, then succeed" is a sequence of two errors); a spent sequence
stops firing unless it `repeat`s.

A `Rule` is what the rule says; what requests did with it (how many matched, how many got a
fault) is counted in the store by the book, and only copied into the `Rule` the book hands out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

from pushfake.core.spec import ApiSpec, SchemaValidator
from pushfake.core.times import when
from pushfake.faults.kinds import Fault, fault_from


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the fault rules and the journal know about a request before it runs."""

    vendor: str
    method: str
    path: str
    operation: str | None
    app: str | None
    users: tuple[str, ...]
    params: dict[str, Any]  # what `match.params` compares against
    items: tuple[str, ...] = ()  # the actions inside a Leanplum multi

    @property
    def user(self) -> str | None:
        return self.users[0] if self.users else None


@dataclass(frozen=True, slots=True)
class Match:
    vendor: str | None = None
    operation: str | None = None
    app: str | None = None
    user: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    def matches(self, facts: RequestFacts) -> bool:
        if self.vendor is not None and facts.vendor != self.vendor:
            return False
        if self.operation is not None and facts.operation != self.operation and self.operation not in facts.items:
            return False
        if self.app is not None and facts.app != self.app:
            return False
        if self.user is not None and self.user not in facts.users:
            return False
        for name, value in self.params:
            if name not in facts.params or _text(facts.params[name]) != value:
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in ("vendor", "operation", "app", "user")
                               if getattr(self, k) is not None}
        if self.params:
            out["params"] = dict(self.params)
        return out


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    match: Match
    steps: tuple[Fault, ...]
    repeat: bool = True  # a single `fault` repeats; a `sequence` stops unless told to repeat
    probability: float = 1.0
    nth: int | None = None
    times: int | None = None
    start: float | None = None
    end: float | None = None
    scope: str = "runtime"  # "fixtures": part of the configuration a data reset keeps
    seen: int = 0  # matching requests so far, as the store counted them when the rule was handed out
    fired: int = 0  # how many of them got a fault (likewise)

    @property
    def spent(self) -> bool:
        return self.spent_after(self.seen, self.fired)

    def spent_after(self, seen: int, fired: int) -> bool:
        """Whether the rule fires no more once it has seen `seen` requests and fired on `fired`."""
        if self.times is not None and fired >= self.times:
            return True
        if self.nth is not None and seen >= self.nth:
            return True
        return not self.repeat and fired >= len(self.steps)

    def in_window(self, now: float) -> bool:
        return (self.start is None or now >= self.start) and (self.end is None or now < self.end)

    def step(self, fired: int) -> Fault:
        """The fault of the firing after `fired` earlier ones."""
        return self.steps[fired % len(self.steps)]

    def standing(self, seen: int, fired: int) -> Rule:
        """This rule with its counts, as the book hands it out."""
        return replace(self, seen=seen, fired=fired)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "match": self.match.to_dict()}
        if len(self.steps) == 1 and self.repeat:
            out["fault"] = self.steps[0].to_dict()
        else:
            out["sequence"] = [s.to_dict() for s in self.steps]
            out["repeat"] = self.repeat
        for name, value in (("probability", self.probability if self.probability != 1.0 else None),
                            ("nth", self.nth), ("times", self.times)):
            if value is not None:
                out[name] = value
        if self.start is not None or self.end is not None:
            out["window"] = {k: v for k, v in (("from", self.start), ("until", self.end)) if v is not None}
        out.update(scope=self.scope, seen=self.seen, fired=self.fired, spent=self.spent)
        return out


@functools.cache
def _schema() -> SchemaValidator:
    return ApiSpec.of("control").validator("#/components/schemas/FaultRule")


def rule_from(raw: Any, *, rule_id: str, now: float, scope: str = "runtime") -> Rule:
    """A rule from its JSON form (fixtures file, control plane, Python); ValueError naming the
    place of the first problem."""
    problem = _schema().problem(raw)
    if problem is not None:
        raise ValueError(f"{problem.location}: {problem.custom_message or problem.plain or problem.detail}")
    steps: list[Fault] = []
    raw_steps = [raw["fault"]] if "fault" in raw else raw["sequence"]
    for i, step in enumerate(raw_steps):
        try:
            steps.append(fault_from(step))
        except ValueError as exc:
            where = "fault" if "fault" in raw else f"sequence[{i}]"
            raise ValueError(f"{where}: {exc}") from None
    match = raw.get("match", {})
    window = raw.get("window", {})
    try:
        start = when(window["from"], now) if "from" in window else None
        end = when(window["until"], now) if "until" in window else None
    except ValueError as exc:
        raise ValueError(f"window: {exc}") from None
    if start is not None and end is not None and end <= start:
        raise ValueError("window: `until` must be after `from`")
    return Rule(
        id=str(raw.get("id") or rule_id),
        match=Match(match.get("vendor"), match.get("operation"), match.get("app"), match.get("user"),
                    tuple((k, _text(v)) for k, v in sorted(match.get("params", {}).items()))),
        steps=tuple(steps),
        repeat=bool(raw.get("repeat", "fault" in raw)),
        probability=float(raw.get("probability", 1.0)),
        nth=raw.get("nth"),
        times=raw.get("times"),
        start=start,
        end=end,
        scope=scope,
    )


def _text(value: Any) -> str:
    """Parameters compare as text: `messageId: 123` matches the request's "123"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
