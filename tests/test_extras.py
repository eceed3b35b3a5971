"""`pushfake.extras.require`: a feature without its extra fails in one line naming the extra."""

from __future__ import annotations

import pytest

from pushfake.extras import MissingExtra, require


def test_installed_modules_pass() -> None:
    require("pytest", "pushfake's pytest fixtures", "pytest", "json", "os.path")


def test_a_missing_module_names_the_extra_and_the_command() -> None:
    with pytest.raises(MissingExtra) as caught:
        require("contract", "pushfake contract", "json", "pushfake_no_such_module")
    error = caught.value
    assert str(error) == ('the "contract" extra is needed for pushfake contract '
                          "(pushfake_no_such_module is not installed): pip install 'pushfake[contract]'")
    assert "\n" not in str(error)
    assert (error.extra, error.feature, error.missing) == ("contract", "pushfake contract", "pushfake_no_such_module")


def test_it_is_an_import_error_so_callers_that_expect_one_still_catch_it() -> None:
    with pytest.raises(ImportError):
        require("pytest", "the fixtures", "pushfake_no_such_module")


def test_a_submodule_of_a_missing_package_is_missing_not_a_crash() -> None:
    with pytest.raises(MissingExtra, match=r"pushfake_no_such_package\.sub is not installed"):
        require("contract", "the kit", "pushfake_no_such_package.sub")


def test_the_first_missing_module_is_named() -> None:
    with pytest.raises(MissingExtra, match="pushfake_missing_one is not"):
        require("pytest", "the fixtures", "json", "pushfake_missing_one", "pushfake_missing_two")


def test_checking_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check only finds modules: a heavy extra is not loaded just to learn it is there."""
    import sys
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    require("pytest", "the fixtures", "colorsys")
    assert "colorsys" not in sys.modules
