"""What a named check found out about the target."""

from __future__ import annotations

from dataclasses import dataclass

HELD = "held"
DID_NOT_HOLD = "did not hold"
NOT_CHECKABLE = "not checkable safely"
NOT_RUN = "not run"  # a dry run, or the request budget was spent


@dataclass(frozen=True)
class Outcome:
    status: str  # one of the four above
    detail: str = ""  # the real answer (did not hold), or why it could not be checked


class NotCheckable(Exception):
    """Raised by a check that cannot run against this target without risk (or at all): the
    message says why, and the report shows it."""


def held(detail: str = "") -> Outcome:
    return Outcome(HELD, detail)


def did_not_hold(detail: str) -> Outcome:
    return Outcome(DID_NOT_HOLD, detail)
