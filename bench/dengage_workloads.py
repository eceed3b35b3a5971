"""D·engage: the wrk workloads (`login`, `sendInstant`) and SendInstantPush to a 10,000-device segment."""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import pstats
import time
from pathlib import Path
from typing import Any

from common import (
    KEEP_EVERY_DELIVERY, RESULTS_DIR, Settings, http_get, http_post, median_p90, rss_mib, run_child,
)
from http_load import Workload

ACCOUNT_ID = "acc_pushfake"
LOGIN_BODY = {"userkey": "pushfake", "password": "pushfake-secret"}
SEND_BODY = {"content": {"title": "Hi", "message": "Hello {{contact.name}}"}}  # no segment: every device
GOLD_SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"  # rule: tier == gold
SEGMENT_SEND_BODY = {**SEND_BODY, "segmentId": GOLD_SEGMENT}
MAX_SEGMENT_SEND_MEDIAN_MS = 50.0
PROFILE_FILE = RESULTS_DIR / "dengage-segment-send.prof"


def login(port: int) -> str:
    status, raw = http_post(port, "/rest/login", LOGIN_BODY)
    if status != 200:
        raise RuntimeError(f"D·engage login failed: {status} {raw[:300]!r}")
    return json.loads(raw)["access_token"]


# --- 1. HTTP load: workloads and one answer of each before the load -----------------------------


def http_setup(fake_port: int) -> tuple[list[Workload], dict[str, Any]]:
    """Log in once (the token goes into wrk's headers for every sendInstant) and check both answers."""
    token = login(fake_port)
    auth = {"Authorization": f"Bearer {token}"}
    status, raw = http_post(fake_port, "/rest/push/sendInstant", SEND_BODY, auth)
    sent = json.loads(raw)
    tracking_id = (sent.get("data") or {}).get("trackingId")
    report_status, report_raw = http_get("127.0.0.1", fake_port, f"/rest/push/sendInstant?trackingId={tracking_id}",
                                         auth)
    report = json.loads(report_raw).get("data") or {}
    answers = {
        "login": {"status": 200, "token_length": len(token)},
        "sendInstant": {"status": status, "code": sent.get("code"), "message": sent.get("message"),
                        "report_status": report_status, "report_totalCount": report.get("totalCount"),
                        "report_deviceTypes": [d["itemName"] for d in report.get("deviceTypes", [])]},
    }
    workloads = [
        Workload("dengage", "login", "/rest/login", LOGIN_BODY),
        Workload("dengage", "sendInstant", "/rest/push/sendInstant", SEND_BODY, tuple(auth.items())),
    ]
    return workloads, answers


# --- 5. SendInstantPush to a big segment (runs in a child process) ------------------------------


def add_gold_contacts(fake: Any, count: int) -> None:
    """`count` contacts with `tier: gold`, one device each: iOS, Android and web in turn."""
    from pushfake.dengage.models import Contact, PushDevice

    state = fake.dengage.state
    account = state.account(ACCOUNT_ID)
    mobile = next(a.id for a in account.applications.values() if a.platform == "mobile")
    web = next(a.id for a in account.applications.values() if a.platform == "web")
    for i in range(count):
        key = f"bench-{i:05d}"
        state.put_contact(ACCOUNT_ID, Contact(key, ("EN", "TR", "DE")[i % 3], {"name": f"Name{i}", "tier": "gold"}))
        kind = i % 3
        if kind == 0:
            device = PushDevice(f"{key}-iphone", key, mobile, "apns", f"{i:064x}")
        elif kind == 1:
            device = PushDevice(f"{key}-android", key, mobile, "fcm",
                                f"bench{i:06d}:APA91b{'x' * 120}{i:020d}")
        else:
            device = PushDevice(f"{key}-chrome", key, web, "webpush", {
                "endpoint": f"https://fcm.googleapis.com/fcm/send/bench{i:06d}:APA91b{'y' * 100}",
                "keys": {"p256dh": f"BA{i:085d}", "auth": f"{i:022d}"},  # a P-256 point: first byte 0x04
            })
        state.put_device(ACCOUNT_ID, device)


def expected_reach(fake: Any) -> int:
    """Devices of gold contacts, counted here rather than by the fake's audience code."""
    state = fake.dengage.state
    gold = {c.key for c in state.contacts(ACCOUNT_ID).values() if c.fields.get("tier") == "gold"}
    return sum(1 for d in state.devices(ACCOUNT_ID).values() if d.contact_key in gold)


