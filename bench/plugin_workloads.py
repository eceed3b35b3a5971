"""The pytest plugin (`pytest_pushfake`): what the `pushfake` and `pushfake_server` fixtures cost a suite.

Every measurement runs `python -m pytest -q -p no:cacheprovider` in a subprocess, in a fresh temp
dir holding a minimal `pytest.ini`, generated test modules and a `conftest.py` that times each
test's set-up, call and tear-down (outermost hook wrappers, `time.perf_counter_ns`) into a JSON
file. Third-party plugin autoload is off (`PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`) and only pushfake's
plugin is loaded (`-p pytest_pushfake.plugin`): this environment also has hypothesis, schemathesis
and xdist installed, whose plugins add most of a second to every start-up and are not what is being
measured. Bytecode is not written (`PYTHONDONTWRITEBYTECODE=1`), so every run compiles the
generated tests alike.

1. Fixture overhead: N trivial tests that take `pushfake` and do nothing, against the same N
   taking a no-op yield fixture (the baseline). Per test: set-up + tear-down wall time; the
   overhead is the median of `pushfake`'s minus the baseline's. The first test (it builds the
   session's fake and the event-loop thread) and the last (its tear-down ends the session's
   fixtures) are left out. The call phase is reported too: the plugin's `pytest_runtest_call`
   wrapper asks the fake for its failures after each test. The same suite with `pushfake_server`
   is reported for comparison (no target). Repeats interleave the suites; samples are pooled.
2. One `sendMessage` in process, inside one test using `pushfake`, with interleaved blocks of:
   a shared `httpx.Client()` posting to `https://api.leanplum.com/api?action=sendMessage` (the
   respx-routed path real service code takes), the same through `pushfake.http_client()` (the
   plugin's transport: a hop to its event-loop thread, no respx), an `httpx.AsyncClient` over
   httpx's own `ASGITransport` on the same app (`create_app(pushfake.fake)`) in an asyncio loop
   (no thread hop), and the floor: that app called straight with a hand-built ASGI scope (no
   httpx). Median/p90/p99 µs per
   call after a warm-up. Also the module-level `httpx.post(...)` (a new client, so a new SSL
   context, per call), to show why tests should share a client.
3. A generated suite of 1,000 tests (10 modules of 100, each module with one shared
   `httpx.Client()`), each doing Leanplum `start` + `sendMessage` for alice and
   `assert_pushed(device="alice-iphone", title="Your points")`, with `pushfake` and with
   `pushfake_server`; baseline: the same 1,000 tests doing nothing (pytest's own cost). Total
   wall time of the pytest subprocess and the duration pytest reports; medians of the repeats,
   interleaved. The full run then runs the `pushfake` suite once more under cProfile: the main
   thread (`results/plugin-suite.prof`) and, since cProfile sees one thread, the plugin's
   event-loop thread, where the fake's app answers (`results/plugin-suite-loop.prof`).
"""

from __future__ import annotations

import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import RESULTS_DIR, Processes, progress

MAX_FIXTURE_OVERHEAD_MS = 2.0  # pushfake set-up + tear-down minus a no-op fixture's, median per test
MAX_SEND_MEDIAN_MS = 1.0  # sendMessage through the respx route, shared client, median
MAX_SUITE_S = {"pushfake": 10.0, "pushfake_server": 20.0}  # 1,000 start + sendMessage + assert_pushed tests
PYTEST_TIMEOUT_S = 600.0
PROFILE_FILE = RESULTS_DIR / "plugin-suite.prof"  # the main thread: pytest, the tests, the plugin, respx
LOOP_PROFILE_FILE = RESULTS_DIR / "plugin-suite-loop.prof"  # the plugin's event-loop thread: the fake's app


@dataclass(frozen=True)
class PluginSettings:
    overhead_tests: int  # tests per fixture-overhead suite
    overhead_repeats: int
    send_calls: int  # timed calls per in-process send variant
    send_block: int  # calls per variant before moving to the next (interleaving)
    send_warmup: int  # untimed calls per variant first
    module_post_calls: int  # timed module-level httpx.post calls
    suite_tests: int  # tests per suite in the 1,000-test part
    suite_repeats: int
    suite_modules: int = 10
    profile: bool = True  # one more run of the in-process suite under cProfile


