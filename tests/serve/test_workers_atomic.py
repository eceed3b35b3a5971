"""What the vendors do atomically stays atomic across `pushfake serve --workers 4` on one Redis:
many clients at once, over connections the kernel hands to whichever worker accepts first."""

from __future__ import annotations

import uuid
from contextlib import closing
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.dengage import helpers as dg
from tests.serve.helpers import running

APP = "app_pushfake"
CREDS = {"appId": APP, "clientKey": "prod_pushfake"}


def test_what_the_vendors_do_atomically_stays_atomic_across_workers(redis_url):
    """One server for both (starting four workers costs more than the checks): 200 concurrent
    starts for one new user make one user, and a trackingId sent 40 times at once is used once."""
    with running("--port", "0", "--store", redis_url, "--workers", "4") as server:
        # a connection per call, so the calls spread over the workers (one client: making one
        # costs 30 ms of CPU, its TLS context)
        spread = httpx.Client(base_url=server.url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0))

        def start(i: int) -> int:
            return spread.post("/api?action=start", json={**CREDS, "userId": "crowd", "deviceId": f"d{i}"}).status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(start, range(200)))
        with httpx.Client(base_url=server.url, timeout=30) as client:
            user = client.get(f"/_pushfake/leanplum/apps/{APP}/users/crowd").json()
            journal = client.get("/_pushfake/journal", params={"limit": 1000}).json()
            token = dg.login(client)
        tracking = str(uuid.uuid4())

        def send(_: int) -> int:
            return dg.send(spread, token, {"content": dg.CONTENT, "trackingId": tracking}).status_code

        with ThreadPoolExecutor(max_workers=16) as pool, closing(spread):
            sends = list(pool.map(send, range(40)))
    assert set(statuses) <= {200, 429} and 200 in statuses  # 429: Leanplum's per-user lock
    devices = user["devices"]
    assert len(devices) == statuses.count(200) == len({d["id"] for d in devices})
    starts = [e for e in journal["entries"] if e["operation"] == "start"]
    assert len(starts) == 200 and sorted(e["seq"] for e in starts) == list(range(1, 201))  # one sequence
    assert sends.count(200) == 1 and set(sends) <= {200, 400, 429}, sends


def test_the_fixtures_and_the_seed_are_not_changed_under_several_workers(redis_url):
    with running("--port", "0", "--store", redis_url, "--workers", "2", "--seed", "7") as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            fixtures = client.put("/_pushfake/fixtures", json={"seed": 3})
            seed = client.post("/_pushfake/reset", json={"seed": 3})
            same_seed = client.post("/_pushfake/reset", json={"seed": 7})
            plain = client.post("/_pushfake/reset")
    assert (fixtures.status_code, fixtures.json()["error"]["message"]) == (
        409, "the fixtures cannot change while 2 workers serve this world (each holds its own): "
             "restart pushfake serve with --fixtures")
    assert (seed.status_code, seed.json()["error"]["message"]) == (
        409, "the seed cannot change while 2 workers serve this world (each holds its own): "
             "restart pushfake serve with --seed")
    assert same_seed.status_code == plain.status_code == 200
