"""The release, as a user installs it: the sdist builds the wheel, and the wheel, installed into a fresh
virtualenv without extras, serves the default world and lists its assumptions, with none of the test
stack; the contract kit then says in one line which extra it needs, and with the `pytest` extra added
the `pushfake` fixture works.

Builds with `python -m build --no-isolation` (hatchling from this venv, no network): the sdist first,
then the wheel from the unpacked sdist, as a release is built, so a file the sdist lacks fails here.
The wheel goes into a new venv (no system site-packages) together with its runtime dependencies pinned
to the versions this venv runs, so pip can take them from its cache or the configured local index;
the `pytest` extra goes into the same venv afterwards. The installed `pushfake` runs from a temporary
working directory, so the checkout cannot be imported by accident.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
# the base install (pyproject's `dependencies`), pinned to this venv's versions
RUNTIME_DEPENDENCIES = ("starlette", "uvicorn", "python-multipart", "pyyaml", "jsonschema", "jsonschema-rs", "httpx",
                        "jinja2", "google-re2")
PYTEST_EXTRA = ("pytest", "respx")
TEST_STACK = ("pytest", "respx", "hypothesis", "schemathesis", "requests", "pytest-xdist")  # none in a base install
SDIST_NEEDS = ("LICENSE", "README.md", "pyproject.toml", "openapi/leanplum.yaml", "openapi/dengage.yaml",
               "openapi/control.yaml", "fixtures/default.yaml", "src/pushfake/fixtures_schema.yaml")
SHIPPED_DATA = (
    "pushfake/openapi/leanplum.yaml",
    "pushfake/openapi/dengage.yaml",
    "pushfake/openapi/control.yaml",
    "pushfake/fixtures/default.yaml",
    "pushfake/fixtures_schema.yaml",
    "pytest_pushfake/plugin.py",  # the pytest plugin ships in the same wheel
    "pushfake/contract/pytest/suite.py",  # the contract suite `pushfake contract` runs
    "pushfake/contract/conformance/leanplum.py",
    "pushfake/inbox/templates/page.html",  # the inbox page's templates and script
    "pushfake/inbox/static/inbox.js",
    "pushfake/site/templates/docs.html",  # the index and docs pages' templates
    "pushfake/site/templates/layout.html",
)
BIN = "Scripts" if os.name == "nt" else "bin"
# a user's test, run by the installed pytest: the `pushfake` fixture routes httpx to the fake
USER_TEST = """\
import httpx


