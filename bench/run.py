"""Benchmark of pushfake's Leanplum and D·engage APIs: is the fake cheap enough to sit under a test suite?

One run measures, and writes to bench/results/bench.json:

1. HTTP throughput and latency, fake vs. a baseline, for both vendors in the same run. The
   fake (one server per vendor) and a bare Starlette app (routes `/api`, `/rest/login` and
   `/rest/push/sendInstant` that read the body and answer a constant JSON) run under identical
   uvicorn settings; `wrk -t1 -c32` posts the same bodies to both: Leanplum `sendMessage` and
   `start`, D·engage `login` and `sendInstant` (4 devices, with a token obtained once before
   the load). The bare app is the floor for this stack, so fake/bare throughput says what the
   fake's own work costs. Medians of several interleaved runs.
2. Start-up: spawn `pushfake serve --port 0` until its first answered request.
3. Leanplum memory for 1,000,000 users with one device each, in a fresh subprocess, plus
   in-process `start` latency with that store loaded vs. a small store.
4. Leanplum's request validator: compiled (Rust) validator and `prepare` vs. pure-Python
   `jsonschema` on the same schema.
5. D·engage SendInstantPush to a 10,000-device segment, in-process (httpx over ASGI), in a
   fresh subprocess: median/p90 response time, deliveries per send, memory growth as the
   deliveries accumulate; a cProfile of one send if the median misses its target.
6. The device gateway (`gateway_workloads.py`): deliveries per second through
   `run_until_idle` on a ManualClock against two floors, with and without retries; RSS of a
   million pending deliveries; a live `pushfake serve` completing a 10,000-device send at 1 s
   latency while a steady stream of small requests keeps being answered.
7. The control plane on the request path (`control_workloads.py`): wrk throughput of a fake with
   the request journal on and 20 fault rules that never match vs. one with neither (Leanplum
   `sendMessage` and `start`, interleaved, medians of 5), and the journal's RSS over a million
   in-process requests through `fake.traffic.run` (fresh subprocess): flat at its bound.
8. The pytest plugin (`plugin_workloads.py`), each in a pytest subprocess over generated tests:
   the `pushfake` fixture's set-up + tear-down per test against a no-op fixture's, one
   `sendMessage` through the respx route against the plugin's transport and the bare ASGI app,
   and 1,000 tests of `start` + `sendMessage` + `assert_pushed` with `pushfake` and with
   `pushfake_server` against the same tests doing nothing.
9. The contract suite (`contract.py`): `pushfake contract --examples 200` against the in-process
   fake in a subprocess, in one process (baseline) and with `--jobs auto`: wall time, generated
   cases and cases/s, time by kind of check.
10. The inbox page (`inbox.py`): with 10,000 deliveries on 500 devices, in-process, median ms of
   the first page, the devices fragment with a filter and with a text search, against
   `GET /_pushfake/deliveries?limit=50` in the same run.
11. Bounded memory and slow clients (`resources.py`): RSS of the journal filled with 1 MiB
   requests past its byte bound, of each store kind (deliveries, events, sends, tokens) at its
   bound and at twice it, of `pushfake serve` over a long run of mixed requests (default
   1,000,000, `--long-requests N`), and health-check latency beside slow-loris clients (also
   under `ulimit -n 256`).

Targets are printed as PASS/FAIL next to the numbers; missing a target does not fail the
run. Usage: `python bench/run.py [--quick] [--only SECTION ...]` (the `http` and `control`
sections need `wrk`, see bench/README.md). With `--only`, results go to `results/bench-SECTION[-...].json`
and the full run's `results/bench.json` is left alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from importlib import metadata
from typing import Any

import contract
import control_workloads as control
import dengage_workloads as dengage
import gateway_workloads as gateway
import inbox
import leanplum_workloads as leanplum
import plugin_workloads as plugin
import resources
from common import (
    FULL, HERE, QUICK, RESULTS_DIR, RESULTS_FILE, Processes, Settings, exit_cleanly_on_signals, mem_total_mib,
    progress,
)
from http_load import measure_http, require_wrk, wrk_version
from startup import measure_startup

MIN_THROUGHPUT_RATIO = 0.5  # fake send rps >= 0.5 x bare (Leanplum sendMessage, D·engage sendInstant)
SEND_WORKLOADS = {"leanplum": "sendMessage", "dengage": "sendInstant"}
MAX_P99_MS = 25.0  # every fake workload under wrk
MAX_STARTUP_S = 1.5
MAX_MEMORY_MIB = 1536.0
BUSY_LOAD = 0.5  # 1-minute load average before the run above which the summary warns

CHILDREN = {  # run.py --child NAME ARGS...: measurements that need a fresh interpreter
    "leanplum-memory": lambda users, calls: leanplum.memory_child(int(users), int(calls)),
    "dengage-segment": lambda devices, sends, warmup: dengage.segment_child(int(devices), int(sends), int(warmup)),
    "gateway-throughput": lambda contacts, repeats, failure_rate: gateway.throughput_child(
        int(contacts), int(repeats), float(failure_rate)),
    "gateway-pending": lambda contacts: gateway.pending_child(int(contacts)),
    "control-journal": lambda requests: control.journal_child(int(requests)),
    "resources-journal": lambda requests: resources.journal_child(int(requests)),
    "resources-store": lambda divisor: resources.store_child(int(divisor)),
    "control-breakdown": lambda workload, journal, rules, fill, measure: control.breakdown_child(
        workload, int(journal), int(rules), int(fill), int(measure)),
}
# The parts of a run, in order; `--only` picks some.
SECTIONS = ("validator", "startup", "http", "leanplum-memory", "dengage-segment", "gateway", "control", "plugin",
            "contract", "inbox", "resources")
WRK_SECTIONS = {"http", "control"}


def machine_info(wrk: str | None) -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    packages = ["pushfake", "starlette", "uvicorn", "h11", "httptools", "uvloop", "httpx",
                "jsonschema", "jsonschema-rs", "pytest", "respx"]
    return {
        "nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "platform": platform.platform(), "mem_total_mib": mem_total_mib(),
        "packages": {p: version(p) for p in packages}, "wrk": wrk_version(wrk) if wrk else None,
    }


def source_state() -> dict[str, Any]:
    """The commit measured, and any uncommitted changes to it (they are measured too)."""
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=False, cwd=HERE)
        return out.stdout.rstrip("\n") if out.returncode == 0 else ""  # porcelain lines start with a space

    return {"commit": git("rev-parse", "HEAD") or None,
            "uncommitted": [line[3:] for line in git("status", "--porcelain").splitlines()]}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of the sections that ran."""
    checks: list[tuple[str, float, str, float]] = []
    if "http" in results:
        http = results["http"]["workloads"]
        checks += [(f"fake {vendor} {name} throughput / bare", http[vendor][name]["throughput_ratio"], ">=",
                    MIN_THROUGHPUT_RATIO) for vendor, name in SEND_WORKLOADS.items()]
        checks += [(f"fake {vendor} {name} p99 latency (ms)", row["fake"]["p99_ms"], "<=", MAX_P99_MS)
                   for vendor, rows in http.items() for name, row in rows.items()]
        # every workload is a request the fake accepts: an error answer measures the wrong path
        checks += [(f"fake {vendor} {name} non-2xx answers", row["fake"]["non2xx"], "==", 0)
                   for vendor, rows in http.items() for name, row in rows.items()]
    if "startup" in results:
        checks.append(("start-up to first 200 (s)", results["startup"]["first_200_s_median"], "<=", MAX_STARTUP_S))
    if "memory" in results["leanplum"]:
        memory = results["leanplum"]["memory"]
        checks.append((f"leanplum RSS delta for {memory['users']:,} users (MiB)", memory["delta_mib"], "<=",
                       MAX_MEMORY_MIB))
    if "segment_send" in results["dengage"]:
        segment = results["dengage"]["segment_send"]
        checks.append((f"dengage sendInstant to {segment['expected_deliveries_per_send']:,} devices, median (ms)",
                       segment["median_ms"], "<=", dengage.MAX_SEGMENT_SEND_MEDIAN_MS))
    if "gateway" in results:
        checks += gateway.targets(results["gateway"])
    if "control" in results:
        checks += control.targets(results["control"])
    if "plugin" in results:
        checks += plugin.targets(results["plugin"])
    if "contract" in results:
        checks += contract.targets(results["contract"])
    if "inbox" in results:
        checks += inbox.targets(results["inbox"])
    if "resources" in results:
        checks += resources.targets(results["resources"])
    compare = {">=": lambda v, lim: v >= lim, "<=": lambda v, lim: v <= lim, "==": lambda v, lim: v == lim}
    return [{"name": n, "value": v, "op": op, "limit": lim, "pass": compare[op](v, lim)}
            for n, v, op, lim in checks]


