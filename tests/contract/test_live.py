"""The contract suite against live fakes over HTTP, as it runs against a deployment.

(a) Against a `pushfake serve` subprocess the whole suite passes.
(b) In safe mode it pushes to no one who existed before the run. The suite resets the fake before
every check, which also empties the fake's deliveries and journal, so looking at them after the
run would prove nothing. Instead the fake is served from this process (`serve_in_thread`) with
its delivery queue and journal wrapped: every delivery the fake ever records and every request it
ever answers during the run is kept here, whatever resets come between. The test then asserts
that no delivery at all was recorded (so none to a default-world device), that every Leanplum id
the fake received was the suite's own, and that no D·engage send reached the fake.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from pushfake import Fake
from pushfake.core.deliveries import Delivery
from pushfake.core.journal import Entry
from tests.support import serve_in_thread, stop_process

TIMEOUT = 150
PREFIX = "pushfake-contract-"
DEFAULT_DEVICES = ("alice-iphone", "bob-pixel", "carol-chrome", "ayse-iphone", "john-android", "john-firefox",
                   "elif-chrome")


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PUSHFAKE_")}


def contract(folder: Path, *options: str) -> subprocess.Popen[bytes]:
    with (folder / "stdout.txt").open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "pushfake", "contract", *options, "--json", "report.json"],
                                cwd=folder, env=environment(), stdout=out, stderr=subprocess.STDOUT)


def finished(process: subprocess.Popen[bytes], folder: Path) -> tuple[int, str, dict[str, Any]]:
    code = process.wait(TIMEOUT)
    output = (folder / "stdout.txt").read_bytes().decode("utf-8", errors="replace")
    report = folder / "report.json"
    assert report.exists(), output[-3000:]
    return code, output, json.loads(report.read_text(encoding="utf-8"))


def serve(folder: Path, stack: ExitStack) -> str:
    """`pushfake serve --port 0` in a subprocess; its URL as it prints it."""
    log = folder / "serve.txt"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "pushfake", "serve", "--port", "0"], cwd=folder,
                                  env=environment(), stdout=out, stderr=subprocess.STDOUT)
    stack.callback(stop_process, server)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://\S+)", log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1).rstrip("/")
        assert server.poll() is None, log.read_text(encoding="utf-8", errors="replace")
        time.sleep(0.05)
    raise AssertionError("pushfake serve did not say where it listens")


class Witness:
    """Keeps every delivery `fake` records and every request it journals, across resets."""

    def __init__(self, fake: Fake) -> None:
        self.deliveries: list[Delivery] = []
        self.requests: list[Entry] = []
        record, add = fake.deliveries.record, fake.journal.add

        def recording(*deliveries: Delivery) -> None:
            self.deliveries.extend(deliveries)
            record(*deliveries)

        def adding(entry: Entry) -> None:
            self.requests.append(entry)
            add(entry)

        fake.deliveries.record = recording  # type: ignore[method-assign]
        fake.journal.add = adding  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Both runs at once (each has its own fake): the full suite on a `pushfake serve`, and safe
    mode on a witnessed fake."""
    with ExitStack() as stack:
        full = tmp_path_factory.mktemp("full")
        url = serve(full, stack)
        # Schemathesis's coverage phase runs in-process in test_suite and against a live pushfake in
        # test_direct_schemathesis; here the kit's own run over HTTP, with the other two phases.
        full_run = contract(full, "--target", url, "--examples", "2", "--phases", "examples,fuzzing")
        stack.callback(stop_process, full_run)

        safe = tmp_path_factory.mktemp("safe")
        fake = Fake(seed=0)
        witness = Witness(fake)
        server = stack.enter_context(serve_in_thread(fake))
        safe_run = contract(safe, "--target", server.url, "--safe", "--rate", "10000", "--examples", "2")
        stack.callback(stop_process, safe_run)
        yield {"full": (full_run, full, url), "safe": (safe_run, safe, server.url, witness)}


def test_the_suite_passes_against_a_live_pushfake(runs: dict[str, Any]) -> None:
    process, folder, url = runs["full"]
    code, output, report = finished(process, folder)
    assert code == 0, output[-4000:]
    assert report["failures"] == []
    assert report["target"] == {"leanplum": {"url": url, "kind": "pushfake"}, "dengage": {"url": url, "kind": "pushfake"}}
    assert report["safe"] is False and report["examplesPerOperation"] == 2
    assert report["phases"] == ["examples", "fuzzing"]
    assert {row["outcome"] for row in report["assumptions"]} == {"held"}
    assert report["semantics"] and set(report["semantics"].values()) == {"passed"}
    assert report["operations"] and all(op["sent"] > 0 for op in report["operations"])
    assert report["requests"]["sent"] == report["requests"]["answered"]


def leanplum_ids(entry: Entry) -> list[str]:
    """Every user (or device) a Leanplum request was about, its batch items' included."""
    return list(entry.users)


def test_safe_mode_pushes_to_no_one_who_existed_before(runs: dict[str, Any]) -> None:
    process, folder, url, witness = runs["safe"]
    code, output, report = finished(process, folder)
    assert "INTERNALERROR" not in output and code in (0, 1), output[-3000:]
    assert report["safe"] is True and report["target"]["leanplum"]["kind"] == "pushfake"

    # the fake recorded no delivery at all during the run: none to a default-world device
    assert [(d.vendor, d.user_id, d.device_id) for d in witness.deliveries] == []
    assert not {d.device_id for d in witness.deliveries} & set(DEFAULT_DEVICES)

    # it was not for want of trying: sendMessage requests arrived, each to the suite's own ids
    leanplum = [e for e in witness.requests if e.vendor == "leanplum"]
    assert any(e.operation == "sendMessage" or "sendMessage" in e.items for e in leanplum)
    foreign = {i for e in leanplum for i in leanplum_ids(e) if not i.startswith(PREFIX)}
    assert not foreign, sorted(foreign)[:20]

    # no D·engage send reached the fake: each was withheld (no table or segment was named)
    sends = [e for e in witness.requests if e.vendor == "dengage" and e.method == "POST" and "sendInstant" in e.path]
    assert sends == []
    logged = [e for e in report["log"] if e["method"] == "POST" and e["url"].endswith("/rest/push/sendInstant")]
    assert logged and {e["outcome"] for e in logged} == {"withheld"}

    assert report["testIds"] and all(i.startswith(PREFIX) for i in report["testIds"])
    assert report["requests"]["sent"] == len(witness.requests)  # the fake saw exactly what the run says it sent

    # and the witness does see a push when there is one (the run is over; this is the test's own request)
    answer = requests.post(f"{url}/api", params={"action": "sendMessage"}, timeout=10,
                           json={"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "alice",
                                 "messageId": 1001})
    assert answer.status_code == 200 and {d.user_id for d in witness.deliveries} == {"alice"}, answer.text


def test_a_safe_run_on_a_live_fake_reports_no_failures(runs: dict[str, Any]) -> None:
    process, folder, *_ = runs["safe"]
    code, _, report = finished(process, folder)
    assert report["failures"] == [], [f["name"] for f in report["failures"]]
    assert code == 0
