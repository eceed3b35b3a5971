"""`pushfake contract` as a user runs it: reports that agree with each other, a dry run that
lists requests and sends none, secrets from the environment that never reach a report, usage
errors that say what is wrong, and the same suite under plain `pytest --pushfake-target`.

The runs are subprocesses started together (module fixture `runs`), so the module stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from pushfake import Fake
from pushfake.cli import main
from pushfake.contract import command
from pushfake.contract.pytest.run import Contract
from pushfake.contract.settings import ENV
from tests.support import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
APPLICATION_IDS = ",".join(a["id"] for account in yaml.safe_load(
    (ROOT / "fixtures" / "default.yaml").read_text(encoding="utf-8"))["dengage"]["accounts"]
    for a in account["applications"])
# The fake's own credentials, given as a real run gives them: from the environment, so secrets.
FAKE_SECRETS = {"PUSHFAKE_LEANPLUM_APP_ID": "app_pushfake", "PUSHFAKE_LEANPLUM_PRODUCTION_KEY": "prod_pushfake",
                "PUSHFAKE_LEANPLUM_DEVELOPMENT_KEY": "dev_pushfake", "PUSHFAKE_DENGAGE_USERKEY": "pushfake",
                "PUSHFAKE_DENGAGE_PASSWORD": "pushfake-secret", "PUSHFAKE_DENGAGE_APPLICATION_IDS": APPLICATION_IDS}
SECRET_VALUES = ("prod_pushfake", "dev_pushfake", "pushfake-secret")
# Made-up credentials for a target that is not a pushfake (nothing is sent there).
DUMMY_SECRETS = {"PUSHFAKE_LEANPLUM_APP_ID": "app_dry", "PUSHFAKE_LEANPLUM_PRODUCTION_KEY": "prodKeyDry123",
                 "PUSHFAKE_LEANPLUM_DEVELOPMENT_KEY": "devKeyDry456", "PUSHFAKE_DENGAGE_USERKEY": "dryUserKey",
                 "PUSHFAKE_DENGAGE_PASSWORD": "dryPassword789", "PUSHFAKE_DENGAGE_APPLICATION_IDS": "app-1,app-2"}
TIMEOUT = 120
USAGE_ERRORS = [
    (("--target", "ftp://example.test"),
     "pushfake contract: target: an http(s) URL, VENDOR=URL or 'in-process', not 'ftp://example.test'"),
    (("--leanplum-test-message", "1001"),
     "pushfake contract: a Leanplum test message and a test device go together: give both or neither"),
    (("--phases", "fuzzing,stateful"),
     "pushfake contract: phases: some of examples, coverage, fuzzing, not stateful"),
    (("--jobs", "2", "--target", "http://127.0.0.1:9"),
     "pushfake contract: --jobs runs only against the in-process fake"),
]  # a malformed USER:DEVICE is checked in test_safety (parse_test_device)


# These runs check the reports, workers and seeds, not the spec's boundaries: the coverage phase
# (hundreds of cases per operation whatever --examples says) is left out; test_live runs it.
QUICK = ("--phases", "examples,fuzzing")
# multi, the cheapest Leanplum operation to generate for (2 s against 6 s for start), in both methods and modes
IN_PROCESS_SELECTION = "conformance and leanplum and multi or assumption and dengage and token or sessions"


def environment(**variables: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PUSHFAKE_")}
    return {**clean, **variables}


class Run:
    """A subprocess writing to files (no pipes to drain while others run)."""

    def __init__(self, folder: Path, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.folder = folder / name
        self.folder.mkdir()
        self.stdout_path = self.folder / "stdout.txt"
        with self.stdout_path.open("wb") as out:
            self.process = subprocess.Popen(argv, cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT)
        self._done = False

    @property
    def returncode(self) -> int:
        if not self._done:
            self.process.wait(TIMEOUT)
            self._done = True
        return self.process.returncode

    @property
    def output(self) -> str:
        assert self.returncode is not None
        return self.stdout_path.read_bytes().decode("utf-8", errors="replace")  # CR LF kept as written

    def file(self, name: str) -> Path:
        assert self.returncode is not None
        return self.folder / name

    def json(self) -> dict[str, Any]:
        path = self.file("report.json")
        assert path.exists(), self.output[-3000:]
        return json.loads(path.read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(TIMEOUT)


class Listener:
    """A loopback TCP port that counts every connection made to it."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.socket.close()


