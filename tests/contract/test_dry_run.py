"""A dry run against a real deployment needs no credentials: it sends nothing, so it shows what it
would send with a placeholder (`${PUSHFAKE_...}`) where each missing credential goes, and says
once which variables a real run needs. Given credentials, a dry run shows their secrets as the
same placeholders; a real run without them still refuses.

The `pushfake contract` runs are subprocesses started together (module fixture `runs`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from pushfake.contract import wire
from pushfake.contract.pytest.run import Contract
from pushfake import Fake
from pushfake.contract.settings import ENV, ContractSettings, SettingsError, parse_targets, placeholder, shared_target
from pushfake.contract.target import open_target
from tests.support import serve_in_thread

# Never resolved: a dry run makes no connection, not even a probe. A real deployment is a host per vendor.
TARGETS = ("leanplum=https://leanplum.invalid", "dengage=https://dengage.invalid")
REAL = "https://api.leanplum.com"
ONE_HOST = (f"pushfake contract: {REAL} is not known to be a pushfake (a dry run sends nothing, not even a probe), "
            "so it cannot stand for both vendors (a real deployment has a host per vendor, and each must see only "
            "its own credentials): give each vendor its URL (--target leanplum=URL --target dengage=URL) "
            "or run one vendor (--vendor leanplum)")
TIMEOUT = 120
# The assumption checks, the machines and D·engage's login conformance: every kind of request, quickly.
SELECTION = "not conformance or login"
GIVEN = {ENV["leanplum_app_id"]: "app_given", ENV["leanplum_production_key"]: "prodKeyGiven123",
         ENV["leanplum_development_key"]: "devKeyGiven456", ENV["dengage_userkey"]: "userKeyGiven",
         ENV["dengage_password"]: "passwordGiven789", ENV["dengage_application_ids"]: "app-1,app-2"}
SECRETS = ("prodKeyGiven123", "devKeyGiven456", "userKeyGiven", "passwordGiven789")
NOTE = ("placeholders such as ${PUSHFAKE_LEANPLUM_APP_ID} stand for credentials that are not set; "
        "for a real run, set " + ", ".join(ENV.values()))
REFUSAL = "pushfake contract: a real deployment needs its credentials in the environment: set " + ", ".join(ENV.values())


def environment(**variables: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PUSHFAKE_")}, **variables}


def contract(*options: str, targets: tuple[str, ...] = TARGETS) -> list[str]:
    given = [word for target in targets for word in ("--target", target)]
    return [sys.executable, "-m", "pushfake", "contract", *given, "--examples", "1", *options]


class Run:
    """A `pushfake contract` subprocess writing to a file (no pipe to drain while others run)."""

    def __init__(self, folder: Path, argv: list[str], env: dict[str, str]) -> None:
        folder.mkdir()
        self.folder = folder
        with (folder / "output.txt").open("wb") as out:
            self.process = subprocess.Popen(argv, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)

    @property
    def returncode(self) -> int:
        return self.process.wait(TIMEOUT)

    @property
    def output(self) -> str:
        self.process.wait(TIMEOUT)
        return (self.folder / "output.txt").read_bytes().decode("utf-8", errors="replace")

    def report(self) -> dict[str, Any]:
        path = self.folder / "report.json"
        assert self.returncode is not None and path.exists(), self.output[-3000:]
        return json.loads(path.read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(TIMEOUT)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    folder = tmp_path_factory.mktemp("dry-run")
    # what a dry run lists, not the spec's boundaries: the fuzzing phase alone
    dry = ("--dry-run", "--phases", "fuzzing", "-k", SELECTION, "--json", "report.json")
    plans = {"bare": (contract(*dry), environment()),
             "given": (contract(*dry), environment(**GIVEN)),
             "real": (contract("-k", "assumption and leanplum"), environment()),
             "one-host": (contract(*dry, targets=(REAL,)), environment(**GIVEN))}
    started = {name: Run(folder / name, argv, env) for name, (argv, env) in plans.items()}
    try:
        yield started
    finally:
        for run in started.values():
            run.stop()


def curls(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.startswith("    'curl'")]


# --- without credentials: placeholders, and one note -----------------------------------------------------------
def test_a_dry_run_without_credentials_lists_its_requests_with_placeholders(runs: dict[str, Run]) -> None:
    run = runs["bare"]
    assert run.returncode == 0, run.output[-3000:]
    report = run.report()
    assert report["dryRun"] is True and report["requests"]["sent"] == 0
    assert {t["kind"] for t in report["target"].values()} == {"real"}
    listed = [entry for entry in report["log"] if entry["outcome"] == "dry run"]
    assert listed and all(entry["curl"] in run.output for entry in listed)
    logins = [e["curl"] for e in listed if e["url"].endswith("/rest/login")]
    assert any(f"'\"{placeholder(ENV['dengage_password'])}\"'" in curl for curl in logins)  # others log in wrongly
    assert any(f"'\"{placeholder(ENV['leanplum_app_id'])}\"'" in curl for curl in curls(run.output))
    assert any(f"'\"{placeholder(ENV['leanplum_development_key'])}\"'" in curl for curl in curls(run.output))


def test_the_note_names_the_variables_a_real_run_needs_once(runs: dict[str, Run]) -> None:
    run = runs["bare"]
    assert run.output.count(NOTE) == 1, run.output[-2000:]
    assert "a real deployment needs its credentials" not in run.output
    assert run.report()["placeholders"] == list(ENV.values())


def test_no_check_fails_on_a_placeholder(runs: dict[str, Run]) -> None:
    report = runs["bare"].report()
    assert report["failures"] == [], [f["name"] for f in report["failures"]]
    assert {row["outcome"] for row in report["assumptions"]} <= {"not run", "not checkable safely"}
    assert set(report["semantics"].values()) <= {"not run", "not checkable safely"}
    assert {o["outcome"] for o in report["operations"]} == {"skipped"}


def test_the_report_writes_placeholders_as_placeholders_even_in_a_url(runs: dict[str, Run]) -> None:
    log = runs["bare"].report()["log"]
    in_query = [entry["url"] for entry in log if "appId=" in entry["url"]]
    assert in_query and all("appId=${PUSHFAKE_LEANPLUM_APP_ID}" in url for url in in_query)
    assert not [entry for entry in log if "%24%7BPUSHFAKE" in entry["url"] + entry["curl"]]


def test_a_listed_curl_command_takes_the_credentials_from_the_environment(runs: dict[str, Run]) -> None:
    """Set the variables and the listed command sends the real values: print its arguments."""
    login = next(e["curl"] for e in runs["bare"].report()["log"] if e["url"].endswith("/rest/login"))
    printed = subprocess.run(["bash", "-c", "printf '%s\\n' " + login.removeprefix("'curl' ")], env=environment(**GIVEN),
                             capture_output=True, text=True, timeout=10, check=True).stdout
    assert '{"userkey": "userKeyGiven", "password": "passwordGiven789"}' in printed.splitlines()


# --- with credentials: the same placeholders, never the secrets ----------------------------------------------
def test_a_dry_run_with_credentials_shows_each_secret_as_its_placeholder(runs: dict[str, Run]) -> None:
    run = runs["given"]
    assert run.returncode == 0, run.output[-3000:]
    report = run.report()
    text = (run.folder / "report.json").read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in run.output and secret not in text
    assert any(f"'\"{placeholder(ENV['leanplum_development_key'])}\"'" in curl for curl in curls(run.output))
    assert report["placeholders"] == [] and "stand for credentials that are not set" not in run.output
    assert report["failures"] == []


# --- a real run still needs them ------------------------------------------------------------------------------
def test_a_real_run_without_credentials_refuses_naming_the_variables(runs: dict[str, Run]) -> None:
    run = runs["real"]
    assert run.returncode != 0
    assert REFUSAL in run.output
    assert "'curl'" not in run.output and not (run.folder / "report.json").exists()


# --- in this process: some credentials given, the rest placeholders ------------------------------------------
class Refuse(requests.adapters.BaseAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        raise AssertionError(f"a dry run sent {request.url}")

    def close(self) -> None:
        pass


def test_placeholders_stand_only_for_what_is_not_set() -> None:
    leanplum_only = {k: v for k, v in GIVEN.items() if "LEANPLUM" in k}
    settings = ContractSettings(targets=parse_targets(TARGETS), dry_run=True)
    target = open_target(settings, environ=leanplum_only, network=Refuse())
    try:
        dengage = [ENV["dengage_userkey"], ENV["dengage_password"], ENV["dengage_application_ids"]]
        assert list(target.placeholders) == dengage
        assert target.credentials.dengage_password == "${PUSHFAKE_DENGAGE_PASSWORD}"
        assert target.credentials.dengage_application_ids == ("${PUSHFAKE_DENGAGE_APPLICATION_IDS}",)
        assert target.credentials.leanplum_production_key == "prodKeyGiven123"
        assert target.gate.secrets == {ENV["leanplum_production_key"]: "prodKeyGiven123",
                                       ENV["leanplum_development_key"]: "devKeyGiven456",
                                       **{variable: placeholder(variable) for variable in dengage}}
    finally:
        target.close()


def test_an_encoded_value_is_written_as_its_placeholder_once() -> None:
    """A placeholder (or secret) percent-encoded in a URL reads back as the placeholder; in a curl
    command, each form becomes one reference, never a reference inside a reference."""
    hidden = {"PUSHFAKE_X": "${PUSHFAKE_X}", "PUSHFAKE_KEY": "p@ss/word"}
    url = "https://h/api?appId=%24%7BPUSHFAKE_X%7D&clientKey=p%40ss%2Fword&raw=${PUSHFAKE_X}"
    assert wire.references(url, hidden) == "https://h/api?appId=${PUSHFAKE_X}&clientKey=${PUSHFAKE_KEY}&raw=${PUSHFAKE_X}"
    command = wire.references(f"'curl' '{url}'", hidden, shell=True)
    assert command == ("'curl' 'https://h/api?appId='\"${PUSHFAKE_X}\"'&clientKey='\"${PUSHFAKE_KEY}\"'"
                       "&raw='\"${PUSHFAKE_X}\"''")
    scrubbed = Contract(SimpleNamespace(gate=SimpleNamespace(secrets=hidden))).scrub(url)  # type: ignore[arg-type]
    assert "p%40ss" not in scrubbed and "p@ss" not in scrubbed


# --- one URL for both vendors: a pushfake's way, refused for anything else ---------------------------------
def test_a_bare_url_for_both_vendors_is_refused_in_a_dry_run_before_anything_is_listed(runs: dict[str, Run]) -> None:
    """A bare URL means both vendors: a dry run, which does not probe, cannot know it is a pushfake,
    and a real deployment would be sent D·engage's login on Leanplum's host."""
    run = runs["one-host"]
    assert run.returncode == 2
    assert run.output.strip() == ONE_HOST
    assert "curl" not in run.output and not (run.folder / "report.json").exists()


def test_a_bare_url_that_is_not_a_pushfake_is_refused_before_anything_is_sent() -> None:
    down = "http://127.0.0.1:9"  # the discard port, closed: the probe finds no pushfake there
    settings = ContractSettings(targets=parse_targets([down]), shared=shared_target([down]))
    with pytest.raises(SettingsError) as error:
        open_target(settings, environ=GIVEN, network=Refuse())
    assert str(error.value) == ONE_HOST.removeprefix("pushfake contract: ").replace(
        f"{REAL} is not known to be a pushfake (a dry run sends nothing, not even a probe)", f"{down} is not a pushfake")


def test_a_bare_url_for_one_vendor_or_a_pushfake_for_both_is_taken() -> None:
    one = ContractSettings(targets=parse_targets([REAL]), shared=shared_target([REAL]), vendors=("leanplum",),
                           dry_run=True)
    target = open_target(one, environ={}, network=Refuse())
    assert target.url("leanplum") == REAL
    target.close()
    with serve_in_thread(Fake(seed=0)) as server:
        both = ContractSettings(targets=parse_targets([server.url]), shared=shared_target([server.url]))
        target = open_target(both, environ={})
        try:
            assert {e.kind for e in target.endpoints.values()} == {"pushfake"}
            assert target.url("leanplum") == target.url("dengage") == server.url
        finally:
            target.close()
