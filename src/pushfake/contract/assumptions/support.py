"""What the assumption checks of both vendors share: how a check reports a mismatch, how it is
registered, and how it reaches a fake's control plane and default fixtures."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import yaml

from pushfake.client import Client
from pushfake.contract.assumptions import assumption
from pushfake.contract.outcome import NotCheckable, Outcome, did_not_hold, held
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, LoginFailed
from pushfake.core.resources import default_fixtures

API_NAMES = {"leanplum": "Leanplum's API", "dengage": "D·engage's API"}


class Mismatch(Exception):
    """The target answered other than the spec says."""


def expect(ok: bool, expected: str, got: Answer | str) -> None:
    if not ok:
        raise Mismatch(f"expected {expected}; got {got.describe() if isinstance(got, Answer) else got}")


def checker(vendor: str) -> Callable[..., Callable[[Callable[[Target], str]], Callable[[Target], Outcome]]]:
    """The `@check(name, *pointers)` decorator of `vendor`: the function returns its evidence
    (held) or raises Mismatch with the real answer (did not hold)."""

    def check(name: str, *pointers: str) -> Callable[[Callable[[Target], str]], Callable[[Target], Outcome]]:
        def register(function: Callable[[Target], str]) -> Callable[[Target], Outcome]:
            @functools.wraps(function)
            def run(target: Target) -> Outcome:
                try:
                    return held(function(target))
                except Mismatch as exc:
                    return did_not_hold(str(exc))
                except LoginFailed as exc:
                    return did_not_hold(f"expected a login with the run's API user; got {exc.answer.describe()}")

            return assumption(vendor, name, *pointers)(run)

        return register

    return check


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
    return yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))[vendor]
