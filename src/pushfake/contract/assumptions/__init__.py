"""One named check per behaviour the specs mark `x-pushfake-fidelity: assumed`.

A check is a function of the target that returns `held` or `did_not_hold(<the real answer>)`,
or raises `NotCheckable(<why>)` when the target cannot be asked without risk (safe mode) or at
all. `run` resets the target first, so each check starts from the same world and can be run
alone. `checks()` lists them in spec order; a test holds the registry to the specs, so a new
assumption without a check fails the build.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pushfake.contract.gate import BudgetExhausted, DryRun, Withheld
from pushfake.contract.outcome import NOT_CHECKABLE, NOT_RUN, NotCheckable, Outcome
from pushfake.contract.spec import assumed
from pushfake.contract.target import Target

CheckFunction = Callable[[Target], Outcome]


@dataclass(frozen=True)
class Assumption:
    name: str  # "<vendor>.<what>", e.g. "leanplum.start-unknown-user-create-never"
    vendor: str
    pointers: tuple[str, ...]  # the spec marks it checks ("#/paths/...")
    check: CheckFunction

    @property
    def summary(self) -> str:
        marks = {m.pointer: m for m in assumed(self.vendor)}
        mark = marks.get(self.pointers[0])
        return (mark.summary or mark.pointer) if mark else ""

    @property
    def basis(self) -> str:
        marks = {m.pointer: m for m in assumed(self.vendor)}
        mark = marks.get(self.pointers[0])
        return mark.basis if mark else ""


_REGISTRY: dict[str, Assumption] = {}


def assumption(vendor: str, name: str, *pointers: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register `check` as the check of the spec marks at `pointers` (one behaviour may be marked
    in several places, e.g. a response shared by GET and POST)."""

    def register(check: CheckFunction) -> CheckFunction:
        full = f"{vendor}.{name}"
        if full in _REGISTRY:
            raise ValueError(f"two assumption checks named {full}")
        _REGISTRY[full] = Assumption(full, vendor, pointers, check)
        return check

    return register


def checks(vendors: tuple[str, ...] = ("leanplum", "dengage")) -> list[Assumption]:
    """Every registered check of `vendors`, in the order their first mark appears in the spec."""
    from pushfake.contract.assumptions import (  # noqa: F401 - they register
        dengage, dengage_delivery, dengage_rules, leanplum, leanplum_input)

    order = {(vendor, mark.pointer): index for vendor in vendors for index, mark in enumerate(assumed(vendor))}
    found = [a for a in _REGISTRY.values() if a.vendor in vendors]
    return sorted(found, key=lambda a: (vendors.index(a.vendor), order.get((a.vendor, a.pointers[0]), 10**6)))


def run(target: Target, check: Assumption) -> Outcome:
    """Reset the target and run `check`; refusals and a spent budget become outcomes."""
    try:
        target.reset()
        return check.check(target)
    except NotCheckable as exc:
        return Outcome(NOT_CHECKABLE, str(exc))
    except (DryRun, BudgetExhausted) as exc:
        return Outcome(NOT_RUN, str(exc))
    except Withheld as exc:
        return Outcome(NOT_CHECKABLE, str(exc))
