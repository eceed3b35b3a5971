"""The fixtures' scopes, each test's fresh fake, determinism, and overriding the small fixtures."""

from __future__ import annotations

import json
import re

from tests.plugin.pytester_helpers import project, run


def test_pushfake_is_per_test_and_pushfake_server_is_per_test_over_one_server_per_session(pytester):
    project(pytester, test_scopes="""
        import pathlib

        import httpx
        import pytest

        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_records_the_url(pushfake_server, pushfake, n):
            assert httpx.get(pushfake_server.url + "/_pushfake/health").json()["status"] == "ok"
            with pathlib.Path("urls.txt").open("a") as out:
                out.write(f"{pushfake_server.url} {pushfake.url}\\n")
    """)
    result = run(pytester, "--setup-show")
    result.assert_outcomes(passed=3)
    for fixture in ("pushfake", "pushfake_server"):  # F: function scope
        setups = [line for line in result.outlines if re.match(rf"\s+SETUP    F {fixture} \(fixtures used", line)]
        assert len(setups) == 3, result.outlines
    urls = (pytester.path / "urls.txt").read_text().splitlines()
    assert len(urls) == 3 and len(set(urls)) == 1, urls  # one live server for the session
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+ http://pushfake\.local", urls[0]), urls


ISOLATION = """
    import time

    from pf_inner import DEFAULT_START, leanplum, near, send_points, user_ids

    RULE = {"match": {"vendor": "leanplum", "operation": "sendMessage"}, "fault": {"kind": "error", "status": 503}}
    SMALL = {"leanplum": {"apps": [{"id": "app_small", "productionKey": "p", "developmentKey": "d"}]}}

    def started(pf):
        return pf.now() == DEFAULT_START if not pf.live else near(pf.now(), time.time() - 5)

    def test_1_changes_everything(pf):
        pf.add_user("dave", devices=[{"id": "dave-phone", "systemName": "iOS", "iosPushToken": "ab" * 32}])
        send_points(pf, "dave")
        pf.assert_pushed(device="dave-phone")
        pf.add_fault(RULE)
        assert leanplum(pf, "sendMessage", userId="alice", messageId="1001").status_code == 503
        pf.advance(86400 * 365)
        assert not started(pf)

    def test_2_sees_none_of_it(pf):
        assert user_ids(pf) == ["alice", "bob", "carol"]
        assert pf.deliveries() == [] and pf.requests() == []
        assert started(pf)
        send_points(pf, "alice")  # no fault rule left
        assert [d["device"] for d in pf.deliveries()] == ["alice-iphone"]

    def test_3_loads_other_fixtures(pf):
        pf.load_fixtures(SMALL)
        assert pf.leanplum_app == "app_small"

    def test_4_has_the_default_world_back(pf):
        assert pf.leanplum_app == "app_pushfake"
        assert user_ids(pf) == ["alice", "bob", "carol"]
        send_points(pf, "bob")
"""


def test_each_test_starts_from_a_fresh_fake(pytester):
    project(pytester, test_isolation=ISOLATION)
    run(pytester).assert_outcomes(passed=8)


def test_each_test_starts_fresh_even_when_one_fails_midway(pytester):
    project(pytester, test_isolation=ISOLATION.replace("        assert not started(pf)\n",
                                                       "        assert not started(pf)\n        assert False\n"))
    run(pytester).assert_outcomes(passed=6, failed=2)


def test_the_same_seed_gives_the_same_ids(pytester):
    project(pytester, test_ids="""
        import json
        import pathlib

        import pytest
        from pf_inner import dengage_broadcast, send_points

        def record(request, pf):
            send_points(pf, "alice")
            tracking = dengage_broadcast(pf)
            pf.settle()
            ids = [tracking, *sorted(d["id"] for d in pf.deliveries())]
            with pathlib.Path("ids.jsonl").open("a") as out:
                out.write(json.dumps([request.node.name, ids]) + "\\n")

        def test_first(request, pf):
            record(request, pf)

        def test_second(request, pf):
            record(request, pf)

        @pytest.mark.pushfake(seed=1)
        def test_other_seed(request, pf):
            record(request, pf)
    """)
    run(pytester).assert_outcomes(passed=6)
    ids = dict(json.loads(line) for line in (pytester.path / "ids.jsonl").read_text().splitlines())
    for fixture in ("pushfake", "pushfake_server"):
        first, second, other = (ids[f"test_{name}[{fixture}]"] for name in ("first", "second", "other_seed"))
        assert len(first) == 1 + 1 + 4, first  # the tracking id, alice's push and four D·engage deliveries
        assert first == second
        assert set(first).isdisjoint(other)


OVERRIDES = '''

@pytest.fixture
def pushfake_fixtures():
    return "worlds/small.yaml"


@pytest.fixture
def pushfake_seed():
    return 9


@pytest.fixture
def pushfake_faults():
    return [{"match": {"vendor": "leanplum", "operation": "start"}, "fault": {"kind": "error", "status": 503}}]


@pytest.fixture
def pushfake_clock():
    return "2030-01-01T00:00:00Z"
'''


def test_a_conftest_overrides_the_small_fixtures_and_the_marker_beats_it(pytester):
    project(pytester, conftest=OVERRIDES, small_world=True, test_overrides="""
        import pytest
        from pf_inner import CREDS, DEFAULT_START, SMALL_CREDS, START_2030, leanplum, near, seed_of, user_ids

        def moment(pf, expected):
            return pf.now() == expected if not pf.live else near(pf.now(), expected)

        def test_overridden(pf):
            assert pf.leanplum_app == "app_small" and user_ids(pf) == ["zed"]
            assert seed_of(pf) == 9
            assert moment(pf, START_2030)
            assert leanplum(pf, "start", creds=SMALL_CREDS, userId="zed").status_code == 503

        @pytest.mark.pushfake(fixtures=None, seed=3, faults=[], clock=DEFAULT_START)
        def test_the_marker_wins(pf):
            assert pf.leanplum_app == "app_pushfake"
            assert seed_of(pf) == 3
            assert moment(pf, DEFAULT_START)
            assert leanplum(pf, "start", creds=CREDS, userId="alice").status_code == 200

        @pytest.mark.pushfake(seed=4)
        def test_the_marker_changes_only_what_it_names(pf):
            assert pf.leanplum_app == "app_small"
            assert seed_of(pf) == 4
            assert moment(pf, START_2030)
            assert leanplum(pf, "start", creds=SMALL_CREDS, userId="zed").status_code == 503
    """)
    run(pytester).assert_outcomes(passed=6)
