"""Device gateway: deliveries per second on the virtual clock, memory of pending deliveries, and a
live server completing a 10,000-device send while it keeps answering other requests.

1. Throughput (fresh subprocess, `ManualClock`): the default world plus N `tier: gold` contacts
   with one well-formed device each (APNs, FCM and web push in turn), one in-process D·engage
   sendInstant to the gold segment, hand-off to the gateway (timed apart), then only
   `fake.run_until_idle()` is timed. Repeated on a reset fake; medians. Two floors measured on
   the same `Delivery` objects in the same process: appending one timeline step to each
   (`append_floor`), and the heap work the gateway's design implies (pop a start, push an
   answer, pop it, append two steps: `heap_floor`). A second variant makes 20% of attempts
   answer each platform's transient 503-style code, so retries run; it reports attempts/s.
2. Pending memory (fresh subprocess): RSS growth from before the send to the point where every
   delivery is handed to the gateway and started (Fixed latency of an hour, so each answer sits
   in the gateway's heap): `fake.gateway.pending == deliveries`.
3. Live server: `pushfake serve` with a generated fixtures file (every platform `{fixed: 1.0}`
   latency, a segment of exactly 10,000 devices). Each round: one sendInstant to the segment
   while a steady open-loop stream of Leanplum `start` and D·engage `login` requests runs from
   before it; polled rounds poll the report until it says Completed with every delivery
   delivered (the completion time), unpolled rounds leave the report alone while the deliveries
   are in flight (the stream's latency then reflects the gateway's work only). The same rounds
   run against `launch.py` with the same fixtures, where uvicorn binds the socket: a diagnostic
   for `pushfake serve`'s keep-alive latency (bench/README.md).
"""

from __future__ import annotations

import asyncio
import base64
import cProfile
import gc
import heapq
import json
import math
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import (
    HERE, KEEP_EVERY_DELIVERY, LAUNCHER, RESULTS_DIR, Processes, Settings, cpu_seconds, free_port, progress,
    pushfake_command, rss_mib, run_child, wait_until_answering,
)
from dengage_workloads import ACCOUNT_ID, LOGIN_BODY, SEGMENT_SEND_BODY, GcPauses, top_costs
from leanplum_workloads import START_BODY

MIN_DELIVERIES_PER_S = 50_000.0  # run_until_idle, one core
PENDING_DELIVERIES = 1_000_000  # the memory target is stated for this many
MAX_PENDING_MIB = 1024.0
LIVE_LATENCY_S = 1.0  # fixed gateway latency of the live server's fixtures
MAX_LIVE_COMPLETION_S = 2.0  # from the send until the report says every delivery is delivered
MAX_LIVE_P99_MS = 50.0  # the small-request stream while the deliveries are in flight

# Each platform's "503": the retry variant's transient failure.
TRANSIENT_CODES = {"apns": "ServiceUnavailable", "fcm": "UNAVAILABLE", "webpush": "503"}
DEFAULT_GOLD_DEVICES = 2  # the default world's gold contacts (ayse, elif) have a device each
LIVE_SEGMENT = "6b1d7e2f-3a4c-4b5d-8e6f-7a8b9c0d1e2f"
LIVE_COHORT = "gateway-bench"
LIVE_FIXTURES = RESULTS_DIR / "gateway-live-fixtures.json"
LIVE_LOG = RESULTS_DIR / "gateway-serve-server.log"
LIVE_LAUNCH_LOG = RESULTS_DIR / "gateway-launch-server.log"
LIVE_SEND_BODY = {"content": {"title": "Hi", "message": "Hello {{contact.name}}"}, "segmentId": LIVE_SEGMENT}
STREAM_KINDS = ("leanplum.start", "dengage.login")  # alternated
LIVE_TIMEOUT_S = 15.0  # per round, from the send
MOBILE_APP = "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"  # default world's D·engage applications
WEB_APP = "2b7e9a41-3c5d-4e6f-8a9b-0c1d2e3f4a5b"