def contract(*options: str) -> list[str]:
    return [sys.executable, "-m", "pushfake", "contract", *options]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("contract-command")
    with ExitStack() as stack:
        listener = Listener()
        stack.callback(listener.close)
        live = [stack.enter_context(serve_in_thread(Fake(seed=0))) for _ in range(2)]
        started: dict[str, Any] = {"listener": listener, "live": live}
        report = ("--json", "report.json")
        # safe mode on a live fake, secrets set: assumption checks and machines log in and use both keys
        safe_live = ("--safe", "--rate", "10000", "--examples", "1", "-k", "not conformance", *report)
        plans = {
            "in-process": (contract("--examples", "2", *QUICK, "-k", IN_PROCESS_SELECTION, *report,
                                    "--junit", "report.xml"), environment()),
            "parallel": (contract("--examples", "2", *QUICK, "-k", IN_PROCESS_SELECTION, *report, "--junit", "report.xml",
                                  "--jobs", "2"), environment()),
            "in-process-again": (contract("--examples", "2", *QUICK, "-k", IN_PROCESS_SELECTION, *report), environment()),
            "dry-run": (contract("--dry-run", "--target", f"leanplum={listener.url}", "--target",
                                 f"dengage={listener.url}", "--examples", "1", *QUICK, "-k",
                                 "not conformance or multi or sendInstant", *report), environment(**DUMMY_SECRETS)),
            # one run writes both reports: each test reads its own
            "secrets": (contract("--target", live[0].url, *safe_live, "--junit", "report.xml"),
                        environment(**FAKE_SECRETS)),
            "pytest": ([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--pushfake-target={live[1].url}",
                        "--pushfake-examples", "2", "-k", "assumption and leanplum", "--pushfake-report", "report.json",
                        "-q"], environment()),
            "pytest-parallel-live": ([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
                                      f"--pushfake-target={live[1].url}"], environment()),
        }
        for name, (argv, env) in plans.items():
            started[name] = Run(folder, name, argv, env)
            stack.callback(started[name].stop)
        yield started


# --- (a) the in-process fake: the JSON and JUnit reports agree -------------------------------------------------
def test_a_run_on_the_in_process_fake_writes_matching_json_and_junit_reports(runs: dict[str, Any]) -> None:
    run = runs["in-process"]
    assert run.returncode == 0, run.output[-3000:]
    report = run.json()
    assert report["failures"] == [] and report["safe"] is False and report["dryRun"] is False
    assert {t["kind"] for t in report["target"].values()} == {"in-process"}
    assert report["examplesPerOperation"] == 2 and report["phases"] == ["examples", "fuzzing"]
    operations = {f"{o['vendor']}:{o['mode']}:{o['operation']}": o for o in report["operations"]}
    assert operations and {o["vendor"] for o in operations.values()} == {"leanplum"}
    assert len(operations) == 4  # multi, as GET and POST, positive and negative
    assert {o["mode"] for o in operations.values()} == {"positive", "negative"}
    assert all(o["cases"] > 0 and o["sent"] > 0 and o["withheld"] == 0 for o in operations.values()), operations
    assert report["requests"]["sent"] == report["requests"]["answered"] == len(report["log"])
    assert sum(a["count"] for a in report["answers"]) == report["requests"]["answered"]

    suite = ElementTree.parse(run.file("report.xml")).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    cases = {case.get("name", "").removeprefix("test_conformance[").removesuffix("]"): case
             for case in suite.iter("testcase") if case.get("name", "").startswith("test_conformance[")}
    assert set(cases) == set(operations)
    for name, case in cases.items():
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["cases"] == str(operations[name]["cases"]), name
        assert properties["sent"] == str(operations[name]["sent"]), name
        assert properties["withheld"] == "0" and properties["not_run"] == "0"


def test_parallel_workers_report_what_one_process_reports(runs: dict[str, Any]) -> None:
    serial, parallel = runs["in-process"].json(), runs["parallel"].json()
    assert runs["parallel"].returncode == 0, runs["parallel"].output[-3000:]
    assert "[gw1]" in runs["parallel"].output or "2 workers" in runs["parallel"].output  # it did run in two
    assert parallel["failures"] == []
    assert parallel["operations"] == serial["operations"]  # the same cases per operation: they follow the seed
    assert parallel["semantics"] == serial["semantics"] == {"leanplum-sessions": "passed"}
    ran = {row["check"]: row["outcome"] for row in parallel["assumptions"] if row["outcome"] != "not run"}
    assert ran and ran == {row["check"]: row["outcome"] for row in serial["assumptions"] if row["outcome"] != "not run"}
    assert parallel["requests"]["sent"] == len(parallel["log"]) > 0
    assert [entry["seq"] for entry in parallel["log"]] == list(range(1, len(parallel["log"]) + 1))
    assert sum(a["count"] for a in parallel["answers"]) == parallel["requests"]["answered"]
    suite = ElementTree.parse(runs["parallel"].file("report.xml")).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(parallel["operations"]) + len(ran) + 1)


