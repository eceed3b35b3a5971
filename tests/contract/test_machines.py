"""The contract kit's state machines: each holds against the in-process fake (full and safe mode),
keeps to the safety policy, repeats the same requests for the same seed, and can fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pushfake.contract.machines import machines, run
from pushfake.contract.settings import ContractSettings
from pushfake.contract.target import Target, open_target

TABLE = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"  # the default world's table: john and elif
# Safe mode takes a real deployment's budget and rate cap unless told otherwise; the in-process
# fake needs neither, and the cap would make each run last minutes.
UNCAPPED = {"budget": 1_000_000, "rate": 1_000_000.0}
NAMES = sorted(machines())


@pytest.fixture
def full_target() -> Iterator[Target]:
    target = open_target(ContractSettings())
    try:
        yield target
    finally:
        target.close()


def test_every_vendor_has_machines() -> None:
    assert any(n.startswith("leanplum-") for n in NAMES) and any(n.startswith("dengage-") for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_machine_holds_against_the_fake(full_target: Target, name: str) -> None:
    run(full_target, machines()[name], examples=5)
    assert full_target.gate.counts().get("answered", 0) > 0


def _table_devices(target: Target) -> set[str]:
    control = target.endpoints["dengage"].control
    assert control is not None
    account = control.dengage_accounts()[0]["id"]
    members = {key for table in control.dengage_records(account, "tables") if table["id"] == TABLE
               for key in table["contactKeys"]}
    assert members == {"john", "elif"}
    return {d["id"] for contact in control.dengage_records(account, "contacts") if contact["key"] in members
            for d in contact["devices"]}


@pytest.mark.parametrize("name", NAMES)
def test_machine_keeps_to_safe_mode(name: str) -> None:
    target = open_target(ContractSettings(safe=True, dengage_table=TABLE, **UNCAPPED))
    deliveries: list[dict[str, Any]] = []
    control = target.endpoints["leanplum"].control
    assert control is not None and target.world.leanplum.users == ()
    reset = target.reset

    def collect_then_reset() -> None:  # each example resets the fake: keep what the last one delivered
        deliveries.extend(control.deliveries())
        reset()

    target.reset = collect_then_reset  # type: ignore[method-assign]
    try:
        run(target, machines()[name], examples=5)
        deliveries.extend(control.deliveries())
        table_devices = _table_devices(target)
    finally:
        target.close()
    withheld = [e for e in target.gate.log if e.outcome == "withheld"]
    assert withheld == [], [(e.reason, e.curl) for e in withheld[:3]]
    assert target.gate.counts().get("answered", 0) > 0
    strays = [d for d in deliveries if not target.ids.own(d["device"])
              and not (d["vendor"] == "dengage" and d["device"] in table_devices)]
    assert strays == [], strays[:3]
    if name.startswith("leanplum-"):
        assert [d for d in deliveries if d["vendor"] == "leanplum"] == []


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_sends_the_same_requests(name: str) -> None:
    requests = []
    for _ in range(2):
        target = open_target(ContractSettings(seed=11))
        try:
            run(target, machines()[name], examples=5)
            requests.append([e.curl for e in target.gate.log])
        finally:
            target.close()
    assert requests[0] and requests[0] == requests[1]


@pytest.mark.parametrize(("name", "rule"), [
    ("leanplum-sessions", {"match": {"vendor": "leanplum", "operation": "sendMessage"},
                           "fault": {"kind": "error", "status": 503}}),
    ("dengage-sends", {"match": {"vendor": "dengage", "operation": "getSendInstantPushReport"},
                       "fault": {"kind": "malformed"}}),
])
def test_a_machine_fails_when_the_fake_answers_otherwise(full_target: Target, name: str,
                                                         rule: dict[str, Any]) -> None:
    control = full_target.endpoints[rule["match"]["vendor"]].control
    assert control is not None
    control.add_fault(rule)  # the target's resets keep the fault rules
    with pytest.raises(AssertionError, match="expected"):
        run(full_target, machines()[name], examples=10)
