"""Proof that the contract checks can fail: the suite is run against deliberately broken variants
of the fake (tests/contract/mutants.py; the fake's code is untouched, a middleware rewrites its
requests or answers) and each breakage must be caught by the check that is meant to catch it,
with the broken answer in its failure text. The same checks pass against the unbroken fake behind
the same middleware, so what fails is the mutation, not the wrapper or the live setup.

Each case runs one check with a small, fixed number of examples; the generation follows the seed,
so whether a case is caught does not vary from run to run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from pushfake.contract import assumptions, machines
from pushfake.contract.conformance import Conformance
from pushfake.contract.outcome import DID_NOT_HOLD, HELD
from pushfake.contract.settings import ContractSettings, parse_targets
from pushfake.contract.target import Target, open_target
from tests.contract import mutants


@dataclass(frozen=True)
class Check:
    """One check of the suite: `kind` is conformance ("vendor:mode:label"), assumption or machine."""

    kind: str
    name: str
    examples: int = 10

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    def failure(self, target: Target) -> str | None:
        """Run the check alone; the failure text, or None when it passed."""
        if self.kind == "assumption":
            check = next(a for a in assumptions.checks() if a.name == self.name)
            outcome = assumptions.run(target, check)
            assert outcome.status in (HELD, DID_NOT_HOLD), f"{self}: {outcome.status}: {outcome.detail}"
            return outcome.detail if outcome.status == DID_NOT_HOLD else None
        try:
            if self.kind == "conformance":
                vendor, mode, label = self.name.split(":", 2)
                run = Conformance(target, vendor, mode).run(label)
            else:
                machines.run(target, machines.machines()[self.name], examples=self.examples)
                return None
        # Schemathesis raises a FailureGroup (a BaseExceptionGroup) or, after shrinking, an AssertionError
        except (AssertionError, BaseExceptionGroup) as exc:
            return f"{type(exc).__name__}: {exc}"
        assert run.sent > 0 and not run.withheld, f"{self}: {run}"
        return None


@dataclass(frozen=True)
class Case:
    mutant: Callable[[], mutants.Mutant]
    check: Check
    excerpt: str  # what the failure text must show: the broken part of the answer

    @property
    def id(self) -> str:
        return f"{self.mutant.__name__}-{self.check.kind}-{self.check.name.rsplit(':', 1)[-1]}"


SEND_STATUS_CONFORMANCE = Check("conformance", "dengage:positive:POST /rest/push/sendInstant", 25)
START_CONFORMANCE = Check("conformance", "leanplum:positive:POST /api?action=start", 100)
SESSIONS = Check("machine", "leanplum-sessions", 10)

CASES = [
    # 1. a wrong warning text
    Case(mutants.wrong_warning_text, Check("assumption", "leanplum.start-unknown-user-create-never"),
         '{"success":true,"warning":{"message":"User not found."}}'),
    # 2. a missing response field: the spec's schema requires data.trackingId; Leanplum's messagesSent
    #    is required only by the behaviour the machine and the token assumption hold the answer to
    Case(mutants.dengage_without_tracking_id, SEND_STATUS_CONFORMANCE, '"data":{}'),
    Case(mutants.leanplum_without_messages_sent, SESSIONS, '{"success":true,"result":"Message sent"}]'),
    Case(mutants.leanplum_without_messages_sent, Check("assumption", "leanplum.send-message-skips-unregistered-tokens"),
         '{"success":true,"result":"Message sent"}]'),
    # D·engage: SendInstantPush answering the sibling endpoint's 401 text, and contactKey ignored
    Case(mutants.dengage_sibling_401_text, Check("assumption", "dengage.send-check-order"),
         '"message":"Not authenticated. The request lacks valid authentication credentials."'),
    Case(mutants.dengage_ignores_contact_key, Check("assumption", "dengage.send-contact-key-refused"),
         '{"code":0,"message":"Success"'),
    # 3. a 500 on one input (the coverage phase does not try each enum value: 100 examples reach it)
    Case(mutants.server_error_on_create_if_needed, START_CONFORMANCE, "Server error"),
    # 4. a wrong createDisposition default for sendMessage
    Case(mutants.send_message_creates_by_default, SESSIONS, "expected 200 with the warning 'User not found; request skipped.'"),
    Case(mutants.send_message_creates_by_default,
         Check("assumption", "leanplum.send-message-unknown-user-hides-unknown-message"),
         '"warning":{"message":"Message entity not found"}'),
]


def _target(url: str, examples: int) -> Target:
    return open_target(ContractSettings(targets=parse_targets([url]), examples=examples))


@pytest.fixture(scope="module")
def unbroken_url() -> Iterator[str]:
    with mutants.serve(mutants.unbroken()) as url:
        yield url


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_check_catches_the_mutant(case: Case) -> None:
    mutant = case.mutant()
    with mutants.serve(mutant) as url:
        target = _target(url, case.check.examples)
        try:
            assert target.all_fake and not target.safe, "the wrapped fake must still be detected as a pushfake"
            failure = case.check.failure(target)
        finally:
            target.close()
    assert mutant.rewritten, f"{mutant.name}: {case.check} never reached the mutation"
    assert failure is not None, f"{case.check} passed against the {mutant.name} mutant"
    assert case.excerpt in failure, f"{case.check} failed, but not on the mutation:\n{failure[:3000]}"


@pytest.mark.parametrize("check", sorted({c.check for c in CASES}, key=str), ids=str)
def test_the_check_passes_on_the_unbroken_fake(unbroken_url: str, check: Check) -> None:
    target = _target(unbroken_url, check.examples)
    try:
        failure = check.failure(target)
    finally:
        target.close()
    assert failure is None, failure[:3000]
