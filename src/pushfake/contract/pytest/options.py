"""The contract suite's command-line options and the `ContractSettings` read from them."""

from __future__ import annotations

from typing import Any

import pytest

from pushfake.contract.settings import (
    VENDORS,
    ContractSettings,
    SettingsError,
    PHASES,
    parse_phases,
    parse_targets,
    parse_test_device,
    placeholder,
    shared_target,
)

_SETTINGS = pytest.StashKey[ContractSettings]()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("pushfake-contract", "pushfake contract suite (pushfake contract --help says more)")
    group.addoption("--pushfake-target", action="append", default=None, metavar="URL",
                    help="run the contract suite against URL (both vendors) or VENDOR=URL (repeatable); "
                         "default: the in-process fake")
    group.addoption("--pushfake-vendor", action="append", default=None, choices=VENDORS,
                    help="only this vendor's checks (repeatable; default both)")
    group.addoption("--pushfake-examples", type=int, default=None, metavar="N",
                    help="generated cases per operation and mode (default 50)")
    group.addoption("--pushfake-phases", default=None, metavar="LIST",
                    help=f"the conformance checks' Schemathesis phases, comma-separated (default {','.join(PHASES)}; "
                         "'fuzzing' alone is a quick run)")
    group.addoption("--pushfake-safe", action="store_const", const=True, dest="pushfake_safe", default=None,
                    help="safe mode even against a pushfake (default: safe against anything else)")
    group.addoption("--pushfake-unsafe", action="store_const", const=False, dest="pushfake_safe",
                    help="no safe mode against a real deployment: it may push to real phones")
    group.addoption("--pushfake-dry-run", action="store_true", default=False,
                    help="list every request the suite would make; send none (no credentials needed: "
                         f"one not set shows as its {placeholder('VARIABLE')} placeholder)")
    group.addoption("--pushfake-budget", type=int, default=None, metavar="N",
                    help="never send more than N requests (default: "
                         f"{ContractSettings.DEFAULT_BUDGET} against a real deployment, "
                         "no limit against a pushfake)")
    group.addoption("--pushfake-rate", type=float, default=None, metavar="PER_SECOND",
                    help="requests per second at most (default: "
                         f"{ContractSettings.DEFAULT_RATE:g} against a real deployment, "
                         "no cap against a pushfake)")
    group.addoption("--pushfake-report", default=None, metavar="PATH", help="write the JSON report to PATH")
    group.addoption("--pushfake-leanplum-test-message", default=None, metavar="ID",
                    help="a Leanplum message the suite may really send (with --pushfake-leanplum-test-device)")
    group.addoption("--pushfake-leanplum-test-device", default=None, metavar="USER_ID:DEVICE_ID",
                    help="the one Leanplum device that test message may reach")
    group.addoption("--pushfake-dengage-table", default=None, metavar="ID",
                    help="the D·engage table the suite may send to")
    group.addoption("--pushfake-dengage-segment", default=None, metavar="ID",
                    help="the D·engage segment the suite may send to")


def contract_settings(config: pytest.Config) -> ContractSettings:
    """The run's settings, read from the options once (a bad value is a usage error). The seed is
    the fixtures plugin's `--pushfake-seed` (or `pushfake_seed` ini value): one seed for both."""
    if _SETTINGS in config.stash:
        return config.stash[_SETTINGS]
    option = config.getoption
    try:
        values: dict[str, Any] = {
            "targets": parse_targets(option("pushfake_target") or []),
            "shared": shared_target(option("pushfake_target") or []),
            "seed": _seed(config),
            "phases": parse_phases(option("pushfake_phases")),
            "safe": option("pushfake_safe"),
            "dry_run": option("pushfake_dry_run"),
            "budget": option("pushfake_budget"),
            "rate": option("pushfake_rate"),
            "leanplum_test_message": option("pushfake_leanplum_test_message"),
            "leanplum_test_device": parse_test_device(option("pushfake_leanplum_test_device")),
            "dengage_table": option("pushfake_dengage_table"),
            "dengage_segment": option("pushfake_dengage_segment"),
        }
        if option("pushfake_vendor"):
            values["vendors"] = tuple(dict.fromkeys(option("pushfake_vendor")))
        if option("pushfake_examples") is not None:
            values["examples"] = option("pushfake_examples")
        settings = ContractSettings(**values)
    except (SettingsError, ValueError) as exc:
        raise pytest.UsageError(f"pushfake contract: {exc}") from None
    config.stash[_SETTINGS] = settings
    return settings


def _seed(config: pytest.Config) -> int:
    """`--pushfake-seed`, else the `pushfake_seed` ini value, else 0 (with the fixtures plugin,
    which declares both, switched off)."""
    seed = config.getoption("pushfake_seed", None)
    if seed is not None:
        return int(seed)
    if not config.pluginmanager.hasplugin("pushfake"):
        return 0
    return int(config.getini("pushfake_seed") or 0)
