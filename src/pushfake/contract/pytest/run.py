"""One session's contract run: the target and what each check found, for the report."""

from __future__ import annotations

import pytest

from pushfake.contract import assumptions, machines, wire
from pushfake.contract.conformance import Conformance, OperationRun
from pushfake.contract.gate import BudgetExhausted, DryRun, Withheld
from pushfake.contract.outcome import NotCheckable, Outcome
from pushfake.contract.target import Target


class Contract:
    """The session's target, and the findings of every check run against it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.operations: list[OperationRun] = []
        self.assumptions: dict[str, Outcome] = {}
        self.machines: dict[str, str] = {}

    def conformance(self, vendor: str, mode: str) -> Conformance:
        """A new one for each operation: its cases then follow from the seed alone, whichever
        operations ran before it in this process (with -k, or on a pytest-xdist worker)."""
        return Conformance(self.target, vendor, mode)

    def run_machine(self, name: str) -> None:
        examples = max(5, self.target.settings.examples // 5)
        try:
            machines.run(self.target, machines.machines()[name], examples=examples)
        except (DryRun, BudgetExhausted) as exc:
            self.machines[name] = "not run"
            pytest.skip(f"not run: {exc}")
        except NotCheckable as exc:
            self.machines[name] = "not checkable safely"
            pytest.skip(f"not checkable safely: {exc}")
        except Withheld as exc:  # a machine must not ask for what safe mode refuses: a bug in the suite
            self.machines[name] = "failed"
            pytest.fail(f"the {name} machine sent a request safe mode refused: {exc}", pytrace=False)
        except BaseException:
            self.machines[name] = "failed"
            raise
        self.machines[name] = "passed"

    def check(self, name: str) -> Outcome:
        check = next(a for a in assumptions.checks(self.target.settings.vendors) if a.name == name)
        outcome = assumptions.run(self.target, check)
        self.assumptions[name] = outcome
        return outcome

    def scrub(self, text: str) -> str:
        """Every secret read from the environment (plain or encoded), replaced by its variable's
        placeholder; a dry run's placeholders, encoded in a URL, read as placeholders again."""
        return wire.references(text, self.target.gate.secrets)
