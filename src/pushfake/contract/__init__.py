"""The contract kit: one suite that holds a target to the vendor specs.

The target is the in-process fake, a live `pushfake serve`, or a real Leanplum / D·engage
deployment. The suite (run by `pushfake contract` or `pytest --pushfake-target=URL`) checks spec
conformance with Schemathesis (`conformance`), the vendors' semantics with Hypothesis state
machines (`machines`), and each behaviour the specs mark assumed (`assumptions`). Every request
passes one gate (`gate`): against anything but a pushfake it runs in safe mode (`safety`), within a
request budget and rate cap, and can list its requests without sending them (a dry run).

`pytest` holds the suite as pytest runs it: the session plugin (registered by the
`pushfake-contract` entry point), the test functions and the reports. The fixtures plugin
(`pytest_pushfake`) imports none of the kit.
"""

from __future__ import annotations

from pushfake.extras import require

# What the kit imports beyond the base install: the `contract` extra (pytest-xdist too, for --jobs).
MODULES = ("pytest", "schemathesis", "hypothesis", "requests")


def require_kit(feature: str) -> None:
    """Raise `pushfake.extras.MissingExtra` (one line naming the extra) unless the kit can load.
    Asked before anything imports it, so a base install never shows a traceback for it."""
    require("contract", feature, *MODULES)
