"""The contract suite: spec conformance per operation and generation mode, the semantic state
machines, and one check per assumed behaviour, all against one target.

Run it with `pushfake contract --target URL`, or `pytest --pushfake-target=URL` (or
`pytest --pyargs pushfake.contract.pytest.suite` for the in-process fake). The target and the
limits come from the `--pushfake-*` options (see `pytest --help`); credentials from the
environment (`pushfake.contract.settings.ENV`).

The assumption checks run first and the generated conformance cases last, so that when a request
budget runs out against a real deployment, it is the bulk fuzzing that goes short.
"""

from __future__ import annotations

from typing import Any

import pytest

from pushfake.contract import assumptions, machines
from pushfake.contract.conformance import MODES, operations
from pushfake.contract.outcome import DID_NOT_HOLD, HELD, NOT_RUN
from pushfake.contract.pytest.options import contract_settings
from pushfake.contract.pytest.run import Contract


def _cases_follow_the_seed() -> None:
    """Hypothesis mixes string and number constants found in local source files (any module not
    under site-packages: pushfake itself, installed from a clone) into what it generates, so any
    edit to pushfake, or installing it another way, would change the cases a seed gives. The
    suite's cases follow the seed and the specs alone. (A private Hypothesis hook: left alone
    when a Hypothesis version lacks it.)"""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without the module
        return
    empty = getattr(providers, "_local_constants", None)
    if empty is not None and hasattr(providers, "_get_local_constants"):
        none = type(empty)(integers=type(empty.integers)(), floats=type(empty.floats)(key=empty.floats.key),
                           bytes=type(empty.bytes)(), strings=type(empty.strings)())
        providers._get_local_constants = lambda: none


_cases_follow_the_seed()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    vendors = contract_settings(metafunc.config).vendors
    if "operation" in metafunc.fixturenames:
        cases = [(v, label, mode) for v in vendors for mode in MODES for label in operations(v)]
        metafunc.parametrize("operation", cases, ids=[f"{v}:{mode}:{label}" for v, label, mode in cases])
    if "machine" in metafunc.fixturenames:
        names = [n for n in machines.machines() if n.split("-", 1)[0] in vendors]
        metafunc.parametrize("machine", names)
    if "assumption" in metafunc.fixturenames:
        names = [a.name for a in assumptions.checks(vendors)]
        metafunc.parametrize("assumption", names)


def test_assumption(pushfake_contract: Contract, assumption: str, record_property: Any) -> None:
    outcome = pushfake_contract.check(assumption)
    record_property("outcome", outcome.status)
    record_property("detail", outcome.detail)
    if outcome.status == DID_NOT_HOLD:
        pytest.fail(f"assumption did not hold: {outcome.detail}", pytrace=False)
    if outcome.status == NOT_RUN:
        pytest.skip(f"not run: {outcome.detail}")
    if outcome.status != HELD:
        pytest.skip(f"{outcome.status}: {outcome.detail}")


def test_semantics(pushfake_contract: Contract, machine: str) -> None:
    pushfake_contract.run_machine(machine)


def test_conformance(pushfake_contract: Contract, operation: tuple[str, str, str],
                     record_property: Any) -> None:
    vendor, label, mode = operation
    run = pushfake_contract.conformance(vendor, mode).run(label)
    for name in ("cases", "sent", "not_run"):
        record_property(name, getattr(run, name))
    record_property("withheld", len(run.withheld))
    pushfake_contract.operations.append(run)
    if run.sent == 0 and run.not_run:
        pytest.skip(f"not run: {run.not_run} cases listed (dry run) or over the budget")
    if run.sent == 0 and run.withheld:
        pytest.skip(f"not checkable safely: all {len(run.withheld)} cases withheld, e.g. {run.withheld[0]}")