# --- devices with tokens every gateway accepts ---------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def device_spec(i: int) -> tuple[str, str, Any]:
    """(platform, device id suffix, token) for device `i`: APNs, FCM and web push in turn, each
    well formed (64 hex digits; an FCM-like token; an https subscription with a 65-byte P-256
    key starting 0x04 and a 16-byte secret), so the gateway delivers them."""
    kind = i % 3
    if kind == 0:
        return "apns", "iphone", f"{i:064x}"
    if kind == 1:
        return "fcm", "android", f"gw{i:07d}:APA91b{'x' * 140}"
    return "webpush", "chrome", {
        "endpoint": f"https://fcm.googleapis.com/fcm/send/gw{i:07d}:APA91b{'y' * 100}",
        "keys": {"p256dh": _b64url(b"\x04" + i.to_bytes(64, "big")), "auth": _b64url(i.to_bytes(16, "big"))},
    }


def add_gold_contacts(fake: Any, count: int) -> None:
    """`count` gold contacts with one deliverable device each, straight into the fake's state."""
    from pushfake.dengage.models import Contact, PushDevice

    state = fake.dengage.state
    for i in range(count):
        key = f"gw-{i:07d}"
        platform, suffix, token = device_spec(i)
        state.put_contact(ACCOUNT_ID, Contact(key, "EN", {"name": f"Name{i}", "tier": "gold"}))
        app = WEB_APP if platform == "webpush" else MOBILE_APP
        state.put_device(ACCOUNT_ID, PushDevice(f"{key}-{suffix}", key, app, platform, token))


