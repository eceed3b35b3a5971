"""On a live server (real time), a scheduled D·engage send goes out when its date comes."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import httpx

SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"


def test_scheduled_send_runs_when_its_time_comes(live_server):
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        token = client.post("/rest/login", json={"userkey": "pushfake", "password": "pushfake-secret"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        when = math.ceil(time.time()) + 2
        response = client.post("/rest/push/sendInstant", headers=headers, json={
            "content": {"title": "Later", "message": "Hi {{contact.name}}"}, "segmentId": SEGMENT,
            "scheduleDate": datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
        assert response.status_code == 200, response.text
        tracking_id = response.json()["data"]["trackingId"]
        report = client.get("/rest/push/sendInstant", params={"trackingId": tracking_id}, headers=headers).json()
        assert report["data"]["status"] == "Scheduled" and report["data"]["totalCount"] == 0
        deadline = time.monotonic() + 10
        while not live_server.fake.deliveries.find(send_id=tracking_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert time.time() >= when - 0.05, "not before its date"
        deliveries = live_server.fake.deliveries.find(send_id=tracking_id)
        assert sorted(d.user_id for d in deliveries) == ["ayse", "elif"]
        report = client.get("/rest/push/sendInstant", params={"trackingId": tracking_id}, headers=headers).json()
        assert report["data"]["status"] == "Sending" and report["data"]["totalCount"] == 2
