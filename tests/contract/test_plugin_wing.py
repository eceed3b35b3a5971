"""The contract kit is one package: its pytest plugin (`pushfake.contract.pytest.session`) is
registered through an entry point of its own, cheap to import, and the fixtures plugin
(`pytest_pushfake`) imports nothing of it."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import pushfake.contract.pytest.session
import pytest_pushfake

FIXTURES_PLUGIN = Path(pytest_pushfake.__file__).parent


def _imported(path: Path) -> set[str]:
    """Every module `path` names in an import, at any depth (inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    names |= {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              for alias in node.names}
    return names


def test_the_fixtures_plugin_imports_nothing_of_the_contract_kit() -> None:
    modules = sorted(FIXTURES_PLUGIN.glob("*.py"))
    assert modules, FIXTURES_PLUGIN
    reaching = {path.name: sorted(n for n in _imported(path) if n.startswith("pushfake.contract"))
                for path in modules}
    assert {name: found for name, found in reaching.items() if found} == {}


def test_the_contract_plugin_is_registered_by_its_own_pytest11_entry_point(pytestconfig: pytest.Config) -> None:
    found = {e.name: e.value for e in entry_points(group="pytest11") if e.dist and e.dist.name == "pushfake"}
    assert found == {"pushfake": "pytest_pushfake.plugin", "pushfake-contract": "pushfake.contract.pytest.session"}
    assert pytestconfig.pluginmanager.get_plugin("pushfake-contract") is pushfake.contract.pytest.session
    assert pytestconfig.pluginmanager.get_plugin("pushfake") is not pushfake.contract.pytest.session


def test_importing_the_contract_plugin_loads_neither_the_fake_nor_the_kit() -> None:
    """pytest imports it at every start, in every project where pushfake is installed."""
    heavy = ("pushfake.app", "pushfake.fake", "pushfake.contract.target", "schemathesis", "hypothesis", "starlette",
             "httpx", "requests", "uvicorn")
    code = (f"import sys, pushfake.contract.pytest.session\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_public_api_still_loads_from_the_package() -> None:
    """`pushfake` loads its public names on first use (so the plugin's import stays cheap)."""
    code = ("import sys, pushfake\n"
            "assert 'pushfake.fake' not in sys.modules\n"
            "from pushfake import Fake, create_app\n"
            "print(Fake.__module__, create_app.__module__, 'pushfake.fake' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["pushfake.fake", "pushfake.app", "True"], out.stdout + out.stderr
