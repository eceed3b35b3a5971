"""The contract suite (`pushfake contract`): how long the whole suite takes against the in-process fake.

`pushfake contract --examples N --json PATH --junit PATH` runs in a subprocess from a fresh temp dir,
once in one process (the baseline) and once with `--jobs auto` (one pytest-xdist worker per CPU,
each with a fake of its own), in the same bench run;
(the command runs pytest with its own ini, so no project config applies), with no `PUSHFAKE_*` or
`PYTEST_*` variables: both vendors, seed 0, the in-process fake, full mode. Wall time is spawn to
exit; the JSON report gives the generated cases (the sum of `operations[].cases`, every operation
in both generation modes) and the requests sent (generated cases, state machines and assumption
checks together); the JUnit report gives the time of each test, summed by kind (conformance,
semantics = the state machines, assumptions). What the kinds leave of the wall time is the
interpreter and pytest starting, collection and the reports (with workers, the kinds' times add
up across workers and can exceed the wall). Full: 200 cases per operation, one run of each; quick:
50, median of three of each. The generation follows the seed: every run generates as many cases per
operation, with one process or several.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import Processes, progress, pushfake_command

MAX_FULL_SUITE_S = 60.0  # the whole suite, 200 cases per operation, wall time (with --jobs auto)
JOBS = "auto"  # one worker per CPU
FULL_EXAMPLES = 200
RUN_TIMEOUT_S = 900.0
KINDS = {"test_conformance": "conformance", "test_semantics": "semantics", "test_assumption": "assumptions"}


@dataclass(frozen=True)
class ContractSettings:
    examples: int  # generated cases per operation and mode
    runs: int


FULL = ContractSettings(examples=FULL_EXAMPLES, runs=1)
QUICK = ContractSettings(examples=50, runs=3)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PUSHFAKE_"))}


def _junit_times(path: Path) -> dict[str, Any]:
    """Seconds per kind of test, and the slowest tests, from the JUnit report."""
    by_kind = dict.fromkeys(KINDS.values(), 0.0)
    tests: list[tuple[float, str]] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        name, seconds = case.get("name", ""), float(case.get("time", 0))
        kind = KINDS.get(name.split("[", 1)[0], "other")
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
        tests.append((seconds, name))
    slowest = [{"test": name, "s": round(seconds, 3)} for seconds, name in sorted(tests, reverse=True)[:8]]
    return {"by_kind_s": by_kind, "slowest": slowest, "tests": len(tests)}


def run_suite(procs: Processes, examples: int, jobs: str = "1") -> dict[str, Any]:
    """One `pushfake contract` run in a subprocess: wall time, what its reports say."""
    with tempfile.TemporaryDirectory(prefix="pushfake-bench-contract-") as folder:
        root = Path(folder)
        report, junit = root / "report.json", root / "junit.xml"
        argv = [pushfake_command(), "contract", "--examples", str(examples), "--json", str(report),
                "--junit", str(junit), "--jobs", jobs]
        started = time.perf_counter()
        proc = procs.spawn(argv, cwd=root, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
        finally:
            procs.stop(proc)
        wall = time.perf_counter() - started
        if proc.returncode != 0 or not report.exists():
            raise RuntimeError(f"pushfake contract failed ({proc.returncode}):\n{out[-4000:]}")
        data = json.loads(report.read_text())
        times = _junit_times(junit)
    operations = data["operations"]
    cases = sum(op["cases"] for op in operations)
    return {
        "wall_s": wall, "cases": cases, "sent_cases": sum(op["sent"] for op in operations),
        "operation_runs": len(operations), "requests_sent": data["requests"]["sent"],
        "failures": len(data["failures"]),
        "assumptions": {o: sum(a["outcome"] == o for a in data["assumptions"])
                        for o in sorted({a["outcome"] for a in data["assumptions"]})},
        "semantics": data["semantics"], "tests": times["tests"], "by_kind_s": times["by_kind_s"],
        "outside_tests_s": wall - sum(times["by_kind_s"].values()), "slowest": times["slowest"],
        "cases_by_operation": {f"{op['vendor']}:{op['mode']}:{op['operation']}": op["cases"] for op in operations},
        "summary": out.strip().splitlines()[-1] if out.strip() else "",
    }


def _measure(procs: Processes, cfg: ContractSettings, jobs: str) -> dict[str, Any]:
    runs = []
    for index in range(cfg.runs):
        progress(f"contract: pushfake contract --examples {cfg.examples} --jobs {jobs}, run {index + 1}/{cfg.runs} ...")
        runs.append(run_suite(procs, cfg.examples, jobs))
    wall = statistics.median(r["wall_s"] for r in runs)
    middle = min(runs, key=lambda r: abs(r["wall_s"] - wall))  # the run whose split is reported
    cases, requests = middle["cases"], middle["requests_sent"]
    return {
        "command": f"pushfake contract --examples {cfg.examples} --jobs {jobs} --json PATH --junit PATH",
        "jobs": jobs, "wall_s_median": wall, "wall_s_all": [r["wall_s"] for r in runs], "cases": cases,
        "requests_sent": requests, "cases_per_s": cases / wall, "requests_per_s": requests / wall,
        "conformance_cases_per_s": cases / middle["by_kind_s"]["conformance"],
        "same_cases_every_run": len({r["cases"] for r in runs}) == 1, "run": middle,
    }


def measure_contract(procs: Processes, quick: bool) -> dict[str, Any]:
    """The suite in one process (the baseline), then in one worker per CPU, in the same run."""
    cfg = QUICK if quick else FULL
    load_before = os.getloadavg()
    serial = _measure(procs, cfg, "1")
    parallel = _measure(procs, cfg, JOBS)
    return {
        "examples_per_operation": cfg.examples, "runs": cfg.runs, "cpus": os.cpu_count(),
        "serial": serial, "parallel": parallel,
        "wall_s_median": parallel["wall_s_median"],  # what the target judges
        "parallel_to_serial_wall": parallel["wall_s_median"] / serial["wall_s_median"],
        "same_cases_per_operation": serial["run"]["cases_by_operation"] == parallel["run"]["cases_by_operation"],
        "load_avg_before": load_before, "load_avg_after": os.getloadavg(),
    }


def targets(contract: dict[str, Any]) -> list[tuple[str, float, str, float]]:
    """The wall-time target holds for the full size only (a quick run's smaller suite says nothing of it)."""
    if contract["examples_per_operation"] != FULL_EXAMPLES:
        return []
    return [(f"contract suite, {FULL_EXAMPLES} cases per operation, --jobs {JOBS}, wall (s)", contract["wall_s_median"],
             "<=", MAX_FULL_SUITE_S)]


def print_summary(contract: dict[str, Any]) -> None:
    print(f"contract suite (in-process fake, {contract['examples_per_operation']} cases per operation, "
          f"median of {contract['runs']}; {contract['cpus']} CPUs; load {contract['load_avg_before'][0]:.2f} before):")
    for name in ("serial", "parallel"):
        result = contract[name]
        run = result["run"]
        print(f"  --jobs {result['jobs']:<4}: {result['wall_s_median']:.1f} s wall; {result['cases']:,} generated cases "
              f"in {run['operation_runs']} operation runs ({result['cases_per_s']:.0f}/s of wall); "
              f"{result['requests_sent']:,} requests ({result['requests_per_s']:.0f}/s); {run['tests']} tests, "
              f"{run['failures']} failures")
        kinds = ", ".join(f"{kind} {s:.1f} s" for kind, s in run["by_kind_s"].items())
        print(f"    time by kind (summed over workers): {kinds}; slowest: "
              + ", ".join(f"{t['test']} {t['s']:.1f} s" for t in run["slowest"][:3]))
    print(f"  parallel / serial wall: {contract['parallel_to_serial_wall']:.2f}; same cases per operation: "
          f"{contract['same_cases_per_operation']}")