FULL = PluginSettings(overhead_tests=500, overhead_repeats=3, send_calls=2000, send_block=100, send_warmup=50,
                      module_post_calls=100, suite_tests=1000, suite_repeats=3)
QUICK = PluginSettings(overhead_tests=200, overhead_repeats=1, send_calls=400, send_block=50, send_warmup=20,
                       module_post_calls=20, suite_tests=1000, suite_repeats=1, profile=False)


# --- the generated project ---------------------------------------------------------------------------

PYTEST_INI = """\
[pytest]
addopts = --strict-markers
filterwarnings = error
xfail_strict = true
"""

TIMING_CONFTEST = '''\
"""Times every test's set-up, call and tear-down (outermost wrappers) into $PUSHFAKE_BENCH_TIMINGS."""
import json
import os
import time

import pytest

_TIMES = []
_CURRENT = {}


def _timed(phase):
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def hook(item):
        started = time.perf_counter_ns()
        try:
            return (yield)
        finally:
            _CURRENT[phase] = time.perf_counter_ns() - started
            if phase == "teardown":
                _TIMES.append([item.nodeid, _CURRENT.get("setup"), _CURRENT.get("call"), _CURRENT["teardown"]])
                _CURRENT.clear()
    return hook


pytest_runtest_setup = _timed("setup")
pytest_runtest_call = _timed("call")
pytest_runtest_teardown = _timed("teardown")


def pytest_sessionfinish(session):
    with open(os.environ["PUSHFAKE_BENCH_TIMINGS"], "w") as fh:
        json.dump(_TIMES, fh)


if os.environ.get("PUSHFAKE_BENCH_LOOP_PROFILE"):
    # cProfile sees one thread; the in-process fake answers in the plugin's event-loop thread
    # ("pushfake-in-process"): a second profiler starts there when that thread does.
    import cProfile
    import sys
    import threading

    _LOOP_PROFILE = cProfile.Profile()

    def _first_event(frame, event, arg):
        sys.setprofile(None)
        if threading.current_thread().name == "pushfake-in-process":
            _LOOP_PROFILE.enable()

    threading.setprofile(_first_event)

    def pytest_unconfigure(config):
        threading.setprofile(None)
        _LOOP_PROFILE.dump_stats(os.environ["PUSHFAKE_BENCH_LOOP_PROFILE"])
'''

