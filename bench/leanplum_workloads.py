"""Leanplum: the wrk workloads (`sendMessage`, `start`), memory for a million users, validators."""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

from common import Settings, http_post, rss_mib, run_child
from http_load import Workload

SEND_BODY = {"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "alice",
             "messageId": 1001, "values": {"points": 5}}
START_BODY = {"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "bench-user",
              "deviceId": "bench-device", "appVersion": "1.0", "systemName": "iOS",
              "userAttributes": {"plan": "gold"}}
BODIES = {"sendMessage": SEND_BODY, "start": START_BODY}


# --- 1. HTTP load: workloads and one answer of each before the load -----------------------------


def http_setup(fake_port: int) -> tuple[list[Workload], dict[str, Any]]:
    workloads = [Workload("leanplum", action, f"/api?action={action}", body) for action, body in BODIES.items()]
    answers = {}
    for w in workloads:
        status, raw = http_post(fake_port, w.path, w.body)
        element = json.loads(raw)["response"][0]
        answers[w.name] = {"status": status, "success": element.get("success"),
                           "result": element.get("result"), "messagesSent": element.get("messagesSent")}
    return workloads, answers


# --- 3. memory (runs in a child process) --------------------------------------------------------


def insert_users(fake: Any, count: int) -> None:
    from pushfake.leanplum.models import Device, User

    state = fake.leanplum.state
    users, devices = state.users("app_pushfake"), state.devices("app_pushfake")
    for i in range(count):
        uid, did = f"user-{i:07d}", f"device-{i:07d}"
        users.put(uid, User(id=uid, attributes={"plan": "gold" if i % 2 else "free"}, device_ids=[did],
                            created_at=1.0, last_seen=1.0))
        devices.put(did, Device(id=did, user_id=uid, systemName="iOS", appVersion="2.3.0",
                                iosPushToken=f"{i:064x}"))


async def start_latencies(fake: Any, population: int, calls: int) -> dict[str, Any]:
    """Median etc. of `calls` in-process `start`s for existing users spread over the store."""
    import httpx

    import pushfake

    users = fake.leanplum.state.users("app_pushfake")
    count_before = len(users)
    ids = [(i * 7919) % population for i in range(calls)]  # 7919 is prime: spread, no repeats
    transport = httpx.ASGITransport(app=pushfake.create_app(fake))
    samples, statuses = [], set()
    async with httpx.AsyncClient(transport=transport, base_url="http://pushfake") as client:
        for phase in ("warmup", "measure"):
            for i in ids[: calls // 10] if phase == "warmup" else ids:
                body = {**START_BODY, "userId": f"user-{i:07d}", "deviceId": f"device-{i:07d}"}
                t0 = time.perf_counter()
                response = await client.post("/api?action=start", json=body)
                elapsed = time.perf_counter() - t0
                statuses.add(response.status_code)
                if phase == "measure":
                    samples.append(elapsed * 1000)
    samples.sort()
    return {
        "store_users": count_before, "calls": calls, "statuses": sorted(statuses),
        "new_users_created": len(users) - count_before,
        "p50_ms": statistics.median(samples), "p99_ms": samples[int(len(samples) * 0.99) - 1],
        "max_ms": samples[-1],
    }


def memory_child(users: int, calls: int) -> dict[str, Any]:
    import pushfake

    fake = pushfake.Fake(seed=1)
    gc.collect()
    before = rss_mib()
    t0 = time.perf_counter()
    insert_users(fake, users)
    insert_s = time.perf_counter() - t0
    after = rss_mib()
    t0 = time.perf_counter()
    gc.collect()
    full_gc_ms = (time.perf_counter() - t0) * 1000
    large = asyncio.run(start_latencies(fake, users, calls))
    small_fake = pushfake.Fake(seed=1)
    insert_users(small_fake, calls)
    small = asyncio.run(start_latencies(small_fake, calls, calls))
    return {
        "users": users, "rss_before_mib": before, "rss_after_mib": after, "delta_mib": after - before,
        "bytes_per_user": (after - before) * 2**20 / users, "peak_rss_mib": rss_mib(field="VmHWM"),
        "insert_s": insert_s, "full_gc_ms_with_store": full_gc_ms,
        "start_latency_large_store": large, "start_latency_small_store": small,
        "start_p50_ratio_large_vs_small": large["p50_ms"] / small["p50_ms"],
    }


def measure_memory(settings: Settings) -> dict[str, Any]:
    return run_child("leanplum-memory", settings.users, settings.latency_calls)


# --- 4. validators ------------------------------------------------------------------------------


def time_call(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    per_call = [t / number * 1e6 for t in timer.repeat(repeat=repeats, number=number)]
    return {"us_median": statistics.median(per_call), "us_min": min(per_call), "calls_per_repeat": number}


def measure_validators(settings: Settings) -> dict[str, Any]:
    import jsonschema

    import pushfake

    fake = pushfake.Fake(seed=1)
    entry = fake.leanplum.actions.get("sendMessage")
    python_validator = jsonschema.Draft202012Validator(
        {"$ref": entry.validator.pointer, "components": fake.leanplum.spec.document["components"]})
    params = dict(SEND_BODY)
    if not (entry.validator.is_valid(params) and python_validator.is_valid(params)):
        raise RuntimeError("the sendMessage body does not validate; the benchmark body is out of date")
    cases = {
        "fake_is_valid (jsonschema_rs)": lambda: entry.validator.is_valid(params),
        "fake_prepare (validate + coerce)": lambda: entry.prepare(params),
        "jsonschema_is_valid (pure Python)": lambda: python_validator.is_valid(params),
    }
    results = {name: time_call(fn, settings.timeit_repeats) for name, fn in cases.items()}
    return {"schema": entry.validator.pointer, "params": params, "per_call": results}