def print_summary(results: dict[str, Any]) -> None:
    only = f" (only {', '.join(results['sections'])})" if results["only"] else ""
    print("\n== pushfake benchmark: Leanplum and D·engage" + (" (quick)" if results["quick"] else "") + only + " ==")
    if "http" in results:
        print_http_summary(results["http"])
    if "startup" in results:
        s = results["startup"]
        print(f"start-up: banner {s['banner_s_median']:.3f} s, first 200 {s['first_200_s_median']:.3f} s (median)")
    if "memory" in results["leanplum"]:
        print_leanplum_memory_summary(results["leanplum"]["memory"])
    for name, r in results["leanplum"].get("validator", {}).get("per_call", {}).items():
        print(f"leanplum validator {name:36} {r['us_median']:8.2f} µs/call")
    if "segment_send" in results["dengage"]:
        print_segment_summary(results["dengage"]["segment_send"])
    if "gateway" in results:
        gateway.print_summary(results["gateway"])
    if "control" in results:
        control.print_summary(results["control"])
    if "plugin" in results:
        plugin.print_summary(results["plugin"])
    if "contract" in results:
        contract.print_summary(results["contract"])
    if "inbox" in results:
        inbox.print_summary(results["inbox"])
    if "resources" in results:
        resources.print_summary(results["resources"])
    for t in results["targets"]:
        print(f"[{'PASS' if t['pass'] else 'FAIL'}] {t['name']}: {t['value']:.3f} (target {t['op']} {t['limit']})")
    start, end = results["load_avg_start"], results["load_avg_end"]
    print(f"load average (1/5/15 min): before {start[0]:.2f}/{start[1]:.2f}/{start[2]:.2f}, "
          f"after {end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f}"
          + ("  WARNING: the machine was busy before the run" if start[0] > BUSY_LOAD else ""))
    changed = [p for p in results["source"]["uncommitted"] if p.startswith("src/")]
    if changed:
        print(f"measured with uncommitted changes to: {', '.join(changed)}")
    print(f"results: {results['results_file']}")


