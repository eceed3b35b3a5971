"""The contract suite's pytest plugin, registered by the `pushfake-contract` entry point.

Its options turn into the run's settings (`options`); `pushfake_contract` is the session's target
(one `Contract` per session); secrets read from the environment are scrubbed from every report;
a pytest-xdist worker hands what it found to the controller, which writes the summary and the
JSON report. pytest imports this module at every start, so it imports only pytest and the
settings: the kit loads when a contract test asks for its target, the report when one ran, and
a user without the `contract` extra hears of it only on asking for the suite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pushfake.contract import require_kit
from pushfake.contract.pytest.options import add_options, contract_settings
from pushfake.contract.settings import SettingsError
from pushfake.extras import MissingExtra

if TYPE_CHECKING:
    from pushfake.contract.pytest.run import Contract

_CONTRACT = pytest.StashKey["Contract"]()
_RECORDS = pytest.StashKey[list[dict[str, Any]]]()  # what pytest-xdist workers found, on the controller
_WORKER_KEY = "pushfake_contract"  # the worker's record in its `workeroutput`


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """`--pushfake-target` alone runs the suite; next to paths, it adds the suite to them."""
    if config.getoption("pushfake_target") is None:
        return
    try:
        require_kit("pytest --pushfake-target")
    except MissingExtra as exc:
        raise pytest.UsageError(str(exc)) from None
    from pushfake.contract.pytest import suite  # a contract run: the suite loads Schemathesis anyway

    path = str(Path(suite.__file__))
    if config.args_source == pytest.Config.ArgsSource.ARGS:  # paths were given: the suite runs with them
        if path not in config.args:
            config.args.append(path)
    else:
        config.args[:] = [path]
    if _workers(config) and any(contract_settings(config).targets.values()):
        raise pytest.UsageError("pushfake contract: parallel workers (--jobs, -n) run only against the in-process "
                                "fake: each worker has a fake of its own, while a live server's state, a request "
                                "budget and a rate cap would be shared")


def _workers(config: pytest.Config) -> int:
    """How many pytest-xdist workers this (controller) run starts; 0 without xdist."""
    if not config.pluginmanager.hasplugin("xdist") or getattr(config.option, "dist", "no") == "no":
        return 0
    return int(getattr(config.option, "numprocesses", 0) or 0)


@pytest.fixture(scope="session")
def pushfake_contract(request: pytest.FixtureRequest) -> Iterator[Contract]:
    """The contract run's target (one per session), from the `--pushfake-*` options."""
    from pushfake.contract.pytest.run import Contract  # the kit: Schemathesis, Hypothesis, the fake
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
        from pushfake.contract.pytest.report import record

        worker = str(session.config.workerinput.get("workerid", ""))  # type: ignore[attr-defined]
        output[_WORKER_KEY] = json.dumps({**record(contract), "worker": worker})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the pytest-xdist controller: keep each worker's findings for the report."""
    found = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if found is not None:
        node.config.stash.setdefault(_RECORDS, []).append(json.loads(found))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    records = config.stash.get(_RECORDS, None)
    contract = config.stash.get(_CONTRACT, None)
    if not records and contract is None:  # not a contract run: import nothing more
        return
    from pushfake.contract.pytest.report import merge, record, summary_lines, write_json

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
