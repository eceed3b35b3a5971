"""On a real server and real time, the gateway delivers in the background while the API answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pushfake import Fake
from tests.dengage import helpers as dg
from tests.gateway.helpers import gateway_world, sent, wait_until
from tests.support import LiveServer, serve_in_thread

GOLD_SALE = {"content": {"templateId": dg.SALE_TEMPLATE}, "segmentId": dg.GOLD_SEGMENT}


def deliveries(server: LiveServer, **filters: str) -> list:
    with server.fake.store.transaction():  # the server's thread writes them meanwhile
        return server.fake.deliveries.find(**filters)


def all_final(server: LiveServer, expected: int, **filters: str) -> list:
    rows = deliveries(server, **filters)
    return rows if len(rows) == expected and all(d.final for d in rows) else []


@pytest.fixture
def slow_server(tmp_path) -> Iterator[LiveServer]:
    """The default world with every gateway answering after exactly one second."""
    path = gateway_world(tmp_path, {"platforms": {p: {"latency": 1.0} for p in ("apns", "fcm", "webpush")}})
    with serve_in_thread(Fake(fixtures=path, seed=5)) as server:
        yield server


def test_sends_over_real_http_are_delivered_in_the_background(live_server):
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert sent(http, "bob") == 1
        token = dg.login(http)
        tracking = dg.tracking_id(dg.send(http, token, GOLD_SALE))

        [bob] = wait_until(lambda: all_final(live_server, 1, user_id="bob"))
        assert (bob.platform, bob.state, bob.attempts) == ("fcm", "delivered", 1)
        rows = wait_until(lambda: all_final(live_server, 2, send_id=tracking))
        assert {(d.user_id, d.state) for d in rows} == {("ayse", "delivered"), ("elif", "delivered")}
        data = dg.report(http, token, tracking)
        assert (data["status"], data["totalCount"], data["totalDeliveredCount"]) == ("Completed", 2, 2)


def test_a_fixed_latency_from_the_fixtures_keeps_deliveries_in_flight_while_the_api_answers(slow_server):
    with httpx.Client(base_url=slow_server.url, timeout=10) as http:
        assert sent(http, "alice") == 1
        [alice] = deliveries(slow_server, user_id="alice")
        assert not alice.final  # answered before the gateway did

        # the API keeps answering while the attempt is in flight
        token = dg.login(http)
        tracking = dg.tracking_id(dg.send(http, token, GOLD_SALE))
        data = dg.report(http, token, tracking)
        assert (data["status"], data["totalCount"], data["totalDeliveredCount"]) == ("Sending", 2, 0)
        assert deliveries(slow_server, user_id="alice")[0].state in ("queued", "sending")

        [alice] = wait_until(lambda: all_final(slow_server, 1, user_id="alice"))
        (_, queued_at, _), (_, sending_at, _), (state, answered_at, _) = alice.timeline
        assert state == "delivered" and answered_at == sending_at + 1.0 and sending_at >= queued_at

        rows = wait_until(lambda: all_final(slow_server, 2, send_id=tracking))
        assert all(d.state == "delivered" and d.timeline[-1][1] == d.timeline[-2][1] + 1.0 for d in rows)
        data = dg.report(http, token, tracking)
        assert (data["status"], data["totalDeliveredCount"]) == ("Completed", 2)