def print_http_summary(http: dict[str, Any]) -> None:
    print(f"HTTP, {http['client']}, median of {http['repeats']}; same bare app for both vendors")
    print(f"{'workload':21} {'fake req/s':>10} {'bare req/s':>10} {'fake/bare':>9} {'fake p50':>8} {'fake p99':>8} "
          f"{'bare p50':>8} {'bare p99':>8} {'non-2xx f/b':>11}")
    for vendor, rows in http["workloads"].items():
        for name, row in rows.items():
            fake, bare = row["fake"], row["bare"]
            print(f"{vendor + '.' + name:21} {fake['rps']:10.0f} {bare['rps']:10.0f} {row['throughput_ratio']:9.2f} "
                  f"{fake['p50_ms']:8.2f} {fake['p99_ms']:8.2f} {bare['p50_ms']:8.2f} {bare['p99_ms']:8.2f} "
                  f"{fake['non2xx']:>5}/{bare['non2xx']}")
            print(f"{'':21} server CPU/request {fake['server_cpu_us_per_request']:.0f} vs "
                  f"{bare['server_cpu_us_per_request']:.0f} µs (x{row['cpu_per_request_ratio']:.2f}), CPU share "
                  f"{fake['server_cpu_util']:.0%} vs {bare['server_cpu_util']:.0%}; fake RSS "
                  f"+{fake['server_rss_growth_mib']:.0f} MiB ({fake['server_rss_growth_bytes_per_request']:.0f} B/request)")
            if fake["first_non2xx"]:
                print(f"{'':21} first fake non-2xx: {fake['first_non2xx'][:150]}")
    print("(latencies in ms, medians; server CPU = the server process's CPU time per request and its share of one "
          "core; RSS growth over the workload's runs)")


def print_leanplum_memory_summary(m: dict[str, Any]) -> None:
    print(f"leanplum memory: {m['users']:,} users +{m['delta_mib']:.0f} MiB ({m['bytes_per_user']:.0f} B/user), "
          f"insert {m['insert_s']:.1f} s, full gc {m['full_gc_ms_with_store']:.0f} ms")
    large, small = m["start_latency_large_store"], m["start_latency_small_store"]
    print(f"leanplum in-process start p50: {large['p50_ms']:.3f} ms at {large['store_users']:,} users vs "
          f"{small['p50_ms']:.3f} ms at {small['store_users']:,} (x{m['start_p50_ratio_large_vs_small']:.2f})")