LEANPLUM_BODY = {"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "alice"}
SEND_BODY = {**LEANPLUM_BODY, "messageId": "1001"}

OVERHEAD_MODULES = {  # suite -> a test module of N tests taking one fixture
    "noop": "import pytest\n\n\n@pytest.fixture\ndef noop():\n    yield None\n\n\n"
            + "{tests}",
    "pushfake": "{tests}",
    "pushfake_server": "{tests}",
}


def overhead_module(suite: str, tests: int) -> str:
    body = "".join(f"def test_{i:05d}({suite}):\n    pass\n\n\n" for i in range(tests))
    return OVERHEAD_MODULES[suite].format(tests=body)


SUITE_HEADER = f'''\
import httpx

CLIENT = httpx.Client()  # shared, as service code shares one
START = {LEANPLUM_BODY!r}
SEND = {SEND_BODY!r}


def teardown_module():
    CLIENT.close()


def start_and_send(api):
    started = CLIENT.post(api + "?action=start", json=START)
    assert started.status_code == 200, started.text
    sent = CLIENT.post(api + "?action=sendMessage", json=SEND)
    assert sent.json()["response"][0]["messagesSent"] == 1, sent.text


'''


def suite_module(suite: str, first: int, tests: int) -> str:
    if suite == "empty":
        return "".join(f"def test_{i:05d}():\n    pass\n\n\n" for i in range(first, first + tests))
    return SUITE_HEADER + "".join(
        f"def test_{i:05d}({suite}):\n    start_and_send({suite}.leanplum_url)\n"
        f"    {suite}.assert_pushed(device=\"alice-iphone\", title=\"Your points\")\n\n\n"
        for i in range(first, first + tests))


SEND_MODULE = '''\
import asyncio
import json
import os
import time

import httpx

from pushfake import create_app

URL = "https://api.leanplum.com/api?action=sendMessage"
BODY = {body!r}
CALLS, BLOCK, WARMUP, POSTS = {calls}, {block}, {warmup}, {posts}


def _timed(post, count, out):
    for _ in range(count):
        started = time.perf_counter_ns()
        response = post(URL, json=BODY)
        elapsed = time.perf_counter_ns() - started
        assert response.status_code == 200, response.text
        if out is not None:
            out.append(elapsed)


async def _timed_async(app, count, out):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        for _ in range(count):
            started = time.perf_counter_ns()
            response = await client.post(URL, json=BODY)
            elapsed = time.perf_counter_ns() - started
            assert response.status_code == 200, response.text
            if out is not None:
                out.append(elapsed)


async def _app_post(app, body):
    """One POST straight into the ASGI app, no client: its status."""
    scope = {{"type": "http", "asgi": {{"version": "3.0"}}, "http_version": "1.1", "method": "POST",
             "scheme": "https", "path": "/api", "raw_path": b"/api", "query_string": b"action=sendMessage",
             "root_path": "", "headers": [(b"host", b"api.leanplum.com"), (b"content-type", b"application/json"),
                                          (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 50000), "server": ("api.leanplum.com", 443)}}
    received, status = False, 0

    async def receive():
        nonlocal received
        if received:
            return {{"type": "http.disconnect"}}
        received = True
        return {{"type": "http.request", "body": body, "more_body": False}}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _timed_app(app, count, out):
    for _ in range(count):
        body = json.dumps(BODY).encode()  # as a client encodes it
        started = time.perf_counter_ns()
        status = await _app_post(app, body)
        elapsed = time.perf_counter_ns() - started
        assert status == 200, status
        if out is not None:
            out.append(elapsed)


def test_send(pushfake):
    app = create_app(pushfake.fake)
    shared = httpx.Client()
    direct = pushfake.http_client()
    variants = {{
        "respx_shared_client": lambda count, out: _timed(shared.post, count, out),
        "direct_transport": lambda count, out: _timed(direct.post, count, out),
        "asgi_transport": lambda count, out: asyncio.run(_timed_async(app, count, out)),
        "app_only": lambda count, out: asyncio.run(_timed_app(app, count, out)),
    }}
    samples = {{name: [] for name in variants}}
    for name, run in variants.items():
        run(WARMUP, None)
    for _ in range(CALLS // BLOCK):
        for name, run in variants.items():
            run(BLOCK, samples[name])
    answers = {{"respx_shared_client": shared.post(URL, json=BODY).json(),
               "direct_transport": direct.post(URL, json=BODY).json()}}
    shared.close()
    direct.close()
    _timed(httpx.post, 2, None)
    samples["module_httpx_post"] = []
    _timed(httpx.post, POSTS, samples["module_httpx_post"])
    journal = len(pushfake.requests(operation="sendMessage", limit=100000))
    with open(os.environ["PUSHFAKE_BENCH_OUT"], "w") as fh:
        json.dump({{"samples_ns": samples, "answers": answers, "journaled_sends": journal}}, fh)
'''


# --- running pytest ------------------------------------------------------------------------------------


def pytest_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PUSHFAKE_"))}
    return {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}


PYTEST_ARGV = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_pushfake.plugin"]
REPORTED = re.compile(r"(\d+) passed.* in ([\d.]+)s")


def write_project(root: Path, modules: dict[str, str]) -> None:
    (root / "pytest.ini").write_text(PYTEST_INI)
    (root / "conftest.py").write_text(TIMING_CONFTEST)
    for name, text in modules.items():
        (root / name).write_text(text)


def run_pytest(procs: Processes, root: Path, expected: int, prefix: list[str] | None = None,
               extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """pytest in `root`, in its own subprocess: wall time, what it reports, per-test timings."""
    timings = root / "timings.json"
    timings.unlink(missing_ok=True)
    env = {**pytest_env(), "PUSHFAKE_BENCH_TIMINGS": str(timings), **(extra_env or {})}
    argv = [sys.executable, *(prefix or []), *PYTEST_ARGV]
    started = time.perf_counter()
    proc = procs.spawn(argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=PYTEST_TIMEOUT_S)
    finally:
        procs.stop(proc)
    wall = time.perf_counter() - started
    match = REPORTED.search(out.strip().splitlines()[-1] if out.strip() else "")
    if proc.returncode != 0 or match is None or int(match.group(1)) != expected:
        raise RuntimeError(f"pytest in {root} failed ({proc.returncode}), expected {expected} passed:\n{out[-4000:]}")
    return {"wall_s": wall, "reported_s": float(match.group(2)), "passed": int(match.group(1)),
            "tests": json.loads(timings.read_text())}


def _ms(ns: float) -> float:
    return ns / 1e6


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * int(q * 100) // 100) - 1))]


def summary_ms(samples_ns: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    return {"median_ms": _ms(statistics.median(ordered)), "p90_ms": _ms(quantile(ordered, 0.90)),
            "p99_ms": _ms(quantile(ordered, 0.99)), "max_ms": _ms(ordered[-1]), "samples": len(ordered)}


def summary_us(samples_ns: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    return {"median_us": statistics.median(ordered) / 1e3, "p90_us": quantile(ordered, 0.90) / 1e3,
            "p99_us": quantile(ordered, 0.99) / 1e3, "min_us": ordered[0] / 1e3, "max_us": ordered[-1] / 1e3,
            "calls": len(ordered)}


# --- 1. fixture overhead -------------------------------------------------------------------------------

OVERHEAD_SUITES = ("noop", "pushfake", "pushfake_server")


def measure_overhead(cfg: PluginSettings, procs: Processes) -> dict[str, Any]:
    per_test: dict[str, dict[str, list[int]]] = {s: {"setup": [], "call": [], "teardown": [], "setup_teardown": []}
                                                for s in OVERHEAD_SUITES}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pushfake-bench-") as tmp:
        roots = {}
        for suite in OVERHEAD_SUITES:
            roots[suite] = Path(tmp) / suite
            roots[suite].mkdir()
            write_project(roots[suite], {"test_overhead.py": overhead_module(suite, cfg.overhead_tests)})
        for repeat in range(cfg.overhead_repeats):
            order = OVERHEAD_SUITES if repeat % 2 == 0 else OVERHEAD_SUITES[::-1]
            for suite in order:
                result = run_pytest(procs, roots[suite], cfg.overhead_tests)
                tests = result.pop("tests")[1:-1]  # not the first (builds the session's fake) nor the last
                st = [s + t for _, s, _, t in tests]
                for (_, s, c, t), both in zip(tests, st, strict=True):
                    per_test[suite]["setup"].append(s)
                    per_test[suite]["call"].append(c)
                    per_test[suite]["teardown"].append(t)
                    per_test[suite]["setup_teardown"].append(both)
                runs.append({"suite": suite, "repeat": repeat + 1, **result,
                             "setup_teardown_median_ms": _ms(statistics.median(st))})
                progress(f"  overhead {suite:16} run {repeat + 1}: set-up + tear-down median "
                         f"{runs[-1]['setup_teardown_median_ms']:.3f} ms, wall {result['wall_s']:.2f} s")
    suites = {s: {phase: summary_ms(v) for phase, v in phases.items()} for s, phases in per_test.items()}
    base = suites["noop"]

    def extra(suite: str, phase: str) -> float:
        return suites[suite][phase]["median_ms"] - base[phase]["median_ms"]

    per_repeat = {}
    for suite in OVERHEAD_SUITES[1:]:
        per_repeat[suite] = [
            r["setup_teardown_median_ms"] - next(b["setup_teardown_median_ms"] for b in runs
                                                 if b["suite"] == "noop" and b["repeat"] == r["repeat"])
            for r in runs if r["suite"] == suite]
    return {
        "tests_per_suite": cfg.overhead_tests, "repeats": cfg.overhead_repeats,
        "measured_tests_per_run": cfg.overhead_tests - 2,
        "suites": suites,
        "overhead_ms": {s: {"setup_teardown": extra(s, "setup_teardown"), "setup": extra(s, "setup"),
                            "teardown": extra(s, "teardown"), "call": extra(s, "call")}
                        for s in OVERHEAD_SUITES[1:]},
        "overhead_setup_teardown_ms_per_repeat": per_repeat,
        "runs": runs,
    }


# --- 2. one sendMessage in process ---------------------------------------------------------------------

SEND_VARIANTS = ("respx_shared_client", "direct_transport", "asgi_transport", "app_only", "module_httpx_post")
TIMED_VARIANTS = 4  # the interleaved ones


def measure_send(cfg: PluginSettings, procs: Processes) -> dict[str, Any]:
    module = SEND_MODULE.format(body=SEND_BODY, calls=cfg.send_calls, block=cfg.send_block, warmup=cfg.send_warmup,
                                posts=cfg.module_post_calls)
    with tempfile.TemporaryDirectory(prefix="pushfake-bench-") as tmp:
        root = Path(tmp)
        write_project(root, {"test_send.py": module})
        out_file = root / "send.json"
        result = run_pytest(procs, root, 1, extra_env={"PUSHFAKE_BENCH_OUT": str(out_file)})
        data = json.loads(out_file.read_text())
    variants = {name: summary_us(data["samples_ns"][name]) for name in SEND_VARIANTS}
    respx, direct, asgi, floor = (variants[n]["median_us"] for n in SEND_VARIANTS[:TIMED_VARIANTS])
    expected_sends = TIMED_VARIANTS * (cfg.send_warmup + cfg.send_calls // cfg.send_block * cfg.send_block) + 2 \
        + 2 + cfg.module_post_calls
    return {
        "calls_per_variant": cfg.send_calls // cfg.send_block * cfg.send_block, "block": cfg.send_block,
        "warmup_per_variant": cfg.send_warmup, "module_post_calls": cfg.module_post_calls,
        "variants": variants,
        "respx_over_direct_us": respx - direct, "direct_over_app_only_us": direct - floor,
        "asgi_transport_over_app_only_us": asgi - floor, "respx_over_app_only_ratio": respx / floor,
        "module_post_over_shared_client_ratio": variants["module_httpx_post"]["median_us"] / respx,
        "answers": data["answers"], "journaled_sends": data["journaled_sends"], "expected_sends": expected_sends,
        "pytest_wall_s": result["wall_s"],
    }


# --- 3. a 1,000-test suite -----------------------------------------------------------------------------

SUITES = ("empty", "pushfake", "pushfake_server")


def suite_modules(suite: str, cfg: PluginSettings) -> dict[str, str]:
    per = cfg.suite_tests // cfg.suite_modules
    return {f"test_suite_{m:02d}.py": suite_module(suite, m * per, per) for m in range(cfg.suite_modules)}


def _top(path: Path, keep: Any, key: str, count: int) -> tuple[float, list[dict[str, Any]]]:
    stats = pstats.Stats(str(path))
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        name = f"{Path(file).name}:{line}({func})" if line else func
        if keep(file, name):
            rows.append({"function": name, "ncalls": nc, "primitive": cc, "tottime_ms": tt * 1e3,
                         "cumtime_ms": ct * 1e3})
    return stats.total_tt * 1e3, sorted(rows, key=lambda r: -r[key])[:count]  # type: ignore[attr-defined]


def profile_suite(procs: Processes, root: Path, tests: int) -> dict[str, Any]:
    """The in-process suite once more under cProfile: the main thread and the plugin's event-loop thread."""
    run_pytest(procs, root, tests, prefix=["-m", "cProfile", "-o", str(PROFILE_FILE)],
               extra_env={"PUSHFAKE_BENCH_LOOP_PROFILE": str(LOOP_PROFILE_FILE)})
    main_ms, plugin_rows = _top(PROFILE_FILE, lambda file, _: "pytest_pushfake" in file or "respx" in file,
                                "cumtime_ms", 15)
    _, main_rows = _top(PROFILE_FILE, lambda *_: True, "tottime_ms", 15)
    loop_ms, loop_rows = _top(LOOP_PROFILE_FILE, lambda _, name: "'poll'" not in name, "tottime_ms", 15)
    _, idle = _top(LOOP_PROFILE_FILE, lambda _, name: "'poll'" in name, "tottime_ms", 1)
    idle_ms = idle[0]["tottime_ms"] if idle else 0.0
    relative = RESULTS_DIR.parent.parent
    return {"file": str(PROFILE_FILE.relative_to(relative)), "loop_file": str(LOOP_PROFILE_FILE.relative_to(relative)),
            "main_total_ms": main_ms, "loop_total_ms": loop_ms, "loop_busy_ms": loop_ms - idle_ms,
            "main_top_tottime": main_rows, "plugin_and_respx_top_cumtime": plugin_rows,
            "loop_top_tottime": loop_rows}


def measure_suites(cfg: PluginSettings, procs: Processes) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    profile = None
    with tempfile.TemporaryDirectory(prefix="pushfake-bench-") as tmp:
        roots = {}
        for suite in SUITES:
            roots[suite] = Path(tmp) / suite
            roots[suite].mkdir()
            write_project(roots[suite], suite_modules(suite, cfg))
        tests = cfg.suite_tests // cfg.suite_modules * cfg.suite_modules
        for repeat in range(cfg.suite_repeats):
            order = SUITES if repeat % 2 == 0 else SUITES[::-1]
            for suite in order:
                result = run_pytest(procs, roots[suite], tests)
                timed = result.pop("tests")
                runs.append({"suite": suite, "repeat": repeat + 1, **result,
                             "in_tests_s": sum(sum(t[1:]) for t in timed) / 1e9,
                             "per_test_median_ms": {
                                 phase: _ms(statistics.median(t[i] for t in timed[1:-1]))
                                 for i, phase in ((1, "setup"), (2, "call"), (3, "teardown"))},
                             "first_test_ms": {"setup": _ms(timed[0][1]), "call": _ms(timed[0][2]),
                                               "teardown": _ms(timed[0][3])}})
                progress(f"  suite {suite:16} run {repeat + 1}: wall {result['wall_s']:.2f} s, "
                         f"pytest says {result['reported_s']:.2f} s")
        if cfg.profile:
            progress("  suite pushfake once more under cProfile ...")
            profile = profile_suite(procs, roots["pushfake"], tests)
    out: dict[str, Any] = {"tests": tests, "modules": cfg.suite_modules, "repeats": cfg.suite_repeats, "suites": {}}
    for suite in SUITES:
        mine = [r for r in runs if r["suite"] == suite]
        out["suites"][suite] = {
            "wall_s": statistics.median(r["wall_s"] for r in mine),
            "reported_s": statistics.median(r["reported_s"] for r in mine),
            "in_tests_s": statistics.median(r["in_tests_s"] for r in mine),
            "first_test_setup_ms": statistics.median(r["first_test_ms"]["setup"] for r in mine),
            "per_test_median_ms": {p: statistics.median(r["per_test_median_ms"][p] for r in mine)
                                   for p in ("setup", "call", "teardown")},
            "runs": mine,
        }
    empty = out["suites"]["empty"]
    for suite in SUITES[1:]:
        row = out["suites"][suite]
        row["wall_minus_empty_s"] = row["wall_s"] - empty["wall_s"]
        row["ms_per_test_over_empty"] = (row["reported_s"] - empty["reported_s"]) * 1e3 / tests
    out["profile"] = profile
    return out


# --- the section -------------------------------------------------------------------------------------


def measure_plugin(procs: Processes, quick: bool) -> dict[str, Any]:
    cfg = QUICK if quick else FULL
    import pytest

    out: dict[str, Any] = {"pytest": pytest.__version__, "argv": " ".join(["python", *PYTEST_ARGV]),
                           "env": {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}}
    progress(f"plugin: fixture overhead, {cfg.overhead_tests} empty tests per fixture x {cfg.overhead_repeats} ...")
    out["overhead"] = measure_overhead(cfg, procs)
    progress(f"plugin: in-process sendMessage, {cfg.send_calls} calls per variant ...")
    out["send"] = measure_send(cfg, procs)
    progress(f"plugin: {cfg.suite_tests}-test suites (start + sendMessage + assert_pushed) x {cfg.suite_repeats} ...")
    out["suite"] = measure_suites(cfg, procs)
    return out


def targets(plugin: dict[str, Any]) -> list[tuple[str, float, str, float]]:
    over = plugin["overhead"]["overhead_ms"]["pushfake"]["setup_teardown"]
    send = plugin["send"]["variants"]["respx_shared_client"]["median_us"] / 1e3
    suite = plugin["suite"]
    checks = [
        ("plugin pushfake set-up + tear-down minus a no-op fixture's, median per test (ms)", over, "<=",
         MAX_FIXTURE_OVERHEAD_MS),
        ("plugin sendMessage in process, shared httpx.Client via respx, median (ms)", send, "<=", MAX_SEND_MEDIAN_MS),
    ]
    for name, limit in MAX_SUITE_S.items():
        row = suite["suites"][name]
        checks.append((f"plugin {suite['tests']:,} tests with {name}, pytest wall time (s)", row["wall_s"], "<=", limit))
        checks.append((f"plugin {suite['tests']:,} tests with {name}, pytest-reported (s)", row["reported_s"], "<=",
                       limit))
    return checks


def print_summary(plugin: dict[str, Any]) -> None:
    o = plugin["overhead"]
    print(f"plugin ({plugin['argv']}, pytest {plugin['pytest']}, third-party autoload off): fixture cost per empty "
          f"test, {o['tests_per_suite']} tests x {o['repeats']} runs, first and last left out; median ms")
    print(f"  {'fixture':16} {'set-up':>8} {'call':>8} {'teardown':>8} {'s+t':>8} {'s+t p90':>8} {'s+t extra':>9} "
          f"{'call extra':>10}")
    for suite, row in o["suites"].items():
        extra = o["overhead_ms"].get(suite)
        print(f"  {suite:16} {row['setup']['median_ms']:8.3f} {row['call']['median_ms']:8.3f} "
              f"{row['teardown']['median_ms']:8.3f} {row['setup_teardown']['median_ms']:8.3f} "
              f"{row['setup_teardown']['p90_ms']:8.3f} "
              + (f"{extra['setup_teardown']:9.3f} {extra['call']:10.3f}" if extra else f"{'(baseline)':>9}"))
    s = plugin["send"]
    print(f"plugin sendMessage in one pushfake test, {s['calls_per_variant']} calls per variant in blocks of "
          f"{s['block']} (interleaved) after {s['warmup_per_variant']} warm-up; µs per call")
    print(f"  {'variant':22} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8}")
    for name, v in s["variants"].items():
        print(f"  {name:22} {v['median_us']:8.1f} {v['p90_us']:8.1f} {v['p99_us']:8.1f} {v['max_us']:8.1f}"
              + (f"  ({v['calls']} calls)" if name == "module_httpx_post" else ""))
    print(f"  respx routing adds {s['respx_over_direct_us']:.1f} µs over the plugin's transport, which adds "
          f"{s['direct_over_app_only_us']:.1f} µs over the app alone (an AsyncClient over ASGITransport: "
          f"{s['asgi_transport_over_app_only_us']:.1f} µs); httpx.post (a new client per call) costs "
          f"x{s['module_post_over_shared_client_ratio']:.1f} a shared client's call")
    if s["journaled_sends"] != s["expected_sends"]:
        print(f"  NOTE: the fake journaled {s['journaled_sends']} sendMessage requests, expected {s['expected_sends']}")
    u = plugin["suite"]
    print(f"plugin suites of {u['tests']:,} tests ({u['modules']} modules, shared httpx.Client each), median of "
          f"{u['repeats']}")
    print(f"  {'fixture':16} {'wall s':>7} {'pytest s':>8} {'in tests':>8} {'ms/test extra':>13} {'1st set-up':>10} "
          f"{'set-up':>7} {'call':>7} {'teardown':>8}  (in tests: sum of every test's phases, s; then ms)")
    for name, row in u["suites"].items():
        per = row["per_test_median_ms"]
        extra = f"{row['ms_per_test_over_empty']:13.2f}" if "ms_per_test_over_empty" in row else f"{'(baseline)':>13}"
        print(f"  {name:16} {row['wall_s']:7.2f} {row['reported_s']:8.2f} {row['in_tests_s']:8.2f} {extra} "
              f"{row['first_test_setup_ms']:10.1f} {per['setup']:7.3f} {per['call']:7.3f} {per['teardown']:8.3f}")
    print("  (ms/test extra: pytest-reported time over the empty suite's, per test; set-up, call, teardown: "
          "per-test medians, first and last test left out)")
    profile = u["profile"]
    if profile:
        print(f"  profile of the pushfake suite under cProfile: main thread {profile['main_total_ms']:.0f} ms "
              f"({profile['file']}), plugin and respx functions by cumulative time:")
        for row in profile["plugin_and_respx_top_cumtime"][:10]:
            print(f"    {row['cumtime_ms']:8.1f} ms cum {row['tottime_ms']:7.1f} ms own {row['ncalls']:>7}x  "
                  f"{row['function']}")
        print(f"  the plugin's event-loop thread (the fake's app): busy {profile['loop_busy_ms']:.0f} ms "
              f"({profile['loop_file']}), top by own time:")
        for row in profile["loop_top_tottime"][:8]:
            print(f"    {row['tottime_ms']:8.1f} ms own {row['cumtime_ms']:7.1f} ms cum {row['ncalls']:>7}x  "
                  f"{row['function']}")
