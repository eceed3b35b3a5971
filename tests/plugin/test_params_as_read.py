"""`assert_requested(params=...)` compares with what the fake acted on (the journal holds the
parameters as read), and reads the test's own values the same way: a test may write a Leanplum
`messageId` as the number or the text, as a client may send either."""

from __future__ import annotations

import httpx
import pytest

LEANPLUM = {"appId": "app_pushfake", "clientKey": "prod_pushfake"}


@pytest.mark.parametrize("sent", [1001, "1001", 1001.0])
@pytest.mark.parametrize("written", [1001, "1001"])
def test_a_message_id_matches_as_number_or_text(sent, written, pushfake):
    httpx.post(f"{pushfake.leanplum_url}?action=sendMessage", json={**LEANPLUM, "userId": "alice", "messageId": sent})
    pushfake.assert_requested(action="sendMessage", params={"messageId": written, "userId": "alice"})
    with pytest.raises(AssertionError, match=r"params.messageId '1001' \(expected '1002'\)"):
        pushfake.assert_requested(action="sendMessage", params={"messageId": 1002})


def test_assert_not_requested_reads_the_test_s_values_the_same_way(pushfake):
    httpx.post(f"{pushfake.leanplum_url}?action=sendMessage", json={**LEANPLUM, "userId": "alice", "messageId": "1001"})
    with pytest.raises(AssertionError, match="1 request did arrive"):
        pushfake.assert_not_requested(action="sendMessage", params={"messageId": 1001})
    pushfake.assert_not_requested(action="sendMessage", params={"messageId": 1002})


def test_dengage_parameters_are_compared_as_sent(pushfake):
    httpx.post(f"{pushfake.dengage_url}/login", json={"userkey": "pushfake", "password": "pushfake-secret"})
    pushfake.assert_requested(vendor="dengage", action="login", params={"userkey": "pushfake"})


def test_a_request_refused_for_its_parameters_matches_as_it_was_sent(pushfake):
    """Refused, a request is journaled as sent: `messageId` stays the number the client wrote."""
    httpx.post(f"{pushfake.leanplum_url}?action=sendMessage",
               json={**LEANPLUM, "userId": "alice", "messageId": 1001, "force": "maybe"})
    pushfake.assert_requested(action="sendMessage", status=400, params={"messageId": 1001})
    with pytest.raises(AssertionError, match="1 request did arrive"):
        pushfake.assert_not_requested(action="sendMessage", params={"messageId": 1001})
