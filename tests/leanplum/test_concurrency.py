"""Concurrent requests never corrupt the store."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx

from pushfake import Fake, create_app
from tests.leanplum.helpers import APP, CREDS


def test_200_concurrent_starts_for_one_new_user_in_process():
    fake = Fake(seed=1)
    transport = httpx.ASGITransport(app=create_app(fake))

    async def run() -> list[int]:
        async with httpx.AsyncClient(transport=transport, base_url="http://f") as c:
            calls = [c.post("/api?action=start", json={**CREDS, "userId": "crowd", "deviceId": f"d{i}"})
                     for i in range(200)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(run())
    assert set(statuses) <= {200, 429} and 200 in statuses
    users = [u for u in fake.leanplum.state.users(APP).values() if u.id == "crowd"]
    assert len(users) == 1
    assert sorted(users[0].device_ids) == sorted(f"d{i}" for i, s in enumerate(statuses) if s == 200)


def test_200_concurrent_starts_against_a_live_server(live_server):
    # one client shared by the 32 threads, with a connection each: 32 requests in flight at once as
    # before, without building a client (and its TLS context) for every request
    with httpx.Client(base_url=live_server.url, timeout=10, limits=httpx.Limits(max_connections=32)) as c:
        def start(i: int) -> int:
            return c.post("/api?action=start", json={**CREDS, "userId": "crowd", "deviceId": f"d{i}"}).status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(start, range(200)))
    assert set(statuses) <= {200, 429}
    fake = live_server.fake
    assert sum(1 for u in fake.leanplum.state.users(APP).values() if u.id == "crowd") == 1
    user = fake.leanplum.user(APP, "crowd")
    assert len(user.device_ids) == statuses.count(200) == len(set(user.device_ids))
