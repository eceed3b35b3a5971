"""The whole contract suite against the in-process fake, as a user runs it under pytest: it
passes, nothing is skipped, and its requests reach every branch of DECISIONS.md that one
request (or a short sequence) can reach.

The branches are read from the report's answer table (how often each operation got each status
and message), which counts every request of the run: generated cases, state machines and
assumption checks together.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Schemathesis's coverage phase sends its ~1,700 boundary cases whatever the number; 5 generated
# examples per operation on top reach every branch below (1 misses two), in half the time of 40.
EXAMPLES = 5

# (operation, by method or any, status, a message that answer carries): one per row of
# DECISIONS.md that a single request decides. The 50-user / 500-action multi limit and the concurrency 429 need more than
# the generator makes; the assumption checks and machines reach what they need on their own.
BRANCHES = [
    ("POST /api?action=start", 200, None),
    ("POST /api?action=start", 200, "User not found; request skipped."),
    ("POST /api?action=start", 404, "App not found."),
    (" /api?action=start", 403, "Invalid access key"),
    ("POST /api?action=start", 403, "Development mode requested but not permitted."),
    ("POST /api?action=start", 400, "'userId' or 'deviceId' must be provided"),
    ("POST /api?action=sendMessage", 200, "Message sent"),
    ("POST /api?action=sendMessage", 200, "User not found; request skipped."),
    ("POST /api?action=sendMessage", 200, "Device not found; request skipped."),
    ("POST /api?action=sendMessage", 200, "Message entity not found"),
    ("POST /api?action=sendMessage", 403, "Invalid access key"),
    ("POST /api?action=multi", 200, None),
    ("GET /api?action=start", 200, None),
    ("GET /api?action=sendMessage", 200, "Message sent"),
    ("GET /api?action=multi", 200, None),
    ("POST /rest/login", 200, None),
    ("POST /rest/login", 401, "Invalid userkey or password."),
    ("POST /rest/push/sendInstant", 200, "Success"),
    ("POST /rest/push/sendInstant", 400, None),
    ("POST /rest/push/sendInstant", 401, "Not authenticated. Please re-login."),
    ("POST /rest/push/sendInstant", 403,
     "The operation is not allowed. Your api user is not authorized to use this api."),
    ("POST /rest/push/sendInstant", 404, None),
    ("GET /rest/push/sendInstant", 200, None),
    ("GET /rest/push/sendInstant", 404, None),
]


def run_suite(folder: Path) -> dict:
    """The suite under pytest in `folder`, as a user runs it; its JSON report."""
    path = folder / "report.json"
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "pushfake.contract.pytest.suite",
         "--pushfake-examples", str(EXAMPLES), "--pushfake-report", str(path), "-q"],
        cwd=folder, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " skipped" not in result.stdout.splitlines()[-1], result.stdout[-2000:]
    return json.loads(path.read_text(encoding="utf-8"))


def missed(report: dict, operation: str, status: int, message: str | None) -> str | None:
    """Why the run did not reach a branch, or None when it did."""
    seen = [a for a in report["answers"] if a["operation"].endswith(operation) and a["status"] == status]
    if message is not None:
        seen = [a for a in seen if message in a["messages"]]
    if seen:
        return None
    return (f"no {status} {message or ''} answer to {operation}; answers to it: "
            f"{[(a['status'], a['messages']) for a in report['answers'] if a['operation'] == operation]}")


# One test for one run of the suite (a run takes ~15 s of CPU): tests sharing a module fixture
# would run it again in every pytest-xdist worker that picked one of them up.
def test_the_suite_passes_and_reaches_every_branch(tmp_path: Path) -> None:
    report = run_suite(tmp_path)
    assert report["failures"] == []
    assert {row["outcome"] for row in report["assumptions"]} == {"held"}
    assert set(report["semantics"].values()) == {"passed"}
    assert len(report["operations"]) == 2 * 9  # nine operations, positive and negative
    assert report["phases"] == ["examples", "coverage", "fuzzing"]  # all of Schemathesis's, by default
    assert all(op["sent"] >= EXAMPLES for op in report["operations"]), report["operations"]
    assert [why for branch in BRANCHES if (why := missed(report, *branch))] == []
