"""The README's console examples, run against a fresh fake exactly as a reader would."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from pushfake import Fake
from tests.support import serve_in_thread

README = Path(__file__).resolve().parents[1] / "README.md"
DOCUMENTED_BASE = "http://127.0.0.1:8080"


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) for every `$ ` line of every console block, in order."""
    examples: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output.rstrip("\n")))
    return examples


def test_readme_has_curl_examples_for_start_and_send_message():
    commands = " ".join(c for c, _ in console_examples())
    assert "action=start" in commands and "action=sendMessage" in commands


def test_readme_console_examples_give_the_documented_output():
    assert shutil.which("curl"), "curl is needed to run the README's examples (.ci/run installs it)"
    with serve_in_thread(Fake()) as server:  # the world and seed `pushfake serve` starts with
        for command, expected in console_examples():
            result = subprocess.run(command.replace(DOCUMENTED_BASE, server.url), shell=True,
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stderr
            assert result.stdout.rstrip("\n") == expected, command
