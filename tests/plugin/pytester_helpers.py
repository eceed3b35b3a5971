"""Scratch projects for the pytester tests of the pushfake pytest plugin.

Each test writes a tiny project (its own `pytest.ini`: our pyproject settings do not reach it),
runs pytest on it in process, and checks what a user would read in the output.
"""

from __future__ import annotations

from typing import Any

import pytest

INI = """\
[pytest]
addopts = --strict-markers
filterwarnings = error
xfail_strict = true
"""

# importable from the scratch project's tests: `from pf_inner import leanplum, send_points, ...`
INNER = '''
"""Calls a user's test would make, against either fixture."""

import httpx

CREDS = {"appId": "app_pushfake", "clientKey": "prod_pushfake"}
SMALL_CREDS = {"appId": "app_small", "clientKey": "prod_small"}
DEFAULT_START = 1767225600.0  # 2026-01-01T00:00:00Z
START_2030 = 1893456000.0  # 2030-01-01T00:00:00Z


def leanplum(pf, action, creds=CREDS, **body):
    return httpx.post(pf.leanplum_url, params={"action": action}, json={**creds, **body})


def send_points(pf, user="alice"):
    """Leanplum message 1001 to one user, checked accepted."""
    response = leanplum(pf, "sendMessage", userId=user, messageId="1001")
    assert response.status_code == 200, response.text
    return response


def dengage_broadcast(pf):
    """A D·engage send to every reachable device; its tracking id."""
    with httpx.Client(base_url=pf.dengage_url) as client:
        login = client.post("/login", json={"userkey": "pushfake", "password": "pushfake-secret"})
        token = login.json()["access_token"]
        response = client.post("/push/sendInstant", headers={"Authorization": f"Bearer {token}"},
                               json={"content": {"title": "Hi", "message": "there"}})
    assert response.status_code == 200, response.text
    return response.json()["data"]["trackingId"]


def seed_of(pf):
    return pf.control.health()["seed"]


def user_ids(pf):
    return sorted(user["id"] for user in pf.control.leanplum_users(pf.leanplum_app))


def near(value, expected, slack=30.0):
    """The live server's clock is real time: close enough to the expected moment."""
    return expected <= value < expected + slack
'''

# the fixtures-file world several tests switch to (a different Leanplum app id)
SMALL_WORLD = """\
leanplum:
  apps:
    - id: app_small
      productionKey: prod_small
      developmentKey: dev_small
      users:
        - id: zed
          devices:
            - {id: zed-phone, systemName: iOS, iosPushToken: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
"""

CONFTEST = '''
import pytest


@pytest.fixture(params=["pushfake", "pushfake_server"])
def pf(request):
    """The same test over the in-process fake and the live server."""
    return request.getfixturevalue(request.param)
'''


def project(pytester: pytest.Pytester, *, ini: str = "", conftest: str = "", small_world: bool = False,
            **test_files: str) -> None:
    """A scratch project: pytest.ini (+ `ini` lines), the `pf` fixture (+ `conftest`), pf_inner and tests."""
    pytester.makeini(INI + ini)
    pytester.makeconftest(CONFTEST + conftest)
    pytester.makepyfile(pf_inner=INNER)
    if small_world:
        pytester.mkdir("worlds")
        (pytester.path / "worlds" / "small.yaml").write_text(SMALL_WORLD)
    if test_files:
        pytester.makepyfile(**test_files)


def run(pytester: pytest.Pytester, *args: Any) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def escape(text: str) -> str:
    """`text` as an fnmatch pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "[]*?" else c for c in text)


def e_lines(message: str, indent: int = 7) -> list[str]:
    """The lines pytest shows for an exception message raised from a test body's top level
    (`E` and the source line's indentation before each line)."""
    return [f"E{' ' * indent}{escape(line)}" for line in message.splitlines()]


def section(result: pytest.RunResult, test: str) -> pytest.LineMatcher:
    """The lines of one test's report (from its `___ test ___` or `___ ERROR at setup of test ___`
    header to the next header)."""
    lines = result.outlines
    starts = [i for i, line in enumerate(lines) if line.startswith("_") and f" {test} _" in line]
    assert len(starts) == 1, f"no single report section for {test}:\n" + "\n".join(lines)
    end = next((i for i in range(starts[0] + 1, len(lines))
                if lines[i].startswith(("____", "====", "----"))), len(lines))
    return pytest.LineMatcher(lines[starts[0]:end])
