"""Bounded memory and slow clients (issue 18): what the fake holds at its bounds, whether a long run
stays flat, and whether slow clients can keep the health check out.

1. *Journal at its bounds* (fresh subprocess, no HTTP): `Fake(seed=1, clock=ManualClock())` with
   the default journal (10,000 entries, 64 MiB, 64 KiB kept of each body, answer and parameters)
   and `journal_requests` Leanplum `start` requests of 1 MiB each (a long `userAttributes.bio`;
   the body, its decoded parameters and an answer, fresh per request) through
   `fake.traffic.run`. RSS (after `gc.collect()`) before, every 5% of the way and at the end;
   the journal's own count of the bytes it holds. Unbounded by bytes, 10,000 such entries would
   hold about 19 GB. Target: RSS growth <= 1.25 x the byte bound + 16 MiB.
2. *Store at its bounds* (fresh subprocess, in-process `httpx.AsyncClient` over
   `httpx.ASGITransport`, journal off: it has its own row): each kind filled to its bound, then to
   twice and three times it, RSS after each: Leanplum events (`multi` of 500 `track` actions over
   50 users), D·engage sends (sendInstant that reaches no device, so only sends grow), access tokens (logins), then deliveries (D·engage
   sendInstant to a segment of gold contacts, 10,000 or the bound / 10, added just before);
   `fake.run_until_idle()` after each call, as a suite settles its deliveries. Defaults: 100,000 deliveries and
   events, 10,000 sends and tokens (`--quick`: a twentieth). Target: each kind's RSS growth from
   twice its bound to three times it <= 8 MiB (the first churn past the bound sets a one-time
   high-water mark), and `GET /_pushfake/stats` says the bound held and the rest
   dropped.
3. *Long run* (`pushfake serve`, default bounds; `--quick` shrinks them with `--retention` and
   `--journal-size` so they are reached early): `long_requests` mixed requests (default
   1,000,000, about 6-8 minutes on 2 cores; `--long-requests N` changes it) over 8 keep-alive
   connections: Leanplum start (1,000 users), track, sendMessage; D·engage login, sendInstant
   (with the newest token a login returned); control-plane health and journal. Server RSS every
   2% of the requests. Target: RSS growth over the second half <= 32 MiB (every default bound is
   reached by about 40% of the way: 10,000 entries, 100,000 deliveries at 0.6 per request,
   100,000 events at 0.25 per request).
4. *Slow clients* (`pushfake serve --header-timeout 2`): health-check latency (a new connection
   each, 50 sequential checks) with no other client, then with `slow_clients` slow-loris
   connections (headers sent a byte every 0.5 s, never finished), and how many of those the
   server closed within the header deadline + 2 s; then the same under `ulimit -n 256` (the case
   reported) with 400 slow clients. Target: no failed health check and p99 <= 100 ms, both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from common import (
    RESULTS_DIR, Processes, free_port, progress, pushfake_command, rss_mib, run_child, wait_until_answering,
)

MiB = 1024 * 1024
APP, KEY = "app_pushfake", "prod_pushfake"
LOGIN = {"userkey": "pushfake", "password": "pushfake-secret"}
# From twice each kind's bound to three times it: the first churn past the bound leaves the
# allocator a one-time high-water mark (measured: +8 to +17 MiB for 100,000 deliveries), after
# which a bounded kind stays flat.
MAX_STORE_GROWTH_MIB = 8.0
MAX_LONG_RUN_GROWTH_MIB = 32.0  # over the long run's second half
MAX_HEALTH_P99_MS = 100.0


@dataclass(frozen=True)
class ResourceSettings:
    journal_requests: int
    bound_divisor: int  # the store section's bounds: the defaults divided by this
    long_requests: int
    long_quick_bounds: bool
    slow_clients: int
    long_connections: int = 8
    health_checks: int = 50
    header_timeout_s: float = 2.0


FULL = ResourceSettings(journal_requests=2_000, bound_divisor=1, long_requests=1_000_000, long_quick_bounds=False,
                        slow_clients=1_000)
QUICK = ResourceSettings(journal_requests=1_200, bound_divisor=20, long_requests=20_000, long_quick_bounds=True,
                         slow_clients=200)
QUICK_RETENTION = ["--retention", "deliveries=2000", "--retention", "events=2000", "--retention", "sends=200",
                   "--retention", "tokens=200", "--journal-size", "1000"]


def measure_resources(settings: ResourceSettings, procs: Processes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    progress(f"resources: journal with {settings.journal_requests:,} requests of 1 MiB ...")
    out["journal"] = run_child("resources-journal", settings.journal_requests)
    progress("resources: store kinds to their bounds and twice ...")
    out["store"] = run_child("resources-store", settings.bound_divisor)
    progress(f"resources: long run of {settings.long_requests:,} mixed requests against pushfake serve ...")
    out["long_run"] = long_run(settings, procs)
    progress(f"resources: health checks beside {settings.slow_clients:,} slow clients ...")
    out["slow_clients"] = slow_clients(settings, procs)
    return out


# --- 1. the journal at its bounds ---------------------------------------------------------------

def journal_child(requests: int) -> dict[str, Any]:
    import pushfake

    fake = pushfake.Fake(seed=1, clock=pushfake.ManualClock())
    gc.collect()
    before = rss_mib()
    samples: list[dict[str, Any]] = []
    started = time.perf_counter()
    asyncio.run(_journal_requests(fake, requests, samples))
    elapsed = time.perf_counter() - started
    gc.collect()
    end = rss_mib()
    stats = fake.journal.stats()
    return {
        "requests": requests, "request_bytes": samples[0]["request_bytes"] if samples else 0,
        "rss_before_mib": before, "rss_end_mib": end, "rss_growth_mib": end - before,
        "peak_rss_mib": rss_mib(field="VmHWM"), "journal": stats,
        "journal_bytes_mib": stats["bytes"] / MiB, "max_bytes_mib": stats["maxBytes"] / MiB,
        "unbounded_estimate_gib": min(requests, stats["maxEntries"]) * 3 * MiB / 2**30,
        "elapsed_s": elapsed, "samples": samples,
    }


async def _journal_requests(fake: Any, count: int, samples: list[dict[str, Any]]) -> None:
    from starlette.responses import Response

    from pushfake.faults.rules import RequestFacts
    from pushfake.plumbing import Ask
    from pushfake.traffic import Handled

    class Vendor:  # what traffic.run asks of a vendor: its answer, its error body
        response = Response(b"{}")

        async def respond(self, ask: Ask) -> Handled:
            return Handled(self.response)

        def error(self, status: int, message: str | None) -> Response:
            return Response(b"{}", status)

    vendor = Vendor()

    every = max(1, count // 20)
    filler = MiB - 200
    for i in range(1, count + 1):
        raw = json.dumps({"appId": APP, "clientKey": KEY, "userId": f"u{i % 100}",
                          "userAttributes": {"bio": f"{i:08d}" + "x" * filler}}).encode()
        params = {"action": "start", **json.loads(raw)}
        vendor.response = Response(b'{"response":[{"success":true,"n":%d}]}' % i, 200, media_type="application/json")
        facts = RequestFacts("leanplum", "POST", "/api", "start", APP, (f"u{i % 100}",), params)
        await fake.traffic.run(vendor, Ask(facts, params), raw)
        del raw, params
        if i % every == 0 or i == count:
            gc.collect()
            samples.append({"requests": i, "rss_mib": rss_mib(), "entries": len(fake.journal),
                            "journal_bytes_mib": fake.journal.bytes / MiB, "request_bytes": filler + 200})


# --- 2. the store at its bounds -----------------------------------------------------------------

def store_child(divisor: int) -> dict[str, Any]:
    import pushfake
    from pushfake.core.retention import DEFAULT_BOUNDS

    bounds = {kind: max(10, bound // divisor) for kind, bound in DEFAULT_BOUNDS.items()}
    fake = pushfake.Fake(seed=1, clock=pushfake.ManualClock(), retention=bounds)
    return asyncio.run(_fill_store(fake, bounds))


async def _fill_store(fake: Any, bounds: dict[str, int]) -> dict[str, Any]:
    import httpx

    import pushfake
    from dengage_workloads import GOLD_SEGMENT, SEND_BODY, add_gold_contacts

    # A send that reaches no device (the beta table's one mobile device has never engaged), so
    # the sends row counts sends alone, not the deliveries they would make.
    NO_DELIVERY_SEND = {**SEND_BODY, "tableId": "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d",
                        "applicationIds": ["8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"], "useOnlyEngagedTokens": True}

    contacts = min(10_000, max(10, bounds["deliveries"] // 10))
    # The journal has its own bound and its own row above; left on, its growth (a 30 KB multi per
    # call, up to 64 MiB) would be counted against the kind being filled.
    fake.journal.enabled = False
    transport = httpx.ASGITransport(app=pushfake.create_app(fake))
    out: dict[str, Any] = {"bounds": bounds, "segment_contacts": contacts, "kinds": {}}
    async with httpx.AsyncClient(transport=transport, base_url="http://pushfake") as client:
        token = (await client.post("/rest/login", json=LOGIN)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        users = [f"bench-{i}" for i in range(100)]
        statuses: dict[int, int] = {}

        def note(response: httpx.Response) -> None:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        async def deliveries() -> None:
            note(await client.post("/rest/push/sendInstant", json={**SEND_BODY, "segmentId": GOLD_SEGMENT},
                                   headers=auth))

        async def events() -> None:  # a multi names at most 50 users (multiMaxUsers)
            data = [{"action": "track", "userId": users[i % 50 + 50 * (len(statuses) % 2)], "event": f"e{i % 7}"}
                    for i in range(500)]
            note(await client.post(f"/api?action=multi&appId={APP}&clientKey={KEY}", json={"data": data}))

        async def sends() -> None:
            note(await client.post("/rest/push/sendInstant", json=NO_DELIVERY_SEND, headers=auth))

        async def tokens() -> None:
            note(await client.post("/rest/login", json=LOGIN))

        per_call = {"deliveries": contacts + 2, "events": 500, "sends": 1, "tokens": 1}
        for kind, call in (("events", events), ("sends", sends), ("tokens", tokens), ("deliveries", deliveries)):
            if kind == "deliveries":  # last: the sends before reach the default world's 4 devices only
                add_gold_contacts(fake, contacts)
                token = (await client.post("/rest/login", json=LOGIN)).json()["access_token"]
                auth["Authorization"] = f"Bearer {token}"  # the first one went with the tokens' bound
            gc.collect()
            row: dict[str, Any] = {"rss_before_mib": rss_mib(), "calls_to_bound": -(-bounds[kind] // per_call[kind])}
            started = time.perf_counter()
            for _ in range(row["calls_to_bound"]):
                await call()
                fake.run_until_idle()  # as a suite settles its deliveries; the gateway keeps none
            gc.collect()
            row["rss_at_bound_mib"] = rss_mib()
            for _ in range(row["calls_to_bound"]):
                await call()
                fake.run_until_idle()
            gc.collect()
            row["rss_at_twice_mib"] = rss_mib()
            for _ in range(row["calls_to_bound"]):
                await call()
                fake.run_until_idle()
            gc.collect()
            row["rss_at_thrice_mib"] = rss_mib()
            row["elapsed_s"] = time.perf_counter() - started
            row["growth_at_bound_mib"] = row["rss_at_bound_mib"] - row["rss_before_mib"]
            row["growth_bound_to_twice_mib"] = row["rss_at_twice_mib"] - row["rss_at_bound_mib"]
            row["growth_twice_to_thrice_mib"] = row["rss_at_thrice_mib"] - row["rss_at_twice_mib"]
            row["stats"] = (await client.get("/_pushfake/stats")).json()[kind]
            out["kinds"][kind] = row
        out["statuses"] = statuses
        out["stats"] = (await client.get("/_pushfake/stats")).json()
    return out


# --- 3. a long run of mixed requests against pushfake serve -----------------------------------------

def _request(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> bytes:
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", "Host: pushfake", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class Mix:
    """The long run's requests in a fixed rotation (weights out of 20)."""

    def __init__(self) -> None:
        self.token = ""
        self.n = 0
        self.kinds = (["start"] * 5 + ["track"] * 5 + ["sendMessage"] * 4 + ["login"] + ["sendInstant"] * 2
                      + ["health"] * 2 + ["journal"])

    def next(self) -> tuple[str, bytes]:
        self.n += 1
        kind, n = self.kinds[self.n % len(self.kinds)], self.n
        creds = {"appId": APP, "clientKey": KEY}
        if kind == "start":
            return kind, _request("POST", "/api?action=start", {**creds, "userId": f"user-{n % 1000}",
                                                                 "deviceId": f"device-{n % 1000}"})
        if kind == "track":
            return kind, _request("POST", "/api?action=track", {**creds, "userId": f"user-{n % 1000}",
                                                                 "event": f"event-{n % 13}", "value": n % 100})
        if kind == "sendMessage":
            return kind, _request("POST", "/api?action=sendMessage", {**creds, "userId": ("alice", "bob")[n % 2],
                                                                       "messageId": 1001, "values": {"points": n}})
        if kind == "login":
            return kind, _request("POST", "/rest/login", LOGIN)
        if kind == "sendInstant":
            return kind, _request("POST", "/rest/push/sendInstant", {"content": {"title": "Hi", "message": f"#{n}"}},
                                  {"Authorization": f"Bearer {self.token}"})
        if kind == "health":
            return kind, _request("GET", "/_pushfake/health")
        return kind, _request("GET", "/_pushfake/journal?limit=5")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _long_run(port: int, pid: int, total: int, connections: int) -> dict[str, Any]:
    mix = Mix()
    _, first_login = await _one(port, _request("POST", "/rest/login", LOGIN))
    mix.token = json.loads(first_login)["access_token"]
    done = 0
    statuses: dict[str, dict[int, int]] = {}
    samples: list[dict[str, Any]] = [{"requests": 0, "rss_mib": rss_mib(pid)}]
    every = max(1, total // 50)
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while done < total:
                kind, raw = mix.next()
                writer.write(raw)
                status, body = await _read_response(reader)
                done += 1
                per_kind = statuses.setdefault(kind, {})
                per_kind[status] = per_kind.get(status, 0) + 1
                if kind == "login" and status == 200:
                    mix.token = json.loads(body)["access_token"]
                if done % every == 0:
                    samples.append({"requests": done, "rss_mib": rss_mib(pid),
                                    "elapsed_s": time.perf_counter() - started})
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    _, stats = await _one(port, _request("GET", "/_pushfake/stats"))
    half = [s for s in samples if s["requests"] >= total // 2]
    return {"requests": done, "elapsed_s": elapsed, "requests_per_s": done / elapsed, "connections": connections,
            "statuses": statuses, "samples": samples, "stats": json.loads(stats),
            "rss_start_mib": samples[0]["rss_mib"], "rss_half_mib": half[0]["rss_mib"],
            "rss_end_mib": samples[-1]["rss_mib"], "rss_max_mib": max(s["rss_mib"] for s in samples),
            "growth_second_half_mib": samples[-1]["rss_mib"] - half[0]["rss_mib"],
            "range_second_half_mib": max(s["rss_mib"] for s in half) - min(s["rss_mib"] for s in half)}


async def _one(port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        return await _read_response(reader)
    finally:
        writer.close()


def _serve(procs: Processes, name: str, args: list[str], nofile: int | None = None) -> tuple[Any, int]:
    port = free_port()
    log = RESULTS_DIR / f"resources-{name}-server.log"

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    handle = log.open("w")
    proc = procs.spawn([pushfake_command(), "serve", "--port", str(port), "--log-level", "error", *args],
                       stdout=handle, stderr=subprocess.STDOUT, preexec_fn=limit)
    handle.close()
    wait_until_answering(proc, port, log)
    return proc, port


def long_run(settings: ResourceSettings, procs: Processes) -> dict[str, Any]:
    proc, port = _serve(procs, "long-run", QUICK_RETENTION if settings.long_quick_bounds else [])
    try:
        out = asyncio.run(_long_run(port, proc.pid, settings.long_requests, settings.long_connections))
    finally:
        procs.stop(proc)
    out["bounds"] = "quick (--retention, --journal-size 1000)" if settings.long_quick_bounds else "defaults"
    return out


# --- 4. slow clients ------------------------------------------------------------------------------

async def _health_ms(port: int, checks: int) -> dict[str, Any]:
    times, failures = [], 0
    for _ in range(checks):
        started = time.perf_counter()
        try:
            status, _ = await asyncio.wait_for(_one(port, _request("GET", "/_pushfake/health")), 3.0)
            if status != 200:
                failures += 1
                continue
            times.append((time.perf_counter() - started) * 1000)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            failures += 1
    ordered = sorted(times) or [float("nan")]
    return {"checks": checks, "failures": failures, "median_ms": statistics.median(ordered),
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], "max_ms": ordered[-1]}


async def _with_slow_clients(port: int, count: int, checks: int, deadline_s: float) -> dict[str, Any]:
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    refused = 0
    for _ in range(count):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 3.0)
            writer.write(b"GET /_pushfake/health HTTP/1.1\r\nHost: pushfake\r\n")
            opened.append((reader, writer))
        except (OSError, asyncio.TimeoutError):
            refused += 1

    async def trickle() -> None:
        while True:
            await asyncio.sleep(0.5)
            for _, writer in opened:
                if not writer.is_closing():
                    with contextlib.suppress(OSError):
                        writer.write(b"X")

    trickler = asyncio.create_task(trickle())
    started = time.perf_counter()
    try:
        health = await _health_ms(port, checks)
        left = deadline_s + 2 - (time.perf_counter() - started)
        if left > 0:
            await asyncio.sleep(left)
        closed = 0
        for reader, _ in opened:
            try:
                closed += await asyncio.wait_for(reader.read(1), 0.01) == b""
            except asyncio.TimeoutError:
                pass
            except OSError:
                closed += 1
    finally:
        trickler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trickler
        for _, writer in opened:
            writer.close()
    return {"slow_clients": count, "opened": len(opened), "refused_or_evicted_at_connect": refused,
            "health": health, "closed_by_server_within_deadline": closed}


def slow_clients(settings: ResourceSettings, procs: Processes) -> dict[str, Any]:
    own_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    count = min(settings.slow_clients, own_limit - 100)
    timeout = str(settings.header_timeout_s)
    out: dict[str, Any] = {"header_timeout_s": settings.header_timeout_s}
    proc, port = _serve(procs, "slow-clients", ["--header-timeout", timeout])
    try:
        out["baseline"] = asyncio.run(_health_ms(port, settings.health_checks))
        out["slow"] = asyncio.run(_with_slow_clients(port, count, settings.health_checks, settings.header_timeout_s))
    finally:
        procs.stop(proc)
    proc, port = _serve(procs, "slow-clients-ulimit", ["--header-timeout", timeout], nofile=256)
    try:
        out["ulimit_256"] = asyncio.run(_with_slow_clients(port, min(400, own_limit - 100), settings.health_checks,
                                                           settings.header_timeout_s))
    finally:
        procs.stop(proc)
    return out


# --- targets and summary --------------------------------------------------------------------------

def targets(r: dict[str, Any]) -> list[tuple[str, float, str, float]]:
    journal = r["journal"]
    checks = [(f"journal RSS growth for {journal['requests']:,} requests of 1 MiB (MiB)", journal["rss_growth_mib"],
               "<=", 1.25 * journal["max_bytes_mib"] + 16)]
    for kind, row in r["store"]["kinds"].items():
        checks.append((f"store {kind}: RSS growth from twice the bound to three times it (MiB)",
                       row["growth_twice_to_thrice_mib"], "<=", MAX_STORE_GROWTH_MIB))
    long = r["long_run"]
    checks.append((f"long run of {long['requests']:,} mixed requests: RSS growth over the second half (MiB)",
                   long["growth_second_half_mib"], "<=", MAX_LONG_RUN_GROWTH_MIB))
    slow = r["slow_clients"]
    for name in ("slow", "ulimit_256"):
        row = slow[name]
        label = f"health beside {row['slow_clients']:,} slow clients" + (" under ulimit -n 256" if name != "slow" else "")
        checks.append((f"{label}: failed checks", row["health"]["failures"], "==", 0))
        checks.append((f"{label}: p99 (ms)", row["health"]["p99_ms"], "<=", MAX_HEALTH_P99_MS))
    return checks


def print_summary(r: dict[str, Any]) -> None:
    j = r["journal"]
    print(f"resources: journal, {j['requests']:,} requests of {j['request_bytes'] / MiB:.1f} MiB: RSS "
          f"+{j['rss_growth_mib']:.0f} MiB (peak {j['peak_rss_mib']:.0f}), journal holds {j['journal']['held']:,} "
          f"entries, {j['journal_bytes_mib']:.1f} of {j['max_bytes_mib']:.0f} MiB, dropped {j['journal']['dropped']:,} "
          f"(by entries alone: ~{j['unbounded_estimate_gib']:.1f} GiB)")
    for kind, row in r["store"]["kinds"].items():
        s = row["stats"]
        print(f"  store {kind:10} bound {r['store']['bounds'][kind]:>7,}: RSS +{row['growth_at_bound_mib']:.1f} MiB "
              f"to the bound, +{row['growth_bound_to_twice_mib']:.1f} MiB from it to twice, "
              f"+{row['growth_twice_to_thrice_mib']:.1f} MiB from twice to three times; held {s['held']:,}, "
              f"dropped {s['dropped']:,} ({row['elapsed_s']:.1f} s)")
    long = r["long_run"]
    print(f"  long run ({long['bounds']}): {long['requests']:,} requests in {long['elapsed_s']:.0f} s "
          f"({long['requests_per_s']:.0f}/s); server RSS {long['rss_start_mib']:.0f} -> {long['rss_half_mib']:.0f} "
          f"(half) -> {long['rss_end_mib']:.0f} MiB, second half {long['growth_second_half_mib']:+.1f} MiB "
          f"(range {long['range_second_half_mib']:.1f})")
    non2xx = {k: {s: n for s, n in v.items() if not 200 <= int(s) < 300} for k, v in long["statuses"].items()}
    non2xx = {k: v for k, v in non2xx.items() if v}
    if non2xx:
        print(f"    non-2xx by kind: {non2xx}")
    slow = r["slow_clients"]
    base = slow["baseline"]
    print(f"  slow clients (header deadline {slow['header_timeout_s']:g} s): health alone median "
          f"{base['median_ms']:.1f} / p99 {base['p99_ms']:.1f} ms")
    for name in ("slow", "ulimit_256"):
        row = slow[name]
        h = row["health"]
        print(f"    {name:10} {row['slow_clients']:,} slow ({row['opened']:,} opened): health median "
              f"{h['median_ms']:.1f} / p99 {h['p99_ms']:.1f} ms, {h['failures']} failed; "
              f"{row['closed_by_server_within_deadline']:,} closed by the server in time")


if __name__ == "__main__":  # python bench/resources.py [--quick]: this section alone
    from common import exit_cleanly_on_signals

    exit_cleanly_on_signals()
    chosen = QUICK if "--quick" in sys.argv else FULL
    processes = Processes()
    try:
        result = measure_resources(chosen, processes)
    finally:
        processes.stop_all()
    print_summary(result)
