"""What a user reads when a pushfake assertion fails, or when the fake itself breaks.

The scratch project's tests run against `handle`: `pushfake` unless run with
`--under=pushfake_server`, so the same cases show that both fixtures fail with the same text.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.plugin.pytester_helpers import e_lines, escape, project, run, section

UNDER = '''

def pytest_addoption(parser):
    parser.addoption("--under", default="pushfake")


@pytest.fixture
def handle(request):
    return request.getfixturevalue(request.config.getoption("under"))
'''

INNER_TESTS = """
    import pytest
    from pf_inner import leanplum, send_points

    def test_near_misses(handle):
        send_points(handle, "alice")
        send_points(handle, "bob")
        handle.assert_pushed(device="alice-iphone", title="Your pointz")

    def test_near_miss_in_the_payload(handle):
        send_points(handle, "alice")
        handle.assert_pushed(user="alice", body="You have 100 points", payload={"data": {"screen": "home"}, "sound": "x"})

    def test_nothing_arrived(handle):
        handle.assert_pushed(device="alice-iphone")

    def test_too_few(handle):
        send_points(handle, "alice")
        handle.assert_pushed(user="alice", count=2)

    def test_too_many(handle):
        send_points(handle, "alice")
        send_points(handle, "alice")
        handle.assert_pushed(user="alice", count=1)

    def test_count_none_matched(handle):
        send_points(handle, "bob")
        handle.assert_pushed(user="alice", count=1)

    def test_request_params(handle):
        send_points(handle, "alice")
        leanplum(handle, "start", userId="bob")
        handle.assert_requested(action="sendMessage", params={"messageId": "1002", "userId": "alice"})

    def test_no_request_at_all(handle):
        handle.assert_requested(action="sendMessage")

    def test_action_inside_a_multi(handle):
        items = [{"action": "start", "userId": "alice"}, {"action": "track", "userId": "alice", "event": "x"}]
        assert leanplum(handle, "multi", data=items).status_code == 200
        entry = handle.assert_requested(action="track", user="alice")
        assert (entry["operation"], entry["items"]) == ("multi", ["start", "track"])
        handle.assert_requested(action="sendMessage")

    def test_no_pushes(handle):
        send_points(handle, "alice")
        send_points(handle, "bob")
        handle.assert_no_pushes(send="1001")

    def test_one_push(handle):
        send_points(handle, "alice")
        handle.assert_no_pushes(user="alice")

    def test_not_requested(handle):
        items = [{"action": "start", "userId": "alice"}, {"action": "track", "userId": "alice", "event": "x"}]
        assert leanplum(handle, "multi", data=items).status_code == 200
        handle.assert_not_requested(action="sendMessage")
        handle.assert_not_requested(action="track")

    def test_no_pushes_to_others_passes(handle):
        send_points(handle, "alice")
        handle.assert_no_pushes(user="bob")

    @pytest.mark.parametrize("call", ["assert_pushed", "wait_for_push", "assert_no_pushes"])
    def test_misspelt_push_keyword(handle, call):
        getattr(handle, call)(devise="alice-iphone")

    @pytest.mark.parametrize("call", ["assert_requested", "assert_not_requested"])
    def test_misspelt_request_keyword(handle, call):
        getattr(handle, call)(acton="start")

    def test_wait_times_out(handle):
        send_points(handle, "bob")
        handle.wait_for_push(device="alice-iphone", timeout=0.2)

    def test_scheduled_work_breaks(pushfake):
        pushfake.fake.scheduler.handle("breaks", lambda payload: 1 / 0)
        pushfake.fake.scheduler.call_at(0, "breaks")
        pushfake.advance(1)

    def test_a_request_handler_breaks(pushfake, monkeypatch):
        async def broken(ask):
            raise RuntimeError("the service broke")

        monkeypatch.setattr(pushfake.fake.leanplum, "answer", broken)
        response = leanplum(pushfake, "start", userId="alice")
        assert response.status_code == 500  # the test looks no further: it must fail all the same

    def test_a_request_handler_breaks_live(pushfake_server, monkeypatch):
        from pushfake.leanplum.service import LeanplumService

        async def broken(self, ask):
            raise RuntimeError("the live service broke")

        monkeypatch.setattr(LeanplumService, "answer", broken)
        assert leanplum(pushfake_server, "start", userId="alice").status_code == 500

    def test_after_the_breakage_all_is_well(handle):
        send_points(handle, "alice")
        handle.assert_pushed(device="alice-iphone")

    def test_an_assertion_tells_the_fake_broke(pushfake):
        pushfake.fake.scheduler.handle("breaks", lambda payload: 1 / 0)
        pushfake.fake.scheduler.call_at(0, "breaks")
        pushfake.advance(1)
        pushfake.assert_pushed(device="alice-iphone")

    def test_a_failing_test_also_tells_the_fake_broke(pushfake):
        pushfake.fake.scheduler.handle("breaks", lambda payload: 1 / 0)
        pushfake.fake.scheduler.call_at(0, "breaks")
        pushfake.advance(1)
        assert 1 == 2, "the test's own failure"