def send_to_gold(fake: Any) -> list[str]:
    """One in-process sendInstant to the gold segment, through the service's own request path
    (described, then answered) without HTTP; the ids of its (queued) deliveries."""
    from pushfake.plumbing import Wire

    service = fake.dengage

    def answer(operation: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        wire = Wire("POST", path, headers, operation, body=body, raw=json.dumps(body).encode())
        result = asyncio.run(service.answer(service.describe(wire)))
        if result.status != 200:
            raise RuntimeError(f"{operation} answered {result.status}: {result.body}")
        return result

    token = answer("login", "/rest/login", LOGIN_BODY, {})
    bearer = {"authorization": f"Bearer {token.body['access_token']}"}
    return list(answer("sendInstantPush", "/rest/push/sendInstant", SEGMENT_SEND_BODY, bearer).pending)


# --- 1. throughput on the virtual clock (child process) -----------------------------------------


def append_floor(deliveries: list[Any], at: float) -> float:
    """Seconds to append one timeline step to each delivery: the least any gateway must do."""
    step = ("delivered", at, None)
    gc.collect()
    t0 = time.perf_counter()
    for d in deliveries:
        d.timeline = (*d.timeline, step)
    return time.perf_counter() - t0


def heap_floor(deliveries: list[Any], at: float) -> float:
    """Seconds for the heap work of the gateway's design without its decisions: pop each start
    entry, push an answer entry at a (precomputed) latency, pop the answers in time order and
    append two timeline steps to each delivery."""
    draw = random.Random(1)
    latencies = [draw.lognormvariate(-2.5, 0.8) for _ in deliveries]
    heap = [(at, i, d, 1, None, None) for i, d in enumerate(deliveries)]
    heapq.heapify(heap)
    outcome = object()
    n = len(heap)
    gc.collect()
    t0 = time.perf_counter()
    answers: list[Any] = []
    while heap:
        due, order, d, attempt, _, _ = heapq.heappop(heap)
        d.timeline = (*d.timeline, ("sending", due, None))
        heapq.heappush(answers, (due + latencies[order], n + order, d, attempt, outcome, None))
    while answers:
        due, _, d, _, _, _ = heapq.heappop(answers)
        d.timeline = (*d.timeline, ("delivered", due, None))
    return time.perf_counter() - t0


def _one_run(fake: Any, contacts: int, failure_rate: float, pauses: GcPauses,
             profile: cProfile.Profile | None = None) -> dict[str, Any]:
    fake.reset()
    t0 = time.perf_counter()
    add_gold_contacts(fake, contacts)
    if failure_rate:
        for platform, code in TRANSIENT_CODES.items():
            fake.gateway.set_failures({code: failure_rate}, platform=platform)
    ids = send_to_gold(fake)
    setup_s = time.perf_counter() - t0
    gc.collect()
    pauses.reset()
    pauses.active = True
    t0 = time.perf_counter()
    fake.deliveries.hand_off_now(ids)  # gateway.accept: one heap entry per delivery
    handoff_s = time.perf_counter() - t0
    handoff_gc_ms = pauses.total_ms
    pauses.active = False
    pending = fake.gateway.pending
    if pending != len(ids):
        raise RuntimeError(f"gateway holds {pending} attempts after handing off {len(ids)} deliveries")
    gc.collect()
    pauses.reset()
    virtual_start = fake.clock.now()
    pauses.active = True
    if profile is not None:  # GC off, so no collection's pause is charged to whatever allocated
        gc.disable()
        profile.enable()
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        fake.run_until_idle()
    finally:
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if profile is not None:
            profile.disable()
            gc.enable()
    pauses.active = False
    gc_summary, gc_ms = pauses.summary(), pauses.total_ms
    deliveries = [fake.deliveries.get(i) for i in ids]
    states = Counter(d.state for d in deliveries)
    reasons = Counter(d.reason for d in deliveries if d.state == "failed")
    attempts = sum(d.attempts for d in deliveries)
    end = fake.clock.now()
    floor_s = append_floor(deliveries, end)
    heap_s = heap_floor(deliveries, end)
    n = len(ids)
    return {
        "deliveries": n, "attempts": attempts, "attempts_per_delivery": attempts / n,
        "states": dict(states), "failed_reasons": dict(reasons), "pending_after": fake.gateway.pending,
        "virtual_seconds": end - virtual_start,
        "setup_s": setup_s, "handoff_s": handoff_s, "handoff_gc_ms": handoff_gc_ms,
        "run_s": elapsed, "run_cpu_s": cpu, "run_gc_ms": gc_ms, "run_gc": gc_summary,
        "deliveries_per_s": n / elapsed, "attempts_per_s": attempts / elapsed,
        "deliveries_per_s_excluding_gc": n / max(elapsed - gc_ms / 1000, 1e-9),
        "us_per_delivery": elapsed * 1e6 / n,
        "append_floor_s": floor_s, "append_floor_per_s": n / floor_s,
        "heap_floor_s": heap_s, "heap_floor_per_s": n / heap_s,
    }


def throughput_child(contacts: int, repeats: int, failure_rate: float) -> dict[str, Any]:
    import pushfake

    fake = pushfake.Fake(seed=1, clock=pushfake.ManualClock(), retention=KEEP_EVERY_DELIVERY)
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    try:
        _one_run(fake, min(contacts, 1000), failure_rate, pauses)  # warm-up: imports, regexes, caches
        runs = [_one_run(fake, contacts, failure_rate, pauses) for _ in range(repeats)]
        profile = cProfile.Profile()
        profiled = _one_run(fake, contacts, failure_rate, pauses, profile)
    finally:
        gc.callbacks.remove(pauses)
    RESULTS_DIR.mkdir(exist_ok=True)
    profile_file = RESULTS_DIR / ("gateway-run-retries.prof" if failure_rate else "gateway-run.prof")
    profile.dump_stats(profile_file)

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    run_s, append_s, heap_s = median("run_s"), median("append_floor_s"), median("heap_floor_s")
    return {
        "contacts_added": contacts, "deliveries": runs[0]["deliveries"], "repeats": repeats,
        "failure_rate": failure_rate, "failure_codes": TRANSIENT_CODES if failure_rate else {},
        "latency": "default world (log-normal per platform)",
        "deliveries_per_s_median": median("deliveries_per_s"),
        "deliveries_per_s_best": max(r["deliveries_per_s"] for r in runs),
        "attempts_per_s_median": median("attempts_per_s"),
        "attempts_per_delivery": median("attempts_per_delivery"),
        "deliveries_per_s_excluding_gc_median": median("deliveries_per_s_excluding_gc"),
        "us_per_delivery_median": median("us_per_delivery"),
        "run_s_median": run_s, "run_gc_ms_median": median("run_gc_ms"),
        "handoff_s_median": median("handoff_s"), "handoff_gc_ms_median": median("handoff_gc_ms"),
        "append_floor_per_s_median": median("append_floor_per_s"),
        "heap_floor_per_s_median": median("heap_floor_per_s"),
        # how many times the floor's time the gateway takes for the same deliveries
        "ratio_to_append_floor": run_s / append_s, "ratio_to_heap_floor": run_s / heap_s,
        "runs": runs,
        # one more run under cProfile (GC off): where run_until_idle's time goes
        "profile": {"file": str(profile_file), "elapsed_s_under_profiler": profiled["run_s"],
                    "top_tottime": top_costs(profile, "tottime", 15),
                    "top_cumtime_pushfake": top_costs(profile, "cumtime", 15, "/pushfake/")},
    }


def measure_throughput(settings: Settings) -> dict[str, Any]:
    return run_child("gateway-throughput", settings.gateway_deliveries, settings.gateway_repeats, 0.0)


def measure_throughput_with_retries(settings: Settings) -> dict[str, Any]:
    return run_child("gateway-throughput", settings.gateway_deliveries, settings.gateway_repeats,
                     settings.gateway_failure_rate)


# --- 2. pending deliveries' memory (child process) ----------------------------------------------


def pending_child(contacts: int) -> dict[str, Any]:
    import pushfake
    from pushfake.gateway import Fixed

    fake = pushfake.Fake(seed=1, clock=pushfake.ManualClock(), retention=KEEP_EVERY_DELIVERY)
    fake.gateway.set_latency(Fixed(3600.0))  # every answer waits an hour in the gateway's heap
    add_gold_contacts(fake, contacts)
    gc.collect()
    rss = {"before_send": rss_mib()}
    t0 = time.perf_counter()
    ids = send_to_gold(fake)  # deliveries recorded (queued), not yet handed off
    send_s = time.perf_counter() - t0
    gc.collect()
    rss["recorded"] = rss_mib()
    t0 = time.perf_counter()
    fake.deliveries.hand_off_now(ids)
    handoff_s = time.perf_counter() - t0
    pending_handed = fake.gateway.pending
    gc.collect()
    rss["handed_off"] = rss_mib()
    t0 = time.perf_counter()
    fake.advance(0)  # every first attempt starts; its answer is due in an hour
    start_s = time.perf_counter() - t0
    pending_started = fake.gateway.pending
    gc.collect()
    rss["started"] = rss_mib()
    sample = fake.deliveries.get(ids[len(ids) // 2])
    n = len(ids)
    growth = max(rss["handed_off"], rss["started"]) - rss["before_send"]
    per_delivery = growth * 2**20 / n
    return {
        "contacts_added": contacts, "deliveries": n,
        "pending_after_handoff": pending_handed, "pending_after_start": pending_started,
        "sample_state": sample.state if sample else None,
        "rss_mib": rss, "rss_peak_mib": rss_mib(field="VmHWM"),
        "growth_mib": growth,
        "growth_recorded_mib": rss["recorded"] - rss["before_send"],  # the vendor's share: records
        "growth_gateway_mib": max(rss["handed_off"], rss["started"]) - rss["recorded"],
        "peak_growth_mib": rss_mib(field="VmHWM") - rss["before_send"],  # upper bound, incl. garbage
        "bytes_per_delivery": per_delivery,
        "projected_mib_for_target": per_delivery * PENDING_DELIVERIES / 2**20,
        "send_s": send_s, "handoff_s": handoff_s, "start_s": start_s,
    }


def measure_pending(settings: Settings) -> dict[str, Any]:
    return run_child("gateway-pending", settings.gateway_pending - DEFAULT_GOLD_DEVICES)


# --- 3. live server ---------------------------------------------------------------------------------


def live_fixtures(devices: int, path: Path = LIVE_FIXTURES) -> Path:
    """The default world, every platform at a fixed 1 s latency, plus a segment of `devices`
    contacts with one deliverable device each."""
    import yaml

    from pushfake.core.resources import default_fixtures

    document = yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))
    for settings in document["gateway"]["platforms"].values():
        settings["latency"] = {"fixed": LIVE_LATENCY_S}
    account = document["dengage"]["accounts"][0]
    account["segments"].append({"id": LIVE_SEGMENT, "name": "Gateway bench",
                                "rule": [{"field": "cohort", "equals": LIVE_COHORT}]})
    fixtures_platform = {"apns": "ios", "fcm": "android", "webpush": "web"}
    for i in range(devices):
        platform, suffix, token = device_spec(i)
        key = f"gw-{i:07d}"
        account["contacts"].append({
            "key": key, "language": "EN", "fields": {"name": f"Name{i}", "cohort": LIVE_COHORT},
            "devices": [{"id": f"{key}-{suffix}", "applicationId": WEB_APP if platform == "webpush" else MOBILE_APP,
                         "platform": fixtures_platform[platform], "token": token}],
        })
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _percentiles(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))]

    return {"count": len(ordered), "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
            "max_ms": ordered[-1], "mean_ms": statistics.fmean(ordered)}