def test_start_reaches_the_fake(pushfake):
    response = httpx.post("https://api.leanplum.com/api", params={"action": "start"},
                          json={"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "u1"})
    assert response.json()["response"][0]["success"] is True
    pushfake.assert_requested(action="start", user="u1")
"""


def _run(args: list[str | Path], *, cwd: Path, timeout: float, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def _clean_env() -> dict[str, str]:
    """This process's environment without anything that would put the checkout or this venv on a path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    venv_bin = str(Path(sys.prefix) / BIN)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                return proc.stdout.readline()
            if proc.poll() is not None:
                break
    stderr = proc.stderr.read() if proc.stderr is not None and proc.poll() is not None else ""
    pytest.fail(f"`pushfake serve` printed no line in time (exit code {proc.poll()}); stderr:\n{stderr}")


def test_the_release_installs_serves_and_keeps_its_extras_apart(tmp_path: Path) -> None:
    env = _clean_env()
    wheel = _release(tmp_path / "dist", env)

    # --- a fresh venv, the wheel and its base dependencies, no extras ---------------------------------
    venv = tmp_path / "venv"
    # without a pip of its own (installing one costs 3 s): this venv's pip installs into it
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path, timeout=120, env=env)
    python, pushfake = venv / BIN / "python", venv / BIN / "pushfake"
    pins = [f"{name}=={version(name)}" for name in RUNTIME_DEPENDENCIES]
    _pip_install(python, [wheel, *pins], cwd=tmp_path, env=env)

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    located = _run([python, "-c", "import importlib.metadata as m, pushfake; print(pushfake.__file__); "
                    "print(*sorted(d.metadata['Name'].lower() for d in m.distributions()))"],
                   cwd=workdir, timeout=60, env=env)
    where, installed = located.stdout.splitlines()
    assert Path(where).resolve().is_relative_to(venv.resolve()), located.stdout
    assert pushfake.exists(), f"the wheel installed no `pushfake` script into {venv / BIN}"
    dragged_in = sorted(set(TEST_STACK) & set(installed.split()))
    assert not dragged_in, f"a base install brings the test stack: {dragged_in}"

    # --- the installed CLI lists the spec's assumptions ------------------------------------------
    listing = _run([pushfake, "spec", "--assumptions"], cwd=workdir, timeout=60, env=env)
    first = listing.stdout.splitlines()[0]
    assert re.match(r"^[1-9][0-9]* assumed behaviours in openapi/leanplum\.yaml:$", first), first
    assert "Device not found" in listing.stdout

    _serves(pushfake, workdir, env)

    # --- without the contract extra, `pushfake contract` says which extra in one line ---------------
    contract = subprocess.run([str(pushfake), "contract"], cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=60, check=False)
    assert contract.returncode == 2, contract
    [line] = contract.stderr.splitlines()
    assert line.startswith('the "contract" extra is needed for pushfake contract ('), line
    assert line.endswith("pip install 'pushfake[contract]'"), line

    # --- pytest alone loads both plugins; the `pushfake` fixture says which extra it needs -----------
    pytest_pins = {name: f"{name}=={version(name)}" for name in PYTEST_EXTRA}
    _pip_install(python, [pytest_pins["pytest"]], cwd=tmp_path, env=env, check=False)  # checked with the extra below
    (workdir / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (workdir / "test_user.py").write_text(USER_TEST)
    pytest_args = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"]
    bare = subprocess.run(pytest_args, cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert bare.returncode == 1 and "1 error" in bare.stdout, bare.stdout + bare.stderr
    assert ("""the "pytest" extra is needed for the `pushfake` fixture (respx is not installed): """
            "pip install 'pushfake[pytest]'") in bare.stdout.splitlines(), bare.stdout

    # --- the pytest extra, into the same venv: the same test passes ------------------------------------
    _pip_install(python, [f"{wheel}[pytest]", *pytest_pins.values()], cwd=tmp_path, env=env)
    user_run = _run(pytest_args, cwd=workdir, timeout=120, env=env)
    assert "1 passed" in user_run.stdout, user_run.stdout


def _pip_install(python: Path, requirements: list[str | Path], *, cwd: Path, env: dict[str, str],
                 check: bool = True) -> None:
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    # --no-compile: this venv runs a few commands once; compiling every module it gets costs 2 s
    _run([*pip, "install", "--quiet", "--no-input", "--no-compile", *requirements], cwd=cwd, timeout=600, env=env)
    if check:
        _run([*pip, "check"], cwd=cwd, timeout=60, env=env)


def _release(dist: Path, env: dict[str, str]) -> Path:
    """The sdist, then the wheel built from it, as a release is built; both checked for what they
    must carry. Returns the wheel."""
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist], cwd=REPO, timeout=300, env=env)
    [sdist] = sorted(dist.glob("pushfake-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        members = {name.removeprefix(f"{top}/") for name in archive.getnames()}
        lacking = [name for name in SDIST_NEEDS if name not in members]
        assert not lacking, f"{sdist.name} lacks {lacking}"
    wheels = sorted(dist.glob("pushfake-*.whl"))
    assert len(wheels) == 1, wheels
    wheel = wheels[0]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = [name for name in SHIPPED_DATA if name not in names]
        assert not missing, f"{wheel.name} lacks {missing}"
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), f"{wheel.name} lacks the license"
        assert archive.read("pushfake/openapi/leanplum.yaml") == (REPO / "openapi" / "leanplum.yaml").read_bytes()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert ("[pytest11]\npushfake = pytest_pushfake.plugin\npushfake-contract = pushfake.contract.pytest.session"
                in archive.read(entry_points).decode())
    return wheel


def _serves(pushfake: Path, workdir: Path, env: dict[str, str]) -> None:
    """The installed server answers `start` with the default world, and stops on SIGTERM."""
    proc = subprocess.Popen(
        [str(pushfake), "serve", "--port", "0"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = _read_line(proc, time.monotonic() + 30)
        match = re.search(r"listening on (http://\S+)", first_line)
        assert match, f"unexpected first line: {first_line!r}"
        base_url = match.group(1)

        response = httpx.post(
            f"{base_url}/api",
            params={"action": "start"},
            json={"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "wheel-user", "deviceId": "wheel-device"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        element = response.json()["response"][0]
        assert element["success"] is True, element
        assert element["vars"]["welcomeMessage"] == "Welcome to pushfake", element["vars"]
        docs = httpx.get(f"{base_url}/_pushfake/docs/leanplum", timeout=10)  # templates read from the wheel
        assert docs.status_code == 200 and "sendMessagePost" in docs.text, docs.text[:500]

        proc.send_signal(signal.SIGTERM)
        try:
            returncode = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("`pushfake serve` did not exit within 10 s of SIGTERM")
        assert returncode == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
