"""The contract suite's side of the plugin: its options turned into `ContractSettings`, the
session's target (`pushfake_contract`), secrets scrubbed from every report, the terminal summary
and the JSON report. Imports only pytest until a contract test runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pushfake.contract.conformance import Conformance, OperationRun
    from pushfake.contract.outcome import Outcome
    from pushfake.contract.settings import ContractSettings
    from pushfake.contract.target import Target

SUITE = "pytest_pushfake.contract_suite"
_CONTRACT = pytest.StashKey["Contract"]()
_SETTINGS = pytest.StashKey["ContractSettings"]()
_RECORDS = pytest.StashKey[list[dict[str, Any]]]()  # what pytest-xdist workers found, on the controller
_WORKER_KEY = "pushfake_contract"  # the worker's record in its `workeroutput`


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("pushfake-contract", "pushfake contract suite (pushfake contract --help says more)")
    group.addoption("--pushfake-target", action="append", default=None, metavar="URL",
                    help="run the contract suite against URL (both vendors) or VENDOR=URL (repeatable); "
                         "default: the in-process fake")
    group.addoption("--pushfake-vendor", action="append", default=None, choices=("leanplum", "dengage"),
                    help="only this vendor's checks (repeatable; default both)")
    group.addoption("--pushfake-examples", type=int, default=None, metavar="N",
                    help="generated cases per operation and mode (default 50)")
    group.addoption("--pushfake-safe", action="store_const", const=True, dest="pushfake_safe", default=None,
                    help="safe mode even against a pushfake (default: safe against anything else)")
    group.addoption("--pushfake-unsafe", action="store_const", const=False, dest="pushfake_safe",
                    help="no safe mode against a real deployment: it may push to real phones")
    group.addoption("--pushfake-dry-run", action="store_true", default=False,
                    help="list every request the suite would make; send none")
    group.addoption("--pushfake-budget", type=int, default=None, metavar="N",
                    help="never send more than N requests (default: 2000 against a real deployment)")
    group.addoption("--pushfake-rate", type=float, default=None, metavar="PER_SECOND",
                    help="requests per second at most (default: 5 against a real deployment)")
    group.addoption("--pushfake-report", default=None, metavar="PATH", help="write the JSON report to PATH")
    group.addoption("--pushfake-leanplum-test-message", default=None, metavar="ID",
                    help="a Leanplum message the suite may really send (with --pushfake-leanplum-test-device)")
    group.addoption("--pushfake-leanplum-test-device", default=None, metavar="USER_ID:DEVICE_ID",
                    help="the one Leanplum device that test message may reach")
    group.addoption("--pushfake-dengage-table", default=None, metavar="ID",
                    help="the D·engage table the suite may send to")
    group.addoption("--pushfake-dengage-segment", default=None, metavar="ID",
                    help="the D·engage segment the suite may send to")


def configure(config: pytest.Config) -> None:
    """`--pushfake-target` alone runs the suite; next to paths, it adds the suite to them."""
    if config.getoption("pushfake_target") is None:
        return
    import importlib.util

    spec = importlib.util.find_spec(SUITE)
    suite = str(Path(spec.origin)) if spec is not None and spec.origin else SUITE
    if config.args_source == pytest.Config.ArgsSource.ARGS:  # paths were given: the suite runs with them
        if suite not in config.args:
            config.args.append(suite)
    else:
        config.args[:] = [suite]
    if _workers(config) and any(contract_settings(config).targets.values()):
        raise pytest.UsageError("pushfake contract: parallel workers (--jobs, -n) run only against the in-process "
                                "fake: each worker has a fake of its own, while a live server's state, a request "
                                "budget and a rate cap would be shared")


def _workers(config: pytest.Config) -> int:
    """How many pytest-xdist workers this (controller) run starts; 0 without xdist."""
    if not config.pluginmanager.hasplugin("xdist") or getattr(config.option, "dist", "no") == "no":
        return 0
    return int(getattr(config.option, "numprocesses", 0) or 0)


def contract_settings(config: pytest.Config) -> ContractSettings:
    """The run's settings, read from the options once (a bad value is a usage error)."""
    if _SETTINGS in config.stash:
        return config.stash[_SETTINGS]
    from pushfake.contract.settings import ContractSettings, SettingsError, parse_targets, parse_test_device

    option = config.getoption
    try:
        values: dict[str, Any] = {
            "targets": parse_targets(option("pushfake_target") or []),
            "seed": int(option("pushfake_seed")) if option("pushfake_seed") is not None else int(
                config.getini("pushfake_seed") or 0),
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


class Contract:
    """One session's run: the target and what each check found, for the report."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.operations: list[OperationRun] = []
        self.assumptions: dict[str, Outcome] = {}
        self.machines: dict[str, str] = {}

    def conformance(self, vendor: str, mode: str) -> Conformance:
        """A new one for each operation: its cases then follow from the seed alone, whichever
        operations ran before it in this process (with -k, or on a pytest-xdist worker)."""
        from pushfake.contract.conformance import Conformance

        return Conformance(self.target, vendor, mode)

    def run_machine(self, name: str) -> None:
        from pushfake.contract import machines
        from pushfake.contract.gate import BudgetExhausted, DryRun, Withheld
        from pushfake.contract.outcome import NotCheckable

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
        from pushfake.contract import assumptions

        check = next(a for a in assumptions.checks(self.target.settings.vendors) if a.name == name)
        outcome = assumptions.run(self.target, check)
        self.assumptions[name] = outcome
        return outcome

    def scrub(self, text: str) -> str:
        """Every secret read from the environment, replaced by its variable's name."""
        for variable, value in sorted(self.target.gate.secrets.items(), key=lambda item: -len(item[1])):
            if value:
                text = text.replace(value, f"${{{variable}}}")
        return text


@pytest.fixture(scope="session")
def pushfake_contract(request: pytest.FixtureRequest) -> Iterator[Contract]:
    """The contract run's target (one per session), from the `--pushfake-*` options."""
    from pushfake.contract.settings import SettingsError
    from pushfake.contract.target import open_target

    try:
        target = open_target(contract_settings(request.config))
    except SettingsError as exc:
        pytest.exit(f"pushfake contract: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    contract = Contract(target)
    request.config.stash[_CONTRACT] = contract
    yield contract
    target.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    report = yield
    contract = item.config.stash.get(_CONTRACT, None)
    if contract is not None and contract.target.gate.secrets:
        if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
            path, line, reason = report.longrepr
            report.longrepr = (path, line, contract.scrub(reason))
        elif report.longrepr is not None:
            report.longrepr = contract.scrub(str(report.longrepr))
        report.sections = [(name, contract.scrub(text)) for name, text in report.sections]
        report.user_properties = [(k, contract.scrub(str(v))) for k, v in report.user_properties]
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker: hand what this worker found to the controller."""
    contract = session.config.stash.get(_CONTRACT, None)
    output = getattr(session.config, "workeroutput", None)
    if contract is not None and output is not None:
        import json

        from pytest_pushfake.contract_report import record

        worker = str(session.config.workerinput.get("workerid", ""))  # type: ignore[attr-defined]
        output[_WORKER_KEY] = json.dumps({**record(contract), "worker": worker})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the pytest-xdist controller: keep each worker's findings for the report."""
    found = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if found is not None:
        import json

        node.config.stash.setdefault(_RECORDS, []).append(json.loads(found))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    records = config.stash.get(_RECORDS, None)
    contract = config.stash.get(_CONTRACT, None)
    if not records and contract is None:  # not a contract run: import nothing more
        return
    from pytest_pushfake.contract_report import merge, record, summary_lines, write_json

    if records:
        found = merge(sorted(records, key=lambda r: (len(r["worker"]), r["worker"])))  # gw2 before gw10
    else:
        found = record(contract)
    for line in summary_lines(found, terminalreporter.stats):
        terminalreporter.write_line(line)
    path = config.getoption("pushfake_report")
    if path:
        write_json(found, terminalreporter.stats, Path(path))
        terminalreporter.write_line(f"pushfake contract: JSON report written to {path}")
