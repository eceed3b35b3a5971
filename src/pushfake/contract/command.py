"""`pushfake contract`: the contract suite run by pytest, with its options spelled for a shell.

It runs the suite module (`pushfake.contract.pytest.suite`) in a pytest process of its own, with a clean
configuration (the caller's pytest.ini and conftest files do not apply) and `PYTHONHASHSEED`
pinned to the seed, so a report means the same wherever it runs and the same seed repeats it.
Credentials come only from the environment (`pushfake.contract.settings.ENV`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

from pushfake.contract import require_kit
from pushfake.contract.settings import (
    ENV,
    PHASES,
    VENDORS,
    ContractSettings,
    SettingsError,
    parse_phases,
    parse_targets,
    parse_test_device,
    placeholder,
    shared_target,
)
from pushfake.extras import MissingExtra, require

SUITE = "pushfake.contract.pytest.suite"  # the module pytest runs (`--pyargs`)
# The plugins its pytest loads, and no other (autoloading is off): the `--pushfake-*` options, the
# suite's session (targets, reports). `--jobs` adds xdist.
PLUGINS = ("-p", "pytest_pushfake.plugin", "-p", "pushfake.contract.pytest.session")
EPILOG = ("credentials (environment only): " + ", ".join(ENV.values())
          + ". Against a real deployment the suite runs in safe mode: see the README, 'Checking a real deployment'.")


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    contract = commands.add_parser("contract", help="run the contract suite against a target",
                                   description="Run the contract suite (spec conformance, semantics, assumptions) "
                                               "against the in-process fake, a live pushfake or a real deployment.",
                                   epilog=EPILOG)
    contract.add_argument("--target", action="append", metavar="URL",
                          help="URL (both vendors) or VENDOR=URL, repeatable; default: the in-process fake")
    contract.add_argument("--vendor", action="append", choices=["leanplum", "dengage"],
                          help="only this vendor (repeatable; default both)")
    contract.add_argument("--examples", type=int, metavar="N", help="generated cases per operation and mode (default 50)")
    contract.add_argument("--phases", metavar="LIST",
                          help=f"the conformance checks' Schemathesis phases, comma-separated (default {','.join(PHASES)}; "
                               "'fuzzing' alone is a quick run)")
    contract.add_argument("--seed", type=int, default=0, help="seed of the generation and of the fake (default 0)")
    mode = contract.add_mutually_exclusive_group()
    mode.add_argument("--safe", action="store_true", help="safe mode even against a pushfake")
    mode.add_argument("--unsafe", action="store_true",
                      help="no safe mode against a real deployment (it may push to real phones)")
    contract.add_argument("--dry-run", action="store_true",
                          help="list every request the suite would make; send none (no credentials needed: "
                               f"one not set shows as its {placeholder('VARIABLE')} placeholder)")
    contract.add_argument("--budget", type=int, metavar="N", help="never send more than N requests (default: "
                               f"{ContractSettings.DEFAULT_BUDGET} against a real deployment, "
                               "no limit against a pushfake)")
    contract.add_argument("--rate", type=float, metavar="PER_SECOND", help="requests per second at most (default: "
                               f"{ContractSettings.DEFAULT_RATE:g} against a real deployment, "
                               "no cap against a pushfake)")
    contract.add_argument("--leanplum-test-message", metavar="ID", help="a Leanplum message the suite may really send")
    contract.add_argument("--leanplum-test-device", metavar="USER_ID:DEVICE_ID",
                          help="the one Leanplum device that message may reach")
    contract.add_argument("--dengage-table", metavar="ID", help="the D·engage table the suite may send to")
    contract.add_argument("--dengage-segment", metavar="ID", help="the D·engage segment the suite may send to")
    contract.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                          help="run the checks in N processes (pytest-xdist), 'auto' for one per CPU; "
                               "in-process fake only (default 1)")
    contract.add_argument("--json", metavar="PATH", help="write the JSON report to PATH")
    contract.add_argument("--junit", metavar="PATH", help="write the JUnit-XML report to PATH")
    contract.add_argument("-k", metavar="EXPRESSION", help="only the checks whose names match (pytest -k)")
    contract.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    contract.add_argument("-v", "--verbose", action="store_true", help="one line per check")


def pytest_args(args: argparse.Namespace, ini: str) -> list[str]:
    """The pytest command line the options stand for."""
    argv = ["-c", ini, "--rootdir", os.getcwd(), "-p", "no:cacheprovider", *PLUGINS, "--pyargs",
            _suite_module(), "--pushfake-seed", str(args.seed)]
    for target in args.target or []:
        argv += ["--pushfake-target", target]
    for vendor in args.vendor or []:
        argv += ["--pushfake-vendor", vendor]
    pairs = {"--pushfake-examples": args.examples, "--pushfake-phases": args.phases, "--pushfake-budget": args.budget, "--pushfake-rate": args.rate,
             "--pushfake-leanplum-test-message": args.leanplum_test_message,
             "--pushfake-leanplum-test-device": args.leanplum_test_device,
             "--pushfake-dengage-table": args.dengage_table, "--pushfake-dengage-segment": args.dengage_segment,
             "--pushfake-report": args.json, "--junitxml": args.junit, "-k": args.k}
    argv += [item for flag, value in pairs.items() if value is not None for item in (flag, str(value))]
    flags = {"--pushfake-safe": args.safe, "--pushfake-unsafe": args.unsafe, "--pushfake-dry-run": args.dry_run,
             "-x": args.exitfirst, "-v": args.verbose}
    argv += [flag for flag, on in flags.items() if on]
    if args.jobs != 1:  # each worker a fake of its own; tests handed out as workers free up
        argv += ["-p", "xdist", "-n", str(args.jobs), "--dist", "worksteal"]
    return argv


def _suite_module() -> str:
    """The suite module's name, found without running it: importing it loads Schemathesis and
    Hypothesis (nearly a second), which only the pytest process needs."""
    spec = importlib.util.find_spec(SUITE)
    if spec is None:
        raise RuntimeError(f"the contract suite {SUITE} is not installed")
    return spec.name


def _jobs(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of processes or 'auto', not {value!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"at least 1 process, not {jobs}")
    return jobs


def run(args: argparse.Namespace) -> int:
    try:  # without the contract extra: one line naming it, not a traceback from the child
        require_kit("pushfake contract")
        if args.jobs != 1:
            require("contract", "pushfake contract --jobs", "xdist")
    except MissingExtra as exc:
        print(exc, file=sys.stderr)
        return 2
    try:  # usage errors as one line, before pytest starts
        settings = ContractSettings(
            targets=parse_targets(args.target or []), shared=shared_target(args.target or []),
            vendors=tuple(dict.fromkeys(args.vendor or VENDORS)), dry_run=args.dry_run,
            examples=50 if args.examples is None else args.examples, phases=parse_phases(args.phases), budget=args.budget, rate=args.rate,
            leanplum_test_message=args.leanplum_test_message,
            leanplum_test_device=parse_test_device(args.leanplum_test_device))
        if settings.dry_run and settings.shared_by_vendors():  # nothing probes it: it may be real
            raise SettingsError(settings.one_host_refusal())
    except SettingsError as exc:
        print(f"pushfake contract: {exc}", file=sys.stderr)
        return 2
    if args.jobs != 1 and args.target and any(parse_targets(args.target).values()):
        print("pushfake contract: --jobs runs only against the in-process fake (a live server's state, the "
              "budget and the rate cap would be shared by the workers)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="pushfake-contract-") as folder:
        ini = os.path.join(folder, "pytest.ini")
        with open(ini, "w", encoding="utf-8") as fh:  # a config of its own: no user addopts or conftests
            # pushfake may be imported before pytest rewrites asserts (a plugin loaded early)
            fh.write("[pytest]\njunit_family = xunit1\nfilterwarnings = ignore::pytest.PytestAssertRewriteWarning\n")
        # Python salts str hashes per process, and set and dict orders inside Schemathesis follow
        # them: pinned to the seed, the same seed sends the same requests in the same order.
        env = {**os.environ, "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED") or str(args.seed % 2**32),
               # only the plugins the suite needs (PLUGINS): another installed plugin may reorder or
               # reseed the run, and loading them all costs 0.4 s
               "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        child = subprocess.Popen([sys.executable, "-m", "pytest", *pytest_args(args, ini)], env=env)
        try:
            return child.wait()
        except KeyboardInterrupt:  # the child got the same Ctrl-C: let it write its reports and stop
            return child.wait()