"""


def run_inner(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    project(pytester, conftest=UNDER, test_messages=INNER_TESTS)
    return run(pytester, *args)


# what each failing case shows, below `E` (the same on both fixtures)
EXPECTED = {
    "test_near_misses": """\
        AssertionError: assert_pushed(device='alice-iphone', title='Your pointz', state='delivered'): no push matched
        2 pushes arrived, closest first:
          - leanplum push to device 'alice-iphone' (user 'alice', apns): delivered, title 'Your points'
              differs: title 'Your points' (expected 'Your pointz')
          - leanplum push to device 'bob-pixel' (user 'bob', fcm): delivered, title 'Your points'
              differs: device 'bob-pixel' (expected 'alice-iphone'); title 'Your points' (expected 'Your pointz')
    """,
    "test_near_miss_in_the_payload": """\
        AssertionError: assert_pushed(user='alice', body='You have 100 points', payload={'data': {'screen': 'home'}, \
'sound': 'x'}, state='delivered'): no push matched
        1 push arrived, closest first:
          - leanplum push to device 'alice-iphone' (user 'alice', apns): delivered, title 'Your points'
              differs: body 'You have 100 points waiting, friend!' (expected 'You have 100 points'); \
payload.data.screen 'rewards' (expected 'home'); payload.sound missing (expected 'x')
    """,
    "test_nothing_arrived": """\
        AssertionError: assert_pushed(device='alice-iphone', state='delivered'): no push matched
        no pushes at all reached the fake
    """,
    "test_too_few": """\
        AssertionError: assert_pushed(user='alice', state='delivered', count=2): 1 matched
          - leanplum push to device 'alice-iphone' (user 'alice', apns): delivered, title 'Your points'
    """,
    "test_too_many": """\
        AssertionError: assert_pushed(user='alice', state='delivered', count=1): 2 matched
          - leanplum push to device 'alice-iphone' (user 'alice', apns): delivered, title 'Your points'
          - leanplum push to device 'alice-iphone' (user 'alice', apns): delivered, title 'Your points'
    """,
    "test_count_none_matched": """\
        AssertionError: assert_pushed(user='alice', state='delivered', count=1): none matched
        1 push arrived, closest first:
          - leanplum push to device 'bob-pixel' (user 'bob', fcm): delivered, title 'Your points'
              differs: user 'bob' (expected 'alice')
    """,
    "test_request_params": """\
        AssertionError: assert_requested(action='sendMessage', params={'messageId': '1002', 'userId': 'alice'}): \
no request matched
        2 requests arrived, closest first:
          - #1 POST /api leanplum sendMessage, user 'alice' -> 200
              differs: params.messageId '1001' (expected '1002')
          - #2 POST /api leanplum start, user 'bob' -> 200
              differs: action 'start' (expected 'sendMessage'); params.messageId missing (expected '1002'); \