class _Stream:
    """A steady open-loop stream of small requests (alternating `STREAM_KINDS`) at `rate` per
    second: each is issued on schedule whether or not earlier ones have been answered."""

    def __init__(self, client: Any, rate: float) -> None:
        self.client, self.rate = client, rate
        self.samples: list[tuple[float, float, str, Any]] = []  # issued at, ms, kind, status
        self.lags: list[float] = []  # how late the client issued each request (its own load)
        self._stop = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    async def _one(self, kind: str) -> None:
        import httpx

        t0 = time.perf_counter()
        try:
            if kind == "leanplum.start":
                response = await self.client.post("/api?action=start", json=START_BODY)
            else:
                response = await self.client.post("/rest/login", json=LOGIN_BODY)
            status: Any = response.status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        self.samples.append((t0, (time.perf_counter() - t0) * 1000, kind, status))

    async def _issue(self) -> None:
        interval, due, i = 1 / self.rate, time.perf_counter(), 0
        while not self._stop.is_set():
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            self.lags.append(time.perf_counter() - due)
            task = asyncio.create_task(self._one(STREAM_KINDS[i % len(STREAM_KINDS)]))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            i, due = i + 1, due + interval

    def start(self) -> None:
        self._task = asyncio.create_task(self._issue())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        if self._running:
            await asyncio.gather(*self._running)

    def window(self, start: float, end: float) -> list[float]:
        return [ms for t, ms, _, _ in self.samples if start <= t < end]


