"""The README's console examples, run against a fresh fake exactly as a reader would.

Each console block runs in one shell, so a variable set by one command (`TOKEN=...`) is seen
by the next. Output is compared exactly, except `createdAt`, which is the time of the run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx

from pushfake import Fake, ManualClock
from tests.support import serve_in_thread

README = Path(__file__).resolve().parents[1] / "README.md"
DOCUMENTED_BASE = "http://127.0.0.1:8080"
MARK = "::readme-example-output::"


def console_blocks() -> list[list[tuple[str, str]]]:
    """For each console block, its (command, expected output) pairs in order."""
    blocks = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        pairs = []
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            pairs.append((command, output.rstrip("\n")))
        blocks.append(pairs)
    return blocks


def run_block(pairs: list[tuple[str, str]], base: str) -> list[str]:
    script = "\n".join(f"echo '{MARK}'\n{command.replace(DOCUMENTED_BASE, base)}" for command, _ in pairs)
    result = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [part.strip("\n") for part in result.stdout.split(MARK + "\n")[1:]]


def comparable(text: str) -> object:
    try:
        return _without_times(json.loads(text.rsplit(" HTTP ", 1)[0])), text.partition("} HTTP ")[2]
    except ValueError:
        return text


def _without_times(value: object) -> object:
    if isinstance(value, dict):
        return {k: "<time>" if k == "createdAt" else _without_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def test_readme_has_examples_for_both_vendors():
    commands = " ".join(c for block in console_blocks() for c, _ in block)
    for needle in ("action=start", "action=sendMessage", "/rest/login", "/rest/push/sendInstant"):
        assert needle in commands


def test_readme_console_examples_give_the_documented_output():
    assert shutil.which("curl"), "curl is needed to run the README's examples (.ci/run installs it)"
    with serve_in_thread(Fake()) as server:  # the world and seed `pushfake serve` starts with
        for pairs in console_blocks():
            outputs = run_block(pairs, server.url)
            for (command, expected), actual in zip(pairs, outputs, strict=True):
                assert comparable(actual) == comparable(expected), command
        # The Leanplum example registers dana's iPhone token and sends to her: the push must reach it
        # (an APNs token is an even number of hex digits; an odd one fails with BadDeviceToken).
        httpx.post(f"{server.url}/_pushfake/clock/settle", timeout=10).raise_for_status()
        pushes = httpx.get(f"{server.url}/_pushfake/deliveries", params={"device": "dana-phone"}, timeout=10).json()
        assert [(d["state"], d["reason"]) for d in pushes["deliveries"]] == [("delivered", None)]


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_python_examples_run(capsys):
    """Each block runs as written; one that talks to a running fake gets a live one at the
    documented address's place, and what it prints must match its `# ...` comments."""
    blocks = fenced("python")
    assert len(blocks) >= 3
    with serve_in_thread(Fake()) as server:
        for block in blocks:
            code = block.replace(DOCUMENTED_BASE, server.url)
            exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})  # noqa: S102
            printed = capsys.readouterr().out.splitlines()
            promised = [m.group(1) for line in block.splitlines() if line.strip().startswith("print(")
                        for m in [re.search(r"#\s*(.+)$", line)] if m]
            assert printed == promised, block


def test_readme_fixtures_examples_are_accepted(tmp_path):
    [block] = fenced("yaml")
    path = tmp_path / "gateway-example.yaml"
    path.write_text(block, encoding="utf-8")
    config = Fake(fixtures=path, clock=ManualClock()).gateway.config
    assert (config.retry.limit, config.platforms["fcm"].throughput) == (5, 500)
    assert [(o.platform, o.end - o.start, o.code) for o in config.outages] == [("fcm", 60, "UNAVAILABLE")]
