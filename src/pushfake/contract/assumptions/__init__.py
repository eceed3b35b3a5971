"""One named check per behaviour the specs mark `x-pushfake-fidelity: assumed`.

A check is a function of the target that returns `held` or `did_not_hold(<the real answer>)`,
or raises `NotCheckable(<why>)` when the target cannot be asked without risk (safe mode) or at
all. Each module lists its checks in a table (`CHECKS`, a `support.Checks`); `checks()` gathers
the tables in spec order, and a test holds them to the specs, so a new assumption without a check
fails the build. `run` resets the target first, so each check starts from the same world and can
be run alone.
"""

from __future__ import annotations

from pushfake.contract.assumptions import (
    dengage,
    dengage_delivery,
    dengage_rules,
    leanplum,
    leanplum_errors,
    leanplum_input,
    leanplum_send,
)
from pushfake.contract.assumptions.support import Assumption, Checks
from pushfake.contract.gate import BudgetExhausted, DryRun, Withheld
from pushfake.contract.outcome import NOT_CHECKABLE, NOT_RUN, NotCheckable, Outcome
from pushfake.contract.spec import assumed
from pushfake.contract.target import Target
from pushfake.core.resources import VENDORS

__all__ = ["Assumption", "checks", "run"]

TABLES: tuple[Checks, ...] = (leanplum.CHECKS, leanplum_send.CHECKS, leanplum_errors.CHECKS, leanplum_input.CHECKS,
                              dengage.CHECKS, dengage_delivery.CHECKS, dengage_rules.CHECKS)


def checks(vendors: tuple[str, ...] = VENDORS) -> list[Assumption]:
    """Every check of `vendors`, in the order their first mark appears in the spec."""
    found = [a for table in TABLES if table.vendor in vendors for a in table.found]
    names = [a.name for a in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"two assumption checks named {', '.join(twice)}")
    order = {(vendor, mark.pointer): index for vendor in vendors for index, mark in enumerate(assumed(vendor))}
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
