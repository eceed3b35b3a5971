"""A world in Redis outlives its processes: a worker killed mid-load loses no send a client was
told was accepted, and a restarted server finds its tokens and the deliveries still to make.

Every server is a real `pushfake serve` on a real `redis-server`, stopped by its pid."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import httpx

from pushfake import Client
from tests.dengage import helpers as dg
from tests.serve.helpers import running

SLOW = {"platforms": {platform: {"latency": 0.5} for platform in ("apns", "fcm", "webpush")}}
LOAD_SECONDS = 3.0


def scheduler_pid(server) -> int:  # noqa: ANN001 - tests.serve.helpers.Running
    """The worker that runs the gateway's due work, as its log line says."""
    line = server.wait_for(server.err, lambda line: "runs the scheduled work now" in line)
    return int(line.split("process ", 1)[1].split()[0])


def test_killing_the_worker_that_runs_the_gateway_under_load_loses_no_accepted_send(redis_url):
    with running("--port", "0", "--store", redis_url, "--workers", "2", "--log-level", "info") as server, \
            Client(server.url, timeout=60) as control:
        control.set_gateway(SLOW)  # deliveries stay due for a while: the kill finds some pending
        holder = scheduler_pid(server)
        with httpx.Client(base_url=server.url, timeout=60) as http:
            token = dg.login(http)
        accepted: list[str] = []
        refused: Counter[str] = Counter()
        stop = time.monotonic() + LOAD_SECONDS

        def load() -> None:  # a connection per send, so both workers take some
            with httpx.Client(base_url=server.url, timeout=60,
                              limits=httpx.Limits(max_keepalive_connections=0)) as http:
                while time.monotonic() < stop:
                    try:
                        answer = dg.send(http, token, {"content": dg.CONTENT})
                    except httpx.TransportError as exc:  # the killed worker's connections
                        refused[type(exc).__name__] += 1
                        continue
                    if answer.status_code == 200:
                        accepted.append(dg.tracking_id(answer))
                    else:
                        refused[str(answer.status_code)] += 1

        clients = [threading.Thread(target=load) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(LOAD_SECONDS / 2)
        os.kill(holder, signal.SIGKILL)
        for client in clients:
            client.join(LOAD_SECONDS + 60)
        server.wait_for(server.err, lambda line: f"worker {holder} ended (signal SIGKILL)" in line)
        assert accepted, refused

        # every accepted send's deliveries end, once each (another worker took the gateway over)
        deadline = time.monotonic() + 30
        while True:
            deliveries = control.deliveries(vendor="dengage", limit=10_000)
            by_send = {send: [d for d in deliveries if d["send"] == send] for send in accepted}
            pending = [d for ds in by_send.values() for d in ds if d["state"] not in ("delivered", "failed")]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert pending == [], [(d["state"], d["attempts"], d["timeline"]) for d in pending[:4]]
    counts = Counter(len(ds) for ds in by_send.values())
    assert len(counts) == 1 and 0 not in counts, counts  # each accepted send: every device, none missing
    assert all(d["attempts"] == 1 and d["state"] == "delivered" for ds in by_send.values() for d in ds)
    ids = [d["id"] for ds in by_send.values() for d in ds]
    assert len(ids) == len(set(ids))
    assert set(refused) <= {"RemoteProtocolError", "ReadError", "ConnectError", "503"}, refused


def test_a_restarted_server_keeps_its_tokens_and_the_deliveries_it_had_not_made(redis_url):
    with running("--port", "0", "--store", redis_url) as server, Client(server.url) as control:
        control.set_gateway({"platforms": {p: {"latency": 3} for p in ("apns", "fcm", "webpush")}})
        with httpx.Client(base_url=server.url, timeout=10) as http:
            token = dg.login(http)
            tracking = dg.tracking_id(dg.send(http, token, {"content": dg.CONTENT}))
        pending = control.deliveries(send=tracking)
    assert pending and {d["state"] for d in pending} & {"delivered", "failed"} == set(), pending
    with running("--port", "0", "--store", redis_url) as server, Client(server.url) as control:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            again = dg.send(http, token, {"content": dg.CONTENT})
        assert again.status_code == 200, again.text  # the token the first server issued
        for delivery in pending:
            done = control.wait_for_delivery(send=tracking, device=delivery["device"], state="delivered", timeout=15)
            assert done["id"] == delivery["id"] and done["attempts"] == 1