def print_segment_summary(seg: dict[str, Any]) -> None:
    gc2 = seg["gc_during_measured_sends"]["gen2"]
    print(f"dengage sendInstant to segment (in-process): {seg['sends']} sends, median {seg['median_ms']:.1f} ms, "
          f"p90 {seg['p90_ms']:.1f} ms, max {seg['max_ms']:.1f} ms; first/second half median "
          f"{seg['first_half_median_ms']:.1f}/{seg['second_half_median_ms']:.1f} ms")
    print(f"  median without GC pauses {seg['median_ms_excluding_gc']:.1f} ms; median CPU time per send "
          f"{seg['median_cpu_ms']:.1f} ms (well below the wall time means something else had the CPU)")
    print(f"  deliveries per send {seg['deliveries_per_send']} (expected {seg['expected_deliveries_per_send']}), "
          f"statuses {seg['statuses']}; RSS +{seg['rss_growth_mib']:.0f} MiB over the sends "
          f"({seg['rss_growth_bytes_per_delivery']:.0f} B/delivery), {seg['deliveries_stored_total']:,} stored; "
          f"gen2 gc {gc2['count']}x, {gc2['total_ms']:.0f} ms total")
    profile = seg["profile"]
    if profile:
        print(f"  profile of one send ({profile['elapsed_ms_under_profiler']:.0f} ms under cProfile, "
              f"{profile['file']}); top by own time:")
        for row in profile["top_tottime"][:8]:
            print(f"    {row['tottime_ms']:7.1f} ms own {row['cumtime_ms']:7.1f} ms cum {row['ncalls']:>7}x  "
                  f"{row['function']}")


def run(settings: Settings, quick: bool, only: list[str] | None = None,
        long_requests: int | None = None) -> dict[str, Any]:
    sections = [s for s in SECTIONS if only is None or s in only]
    results_file = RESULTS_FILE if only is None else RESULTS_DIR / f"bench-{'-'.join(sections)}.json"
    wrk = require_wrk() if WRK_SECTIONS.intersection(sections) else None
    RESULTS_DIR.mkdir(exist_ok=True)
    procs = Processes()
    try:
        results: dict[str, Any] = {"quick": quick, "only": only is not None, "sections": sections,
                                   "settings": asdict(settings), "machine": machine_info(wrk),
                                   "source": source_state(),
                                   "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                   "load_avg_start": os.getloadavg(), "leanplum": {}, "dengage": {}}
        if results["load_avg_start"][0] > BUSY_LOAD:
            progress(f"warning: load average {results['load_avg_start'][0]:.2f} before the run; "
                     "something else is using the CPUs and the numbers will suffer")
        if "validator" in sections:
            progress("leanplum validators ...")
            results["leanplum"]["validator"] = leanplum.measure_validators(settings)
        if "startup" in sections:
            progress("start-up ...")
            results["startup"] = measure_startup(settings, procs)
        if "http" in sections and wrk is not None:
            progress("HTTP load (wrk), both vendors ...")
            results["http"] = measure_http(settings, procs, wrk,
                                           {"leanplum": leanplum.http_setup, "dengage": dengage.http_setup})
        if "leanplum-memory" in sections:
            progress(f"leanplum memory for {settings.users:,} users ...")
            results["leanplum"]["memory"] = leanplum.measure_memory(settings)
        if "dengage-segment" in sections:
            progress(f"dengage sendInstant to a {settings.segment_devices:,}-contact segment ...")
            results["dengage"]["segment_send"] = dengage.measure_segment_send(settings)
        if "gateway" in sections:
            results["gateway"] = gateway.measure_gateway(settings, procs)
        if "control" in sections and wrk is not None:
            results["control"] = control.measure_control(settings, procs, wrk, quick)
        if "plugin" in sections:
            results["plugin"] = plugin.measure_plugin(procs, quick)
        if "contract" in sections:
            results["contract"] = contract.measure_contract(procs, quick)
        if "inbox" in sections:
            results["inbox"] = inbox.measure_inbox()
        if "resources" in sections:
            chosen = resources.QUICK if quick else resources.FULL
            if long_requests is not None:
                chosen = dataclasses.replace(chosen, long_requests=long_requests)
            results["resources"] = resources.measure_resources(chosen, procs)
    finally:
        procs.stop_all()
    results["load_avg_end"] = os.getloadavg()
    results["targets"] = targets(results)
    results["results_file"] = str(results_file)
    results_file.write_text(json.dumps(results, indent=2) + "\n")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 s load runs, 1 repeat, 100k users, 10 segment sends, "
                             "20k gateway deliveries, 100k pending, 1 live round; control: 2 repeats, "
                             "200k journal requests; plugin: 200-test overhead suites, 400 sends per variant, "
                             "one run of each 1,000-test suite; contract: 50 cases per operation, median of 3 serial and 3 parallel")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"run only these parts ({', '.join(SECTIONS)}); "
                             "results go to results/bench-SECTION[-...].json")
    parser.add_argument("--long-requests", type=int, metavar="N",
                        help="requests in the resources section's long run (default 1,000,000; --quick: 20,000)")
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, *child_args = args.child
        print(json.dumps(CHILDREN[name](*child_args)))
        return 0
    exit_cleanly_on_signals()
    print_summary(run(QUICK if args.quick else FULL, args.quick, args.only, args.long_requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