async def _report(client: Any, auth: dict[str, str], tracking_id: str, t_send: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    response = await client.get("/rest/push/sendInstant", params={"trackingId": tracking_id}, headers=auth)
    t1 = time.perf_counter()
    data = (response.json().get("data") or {}) if response.status_code == 200 else {}
    return {"asked_s": t0 - t_send, "answered_s": t1 - t_send, "ms": (t1 - t0) * 1000, "http": response.status_code,
            "status": data.get("status"), "total": data.get("totalCount"), "delivered": data.get("totalDeliveredCount")}


async def _live_round(client: Any, auth: dict[str, str], settings: Settings, server_pid: int,
                      poll: bool) -> dict[str, Any]:
    """One send to the segment with the stream running from `live_idle_s` before it.

    poll=True: the report is polled (every `live_poll_s` once the latency has nearly passed)
    until it says Completed with every delivery delivered: the completion time. poll=False: no
    report until `LIVE_LATENCY_S + 1 s` after the send's answer, so the stream meets only the
    gateway's work (the report on 10,000 deliveries costs the server tens of ms each time);
    then one report confirms that everything was delivered.
    """
    expected = settings.live_devices
    stream = _Stream(client, settings.live_stream_rate)
    stream.start()
    polls: list[dict[str, Any]] = []
    completed_at = None
    try:
        await asyncio.sleep(settings.live_idle_s)  # the same stream with nothing in flight: the comparison
        cpu0 = cpu_seconds(server_pid)
        t_send = time.perf_counter()
        response = await client.post("/rest/push/sendInstant", json=LIVE_SEND_BODY, headers=auth)
        t_answered = time.perf_counter()
        if response.status_code != 200:
            raise RuntimeError(f"sendInstant answered {response.status_code}: {response.text[:300]}")
        tracking_id = response.json()["data"]["trackingId"]
        if poll:
            while time.perf_counter() - t_send < LIVE_TIMEOUT_S:
                early = LIVE_LATENCY_S * 0.9 - (time.perf_counter() - t_send)  # nothing can be done before
                await asyncio.sleep(min(0.25, early) if early > 0 else settings.live_poll_s)
                polls.append(await _report(client, auth, tracking_id, t_send))
                if polls[-1]["status"] == "Completed" and polls[-1]["delivered"] == expected:
                    completed_at = t_send + polls[-1]["answered_s"]
                    break
            window_end = completed_at if completed_at is not None else time.perf_counter()
        else:
            window_end = t_answered + LIVE_LATENCY_S + 1.0
            await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        server_cpu = cpu_seconds(server_pid) - cpu0
    finally:
        await stream.stop()
    if not poll:
        polls.append(await _report(client, auth, tracking_id, t_send))
    last = polls[-1]
    done = last["status"] == "Completed" and last["delivered"] == expected
    not_yet = [p for p in polls if p["status"] != "Completed" or p["delivered"] != expected]
    return {
        "polled": poll, "tracking_id": tracking_id, "send_ms": (t_answered - t_send) * 1000,
        "completed": done,
        # polled: upper bound, the answer that first said Completed (the poll before it, asked at
        # not_completed_at_s, had not); unpolled: only that it was done by the one report
        "completion_s": (completed_at - t_send) if completed_at is not None else None,
        "not_completed_at_s": not_yet[-1]["asked_s"] if not_yet else None,
        "final_report": {k: last.get(k) for k in ("status", "total", "delivered")},
        "polls": len(polls), "poll_trace": [{k: round(v, 3) if isinstance(v, float) else v for k, v in p.items()}
                                            for p in polls],
        "stream_idle_ms": stream.window(-math.inf, t_send),
        "stream_during_send_ms": stream.window(t_send, t_answered),  # the send's own work blocks the server
        "stream_in_flight_ms": stream.window(t_answered, window_end),  # handed to the gateway, not all done
        "stream_in_flight_window_s": window_end - t_answered,
        # when the slowest in-flight requests were issued, counted from the send's answer (the
        # hand-off starts every attempt then; the answers fall due LIVE_LATENCY_S later)
        "stream_in_flight_slowest": [{"issued_after_answer_s": round(t - t_answered, 3), "ms": round(ms, 2), "kind": k}
                                     for t, ms, k, _ in sorted((x for x in stream.samples
                                                                if t_answered <= x[0] < window_end),
                                                               key=lambda x: -x[1])[:5]],
        "stream_statuses": dict(Counter(str(s) for _, _, _, s in stream.samples)),
        "client_issue_lag_ms": _percentiles([lag * 1000 for lag in stream.lags]),
        "server_cpu_s_send_to_window_end": server_cpu,
    }


async def _live_rounds(port: int, settings: Settings, server_pid: int) -> list[dict[str, Any]]:
    import httpx

    # TCP_NODELAY on the client: httpx may write a POST's headers and body separately.
    transport = httpx.AsyncHTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                                         limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5.0, transport=transport) as client:
        login = await client.post("/rest/login", json=LOGIN_BODY)
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(20):  # warm the connection pool and the server's code paths
            await client.post("/api?action=start", json=START_BODY)
            await client.post("/rest/login", json=LOGIN_BODY)
        rounds = []
        for r in range(settings.live_rounds):
            for poll in (True, False):
                rounds.append(await _live_round(client, auth, settings, server_pid, poll))
                last = rounds[-1]
                progress(f"    round {r + 1} ({'polled' if poll else 'unpolled'}): "
                         f"completed {last['completed']} after {last['completion_s'] or 0:.3f} s, stream p99 in "
                         f"flight {_percentiles(last['stream_in_flight_ms']).get('p99_ms', 0):.1f} ms")
                await asyncio.sleep(settings.live_settle_s)
        return rounds