def sent(report: dict[str, Any]) -> list[tuple[str, int]]:
    """Each request as curl (less Schemathesis's random case id and the multipart boundary) and its status."""
    out = []
    for entry in report["log"]:
        curl = re.sub(r"'X-Schemathesis-TestCaseId: \w+'", "", entry["curl"])
        if boundary := re.search(r"boundary=(\w+)", curl):
            curl = curl.replace(boundary.group(1), "BOUNDARY")
        out.append((curl, entry["status"]))
    return out


def test_the_same_seed_sends_the_same_requests_in_one_process_or_in_workers(runs: dict[str, Any]) -> None:
    serial = sent(runs["in-process"].json())
    assert serial == sent(runs["in-process-again"].json())  # the same requests, in the same order
    assert sorted(serial) == sorted(sent(runs["parallel"].json()))  # shared out between two workers


def test_the_json_report_gives_each_operations_outcome(runs: dict[str, Any]) -> None:
    report = runs["in-process"].json()
    assert {o["outcome"] for o in report["operations"]} == {"passed"}


# --- (b) a dry run: listed, not sent ------------------------------------------------------------------------
def test_a_dry_run_lists_the_requests_and_sends_none(runs: dict[str, Any]) -> None:
    run, listener = runs["dry-run"], runs["listener"]
    assert "INTERNALERROR" not in run.output
    report = run.json()
    assert listener.connections == 0  # not one connection, not even a probe
    assert report["dryRun"] is True and report["safe"] is True
    assert {t["kind"] for t in report["target"].values()} == {"real"}
    assert report["requests"]["sent"] == 0 and "answered" not in report["requests"]
    outcomes = {entry["outcome"] for entry in report["log"]}
    assert outcomes <= {"dry run", "withheld"} and "dry run" in outcomes, outcomes  # what safe mode refuses is withheld
    listed = [entry for entry in report["log"] if entry["outcome"] == "dry run"]
    assert all(entry["url"].startswith(listener.url) for entry in report["log"])
    assert f"dry run: {len(report['log'])} requests listed, none sent:" in run.output
    assert all(entry["curl"] in run.output for entry in listed)
    assert {"/api", "/rest/login"} <= {entry["url"][len(listener.url):].split("?")[0] for entry in listed}
    for secret in ("prodKeyDry123", "devKeyDry456", "dryUserKey", "dryPassword789"):
        assert secret not in run.output and secret not in run.file("report.json").read_text(encoding="utf-8")
    assert "${PUSHFAKE_DENGAGE_PASSWORD}" in "".join(e["curl"] for e in listed if e["url"].endswith("/rest/login"))


def test_a_dry_run_reports_no_failures(runs: dict[str, Any]) -> None:
    run = runs["dry-run"]
    assert run.json()["failures"] == [], [f["name"] for f in run.json()["failures"]]
    assert run.returncode == 0


# --- (c) secrets from the environment stay out of every output ---------------------------------------------
def test_secrets_from_the_environment_never_reach_the_output_or_the_json(runs: dict[str, Any]) -> None:
    run = runs["secrets"]
    assert "INTERNALERROR" not in run.output, run.output[-3000:]
    report = run.json()
    text = run.file("report.json").read_text(encoding="utf-8")
    for secret in SECRET_VALUES:
        assert secret not in run.output and secret not in text
    assert report["safe"] is True and report["requests"]["answered"] > 0
    curls = "\n".join(entry["curl"] for entry in report["log"])
    for variable in ("PUSHFAKE_LEANPLUM_PRODUCTION_KEY", "PUSHFAKE_LEANPLUM_DEVELOPMENT_KEY",
                     "PUSHFAKE_DENGAGE_USERKEY", "PUSHFAKE_DENGAGE_PASSWORD"):
        assert f"${{{variable}}}" in curls, variable
    logins = [e["curl"] for e in report["log"] if e["url"].endswith("/rest/login") and e["outcome"] == "answered"]
    assert any("${PUSHFAKE_DENGAGE_PASSWORD}" in curl for curl in logins)  # others log in wrongly on purpose


def test_secrets_never_reach_the_junit_report(runs: dict[str, Any]) -> None:
    run = runs["secrets"]
    assert "INTERNALERROR" not in run.output, run.output[-2000:]
    junit = run.file("report.xml").read_text(encoding="utf-8")
    assert "<property" in junit and "skipped" in junit
    for secret in SECRET_VALUES:
        assert secret not in junit and secret not in run.output


def test_scrub_replaces_the_longest_secret_first() -> None:
    target = SimpleNamespace(gate=SimpleNamespace(secrets={"PUSHFAKE_DENGAGE_USERKEY": "pushfake",
                                                           "PUSHFAKE_DENGAGE_PASSWORD": "pushfake-secret"}))
    scrubbed = Contract(target).scrub('{"userkey": "pushfake", "password": "pushfake-secret"}')  # type: ignore[arg-type]
    assert scrubbed == '{"userkey": "${PUSHFAKE_DENGAGE_USERKEY}", "password": "${PUSHFAKE_DENGAGE_PASSWORD}"}'


