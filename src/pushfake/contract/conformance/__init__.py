"""Spec conformance with Schemathesis, against any target.

`Conformance(target, vendor, mode)` builds the vendor's schema once for a generation mode
(positive or negative) with the vendor's steering (`leanplum.Steering`, `dengage.Steering`), and
`run(label)` runs one operation: Schemathesis's examples, coverage and fuzzing phases (those the
settings name), each case sent through
the target's gated session and judged with the default checks (no server errors, status codes,
content types, headers, bodies against the response schemas, valid data accepted, invalid data
rejected), narrowed where the vendor module explains why.

A case the gate holds back (safe mode, the budget, a dry run) is counted, not judged.

`formats` teaches Schemathesis what the Leanplum spec declares beyond JSON Schema (JSON text in a
string, JSON bodies labelled text/plain); it is also the hooks module of a direct
`schemathesis run` (`SCHEMATHESIS_HOOKS=pushfake.contract.conformance.formats`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test

from pushfake.contract.conformance import dengage, leanplum
from pushfake.contract.gate import BudgetExhausted, DryRun, Withheld
from pushfake.contract.settings import PHASES
from pushfake.contract.spec import api_spec
from pushfake.contract.target import Target

MODES = ("positive", "negative")
# Schemathesis's default statuses for a rejected request, plus 414: the fake refuses a request
# target longer than 65,535 bytes (catalogue: request-target-too-long); schemathesis.toml says the same.
REJECTED_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "5xx"]
VENDOR_MODULES: dict[str, Any] = {"leanplum": leanplum, "dengage": dengage}  # each vendor's steering and config


def operations(vendor: str) -> list[str]:
    """Every operation of the vendor's spec, as Schemathesis labels them ("POST /rest/login")."""
    return [f"{method} {path}" for path, method, _ in api_spec(vendor).operations()]


@dataclass
class OperationRun:
    """What one operation's run did."""

    vendor: str
    label: str
    mode: str
    cases: int = 0  # generated
    sent: int = 0  # answered by the target and judged
    withheld: list[str] = field(default_factory=list)  # reasons, one per case held back
    not_run: int = 0  # dry run or budget spent


class Conformance:
    def __init__(self, target: Target, vendor: str, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: one of {MODES}, not {mode!r}")
        module = VENDOR_MODULES[vendor]
        self.target, self.vendor, self.mode = target, vendor, mode
        self.steering: Any = module.Steering(target)
        config = schemathesis.Config.from_dict({
            "seed": target.settings.seed,
            # no example database: a run replays nothing an earlier one saved, so its cases follow the seed
            "generation": {"mode": mode, "max-examples": target.settings.examples, "database": "none"},
            "phases": {phase: {"enabled": phase in target.settings.phases} for phase in PHASES},
            # Reproductions show what was sent; secrets read from the environment are replaced by
            # references to their variables in the report (see `report`), not by Schemathesis.
            "output": {"sanitization": {"enabled": False}},
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTED_STATUSES}},
            **module.CONFIG,
        })
        self.schema = schemathesis.openapi.from_dict(api_spec(vendor).document, config=config)
        steer = self.steering.steer

        def map_case(context: Any, case: Any) -> Any:  # a plain function: Schemathesis marks it
            return steer(context, case)

        self.schema.hook("map_case")(map_case)
        if vendor == "dengage":
            steering = self.steering

            class Login:
                def get(self, case: Any, context: Any) -> Any:
                    try:
                        return steering.get(case, context)
                    except (DryRun, BudgetExhausted):  # the cases will be listed, not sent
                        return {"run": "pushfake-contract-no-login"}

                def set(self, case: Any, data: Any, context: Any) -> None:
                    steering.set(case, data, context)

            # Fetched again after each reset (the steering keeps one token per target epoch), not
            # kept for Schemathesis's default 300 s: a reset makes every older token unknown.
            self.schema.auth(retry_on=[], refresh_interval=None).apply_to(path=module.SEND_PATH)(Login)
        self._checks = self.steering.checks()

    def run(self, label: str) -> OperationRun:
        """Run one operation's cases; raises (after Hypothesis shrank it) on the first failure:
        Schemathesis's FailureGroup is a BaseExceptionGroup, which `except Exception` does not catch."""
        method, _, path = label.partition(" ")
        operation = self.schema[path][method]
        result = OperationRun(self.vendor, label, self.mode)
        self.target.reset()
        try:
            self.steering.prepare()
        except Withheld:  # a dry run, or the budget is spent: the cases will say so
            pass

        def judge(case: Any) -> None:
            __tracebackhide__ = True
            result.cases += 1
            try:
                self.steering.before_call(case)
                response = case.call_and_validate(
                    base_url=self.target.url(self.vendor), session=self.target.session,
                    excluded_checks=self._checks["excluded"], additional_checks=self._checks["additional"])
            except (DryRun, BudgetExhausted):
                result.not_run += 1
                return
            except Withheld as exc:
                result.withheld.append(exc.reason)
                return
            result.sent += 1
            self.steering.after_call(case, response)

        test = build_operation_test(config=self.schema.config, operation=operation, test_func=judge,
                                    given_kwargs={}, feedback=FeedbackSources())
        test()
        return result
