"""The README's direct Schemathesis runs: from the checkout (which gives it `schemathesis.toml`)
against a live `pushfake serve`, every check in both modes passes for both vendor specs.

Short runs (a few examples per operation, a fixed seed) in the default suite; the contract kit's
own conformance tests go deeper. A failure prints Schemathesis's report."""

from __future__ import annotations

import json
import re
import pathlib
import shutil
import subprocess
import sys
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from tests.contract.test_live import serve

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = "8"


def schemathesis(spec: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert command, "the schemathesis command comes with the test dependencies"
    return subprocess.run([command, "run", f"openapi/{spec}", "--url", url, "--checks", "all", "--mode", "all",
                           "-n", EXAMPLES, "--seed", "7", "--generation-deterministic", "--no-color", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def login(url: str) -> str:
    request = urllib.request.Request(f"{url}/rest/login", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"userkey": "pushfake", "password": "pushfake-secret"}).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(json.load(answer)["access_token"])


def test_both_vendor_specs_pass_every_check_against_a_live_pushfake(tmp_path: Path) -> None:
    with ExitStack() as stack:
        url = serve(tmp_path, stack)
        leanplum = schemathesis("leanplum.yaml", url)
        assert leanplum.returncode == 0, leanplum.stdout[-4000:] + leanplum.stderr[-2000:]
        dengage = schemathesis("dengage.yaml", url, "-H", f"Authorization: Bearer {login(url)}")
        assert dengage.returncode == 0, dengage.stdout[-4000:] + dengage.stderr[-2000:]
        for run in (leanplum, dengage):
            counted = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
            assert counted and counted.group(1) == counted.group(2) and int(counted.group(1)) > 0, run.stdout[-2000:]
