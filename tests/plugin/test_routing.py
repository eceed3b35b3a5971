"""Unchanged httpx client code, sync or async, gets the same answers from the in-process fake
(the real vendor hosts, routed by respx) as from the live server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

LEANPLUM = {"appId": "app_pushfake", "clientKey": "prod_pushfake"}
GOLD_SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"  # ayse and elif
Call = tuple[str, str, dict[str, Any], dict[str, str]]


def scenario(leanplum: str, dengage: str, token: str | None = None) -> list[Call]:
    """A service's calls: Leanplum start and sendMessage, then D·engage login and a send."""
    if token is None:
        return [("POST", f"{leanplum}?action=start", {**LEANPLUM, "userId": "alice"}, {}),
                ("POST", f"{leanplum}?action=sendMessage", {**LEANPLUM, "userId": "alice", "messageId": "1001"}, {}),
                ("POST", f"{dengage}/login", {"userkey": "pushfake", "password": "pushfake-secret"}, {})]
    return [("POST", f"{dengage}/push/sendInstant",
             {"segmentId": GOLD_SEGMENT, "content": {"title": "Flash sale", "message": "Today only"}},
             {"authorization": f"Bearer {token}"})]


def run_sync(calls: list[Call]) -> list[httpx.Response]:
    with httpx.Client() as client:
        return [client.request(m, url, json=body, headers=headers) for m, url, body, headers in calls]


def run_async(calls: list[Call]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient() as client:
            return [await client.request(m, url, json=body, headers=headers) for m, url, body, headers in calls]

    return asyncio.run(go())


def outcome(handle: Any, run: Callable[[list[Call]], list[httpx.Response]]) -> dict[str, Any]:
    """What a test of the client would look at, minus what differs by nature (tokens, ids, times)."""
    start, send, login = run(scenario(handle.leanplum_url, handle.dengage_url))
    [instant] = run(scenario(handle.leanplum_url, handle.dengage_url, login.json()["access_token"]))
    started = start.json()["response"][0]
    pushed = handle.assert_pushed(device="alice-iphone", title="Your points")
    return {
        "status": [r.status_code for r in (start, send, login, instant)],
        "content types": {r.headers["content-type"] for r in (start, send, login, instant)},
        "start": {k: v for k, v in started.items() if k != "token"},
        "sendMessage": send.json(),
        "login": {k: v for k, v in login.json().items() if k != "access_token"},
        "sendInstant": (instant.json()["code"], instant.json()["message"]),
        "pushes": sorted((d["vendor"], d["device"], d["state"], d["payload"].get("title"))
                         for d in handle.deliveries()),
        "leanplum payload": {k: v for k, v in pushed["payload"].items()},
        "journal": [(e["vendor"], e["operation"], e["status"]) for e in handle.requests()],
    }


@pytest.mark.parametrize("run", [run_sync, run_async], ids=["httpx.Client", "httpx.AsyncClient"])
def test_a_client_gets_the_same_answers_in_process_and_live(run, pushfake, pushfake_server):
    in_process = outcome(pushfake, run)
    live = outcome(pushfake_server, run)
    assert in_process == live
    assert in_process["status"] == [200, 200, 200, 200]
    assert in_process["sendMessage"] == {"response": [{"success": True, "result": "Message sent", "messagesSent": 1}]}
    assert in_process["pushes"] == [
        ("dengage", "ayse-iphone", "delivered", "Flash sale"), ("dengage", "elif-chrome", "delivered", "Flash sale"),
        ("leanplum", "alice-iphone", "delivered", "Your points")]
    assert [op for _, op, _ in in_process["journal"]] == ["start", "sendMessage", "login", "sendInstantPush"]


@pytest.mark.parametrize("host", ["api.leanplum.com", "www.leanplum.com"])
def test_both_leanplum_hosts_reach_the_fake(host, pushfake):
    response = httpx.post(f"https://{host}/api?action=start", json={**LEANPLUM, "userId": "alice"})
    assert response.json()["response"][0]["success"] is True
    pushfake.assert_requested(vendor="leanplum", action="start", user="alice")


@pytest.mark.parametrize("host", ["api.dengage.com", "tr-api.dengage.com", "eu-api.dengage.com"])
def test_the_dengage_hosts_reach_the_fake(host, pushfake):
    response = httpx.post(f"https://{host}/rest/login", json={"userkey": "pushfake", "password": "pushfake-secret"})
    assert response.status_code == 200
    pushfake.assert_requested(vendor="dengage", action="login", status=200)


def test_a_client_handed_to_the_code_reaches_the_fake_without_routing(pushfake):
    with pushfake.http_client() as client:
        response = client.post("/api", params={"action": "sendMessage"},
                               json={**LEANPLUM, "userId": "bob", "messageId": "1001"})
    assert response.json()["response"][0]["messagesSent"] == 1
    pushfake.assert_pushed(device="bob-pixel", body="You have 100 points waiting, friend!")


@pytest.mark.parametrize(("kind", "error", "status"), [
    ("reset", httpx.ReadError, 0), ("truncate", httpx.RemoteProtocolError, 200), ("hang", httpx.ReadTimeout, 0)])
def test_a_cut_connection_reaches_httpx_as_the_error_a_live_server_gives(kind, error, status, pushfake):
    pushfake.add_fault({"match": {"operation": "sendMessage"}, "fault": {"kind": kind}})
    with pytest.raises(error):
        httpx.post(f"{pushfake.leanplum_url}?action=sendMessage", json={**LEANPLUM, "userId": "alice", "messageId": "1001"})
    pushfake.assert_requested(action="sendMessage", status=status)  # 200: the answer began, then was cut
