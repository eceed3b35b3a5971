"""Control plane costs on the request path: the request journal and fault rules that do not fire.

Every vendor request goes through `pushfake.traffic.Traffic.run`: the fault rules are asked
whether one fires, the vendor answers, the journal records an entry (a deque bounded at
10,000 entries by default). This section measures what that costs when nothing fires.

1. Throughput (wrk, like `http_load`): two fake servers under identical uvicorn settings
   (`launch.py fake PORT FIXTURES`), both on the default world: *baseline* with
   `journal: {enabled: false}` and no fault rules, and *rules* with the journal on (default
   size) and 20 fault rules that never match the workload. Every rule matches on vendor
   `leanplum`, so the cheap vendor check passes and the rule's other conditions (operation, app,
   user, parameters) are evaluated; several agree with the request on all but one condition.
   The Leanplum `sendMessage` and `start` workloads run against both, interleaved (the order of
   the two servers alternates between repeats); median req/s per server, rules/baseline ratio,
   p50/p99, server CPU per request. Afterwards the control plane confirms that no rule saw a
   matching request, that the rules server's journal is full at its bound and that the baseline's
   is empty. Both servers' RSS is sampled before the first and after the last run (the fake keeps
   every delivery, so both grow; the difference is what the journal adds).
2. Journal memory (fresh subprocess, no HTTP): `Fake(seed=1, clock=ManualClock())`, then a
   million requests through `fake.traffic.run` with a realistic `RequestFacts` (Leanplum
   `sendMessage` for alice) whose body is decoded from JSON per request (fresh objects, as a
   server's are), merged into fresh params, and a fresh response body per request, so every
   journal entry holds its own objects. RSS every 50,000 requests (and at 10,000, when the
   journal first reaches its bound); the target is the growth from 100,000 to the end. The
   same loop without `traffic.run` (the handler awaited directly) is the floor for its rate.
3. Where the time goes (fresh subprocess per row, no HTTP): each Leanplum workload posted
   straight into the ASGI app (`create_app`, lifespan on, real clock, as under uvicorn) with
   neither, only the 20 rules, only the journal, or both: process CPU time per request and the
   garbage collector's pauses, first while the journal fills (its first 10,000 requests, as after
   every reset) and then with the journal at its bound. The throughput ratio says whether the
   target is met; this says what costs what, with no client or other process sharing the CPU.
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common import (
    HERE, LAUNCHER, RESULTS_DIR, Processes, Settings, free_port, http_get, progress, rss_mib, run_child,
    wait_until_answering,
)
from dengage_workloads import GcPauses
from http_load import WRK_CONNECTIONS, WRK_THREADS, Workload, load_once, run_medians
from leanplum_workloads import BODIES
from leanplum_workloads import http_setup as leanplum_setup

MIN_THROUGHPUT_RATIO = 0.90  # journal on + 20 non-matching rules vs. neither, per workload
MAX_JOURNAL_GROWTH_MIB = 5.0  # RSS growth from 100,000 requests to the end of the in-process run
JOURNAL_SIZE = 10_000  # pushfake.core.journal.DEFAULT_SIZE, which the fixtures leave alone
GROWTH_FROM = 100_000  # the memory target is the growth after this many requests
SAMPLE_EVERY = 50_000
FLOOR_REQUESTS = 200_000  # the in-process loop without traffic.run
DEFAULT_FIXTURES = HERE.parent / "fixtures" / "default.yaml"
SERVERS = {  # name -> fixtures file, in the order they are started
    "baseline": RESULTS_DIR / "control-baseline-fixtures.json",
    "rules": RESULTS_DIR / "control-rules-fixtures.json",
}


@dataclass(frozen=True)
class ControlSettings:
    repeats: int  # interleaved wrk repeats per (server, workload), after one warm-up each
    requests: int  # in-process journal run
    breakdown_fill: int = 12_000  # in-process breakdown: requests before measuring (journal at its bound)
    breakdown_measure: int = 20_000  # and measured


FULL = ControlSettings(repeats=5, requests=1_000_000)
QUICK = ControlSettings(repeats=2, requests=200_000, breakdown_fill=11_000, breakdown_measure=4_000)


# --- 20 fault rules the Leanplum workloads never match --------------------------------------------
# `sendMessage` posts appId app_pushfake, userId alice, messageId 1001, values; `start` posts
# appId app_pushfake, userId bench-user, deviceId bench-device, appVersion 1.0, systemName iOS
# (leanplum_workloads.BODIES). Each rule differs from both in at least one condition; many agree
# on vendor, operation, app and user and differ only in a parameter, the last thing checked.


def _error(status: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "error", "status": status, **extra}


NON_MATCHING_RULES: list[dict[str, Any]] = [
    {"id": "send-mallory-503", "match": {"vendor": "leanplum", "operation": "sendMessage", "user": "mallory"},
     "fault": _error(503)},
    {"id": "send-unknown-message", "match": {"vendor": "leanplum", "operation": "sendMessage",
                                             "params": {"messageId": 9999}}, "fault": _error(500)},
    {"id": "send-staging-reset", "match": {"vendor": "leanplum", "operation": "sendMessage", "app": "app_staging"},
     "fault": {"kind": "reset"}},
    {"id": "send-alice-offer-flaky", "match": {"vendor": "leanplum", "operation": "sendMessage", "user": "alice",
                                               "app": "app_pushfake", "params": {"messageId": 1002}},
     "sequence": [_error(503), _error(503), {"kind": "pass"}]},
    {"id": "send-bob-truncate", "match": {"vendor": "leanplum", "operation": "sendMessage", "app": "app_pushfake",
                                          "user": "bob"}, "fault": {"kind": "truncate", "fraction": 0.3}},
    {"id": "send-carol-sometimes", "match": {"vendor": "leanplum", "operation": "sendMessage", "user": "carol"},
     "fault": _error(502), "probability": 0.5},
    {"id": "send-dev-mode", "match": {"vendor": "leanplum", "operation": "sendMessage",
                                      "params": {"messageId": 1001, "devMode": True}},
     "fault": _error(429, retryAfter=1)},
    {"id": "send-dev-key", "match": {"vendor": "leanplum", "operation": "sendMessage", "user": "alice",
                                     "params": {"clientKey": "dev_pushfake"}}, "fault": {"kind": "malformed"}},
    {"id": "start-flaky-user-hang", "match": {"vendor": "leanplum", "operation": "start", "user": "ci-flaky-user"},
     "fault": {"kind": "hang", "seconds": 5}},
    {"id": "start-old-version", "match": {"vendor": "leanplum", "operation": "start",
                                          "params": {"appVersion": "0.9.1"}}, "fault": _error(429, retryAfter=30)},
    {"id": "start-android-slow", "match": {"vendor": "leanplum", "operation": "start", "app": "app_pushfake",
                                           "params": {"systemName": "Android", "appVersion": "1.0"}},
     "fault": {"kind": "latency", "delay": 2}},
    {"id": "start-bench-other-device", "match": {"vendor": "leanplum", "operation": "start", "app": "app_pushfake",
                                                 "user": "bench-user", "params": {"deviceId": "other-device"}},
     "fault": _error(503), "times": 2},
    {"id": "start-dave-third", "match": {"vendor": "leanplum", "operation": "start", "user": "dave"},
     "fault": {"kind": "reset", "process": True}, "nth": 3},
    {"id": "start-erin-window", "match": {"vendor": "leanplum", "operation": "start", "user": "erin"},
     "fault": _error(504), "window": {"from": "+0s", "until": "+86400s"}},
    {"id": "start-gold-trickle", "match": {"vendor": "leanplum", "operation": "start", "user": "bench-user",
                                           "params": {"userAttributes": "gold"}},
     "fault": {"kind": "trickle", "seconds": 2, "chunks": 4}},
    {"id": "track-purchase", "match": {"vendor": "leanplum", "operation": "track", "params": {"event": "purchase"}},
     "fault": _error(500)},
    {"id": "multi-outage", "match": {"vendor": "leanplum", "operation": "multi"}, "fault": _error(503),
     "probability": 0.2},
    {"id": "attributes-alice", "match": {"vendor": "leanplum", "operation": "setUserAttributes", "user": "alice"},
     "fault": {"kind": "malformed", "body": "<html>"}},
    {"id": "staging-app-down", "match": {"vendor": "leanplum", "app": "app_staging"},
     "sequence": [_error(502), {"kind": "reset"}], "repeat": True},
    {"id": "getvars-slow", "match": {"vendor": "leanplum", "operation": "getVars", "app": "app_pushfake"},
     "fault": {"kind": "latency", "delay": {"uniform": [0.1, 0.5]}}},
]


def write_fixtures() -> dict[str, Path]:
    """The two fixtures files: the default world, plus `journal: {enabled: false}` (baseline) or the
    20 rules (rules: the journal stays on at its default size)."""
    default = yaml.safe_load(DEFAULT_FIXTURES.read_text())
    documents = {"baseline": {**default, "journal": {"enabled": False}},
                 "rules": {**default, "faults": NON_MATCHING_RULES}}
    for name, path in SERVERS.items():
        path.write_text(json.dumps(documents[name], indent=1) + "\n")
    return SERVERS


def check_rules(fixtures: Path, workloads: list[Workload]) -> dict[str, Any]:
    """In-process, before the load: the rules load, none fires on any workload, and how far each
    workload gets into them (how many pass the vendor and operation checks)."""
    import pushfake
    from pushfake.faults.rules import RequestFacts

    fake = pushfake.Fake(seed=1, fixtures=fixtures)
    rules = fake.faults.rules()
    depth = {}
    for w in workloads:
        params = {"action": w.name, **w.body}
        facts = RequestFacts("leanplum", "POST", "/api", w.name, params["appId"], (params["userId"],), params)
        if fake.faults.pick(facts) is not None:
            raise RuntimeError(f"a fault rule matches the {w.key} workload; the benchmark's rules are out of date")
        depth[w.key] = {"vendor_matches": sum(r.match.vendor == "leanplum" for r in rules),
                        "operation_matches": sum(r.match.operation in (None, w.name) for r in rules)}
    return {"rules": len(rules), "journal_enabled": fake.journal.enabled, "journal_size": fake.journal.size,
            "rules_reaching_each_check": depth}


# --- 1. throughput: baseline vs. journal + rules ---------------------------------------------------


Server = tuple[subprocess.Popen[Any], int, Path]


def start_server(procs: Processes, name: str, fixtures: Path) -> Server:
    """`launch.py fake PORT FIXTURES`, logging to results/control-NAME-server.log."""
    port = free_port()
    log = RESULTS_DIR / f"control-{name}-server.log"
    with log.open("w") as fh:
        proc = procs.spawn([sys.executable, str(LAUNCHER), "fake", str(port), str(fixtures)],
                           stdout=fh, stderr=subprocess.STDOUT, cwd=HERE)
    wait_until_answering(proc, port, log)
    return proc, port, log


def control_get(port: int, path: str) -> Any:
    status, raw = http_get("127.0.0.1", port, f"/_pushfake{path}", timeout=10.0)
    if status != 200:
        raise RuntimeError(f"GET /_pushfake{path} answered {status}: {raw[:300]!r}")
    return json.loads(raw)


def journal_state(port: int) -> dict[str, Any]:
    """How many requests the server journaled (the newest entry's seq) and how many it keeps."""
    newest = control_get(port, "/journal?limit=1")
    last = newest["entries"][-1]["seq"] if newest["entries"] else 0
    everything = control_get(port, "/journal")
    return {"size": newest["size"], "entries": len(everything["entries"]), "last_seq": last}


def rule_counters(port: int) -> dict[str, Any]:
    rules = control_get(port, "/faults")["faults"]
    return {"rules": len(rules), "seen": sum(r["seen"] for r in rules), "fired": sum(r["fired"] for r in rules)}


def measure_throughput(settings: Settings, control: ControlSettings, procs: Processes, wrk: str) -> dict[str, Any]:
    fixtures = write_fixtures()
    servers: dict[str, Server] = {}
    try:
        for name, path in fixtures.items():
            servers[name] = start_server(procs, name, path)
        answers: dict[str, Any] = {}
        workloads: list[Workload] = []
        for name, (_, port, _) in servers.items():
            workloads, answers[name] = leanplum_setup(port)
        check = check_rules(fixtures["rules"], workloads)
        rss_start = {name: rss_mib(proc.pid) for name, (proc, _, _) in servers.items()}
        runs: list[dict[str, Any]] = []
        for workload in workloads:
            for name, (proc, port, _) in servers.items():
                runs.append(load_once(wrk, proc, port, name, workload, "warmup", settings.warmup_s))
        journal_after_warmup = journal_state(servers["rules"][1])
        names = list(servers)
        for repeat in range(control.repeats):  # interleaved; the servers' order alternates
            order = names if repeat % 2 == 0 else names[::-1]
            for workload in workloads:
                for name in order:
                    proc, port, _ = servers[name]
                    result = load_once(wrk, proc, port, name, workload, f"run{repeat + 1}", settings.duration_s)
                    runs.append(result)
                    progress(f"  {name:8} {workload.key:20} run {repeat + 1}: {result['rps']:8.0f} req/s "
                             f"p99 {result['p99_ms']:6.2f} ms non-2xx {result['non2xx']} "
                             f"server CPU {result['server_cpu_util']:4.0%}")
        rss_end = {name: rss_mib(proc.pid) for name, (proc, _, _) in servers.items()}
        journals = {name: journal_state(port) for name, (_, port, _) in servers.items()}
        counters = {name: rule_counters(port) for name, (_, port, _) in servers.items()}
    finally:
        for proc, _, _ in servers.values():
            procs.stop(proc)
    requests = {name: sum(r["requests"] for r in runs if r["target"] == name) for name in servers}
    growth = {name: rss_end[name] - rss_start[name] for name in servers}
    return {
        "client": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{settings.duration_s}s (warm-up {settings.warmup_s}s)",
        "repeats": control.repeats,
        "servers": {name: str(path.relative_to(HERE.parent)) for name, path in fixtures.items()},
        "rules_check": check,
        "answers_before_load": answers,
        "workloads": summarise(workloads, runs),
        "journal_after_warmup": journal_after_warmup,
        "journal_end": journals,
        "rule_counters_end": counters,
        "server_rss_mib": {"start": rss_start, "end": rss_end, "growth": growth},
        "requests_total": requests,  # every wrk request of the section, warm-ups included
        "rules_rss_growth_minus_baseline_mib": growth["rules"] - growth["baseline"],
        "rules_rss_after_each_run_mib": [r["server_rss_mib"] for r in runs if r["target"] == "rules"],
        "runs": runs,
    }


def summarise(workloads: list[Workload], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """{workload: {baseline: ..., rules: ..., throughput_ratio, ...}}, medians over the repeats."""
    out: dict[str, Any] = {}
    for w in workloads:
        rows = {name: [r for r in runs if r["workload"] == w.name and r["target"] == name and r["phase"] != "warmup"]
                for name in SERVERS}
        per_server = {name: {**run_medians(mine), "rps_runs": [r["rps"] for r in mine]}
                      for name, mine in rows.items()}
        # The same repeat's two runs are next to each other: their ratio is less exposed to drift.
        paired = [b["rps"] / a["rps"] for a, b in zip(rows["baseline"], rows["rules"], strict=True)]
        out[w.key] = {
            **per_server,
            "throughput_ratio": per_server["rules"]["rps"] / per_server["baseline"]["rps"],
            "paired_ratio_median": statistics.median(paired), "paired_ratios": paired,
            "cpu_per_request_ratio": per_server["rules"]["server_cpu_us_per_request"]
            / per_server["baseline"]["server_cpu_us_per_request"],
            "cpu_us_per_request_extra": per_server["rules"]["server_cpu_us_per_request"]
            - per_server["baseline"]["server_cpu_us_per_request"],
        }
    return out


# --- 2. journal memory over a million in-process requests (runs in a child process) ---------------

# A Leanplum sendMessage body as it arrives; `values.points` varies, so no two entries are alike.
BODY_TEMPLATE = (b'{"appId":"app_pushfake","clientKey":"prod_pushfake","userId":"alice",'
                 b'"messageId":1001,"values":{"points":%d}}')


async def _requests(fake: Any, count: int, through_traffic: bool, on_sample: Any = None) -> float:
    """`count` requests, each with its own decoded body, params and response body; seconds taken.
    `through_traffic`: via `fake.traffic.run` (rules, journal), else the handler awaited directly."""
    from starlette.responses import Response

    from pushfake.faults.rules import RequestFacts
    from pushfake.plumbing import Ask
    from pushfake.traffic import Handled

    class Vendor:  # what traffic.run asks of a vendor: its answer, its error body
        response = Response(b"{}")

        async def respond(self, ask: Ask) -> Handled:
            return Handled(self.response)

        def error(self, status: int, message: str | None) -> Response:
            return Response(json.dumps({"response": [{"success": False, "error": {"message": message}}]}), status)

    vendor = Vendor()

    run = fake.traffic.run
    loads = json.loads
    started = time.perf_counter()
    for i in range(1, count + 1):
        raw = BODY_TEMPLATE % i
        body = loads(raw)
        params = {"action": "sendMessage", **body}  # query and body merged, as the routes do
        vendor.response = Response(b'{"response":[{"success":true,"messagesSent":%d}]}' % i, 200,
                                   media_type="application/json;charset=utf-8")  # each request its own answer
        ask = Ask(RequestFacts("leanplum", "POST", "/api", "sendMessage", "app_pushfake", ("alice",), params), params)
        if through_traffic:
            await run(vendor, ask, raw)
        else:
            await vendor.respond(ask)
        if on_sample is not None and (i == JOURNAL_SIZE or i % SAMPLE_EVERY == 0):
            on_sample(i, time.perf_counter() - started)
    return time.perf_counter() - started


def journal_child(requests: int) -> dict[str, Any]:
    import pushfake

    fake = pushfake.Fake(seed=1, clock=pushfake.ManualClock())
    if not fake.journal.enabled or fake.journal.size != JOURNAL_SIZE or fake.faults.rules():
        raise RuntimeError("the default fake has no journal at its default size, or has fault rules")
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    gc.collect()
    samples: list[dict[str, Any]] = []

    def sample(done: int, elapsed: float) -> None:
        samples.append({"requests": done, "rss_mib": rss_mib(), "journal_entries": len(fake.journal),
                        "elapsed_s": elapsed})

    rss_before = rss_mib()
    pauses.active = True
    elapsed = asyncio.run(_requests(fake, requests, True, sample))
    pauses.active = False
    entries, last_seq = len(fake.journal), fake.journal.last_seq()
    gc_summary, gc_ms = pauses.summary(), pauses.total_ms
    rss_end = samples[-1]["rss_mib"]
    peak = rss_mib(field="VmHWM")
    floor_count = min(FLOOR_REQUESTS, requests)
    floor_s = asyncio.run(_requests(fake, floor_count, False))
    by_count = {s["requests"]: s for s in samples}
    start = by_count.get(GROWTH_FROM, samples[0])
    after = [s["rss_mib"] for s in samples if s["requests"] >= start["requests"]]
    bound = by_count[JOURNAL_SIZE]
    return {
        "requests": requests, "journal_size": fake.journal.size, "journal_entries_end": entries,
        "journal_last_seq": last_seq,
        "rss_before_mib": rss_before, "rss_at_bound_mib": bound["rss_mib"], "rss_end_mib": rss_end,
        "peak_rss_mib": peak,
        "growth_from": start["requests"], "growth_from_rss_mib": start["rss_mib"],
        "growth_mib": rss_end - start["rss_mib"], "range_after_growth_from_mib": max(after) - min(after),
        "bound_minus_before_mib": bound["rss_mib"] - rss_before,
        "bytes_per_entry_at_bound": (bound["rss_mib"] - rss_before) * 2**20 / JOURNAL_SIZE,
        "elapsed_s": elapsed, "requests_per_s": requests / elapsed,
        "us_per_request": elapsed * 1e6 / requests,
        "floor_requests": floor_count, "floor_requests_per_s": floor_count / floor_s,
        "floor_us_per_request": floor_s * 1e6 / floor_count,
        "traffic_run_us_per_request": elapsed * 1e6 / requests - floor_s * 1e6 / floor_count,
        "gc_ms": gc_ms, "gc": gc_summary,
        "samples": samples,
    }


def measure_journal_memory(control: ControlSettings) -> dict[str, Any]:
    return run_child("control-journal", control.requests)


# --- 3. where the time goes: in-process CPU per request, journal and rules apart ---------------------

BREAKDOWN_CONFIGS = {  # name -> (journal on, 20 rules)
    "neither": (False, False), "rules only": (False, True), "journal only": (True, False), "both": (True, True),
}


async def _asgi_post(app: Any, query: bytes, body: bytes) -> int:
    """One POST /api straight into the ASGI app (no server, no client): its status."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api", "raw_path": b"/api", "query_string": query, "root_path": "",
             "headers": [(b"host", b"pushfake"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
    received = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _breakdown_requests(fake: Any, workload: str, fill: int, measure: int) -> dict[str, Any]:
    import pushfake

    app = pushfake.create_app(fake)
    query, body = f"action={workload}".encode(), json.dumps(BODIES[workload], separators=(",", ":")).encode()
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    statuses: dict[int, int] = {}
    phases: dict[str, dict[str, Any]] = {}
    # The app's lifespan runs, as under uvicorn: on real time it freezes what survives a full
    # collection (pushfake.app._freeze_stored_state); the loop yields every 50 requests so it can.
    async with app.router.lifespan_context(app):
        for phase, count in (("fill", fill), ("measure", measure)):
            pauses.reset()
            pauses.active = True
            collections = [g["collections"] for g in gc.get_stats()]
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(count):
                status = await _asgi_post(app, query, body)
                statuses[status] = statuses.get(status, 0) + 1
                if i % 50 == 49:
                    await asyncio.sleep(0)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            pauses.active = False
            summary = pauses.summary()
            phases[phase] = {
                "requests": count, "cpu_us_per_request": cpu * 1e6 / count, "wall_us_per_request": wall * 1e6 / count,
                "gc_us_per_request": pauses.total_ms * 1000 / count,
                "gc_max_pause_ms": max(v["max_ms"] for v in summary.values()), "gc": summary,
                "collections": [g["collections"] - n for g, n in zip(gc.get_stats(), collections, strict=True)],
                "journal_entries": len(fake.journal),
            }
    gc.callbacks.remove(pauses)
    return {**phases["measure"], "fill": phases["fill"], "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "gc_frozen_end": gc.get_freeze_count()}


def breakdown_child(workload: str, journal: int, rules: int, fill: int, measure: int) -> dict[str, Any]:
    import pushfake

    fake = pushfake.Fake(seed=1)  # the real clock, as a server runs
    fake.journal.enabled = bool(journal)
    for rule in NON_MATCHING_RULES if rules else []:
        fake.faults.add(rule)
    return {"workload": workload, "journal": bool(journal), "rules": len(fake.faults.rules()),
            **asyncio.run(_breakdown_requests(fake, workload, fill, measure))}


def measure_breakdown(control: ControlSettings, workloads: list[str]) -> dict[str, Any]:
    """Each workload under each configuration, in its own fresh interpreter."""
    out: dict[str, Any] = {"fill_requests": control.breakdown_fill, "measured_requests": control.breakdown_measure,
                           "workloads": {}}
    for workload in workloads:
        rows = {}
        for name, (journal, rules) in BREAKDOWN_CONFIGS.items():
            rows[name] = run_child("control-breakdown", workload, int(journal), int(rules),
                                   control.breakdown_fill, control.breakdown_measure)
            progress(f"  in-process leanplum.{workload:12} {name:13} {rows[name]['cpu_us_per_request']:6.1f} µs CPU "
                     f"per request, GC {rows[name]['gc_us_per_request']:5.1f} µs")
        base = rows["neither"]["cpu_us_per_request"]
        out["workloads"][f"leanplum.{workload}"] = {
            "configs": rows,
            "extra_cpu_us": {name: row["cpu_us_per_request"] - base for name, row in rows.items()},
            "extra_gc_us": {name: row["gc_us_per_request"] - rows["neither"]["gc_us_per_request"]
                            for name, row in rows.items()},
        }
    return out


# --- the section ---------------------------------------------------------------------------------


def measure_control(settings: Settings, procs: Processes, wrk: str, quick: bool) -> dict[str, Any]:
    control = QUICK if quick else FULL
    progress(f"control: journal + 20 non-matching fault rules vs. neither, wrk x {control.repeats} ...")
    out = {"throughput": measure_throughput(settings, control, procs, wrk)}
    progress(f"control: journal memory over {control.requests:,} in-process requests ...")
    out["journal_memory"] = measure_journal_memory(control)
    progress("control: in-process CPU per request, journal and rules apart ...")
    out["breakdown"] = measure_breakdown(control, [w.split(".", 1)[1] for w in out["throughput"]["workloads"]])
    return out


def targets(control: dict[str, Any]) -> list[tuple[str, float, str, float]]:
    checks: list[tuple[str, float, str, float]] = [
        (f"control {key} throughput, journal + 20 rules / baseline", row["throughput_ratio"], ">=",
         MIN_THROUGHPUT_RATIO) for key, row in control["throughput"]["workloads"].items()]
    mem = control["journal_memory"]
    checks.append((f"control journal RSS growth, {mem['growth_from']:,} to {mem['requests']:,} requests (MiB)",
                   mem["growth_mib"], "<=", MAX_JOURNAL_GROWTH_MIB))
    checks.append((f"control journal entries after {mem['requests']:,} requests", mem["journal_entries_end"], "==",
                   JOURNAL_SIZE))
    return checks


def print_summary(control: dict[str, Any]) -> None:
    t = control["throughput"]
    check = t["rules_check"]
    print(f"control: baseline (journal off, no rules) vs. rules (journal on, size {check['journal_size']:,}, "
          f"{check['rules']} fault rules that never match); {t['client']}, median of {t['repeats']}")
    print(f"{'workload':21} {'base req/s':>10} {'rules req/s':>11} {'ratio':>6} {'paired':>6} {'base p50':>8} "
          f"{'base p99':>8} {'rules p50':>9} {'rules p99':>9} {'CPU µs/req b/r':>15} {'non-2xx b/r':>11}")
    for key, row in t["workloads"].items():
        base, rules = row["baseline"], row["rules"]
        print(f"{key:21} {base['rps']:10.0f} {rules['rps']:11.0f} {row['throughput_ratio']:6.3f} "
              f"{row['paired_ratio_median']:6.3f} {base['p50_ms']:8.2f} {base['p99_ms']:8.2f} "
              f"{rules['p50_ms']:9.2f} {rules['p99_ms']:9.2f} {base['server_cpu_us_per_request']:7.0f}/"
              f"{rules['server_cpu_us_per_request']:<7.0f} {base['non2xx']:>5}/{rules['non2xx']}")
        depth = check["rules_reaching_each_check"][key]
        print(f"{'':21} rules past the vendor check {depth['vendor_matches']}, past the operation check "
              f"{depth['operation_matches']}; CPU per request x{row['cpu_per_request_ratio']:.3f} "
              f"({row['cpu_us_per_request_extra']:+.1f} µs)")
    j, c = t["journal_end"], t["rule_counters_end"]["rules"]
    rss, req = t["server_rss_mib"], t["requests_total"]
    warm = t["journal_after_warmup"]
    if warm["entries"] < warm["size"]:
        print(f"  NOTE: the rules server's journal held {warm['entries']:,}/{warm['size']:,} entries after the "
              "warm-up: the first measured runs include it filling")
    print(f"  after the runs: rules server journal {j['rules']['entries']:,}/{j['rules']['size']:,} entries "
          f"({j['rules']['last_seq']:,} requests journaled), baseline journal {j['baseline']['entries']} entries; "
          f"rules seen {c['seen']}, fired {c['fired']}")
    print(f"  server RSS over the section: rules {rss['start']['rules']:.0f} -> {rss['end']['rules']:.0f} MiB "
          f"({req['rules']:,} requests), baseline {rss['start']['baseline']:.0f} -> {rss['end']['baseline']:.0f} MiB "
          f"({req['baseline']:,} requests); rules grew {t['rules_rss_growth_minus_baseline_mib']:+.1f} MiB more "
          "(both keep every delivery)")
    b = control["breakdown"]
    print(f"control in-process breakdown (ASGI app called directly, fresh process per row, lifespan on): CPU µs per "
          f"request over {b['measured_requests']:,} requests once the journal is at its bound, and over the first "
          f"{b['fill_requests']:,} (the journal filling, as after every reset)")
    print(f"{'':21} {'config':13} {'CPU µs':>7} {'extra':>6} {'GC µs':>6} {'fill CPU':>8} {'fill GC':>7} "
          f"{'fill max GC pause':>17}")
    for key, row in b["workloads"].items():
        for name, r in row["configs"].items():
            print(f"{key:21} {name:13} {r['cpu_us_per_request']:7.1f} {row['extra_cpu_us'][name]:+6.1f} "
                  f"{r['gc_us_per_request']:6.1f} {r['fill']['cpu_us_per_request']:8.1f} "
                  f"{r['fill']['gc_us_per_request']:7.1f} {r['fill']['gc_max_pause_ms']:14.0f} ms")
    m = control["journal_memory"]
    print(f"control journal in-process: {m['requests']:,} requests via traffic.run, {m['requests_per_s']:,.0f} req/s "
          f"({m['us_per_request']:.2f} µs each; same loop without traffic.run {m['floor_us_per_request']:.2f} µs, "
          f"so traffic.run {m['traffic_run_us_per_request']:.2f} µs); GC {m['gc_ms']:.0f} ms")
    print(f"  RSS {m['rss_before_mib']:.1f} MiB before, {m['rss_at_bound_mib']:.1f} at the bound ({JOURNAL_SIZE:,} "
          f"requests, ~{m['bytes_per_entry_at_bound']:.0f} B/entry), {m['growth_from_rss_mib']:.1f} at "
          f"{m['growth_from']:,}, {m['rss_end_mib']:.1f} at the end (range after {m['growth_from']:,}: "
          f"{m['range_after_growth_from_mib']:.2f} MiB); journal {m['journal_entries_end']:,} entries, "
          f"last seq {m['journal_last_seq']:,}")
