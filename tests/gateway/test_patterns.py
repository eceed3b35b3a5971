"""Token patterns in gateway rules run in a linear-time engine (RE2): a pattern that makes a
backtracking engine take exponential time cannot stall the fake, and what RE2 cannot run in
linear time is refused with the place it came from."""

from __future__ import annotations

import threading
import time

import pytest

from pushfake import Fake, FixtureError
from tests.gateway.helpers import TOKEN_FIELD, fake_with, last_delivery, sent, serving, start_device

CATASTROPHIC = "(a+)+$"  # Python's `re` needs about 2**n steps on "a" * n + "b"


def _within(seconds: float, work) -> float:
    """Run `work` in a thread; fail (instead of hanging the suite) if it takes over `seconds`."""
    done = threading.Event()
    started = time.perf_counter()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(seconds), f"still matching after {seconds} s: the pattern ran in a backtracking engine"
    return time.perf_counter() - started


def test_a_catastrophic_pattern_matches_a_long_token_quickly(fake, client):
    token = "a" * 1900 + "b"  # a well-formed FCM registration id (Leanplum takes 2000 characters)
    start_device(client, "eve", "eve-pixel", TOKEN_FIELD["fcm"], token)
    fake.gateway.set_failures({"UNAVAILABLE": 1.0}, pattern=CATASTROPHIC, platform="fcm")
    assert sent(client, "eve") == 1
    _within(5, fake.run_until_idle)
    assert last_delivery(fake, user_id="eve").state == "delivered"  # the pattern did not match "...b"


def test_a_catastrophic_pattern_still_matches_what_it_should(fake, client):
    start_device(client, "eve", "eve-pixel", TOKEN_FIELD["fcm"], "a" * 1900)
    fake.gateway.set_failures({"UNAVAILABLE": 1.0}, pattern=CATASTROPHIC, platform="fcm")
    assert sent(client, "eve") == 1
    _within(5, fake.run_until_idle)
    assert last_delivery(fake, user_id="eve").reason == "UNAVAILABLE"


@pytest.mark.parametrize(("pattern", "says"), [
    (r"(a)\1", "backreferences"),
    ("(?=fcm)", "lookaround"),
    ("[", "missing ]"),
    ("a" * 1001, "at most 1000 characters"),
])
def test_a_pattern_re2_cannot_run_is_refused_in_fixtures(tmp_path, pattern, says):
    with pytest.raises(FixtureError) as refused:
        fake_with(tmp_path, {"rules": [{"pattern": pattern, "failNext": 1, "outcome": "UNAVAILABLE"}]})
    assert "gateway.rules[0].pattern" in str(refused.value) and says in str(refused.value)


def test_a_pattern_re2_cannot_run_is_refused_by_the_control_plane(fake, client):
    before = client.get("/_pushfake/gateway").json()
    response = client.put("/_pushfake/gateway", json={"tokens": [{"pattern": r"(x)\1", "latency": 1}]})
    assert response.status_code == 400
    assert "gateway.tokens[0].pattern" in response.json()["error"]["message"]
    assert client.get("/_pushfake/gateway").json() == before


def test_a_refused_pattern_in_the_python_api_changes_nothing():
    fake = Fake(seed=1)
    with pytest.raises(ValueError, match="linear time"):
        fake.gateway.fail_next(1, "UNAVAILABLE", pattern="(?<=x)y")
    with serving(fake) as client:
        assert sent(client, "bob") == 1