params.userId 'bob' (expected 'alice')
    """,
    "test_no_request_at_all": """\
        AssertionError: assert_requested(action='sendMessage'): no request matched
        no requests at all reached the fake
    """,
    "test_action_inside_a_multi": """\
        AssertionError: assert_requested(action='sendMessage'): no request matched
        1 request arrived, closest first:
          - #1 POST /api leanplum multi [start, track], user 'alice' -> 200
              differs: action 'multi' (expected 'sendMessage')
    """,
    "test_no_pushes": """\
        AssertionError: assert_no_pushes(send='1001'): 2 pushes did happen
          - leanplum push to device 'alice-iphone' (user 'alice', apns): delivered, title 'Your points'
          - leanplum push to device 'bob-pixel' (user 'bob', fcm): delivered, title 'Your points'
    """,
    "test_one_push": """\
        AssertionError: assert_no_pushes(user='alice'): 1 push did happen
          - leanplum push to device 'alice-iphone' (user 'alice', apns): delivered, title 'Your points'
    """,
    "test_not_requested": """\
        AssertionError: assert_not_requested(action='track'): 1 request did arrive
          - #1 POST /api leanplum multi [start, track], user 'alice' -> 200
    """,
}


@pytest.mark.parametrize("test", list(EXPECTED))
def test_an_assertion_fails_in_process_with_what_did_happen(pytester, test):
    result = run_inner(pytester, f"test_messages.py::{test}")
    result.assert_outcomes(failed=1)
    section(result, test).fnmatch_lines(e_lines(textwrap.dedent(EXPECTED[test])), consecutive=True)


def on_the_live_server(expected: str, timeout: str) -> str:
    """The same text, but a live assertion that looks again says for how long."""
    headline, rest = textwrap.dedent(expected).split("\n", 1)
    count, matched = re.search(r"count=(\d+)", headline), re.search(r": (\d+) matched$", headline)
    too_many = count is not None and matched is not None and int(matched[1]) > int(count[1])  # no use waiting
    if headline.startswith(("AssertionError: assert_pushed(", "AssertionError: assert_requested(")) and not too_many:
        headline += f" within {timeout} s"
    return f"{headline}\n{rest}"


def test_an_assertion_fails_on_the_live_server_with_the_same_text(pytester):
    """Every case above, on `pushfake_server` (which looks again until `--pushfake-timeout`)."""
    result = run_inner(pytester, "--under=pushfake_server", "--pushfake-timeout=0.05",
                       *(f"test_messages.py::{test}" for test in EXPECTED))
    result.assert_outcomes(failed=len(EXPECTED))
    for test, expected in EXPECTED.items():
        section(result, test).fnmatch_lines(e_lines(on_the_live_server(expected, "0.05")), consecutive=True)


def test_assert_no_pushes_passes_when_only_other_pushes_happened(pytester):
    run_inner(pytester, "test_messages.py::test_no_pushes_to_others_passes").assert_outcomes(passed=1)


def test_wait_for_push_on_the_live_server_gives_up_after_its_timeout(pytester):
    result = run_inner(pytester, "--under=pushfake_server", "--durations=0", "--durations-min=0",
                       "test_messages.py::test_wait_times_out")
    result.assert_outcomes(failed=1)
    section(result, "test_wait_times_out").fnmatch_lines(e_lines(textwrap.dedent("""\
        AssertionError: wait_for_push(device='alice-iphone', state='delivered'): no push matched within 0.2 s
        1 push arrived, closest first:
          - leanplum push to device 'bob-pixel' (user 'bob', fcm): delivered, title 'Your points'
              differs: device 'bob-pixel' (expected 'alice-iphone')
    """)), consecutive=True)
    call = next(line for line in result.outlines if re.match(r"[\d.]+s call +test_messages.py::test_wait_times_out",
                                                             line))
    assert 0.2 <= float(call.split("s", 1)[0]) < 2.0, call  # waited its 0.2 s, not the default 5 s


def test_wait_for_push_in_process_fails_at_once_with_the_same_text(pytester):
    result = run_inner(pytester, "test_messages.py::test_wait_times_out")
    result.assert_outcomes(failed=1)
    section(result, "test_wait_times_out").fnmatch_lines(e_lines(
        "AssertionError: wait_for_push(device='alice-iphone', state='delivered'): no push matched\n"
        "1 push arrived, closest first:"), consecutive=True)


PUSH_KEYWORDS = "vendor, app, send, user, device, platform, state, title, body, payload"
REQUEST_KEYWORDS = "vendor, action, app, user, status, method, path, params"
WAITING = ", count, timeout"  # what the assertions that look for a match also take


@pytest.mark.parametrize(("test", "message"), [
    pytest.param(f"test_misspelt_push_keyword[{call}]",
                 f"{call}() got unknown keyword(s) devise; it takes {PUSH_KEYWORDS}{options}", id=call)
    for call, options in (("assert_pushed", WAITING), ("wait_for_push", WAITING), ("assert_no_pushes", ""))
] + [
    pytest.param(f"test_misspelt_request_keyword[{call}]",
                 f"{call}() got unknown keyword(s) acton; it takes {REQUEST_KEYWORDS}{options}", id=call)
    for call, options in (("assert_requested", WAITING), ("assert_not_requested", ""))
])
def test_a_misspelt_keyword_is_a_type_error_listing_the_accepted_ones(pytester, test, message):
    result = run_inner(pytester, f"test_messages.py::{test}")
    result.assert_outcomes(failed=1)
    section(result, test).fnmatch_lines([f"E *TypeError: {escape(message)}"])


# --- the fake itself breaks -----------------------------------------------------------------------
BREAKAGES = {
    "test_scheduled_work_breaks": [
        "pushfake failed in scheduled work: ZeroDivisionError: division by zero",
        "Traceback (most recent call last):",
        '  File "*/test_messages.py", line *, in <lambda>',
        '    pushfake.fake.scheduler.handle("breaks", lambda payload: 1 / 0)',
        "ZeroDivisionError: division by zero",
    ],
    "test_a_request_handler_breaks": [
        "pushfake failed in POST /api: RuntimeError: the service broke",
        "Traceback (most recent call last):",
        '  File "*/test_messages.py", line *, in broken',
        '    raise RuntimeError("the service broke")',
        "RuntimeError: the service broke",
    ],
    "test_a_request_handler_breaks_live": [
        "pushfake failed in POST /api: RuntimeError: the live service broke",
        "Traceback (most recent call last):",
        '  File "*/test_messages.py", line *, in broken',
        '    raise RuntimeError("the live service broke")',
        "RuntimeError: the live service broke",
    ],
    "test_an_assertion_tells_the_fake_broke": [
        "E       pushfake.client.FakeFailure: pushfake failed in scheduled work: ZeroDivisionError: division by zero",
        "E       Traceback (most recent call last):",
        'E         File "*/test_messages.py", line *, in <lambda>',
        "E       ZeroDivisionError: division by zero",
    ],
    "test_a_failing_test_also_tells_the_fake_broke": [
        "E       AssertionError: the test's own failure",
        "E       pushfake failed inside, in scheduled work:",
        "E       Traceback (most recent call last):",
        'E         File "*/test_messages.py", line *, in <lambda>',
        "E       ZeroDivisionError: division by zero",
    ],
}


@pytest.mark.parametrize("test", list(BREAKAGES))
def test_a_failure_inside_the_fake_fails_the_test_with_the_fakes_traceback(pytester, test):
    result = run_inner(pytester, f"test_messages.py::{test}")
    result.assert_outcomes(failed=1)
    report = section(result, test)
    report.fnmatch_lines(BREAKAGES[test])
    report.no_fnmatch_line("*no push matched*")


@pytest.mark.parametrize("under", ["pushfake", "pushfake_server"])
def test_the_next_test_does_not_inherit_the_breakage(pytester, under):
    broken = "test_a_request_handler_breaks" + ("_live" if under == "pushfake_server" else "")
    result = run_inner(pytester, f"--under={under}", f"test_messages.py::{broken}",
                       "test_messages.py::test_after_the_breakage_all_is_well")
    result.assert_outcomes(failed=1, passed=1)
