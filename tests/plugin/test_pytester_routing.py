"""Which requests the `pushfake` fixture answers: the vendors' hosts only, next to a user's own respx."""

from __future__ import annotations

from tests.plugin.pytester_helpers import project, run


def test_other_hosts_are_left_to_the_network(pytester):
    project(pytester, test_hosts="""
        import asyncio
        import socket

        import httpx
        import pytest
        from pf_inner import send_points

        def unused_port():
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                return probe.getsockname()[1]

        def test_a_closed_port_refuses(pushfake):
            url = f"http://127.0.0.1:{unused_port()}/api?action=start"
            with pytest.raises(httpx.ConnectError):
                httpx.post(url, json={})

            async def post():
                async with httpx.AsyncClient() as client:
                    await client.post(url, json={})

            with pytest.raises(httpx.ConnectError):
                asyncio.run(post())
            assert pushfake.requests() == []

        def test_the_live_server_is_reached_beside_the_in_process_fake(pushfake, pushfake_server):
            send_points(pushfake_server, "alice")  # 127.0.0.1:<port>: the network, so the live server
            send_points(pushfake, "bob")  # api.leanplum.com: the in-process fake
            assert [d["user"] for d in pushfake_server.deliveries()] == ["alice"]
            assert [d["user"] for d in pushfake.deliveries()] == ["bob"]

        def test_every_vendor_host_reaches_the_fake(pushfake):
            for url in ("https://api.leanplum.com/api", "https://www.leanplum.com/api",
                        "http://pushfake.local/api"):
                response = httpx.post(url, params={"action": "start"},
                                      json={"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": "alice"})
                assert response.status_code == 200, url
            for base in ("https://api.dengage.com", "https://tr-api.dengage.com"):
                response = httpx.post(f"{base}/rest/login", json={"userkey": "pushfake", "password": "pushfake-secret"})
                assert response.status_code == 200, base
            assert len(pushfake.requests()) == 5
    """)
    run(pytester).assert_outcomes(passed=3)


def test_clients_httpx_cannot_route_are_stopped_before_the_real_vendor(pytester):
    project(pytester, test_guard="""
        import pytest
        import requests

        def test_requests_to_the_vendor(pushfake):
            with pytest.raises(requests.ConnectionError) as failure:
                requests.post("https://api.leanplum.com/api?action=start", timeout=5)
            assert ("pushfake: api.leanplum.com is the real vendor, and the `pushfake` fixture routes only httpx "
                    "to its fake; give this client pushfake_server.leanplum_url / .dengage_url instead"
                    ) in str(failure.value)
    """)
    run(pytester).assert_outcomes(passed=1)


def test_a_users_respx_router_coexists_with_pushfake(pytester):
    project(pytester, test_respx="""
        import httpx
        import respx
        from pf_inner import leanplum

        def both_answer(pushfake, router):
            route = router.get("https://example.org/hello").respond(200, json={"hello": "user"})
            assert httpx.get("https://example.org/hello").json() == {"hello": "user"}
            assert leanplum(pushfake, "start", userId="alice").status_code == 200
            assert route.call_count == 1
            pushfake.assert_requested(action="start", user="alice")

        def test_respx_mock_set_up_first(respx_mock, pushfake):
            both_answer(pushfake, respx_mock)

        def test_respx_mock_set_up_last(pushfake, respx_mock):
            both_answer(pushfake, respx_mock)

        def test_a_respx_mock_block(pushfake):
            with respx.mock(assert_all_called=True) as router:
                both_answer(pushfake, router)
            assert leanplum(pushfake, "start", userId="bob").status_code == 200  # still routed after the block
            pushfake.assert_requested(action="start", count=2)
    """)
    run(pytester).assert_outcomes(passed=3)
