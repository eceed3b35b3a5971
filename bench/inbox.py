"""The inbox page (`/_pushfake/inbox`) with 10,000 deliveries: is it fast enough to open and to
refresh live?

In-process (httpx over ASGI, one event loop), a Fake on a ManualClock with the default world plus
`CONTACTS` D·engage gold contacts with one device each (APNs, FCM and web push in turn), and
`SENDS` sendInstant calls to the gold segment, each with its own title and a body naming the
contact; the gateway runs them all to `delivered`. Then, interleaved so drift hits all alike,
`REPEATS` timed GETs of each after `WARMUP` discarded rounds:

- baseline: `GET /_pushfake/deliveries?limit=50` (JSON of 50 records, the control plane's cheapest
  look at the same deliveries);
- page: `GET /_pushfake/inbox`, the first page (at most 50 devices, 20 notifications each);
- filtered: `GET /_pushfake/inbox/devices?vendor=dengage&state=delivered` (a filter every
  delivery passes, the most work a filter makes);
- search: `GET /_pushfake/inbox/devices?q=...` (a text search through every title and body).

Median and p90 ms per request and the response sizes; the target is on the page's median.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from common import median_p90, progress

MAX_PAGE_MEDIAN_MS = 100.0
CONTACTS = 498  # + the default world's 2 gold contacts = 500 devices
SENDS = 20  # x 500 devices = 10,000 deliveries
REPEATS = 30
WARMUP = 3
ACCOUNT = "acc_pushfake"
GOLD_SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"  # tier gold in the default world
WORKLOADS = {
    "baseline_deliveries_json": "/_pushfake/deliveries?limit=50",
    "page": "/_pushfake/inbox",
    "devices_filtered": "/_pushfake/inbox/devices?vendor=dengage&state=delivered",
    "devices_search": "/_pushfake/inbox/devices?q=name0421",
}


def _world() -> Any:
    from pushfake import Fake, ManualClock
    from pushfake.dengage.models import Contact, PushDevice

    fake = Fake(seed=7, clock=ManualClock())
    state = fake.dengage.state
    account = state.account(ACCOUNT)
    mobile, web = (a.id for a in sorted(account.applications.values(), key=lambda a: a.platform))
    for i in range(CONTACTS):
        key = f"bench-{i:04d}"
        state.put_contact(ACCOUNT, Contact(key, ("EN", "TR", "DE")[i % 3], {"name": f"Name{i:04d}", "tier": "gold"}))
        token: Any
        if i % 3 == 0:
            platform, token = "apns", f"{i:064x}"
        elif i % 3 == 1:
            platform, token = "fcm", f"bench{i:06d}:APA91b{'x' * 120}{i:020d}"
        else:
            platform, token = "webpush", {"endpoint": f"https://fcm.googleapis.com/fcm/send/bench{i:06d}",
                                          "keys": {"p256dh": f"BA{i:085d}", "auth": f"{i:022d}"}}
        state.put_device(ACCOUNT, PushDevice(f"{key}-{platform}", key, web if platform == "webpush" else mobile,
                                             platform, token))
    return fake


async def _measure() -> dict[str, Any]:
    import httpx

    from pushfake import create_app

    fake = _world()
    app = create_app(fake)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        login = await client.post("/rest/login", json={"userkey": "pushfake", "password": "pushfake-secret"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        segment = GOLD_SEGMENT
        for n in range(SENDS):
            sent = await client.post("/rest/push/sendInstant", headers=headers, json={
                "content": {"title": f"Bench send {n}", "message": f"Hello {{{{contact.name}}}}, number {n}"},
                "segmentId": segment})
            if sent.status_code != 200:
                raise RuntimeError(f"a bench send failed: {sent.text}")
            await asyncio.sleep(0)  # the hand-off runs as a background task
        fake.run_until_idle()
        deliveries = len(fake.deliveries.find())
        samples: dict[str, list[float]] = {name: [] for name in WORKLOADS}
        sizes: dict[str, int] = {}
        for round_no in range(WARMUP + REPEATS):
            for name, path in WORKLOADS.items():
                started = time.perf_counter()
                response = await client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
                sizes[name] = len(response.content)
                if round_no >= WARMUP:
                    samples[name].append(elapsed)
    rows = {name: {**{f"{k}_ms": round(v, 2) for k, v in median_p90(s).items()}, "bytes": sizes[name],
                   "path": WORKLOADS[name]} for name, s in samples.items()}
    base = statistics.median(samples["baseline_deliveries_json"])
    for name, s in samples.items():
        rows[name]["vs_baseline"] = round(statistics.median(s) / base, 2)
    return {"deliveries": deliveries, "devices": CONTACTS + 2, "repeats": REPEATS, "workloads": rows}


def measure_inbox() -> dict[str, Any]:
    progress(f"inbox page with {CONTACTS + 2} devices x {SENDS} sends ...")
    return asyncio.run(_measure())


def targets(results: dict[str, Any]) -> list[tuple[str, float, str, float]]:
    page = results["workloads"]["page"]
    return [(f"inbox first page with {results['deliveries']:,} deliveries, median (ms)", page["median_ms"], "<=",
             MAX_PAGE_MEDIAN_MS)]


def print_summary(results: dict[str, Any]) -> None:
    print(f"inbox, in-process, {results['deliveries']:,} deliveries on {results['devices']} devices, "
          f"median of {results['repeats']}:")
    for name, row in results["workloads"].items():
        print(f"  {name:26} median {row['median_ms']:7.2f} ms  p90 {row['p90_ms']:7.2f} ms  "
              f"x{row['vs_baseline']:.1f} baseline  {row['bytes']:>8,} B  {row['path']}")


if __name__ == "__main__":  # python bench/inbox.py: this section alone, printed
    print_summary(measure_inbox())
