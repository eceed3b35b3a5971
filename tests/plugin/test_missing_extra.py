"""pytest without the `pytest` extra (no respx): the plugin still loads, and only a test that asks
for the in-process `pushfake` fixture fails, in one line that names the extra."""

from __future__ import annotations

import importlib.abc
import sys

import pytest

from tests.plugin.pytester_helpers import project, run, section

MISSING = ("""the "pytest" extra is needed for the `pushfake` fixture (respx is not installed): """
           "pip install 'pushfake[pytest]'")
OURS = ("-p", "pytest_pushfake.plugin")


class _NotInstalled(importlib.abc.MetaPathFinder):
    """Finds respx nowhere, the way an environment without it does."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "respx" or name.startswith("respx."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@pytest.fixture
def without_respx(monkeypatch: pytest.MonkeyPatch) -> None:
    """respx as if not installed (the modules already loaded are put back afterwards). Plugins
    are not loaded from entry points (pytest would load respx's own through a finder of its own
    that this one cannot stop), so the scratch runs name ours with `-p`."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name in [n for n in sys.modules if n in ("respx", "pytest_pushfake.inprocess") or n.startswith("respx.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_NotInstalled(), *sys.meta_path])


def test_the_pushfake_fixture_fails_in_one_line_naming_the_extra(pytester, without_respx):
    project(pytester, test_needs_it="""
        def test_in_process(pushfake):
            pass

        def test_in_process_too(pushfake):
            pass

        def test_other_tests_still_run():
            pass
    """)
    result = run(pytester, *OURS)
    result.assert_outcomes(passed=1, errors=2)
    for test in ("test_in_process", "test_in_process_too"):
        assert section(result, test).lines[1:] == [MISSING], "\n".join(result.outlines)
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_the_live_server_fixture_needs_no_respx(pytester, without_respx):
    """`pushfake_server` reaches the fake over a real socket: nothing of the extra is used."""
    project(pytester, test_live="""
        import httpx

        def test_live(pushfake_server):
            assert httpx.get(pushfake_server.url + "/_pushfake/health").status_code == 200
    """)
    run(pytester, *OURS).assert_outcomes(passed=1)