def _live_server(settings: Settings, procs: Processes, argv: list[str], port: int, log_path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    with log_path.open("w") as log:
        proc = procs.spawn(argv, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)
    try:
        wait_until_answering(proc, port, log_path)
        ready_s = time.perf_counter() - t0
        rss_start = rss_mib(proc.pid)
        rounds = asyncio.run(_live_rounds(port, settings, proc.pid))
        rss_end = rss_mib(proc.pid)
    finally:
        procs.stop(proc)
    polled = [r for r in rounds if r["polled"]]
    unpolled = [r for r in rounds if not r["polled"]]
    completions = [r["completion_s"] if r["completion_s"] is not None else LIVE_TIMEOUT_S for r in polled]

    def pooled(group: list[dict[str, Any]], key: str) -> dict[str, Any]:
        return _percentiles([ms for r in group for ms in r[key]])

    stream = {
        "idle": pooled(rounds, "stream_idle_ms"),
        "in_flight": pooled(unpolled, "stream_in_flight_ms"),  # the target: the gateway's work only
        "during_send": pooled(rounds, "stream_during_send_ms"),
        "in_flight_with_polling": pooled(polled, "stream_in_flight_ms"),
    }
    for r in rounds:  # the pooled figures carry the samples; keep the JSON small
        for key in ("stream_idle_ms", "stream_during_send_ms", "stream_in_flight_ms"):
            r[key] = _percentiles(r[key])
    return {
        "command": " ".join(argv), "rounds": len(polled),
        "all_completed": all(r["completed"] for r in rounds),
        # a polled round that never completed counts as the timeout
        "completion_s_median": statistics.median(completions), "completion_s_max": max(completions),
        "send_ms_median": statistics.median(r["send_ms"] for r in rounds),
        "report_ms_median": statistics.median(p["ms"] for r in polled for p in r["poll_trace"]),
        "stream": stream,
        "server_ready_s": ready_s, "server_rss_start_mib": rss_start, "server_rss_end_mib": rss_end,
        "log": str(log_path), "per_round": rounds,
    }


def measure_live(settings: Settings, procs: Processes) -> dict[str, Any]:
    """`pushfake serve` (the targets), then the same app and fixtures under `launch.py`, where
    uvicorn binds the socket itself: a diagnostic that tells the server's socket set-up apart
    from the app's own work (see README: keep-alive latency)."""
    fixtures = live_fixtures(settings.live_devices)
    port = free_port()
    serve = _live_server(settings, procs, [pushfake_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
                                           "--fixtures", str(fixtures)], port, LIVE_LOG)
    port = free_port()
    progress("  the same under launch.py (uvicorn binds the socket) ...")
    launched = _live_server(settings, procs, [sys.executable, str(LAUNCHER), "fake", str(port), str(fixtures)],
                            port, LIVE_LAUNCH_LOG)
    return {
        "fixtures": str(fixtures), "fixtures_devices": settings.live_devices, "latency": {"fixed": LIVE_LATENCY_S},
        "poll_interval_s": settings.live_poll_s, "stream_rate_per_s": settings.live_stream_rate,
        "stream_kinds": list(STREAM_KINDS), "serve": serve, "launch_py": launched,
    }


# --- all three ----------------------------------------------------------------------------------


def measure_gateway(settings: Settings, procs: Processes) -> dict[str, Any]:
    progress(f"gateway throughput: {settings.gateway_deliveries:,} deliveries x {settings.gateway_repeats} ...")
    out = {"throughput": measure_throughput(settings)}
    progress(f"gateway throughput with {settings.gateway_failure_rate:.0%} transient failures ...")
    out["throughput_retries"] = measure_throughput_with_retries(settings)
    progress(f"gateway memory: {settings.gateway_pending:,} pending deliveries ...")
    out["pending_memory"] = measure_pending(settings)
    progress(f"gateway live server: {settings.live_devices:,}-device send x {settings.live_rounds} ...")
    out["live"] = measure_live(settings, procs)
    return out


def targets(gateway: dict[str, Any]) -> list[tuple[str, float, str, float]]:
    t, mem, live = gateway["throughput"], gateway["pending_memory"], gateway["live"]
    checks = [(f"gateway deliveries/s, run_until_idle, {t['deliveries']:,} deliveries (median)",
               t["deliveries_per_s_median"], ">=", MIN_DELIVERIES_PER_S)]
    if mem["deliveries"] >= PENDING_DELIVERIES:
        checks.append((f"gateway RSS growth for {mem['deliveries']:,} pending deliveries (MiB)",
                       mem["growth_mib"], "<=", MAX_PENDING_MIB))
    else:
        name = f"gateway RSS for {PENDING_DELIVERIES:,} pending deliveries, projected from {mem['deliveries']:,} (MiB)"
        checks.append((name, mem["projected_mib_for_target"], "<=", MAX_PENDING_MIB))
    serve = live["serve"]
    checks.append((f"pushfake serve, {live['fixtures_devices']:,}-device send: all delivered after (s, worst round)",
                   serve["completion_s_max"], "<=", MAX_LIVE_COMPLETION_S))
    checks.append(("pushfake serve, API p99 while deliveries are in flight (ms)",
                   serve["stream"]["in_flight"].get("p99_ms", 1e9), "<=", MAX_LIVE_P99_MS))
    return checks


def print_summary(gateway: dict[str, Any]) -> None:
    for name, t in (("no failures", gateway["throughput"]), ("retries", gateway["throughput_retries"])):
        print(f"gateway run_until_idle ({name}): {t['deliveries']:,} deliveries, median "
              f"{t['deliveries_per_s_median']:,.0f} deliveries/s ({t['us_per_delivery_median']:.1f} µs each), "
              f"{t['attempts_per_s_median']:,.0f} attempts/s ({t['attempts_per_delivery']:.3f} per delivery); "
              f"best {t['deliveries_per_s_best']:,.0f}/s; without GC pauses "
              f"{t['deliveries_per_s_excluding_gc_median']:,.0f}/s")
        print(f"  floors: append one step {t['append_floor_per_s_median']:,.0f}/s (gateway "
              f"x{t['ratio_to_append_floor']:.0f} its time), heap work only {t['heap_floor_per_s_median']:,.0f}/s "
              f"(x{t['ratio_to_heap_floor']:.1f}); hand-off {t['handoff_s_median'] * 1000:.0f} ms (GC "
              f"{t['handoff_gc_ms_median']:.0f} ms); GC during the run {t['run_gc_ms_median']:.0f} ms")
        first = t["runs"][0]
        print(f"  run 1: states {first['states']}, failed {first['failed_reasons'] or '-'}, "
              f"{first['virtual_seconds']:.1f} virtual s")
        profile = t["profile"]
        print(f"  profile ({profile['elapsed_s_under_profiler']:.2f} s under cProfile, GC off, {profile['file']}); "
              "top by own time:")
        for row in profile["top_tottime"][:6]:
            print(f"    {row['tottime_ms']:8.1f} ms own {row['cumtime_ms']:8.1f} ms cum {row['ncalls']:>8}x  "
                  f"{row['function']}")
    m = gateway["pending_memory"]
    print(f"gateway pending: {m['deliveries']:,} deliveries (pending {m['pending_after_handoff']:,} handed off, "
          f"{m['pending_after_start']:,} started), RSS +{m['growth_mib']:.0f} MiB ({m['bytes_per_delivery']:.0f} "
          f"B/delivery: records +{m['growth_recorded_mib']:.0f} MiB, gateway +{m['growth_gateway_mib']:.0f} MiB), "
          f"peak +{m['peak_growth_mib']:.0f} MiB; projected {m['projected_mib_for_target']:.0f} MiB per "
          f"{PENDING_DELIVERIES:,}")
    live = gateway["live"]
    print(f"gateway live: {live['fixtures_devices']:,}-device send at {LIVE_LATENCY_S} s latency; stream of "
          f"{live['stream_rate_per_s']:.0f} req/s ({'/'.join(live['stream_kinds'])}) on keep-alive connections; "
          f"report polled every {live['poll_interval_s'] * 1000:.0f} ms after {LIVE_LATENCY_S * 0.9:.1f} s")
    phases = {"idle": "before the send", "during_send": "while sendInstant runs",
              "in_flight": "in flight (unpolled rounds)", "in_flight_with_polling": "in flight, report polled"}
    for label, key in (("pushfake serve", "serve"), ("launch.py (diagnostic)", "launch_py")):
        server = live[key]
        print(f"  {label}: {server['rounds']} polled + {server['rounds']} unpolled round(s); all delivered after "
              f"median {server['completion_s_median']:.3f} s, max {server['completion_s_max']:.3f} s"
              f"{'' if server['all_completed'] else ' (NOT all completed)'}; sendInstant "
              f"{server['send_ms_median']:.1f} ms, report {server['report_ms_median']:.1f} ms (medians)")
        for phase, text in phases.items():
            p = server["stream"][phase]
            if p["count"]:
                print(f"    stream {text:28} n={p['count']:4}  p50 {p['p50_ms']:7.2f} ms  p99 {p['p99_ms']:7.2f} ms  "
                      f"max {p['max_ms']:7.2f} ms")
    idle_serve = live["serve"]["stream"]["idle"].get("p50_ms", 0.0)
    idle_launch = live["launch_py"]["stream"]["idle"].get("p50_ms", 0.0)
    if idle_serve > 30 and idle_serve > 10 * idle_launch:
        print(f"  NOTE: pushfake serve answers keep-alive requests ~{idle_serve:.0f} ms late even when idle "
              f"(launch.py: {idle_launch:.1f} ms): Nagle's algorithm is left on for its connections "
              "(see bench/README.md)")