class GcPauses:
    """Time spent in the cyclic garbage collector, per generation, while active (a gc callback)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.active = False
        self.total_ms = 0.0  # every pause while active, all generations
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        elif self.active:
            ms = (time.perf_counter() - self._t0) * 1000
            self.pauses[info["generation"]].append(ms)
            self.total_ms += ms

    def reset(self) -> None:
        self.pauses = {0: [], 1: [], 2: []}
        self.total_ms = 0.0

    def summary(self) -> dict[str, Any]:
        return {f"gen{g}": {"count": len(p), "total_ms": sum(p), "max_ms": max(p, default=0.0)}
                for g, p in self.pauses.items()}


def top_costs(profile: cProfile.Profile, sort: str, limit: int, within: str = "") -> list[dict[str, Any]]:
    """The `limit` costliest functions by `sort` (tottime or cumtime) whose file path contains `within`."""
    stats = pstats.Stats(profile)
    rows = []
    for (path, line, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if within not in path:
            continue
        short = "/".join(Path(path).parts[-2:]) if path != "~" else "~"
        rows.append({"function": f"{short}:{line}({name})", "ncalls": ncalls,
                     "tottime_ms": tottime * 1000, "cumtime_ms": cumtime * 1000})
    rows.sort(key=lambda r: r[f"{sort}_ms"], reverse=True)
    return rows[:limit]


async def _segment_sends(fake: Any, sends: int, warmup: int, gc_pauses: GcPauses) -> dict[str, Any]:
    import httpx

    import pushfake

    transport = httpx.ASGITransport(app=pushfake.create_app(fake))
    async with httpx.AsyncClient(transport=transport, base_url="http://pushfake") as client:
        login_response = await client.post("/rest/login", json=LOGIN_BODY)
        headers = {"Authorization": f"Bearer {login_response.json()['access_token']}"}

        async def send() -> dict[str, Any]:
            """One send without a trackingId (the fake makes a fresh one); its deliveries pile up."""
            gc_before = gc_pauses.total_ms
            t0, cpu0 = time.perf_counter(), time.process_time()
            response = await client.post("/rest/push/sendInstant", json=SEGMENT_SEND_BODY, headers=headers)
            elapsed_ms = (time.perf_counter() - t0) * 1000
            cpu_ms = (time.process_time() - cpu0) * 1000
            tracking_id = response.json().get("data", {}).get("trackingId")
            record = fake.dengage.send(ACCOUNT_ID, tracking_id) if tracking_id else None
            return {"ms": elapsed_ms, "cpu_ms": cpu_ms, "gc_ms": gc_pauses.total_ms - gc_before,
                    "status": response.status_code,
                    "deliveries": len(record.delivery_ids) if record else 0}

        gc_pauses.active = True
        for _ in range(warmup):
            await send()
        gc.collect()
        rss_before = rss_mib()
        gc_pauses.reset()
        results = [await send() for _ in range(sends)]
        gc_summary = gc_pauses.summary()
        rss_after = rss_mib()
        profiled = None
        if median_p90([r["ms"] for r in results])["median"] > MAX_SEGMENT_SEND_MEDIAN_MS:
            # GC off for this one send, so a collection's pause is not charged to whichever
            # function happened to allocate; the pauses are reported apart (gc_during_measured_sends).
            gc.disable()
            profile = cProfile.Profile()
            try:
                profile.enable()
                one = await send()
            finally:
                profile.disable()
                gc.enable()
            RESULTS_DIR.mkdir(exist_ok=True)
            profile.dump_stats(PROFILE_FILE)
            profiled = {"elapsed_ms_under_profiler": one["ms"], "gc": "disabled during the profiled send",
                        "status": one["status"], "deliveries": one["deliveries"], "file": str(PROFILE_FILE),
                        "top_tottime": top_costs(profile, "tottime", 15),
                        "top_cumtime_pushfake": top_costs(profile, "cumtime", 12, "/pushfake/")}
        gc_pauses.active = False
    return {"results": results, "gc": gc_summary, "rss_before": rss_before, "rss_after": rss_after,
            "profile": profiled}


def segment_child(devices: int, sends: int, warmup: int) -> dict[str, Any]:
    import pushfake

    fake = pushfake.Fake(seed=1, retention=KEEP_EVERY_DELIVERY)
    gc.collect()
    rss_empty = rss_mib()
    t0 = time.perf_counter()
    add_gold_contacts(fake, devices)
    insert_s = time.perf_counter() - t0
    gc.collect()
    rss_loaded = rss_mib()
    expected = expected_reach(fake)
    gc_pauses = GcPauses()
    gc.callbacks.append(gc_pauses)
    try:
        out = asyncio.run(_segment_sends(fake, sends, warmup, gc_pauses))
    finally:
        gc.callbacks.remove(gc_pauses)
    results = out["results"]
    samples = [r["ms"] for r in results]
    reached = sorted({r["deliveries"] for r in results})
    growth = out["rss_after"] - out["rss_before"]
    measured_deliveries = sum(r["deliveries"] for r in results)
    stats = median_p90(samples)
    half = len(samples) // 2
    t0 = time.perf_counter()
    gc.collect()
    full_gc_ms = (time.perf_counter() - t0) * 1000
    return {
        "segment_id": GOLD_SEGMENT, "added_contacts": devices, "expected_deliveries_per_send": expected,
        "deliveries_per_send": reached[0] if len(reached) == 1 else reached,
        "statuses": sorted({r["status"] for r in results}),
        "sends": sends, "warmup_sends": warmup,
        "median_ms": stats["median"], "p90_ms": stats["p90"], "min_ms": stats["min"], "max_ms": stats["max"],
        "median_ms_excluding_gc": median_p90([r["ms"] - r["gc_ms"] for r in results])["median"],
        # CPU time of this process per send: close to median_ms unless something else took the CPU
        "median_cpu_ms": median_p90([r["cpu_ms"] for r in results])["median"],
        "samples_ms": [round(ms, 1) for ms in samples],
        "samples_gc_ms": [round(r["gc_ms"], 1) for r in results],
        "first_half_median_ms": median_p90(samples[:half])["median"],
        "second_half_median_ms": median_p90(samples[half:])["median"],
        "gc_during_measured_sends": out["gc"],
        "full_gc_ms_after_sends": full_gc_ms,
        "insert_s": insert_s, "rss_empty_mib": rss_empty, "rss_loaded_mib": rss_loaded,
        "rss_contacts_delta_mib": rss_loaded - rss_empty,
        "rss_before_sends_mib": out["rss_before"], "rss_after_sends_mib": out["rss_after"],
        "rss_growth_mib": growth,
        "deliveries_stored_total": len(fake.deliveries.find(vendor="dengage")),
        "rss_growth_bytes_per_delivery": growth * 2**20 / measured_deliveries if measured_deliveries else None,
        "profile": out["profile"],
    }


def measure_segment_send(settings: Settings) -> dict[str, Any]:
    return run_child("dengage-segment", settings.segment_devices, settings.segment_sends,
                     settings.segment_warmup_sends)
