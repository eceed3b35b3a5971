"""`pytest -n 4` over a suite on `pushfake_server`: one live server per worker, no port clash, and
no state shared between workers or between tests."""

from __future__ import annotations

import json

SUITE = '''
import json, os, pathlib
import httpx
import pytest

OUT = pathlib.Path({out!r})
DEFAULT_USERS = {{"alice", "bob", "carol"}}


@pytest.mark.parametrize("n", range(24))
def test_each_test_sees_only_its_own_world(n, pushfake_server):
    assert pushfake_server.deliveries() == [] and pushfake_server.requests() == []
    users = {{u["id"] for u in pushfake_server.control.leanplum_users("app_pushfake")}}
    assert users == DEFAULT_USERS
    pushfake_server.add_user(f"user-{{n}}", devices=[{{"id": f"phone-{{n}}", "systemName": "Android",
                                                     "gcmRegistrationId": f"fcm:APA91b-test-token-for-phone-{{n:04d}}"}}])
    response = httpx.post(pushfake_server.leanplum_url + "?action=sendMessage",
                          json={{"appId": "app_pushfake", "clientKey": "prod_pushfake", "userId": f"user-{{n}}",
                                "messageId": "1001"}})
    assert response.json()["response"][0]["messagesSent"] == 1
    pushfake_server.assert_pushed(device=f"phone-{{n}}", count=1)
    assert [d["device"] for d in pushfake_server.deliveries()] == [f"phone-{{n}}"]
    record = {{"worker": os.environ.get("PYTEST_XDIST_WORKER"), "url": pushfake_server.url, "pid": os.getpid()}}
    with (OUT / f"{{n}}.json").open("w") as f:
        json.dump(record, f)
'''


def test_four_workers_run_four_servers_without_sharing_state(pytester):
    out = pytester.mkdir("records")
    pytester.makepyfile(test_suite=SUITE.format(out=str(out)))
    # as a user with the `pytest` extra has it: no Schemathesis or Hypothesis plugin (each of the five
    # processes starts in 1.1 s of CPU instead of 2.7); ours, xdist's, respx's and anyio's stay on
    result = pytester.runpytest_subprocess("-n", "4", "-p", "xdist", "-q", "-p", "no:cacheprovider",
                                           "-p", "no:schemathesis", "-p", "no:hypothesispytest", timeout=120)
    result.assert_outcomes(passed=24)
    records = [json.loads(p.read_text()) for p in sorted(out.iterdir())]
    assert len(records) == 24
    url_of_worker: dict[str, set[str]] = {}
    for record in records:
        url_of_worker.setdefault(record["worker"], set()).add(record["url"])
    assert set(url_of_worker) == {"gw0", "gw1", "gw2", "gw3"}
    assert all(len(urls) == 1 for urls in url_of_worker.values()), url_of_worker  # one server per worker
    urls = [next(iter(u)) for u in url_of_worker.values()]
    assert len(set(urls)) == 4 and all(u.startswith("http://127.0.0.1:") for u in urls)  # four ports, loopback
