"""Without the `contract` extra (pytest, Schemathesis, Hypothesis, requests, pytest-xdist), the
`pushfake` command, `pushfake serve` and `pushfake contract --help` work; asking for the suite
ends with one line naming the extra; and the contract plugin never bothers a plain pytest run.

Each case runs in a subprocess where the extra's modules cannot be imported
(`sys.modules[name] = None`), as in an install without them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import stop_process

KIT = ("pytest", "_pytest", "schemathesis", "hypothesis", "requests", "xdist")
TIMEOUT = 60


def without(modules: tuple[str, ...], code: str, *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`code` run by this Python with `modules` not importable."""
    block = "".join(f"sys.modules[{name!r}] = None\n" for name in modules)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # a plugin of another package would need them
    return subprocess.run([sys.executable, "-c", f"import sys\n{block}{code}"], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env, cwd=cwd)


def pushfake(modules: tuple[str, ...], *argv: str) -> subprocess.CompletedProcess[str]:
    return without(modules, f"from pushfake.cli import main\nraise SystemExit(main({list(argv)!r}))")


def test_the_commands_and_their_help_need_no_extra() -> None:
    for argv, usage in ((("--help",), "usage: pushfake "), (("contract", "--help"), "usage: pushfake contract"),
                        (("serve", "--help"), "usage: pushfake serve")):
        done = pushfake(KIT, *argv)
        assert done.returncode == 0 and done.stdout.startswith(usage), (argv, done.stderr[-2000:])


def test_pushfake_contract_without_the_extra_names_it_in_one_line() -> None:
    done = pushfake(KIT, "contract", "--target", "x")  # checked before the options: the extra comes first
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ('the "contract" extra is needed for pushfake contract (pytest is not installed): '
                           "pip install 'pushfake[contract]'\n")


def test_with_pytest_but_not_the_rest_the_line_names_what_is_missing() -> None:
    done = pushfake(KIT[2:], "contract")
    assert done.returncode == 2
    assert done.stderr == ('the "contract" extra is needed for pushfake contract (schemathesis is not installed): '
                           "pip install 'pushfake[contract]'\n")


def test_jobs_without_pytest_xdist_names_the_extra() -> None:
    done = pushfake(("xdist",), "contract", "--jobs", "2")
    assert done.returncode == 2
    assert done.stderr == ('the "contract" extra is needed for pushfake contract --jobs (xdist is not installed): '
                           "pip install 'pushfake[contract]'\n")


def test_pytest_pushfake_target_without_the_extra_is_a_usage_error(tmp_path: Path) -> None:
    done = without(KIT[2:], "import pytest\nraise SystemExit(pytest.main(['-p', 'no:cacheprovider', '-p', "
                            "'pushfake-contract', '--pushfake-target=http://127.0.0.1:9']))", cwd=tmp_path)
    assert done.returncode == 4  # pytest's usage error
    assert ('ERROR: the "contract" extra is needed for pytest --pushfake-target (schemathesis is not installed): '
            "pip install 'pushfake[contract]'") in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_plain_pytest_run_with_the_contract_plugin_needs_no_extra(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n", encoding="utf-8")
    done = without(KIT[2:], "import pytest\nraise SystemExit(pytest.main(['-q', '-p', 'no:cacheprovider', '-p', "
                            "'pushfake-contract', 'test_plain.py']))", cwd=tmp_path)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def test_pushfake_serve_runs_without_the_extra() -> None:
    block = "".join(f"sys.modules[{name!r}] = None\n" for name in KIT)
    code = f"import sys\n{block}from pushfake.cli import main\nraise SystemExit(main(['serve', '--port', '0']))"
    with subprocess.Popen([sys.executable, "-u", "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as server:
        try:
            assert server.stdout is not None
            banner = server.stdout.readline()  # "pushfake 0.1.0 listening on http://127.0.0.1:PORT"
            assert " listening on http://127.0.0.1:" in banner, banner
            url = banner.rsplit(" ", 1)[1].strip()
            assert httpx.get(f"{url}/_pushfake/health", timeout=10).json()["status"] == "ok"
        finally:
            stop_process(server)
