"""Helpers for the inbox's server-side tests: fetch a page or fragment and read it, send through
both vendors, and build many deliveries quickly."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from pushfake import Fake
from pushfake.core.deliveries import Delivery
from tests.dengage.helpers import login, send, tracking_id
from tests.gateway.helpers import sent
from tests.inbox.dom import Element, parse

INBOX = "/_pushfake/inbox"
SALE = {"title": "Weekend sale", "message": "Everything is 20% off", "mediaUrl": "https://img.example/sale.png"}


def inbox(client: TestClient, path: str = "", **params: Any) -> Element:
    """GET the page (or a fragment: `path="/devices"`), checked to be 200 HTML, parsed."""
    response = client.get(INBOX + path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return parse(response.text)


def owners(page: Element) -> list[tuple[str, str]]:
    return [(s.attrs["data-vendor"], s.attrs["data-owner"]) for s in page.all("section", "owner")]


def shown_ids(page: Element) -> set[str]:
    return {li.attrs["data-delivery"] for li in page.all("li", "notification")}


def notification(page: Element, delivery_id: str) -> Element:
    return page.one("li", "notification", data_delivery=delivery_id)


def leanplum_send(client: TestClient, user: str = "alice", message_id: int = 1001, **params: Any) -> int:
    return sent(client, user, message_id, **params)


def dengage_send(client: TestClient, body: dict[str, Any]) -> str:
    return tracking_id(send(client, login(client), body))


def many_deliveries(fake: Fake, count: int, devices: int, *, owners: int | None = None) -> list[Delivery]:
    """`count` queued Leanplum-shaped deliveries over `devices` devices (device i belongs to
    owner i % owners), recorded through the delivery queue one second apart."""
    owners = owners or devices
    ids = fake.deliveries.new_ids(count)
    made = []
    for i, delivery_id in enumerate(ids):
        device = i % devices
        payload = {"title": f"Note {i}", "body": f"Body number {i}"}
        made.append(Delivery(delivery_id, "leanplum", "app_pushfake", str(2000 + i % 7), f"user-{device % owners}",
                             f"device-{device}", "apns", f"{device:064x}", payload))
    step = 500
    for start in range(0, count, step):  # timestamps grow with the batches, so "newest" is well defined
        fake.deliveries.record(*made[start:start + step])
        fake.advance(1)
    return made
