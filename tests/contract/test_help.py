"""The limits' help says its defaults in plain words: which target gets which default."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv", [["-m", "pushfake", "contract", "--help"],
                                  ["-m", "pytest", "-p", "no:cacheprovider", "--help"]])
def test_the_budget_and_rate_defaults_are_said_in_plain_words(argv: list[str]) -> None:
    shown = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=True, timeout=60,
                           env={**os.environ, "COLUMNS": "400"}).stdout
    words = " ".join(shown.split())
    assert "real default" not in words
    assert "(default: 2000 against a real deployment, no limit against a pushfake)" in words
    assert "(default: 5 against a real deployment, no cap against a pushfake)" in words
