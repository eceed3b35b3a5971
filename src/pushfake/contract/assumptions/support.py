"""What the assumption checks of both vendors share: what a check is, how a module lists its
checks (`Checks`), how a check reports a mismatch, and how it reaches a fake's control plane and
default fixtures."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pushfake.client import Client
from pushfake.contract.outcome import NotCheckable, Outcome, did_not_hold, held
from pushfake.contract.spec import assumed
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, LoginFailed
from pushfake.contract.world import default_document

API_NAMES = {"leanplum": "Leanplum's API", "dengage": "D·engage's API"}


class Mismatch(Exception):
    """The target answered other than the spec says."""


def expect(ok: bool, expected: str, got: Answer | str) -> None:
    if not ok:
        raise Mismatch(f"expected {expected}; got {got.describe() if isinstance(got, Answer) else got}")


CheckFunction = Callable[[Target], Outcome]


@dataclass(frozen=True)
class Assumption:
    name: str  # "<vendor>.<what>", e.g. "leanplum.start-unknown-user-create-never"
    vendor: str
    pointers: tuple[str, ...]  # the spec marks it checks ("#/paths/...")
    check: CheckFunction

    @property
    def summary(self) -> str:
        mark = self._mark()
        return (mark.summary or mark.pointer) if mark else ""

    @property
    def basis(self) -> str:
        mark = self._mark()
        return mark.basis if mark else ""

    def _mark(self) -> Any:
        return next((m for m in assumed(self.vendor) if m.pointer == self.pointers[0]), None)


class Checks:
    """One module's assumption checks of `vendor`, in the order written: `@CHECKS.check(name,
    *pointers)` adds the function as the check of the spec marks at `pointers` (one behaviour may be
    marked in several places, e.g. a response shared by GET and POST). The function returns its
    evidence (held) or raises Mismatch with the real answer (did not hold). `assumptions.checks`
    gathers every module's table."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.found: list[Assumption] = []

    def check(self, name: str, *pointers: str) -> Callable[[Callable[[Target], str]], CheckFunction]:
        def add(function: Callable[[Target], str]) -> CheckFunction:
            @functools.wraps(function)
            def run(target: Target) -> Outcome:
                try:
                    return held(function(target))
                except Mismatch as exc:
                    return did_not_hold(str(exc))
                except LoginFailed as exc:
                    return did_not_hold(f"expected a login with the run's API user; got {exc.answer.describe()}")

            self.found.append(Assumption(f"{self.vendor}.{name}", self.vendor, pointers, run))
            return run

        return add


def control_of(target: Target, vendor: str, what: str) -> Client:
    control = target.endpoints[vendor].control
    if control is None:
        raise NotCheckable(f"{what} shows only through a pushfake's control plane, not through {API_NAMES[vendor]}")
    return control


def default_fixtures_of(target: Target, vendor: str, what: str) -> dict[str, Any]:
    """The vendor's section of the fake's fixtures when it runs the default world: its control
    plane shows neither settings nor variable defaults, so a fake with other fixtures cannot be
    checked for them."""
    label = str(control_of(target, vendor, what).health().get("fixtures", ""))
    if not label.startswith("default fixtures"):
        raise NotCheckable(f"{what}: the fake runs {label or 'other fixtures'}, whose settings it does not show")
    return default_document()[vendor]
