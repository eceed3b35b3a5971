"""The named assumption checks: every assumed mark of both specs has exactly one, each holds
against the in-process fake, safe mode never gets a request withheld, and a check fails (with
the real answer in its detail) when the fake answers otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pushfake.contract.assumptions import Assumption, checks, run
from pushfake.contract.outcome import DID_NOT_HOLD, HELD, NOT_CHECKABLE
from pushfake.contract.settings import ContractSettings
from pushfake.contract.spec import assumed
from pushfake.contract.target import Target, open_target
from pushfake.core.resources import VENDORS
BETA_TABLE = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"  # the default world's table (john, elif)
ALL = checks(VENDORS)
BY_NAME = {check.name: check for check in ALL}


@pytest.fixture(scope="module")
def full_target() -> Iterator[Target]:
    target = open_target(ContractSettings())
    yield target
    target.close()


@pytest.fixture(scope="module")
def safe_target() -> Iterator[Target]:
    # The rate cap protects a real account; the in-process fake needs none, and the test stays quick.
    target = open_target(ContractSettings(safe=True, dengage_table=BETA_TABLE, rate=10_000.0))
    yield target
    target.close()


@pytest.fixture
def fresh_target() -> Iterator[Target]:
    target = open_target(ContractSettings())
    yield target
    target.close()


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_assumed_mark_has_exactly_one_check(vendor: str) -> None:
    marks = [mark.pointer for mark in assumed(vendor)]
    registered = [pointer for check in checks((vendor,)) for pointer in check.pointers]
    assert len(registered) == len(set(registered)), "a mark is claimed by two checks"
    assert sorted(set(marks) - set(registered)) == [], "assumed marks without a check"
    assert sorted(set(registered) - set(marks)) == [], "checks of marks the spec does not mark assumed"
    assert all(check.name.startswith(f"{vendor}.") and check.summary for check in checks((vendor,)))


@pytest.mark.parametrize("check", ALL, ids=[c.name for c in ALL])
def test_every_check_holds_against_the_fake(full_target: Target, check: Assumption) -> None:
    outcome = run(full_target, check)
    assert outcome.status == HELD, outcome.detail
    assert outcome.detail, "a held check says what it saw"


@pytest.mark.parametrize("check", ALL, ids=[c.name for c in ALL])
def test_safe_mode_holds_or_says_why_not_and_never_gets_withheld(safe_target: Target, check: Assumption) -> None:
    outcome = run(safe_target, check)
    assert outcome.status in (HELD, NOT_CHECKABLE), outcome
    assert outcome.detail.strip(), "an outcome says what was seen or why it could not be checked"
    withheld = [(e.url, e.reason) for e in safe_target.gate.log if e.outcome == "withheld"]
    assert withheld == [], "a check must decide up front instead of sending what safe mode refuses"


# Faults make the fake answer otherwise; run() resets with keep_config, so the rule stays in force.
CHANGED = [
    ("leanplum.start-unknown-user-create-never", {"vendor": "leanplum", "operation": "start"},
     {"kind": "malformed", "body": '{"response":[{"success":true,"warning":{"message":"User not found."}}]}'},
     '"message":"User not found."'),
    ("leanplum.unknown-app-not-found", {"vendor": "leanplum", "operation": "start"},
     {"kind": "error", "status": 500}, "500"),
    ("dengage.login-token-type-bearer", {"vendor": "dengage", "operation": "login"},
     {"kind": "malformed", "body": '{"access_token":"t","token_type":"bearer","expires_in":3600}'},
     '"token_type":"bearer"'),
    ("dengage.report-unknown-tracking-id-404", {"vendor": "dengage", "operation": "getSendInstantPushReport"},
     {"kind": "error", "status": 503}, "503"),
]


@pytest.mark.parametrize(("name", "match", "fault", "seen"), CHANGED, ids=[c[0] for c in CHANGED])
def test_a_check_fails_with_the_real_answer_when_the_fake_answers_otherwise(
        fresh_target: Target, name: str, match: dict, fault: dict, seen: str) -> None:
    control = fresh_target.endpoints[match["vendor"]].control
    assert control is not None
    control.add_fault({"match": match, "fault": fault})
    outcome = run(fresh_target, BY_NAME[name])
    assert outcome.status == DID_NOT_HOLD, outcome
    assert outcome.detail.startswith("expected ") and seen in outcome.detail, outcome.detail