# --- (d) usage errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", range(len(USAGE_ERRORS)), ids=[" ".join(o) for o, _ in USAGE_ERRORS])
def test_a_usage_error_stops_the_run_with_a_clear_message(case: int, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    options, message = USAGE_ERRORS[case]
    for name in [n for n in os.environ if n.startswith("PUSHFAKE_")]:
        monkeypatch.delenv(name)
    started: list[Any] = []
    monkeypatch.setattr(command.subprocess, "Popen", lambda *a, **k: started.append(a))  # pytest must not start
    code = main(["contract", *options])
    err = capsys.readouterr().err
    assert code == 2 and started == [], err
    assert err.startswith(message) and err.count("\n") == 1, err  # one line, before pytest would start


def test_pytest_xdist_workers_are_refused_for_a_live_target(runs: dict[str, Any]) -> None:
    run = runs["pytest-parallel-live"]
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.output[-2000:]
    assert "parallel workers (--jobs, -n) run only against the in-process fake" in run.output


def test_a_bad_option_value_is_refused_before_pytest_runs(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="pushfake")
    command.add_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["contract", "--vendor", "onesignal"])
    assert exited.value.code == 2 and "invalid choice: 'onesignal'" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "message"), [("0", "at least 1 process, not 0"),
                                              ("many", "a number of processes or 'auto', not 'many'")])
def test_a_bad_number_of_jobs_is_refused(value: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="pushfake")
    command.add_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["contract", "--jobs", value])
    assert message in capsys.readouterr().err


def test_jobs_become_xdist_workers_that_take_work_as_they_free_up() -> None:
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    assert "-n" not in command.pytest_args(parser.parse_args(["contract"]), "/tmp/pytest.ini")
    argv = command.pytest_args(parser.parse_args(["contract", "--jobs", "auto"]), "/tmp/pytest.ini")
    assert argv[-6:] == ["-p", "xdist", "-n", "auto", "--dist", "worksteal"]


def test_the_options_become_the_plugins_options() -> None:
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["contract", "--target", "leanplum=http://a.test", "--target", "dengage=in-process",
                              "--vendor", "leanplum", "--examples", "7", "--phases", "fuzzing", "--seed", "3", "--safe",
                              "--dry-run",
                              "--budget", "9", "--rate", "2.5", "--leanplum-test-message", "1001",
                              "--leanplum-test-device", "u:d", "--dengage-table", "t", "--json", "r.json",
                              "--junit", "r.xml", "-k", "start", "-x", "-v"])
    argv = command.pytest_args(args, "/tmp/pytest.ini")
    pairs = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("-")}
    from pushfake.contract.pytest import suite  # the name the command line gives is the suite's own

    assert argv[:2] == ["-c", "/tmp/pytest.ini"] and argv[argv.index("--pyargs") + 1] == suite.__name__
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--pushfake-target"] == ["leanplum=http://a.test",
                                                                                    "dengage=in-process"]
    assert {k: pairs[k] for k in ("--pushfake-vendor", "--pushfake-examples", "--pushfake-phases", "--pushfake-seed",
                                  "--pushfake-budget",
                                  "--pushfake-rate", "--pushfake-leanplum-test-message",
                                  "--pushfake-leanplum-test-device", "--pushfake-dengage-table", "--pushfake-report",
                                  "--junitxml", "-k")} == {
        "--pushfake-vendor": "leanplum", "--pushfake-examples": "7", "--pushfake-phases": "fuzzing", "--pushfake-seed": "3",
        "--pushfake-budget": "9", "--pushfake-rate": "2.5", "--pushfake-leanplum-test-message": "1001",
        "--pushfake-leanplum-test-device": "u:d", "--pushfake-dengage-table": "t", "--pushfake-report": "r.json",
        "--junitxml": "r.xml", "-k": "start"}
    assert {"--pushfake-safe", "--pushfake-dry-run", "-x", "-v"} <= set(argv) and "--pushfake-unsafe" not in argv
    assert not any(value in " ".join(argv) for value in ENV.values())  # credentials never on a command line


# --- (e) the same suite under pytest ----------------------------------------------------------------------
def test_pytest_with_a_target_runs_the_suite_against_it(runs: dict[str, Any]) -> None:
    run, server = runs["pytest"], runs["live"][1]
    assert run.returncode == 0, run.output[-3000:]
    report = run.json()
    assert report["target"] == {"leanplum": {"url": server.url, "kind": "pushfake"},
                                "dengage": {"url": server.url, "kind": "pushfake"}}
    ran = [row for row in report["assumptions"] if row["outcome"] != "not run"]
    assert ran and {row["vendor"] for row in ran} == {"leanplum"} and {row["outcome"] for row in ran} == {"held"}
    assert f"{len(ran)} passed" in run.output
