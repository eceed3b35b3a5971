"""Stateful property tests of the vendors' semantics: Hypothesis state machines that drive the
target through its API and hold every answer to a small model of the vendor's rules.

Each vendor module's `MACHINES` maps a name to a factory `(target) -> RuleBasedStateMachine
subclass`; `machines()` gathers them, and `run` runs one with a number of examples and the run's
seed (so a failure against a fake repeats from it).
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test

from pushfake.contract.machines import dengage, leanplum
from pushfake.contract.target import Target

MachineFactory = Callable[[Target], type[RuleBasedStateMachine]]


def machines() -> dict[str, MachineFactory]:
    """Every machine by name, Leanplum's first."""
    return {**leanplum.MACHINES, **dengage.MACHINES}


def run(target: Target, factory: MachineFactory, *, examples: int, steps: int = 20) -> None:
    """Run the machine `examples` times (each from a reset target); raises on the first answer
    that breaks the model, after Hypothesis has shrunk the steps that lead to it."""
    machine = factory(target)
    machine_settings = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                                phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
                                print_blob=False)
    test = get_state_machine_test(machine, settings=machine_settings)
    hypothesis_seed(target.settings.seed)(test)()
