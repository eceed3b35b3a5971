"""The digest job's `requests` client: respx cannot route `requests`, so it talks to a live fake
on a loopback port (`pushfake_server`) through its configurable base URL."""

from __future__ import annotations

import pytest
from default_world import LEANPLUM_APP, LEANPLUM_KEY
from notifier.leanplum_client import LeanplumError
from notifier.requests_sender import DigestSender


@pytest.fixture
def sender(pushfake_server, monkeypatch):
    monkeypatch.setenv("LEANPLUM_API_URL", pushfake_server.leanplum_url)  # as the job is configured
    sender = DigestSender(app_id=LEANPLUM_APP, client_key=LEANPLUM_KEY)
    yield sender
    sender.close()


def test_the_digest_reaches_the_customers_browser(pushfake_server, sender):
    assert sender.send_digest("carol", 1001, {"points": 40}) == 1

    pushfake_server.assert_pushed(device="carol-chrome", platform="webpush",
                                  body="You have 40 points waiting, friend!")
    pushfake_server.assert_requested(action="sendMessage", user="carol", method="POST", status=200)


def test_an_outage_is_reported_with_leanplums_message(pushfake_server, sender):
    pushfake_server.add_fault({"match": {"operation": "sendMessage"}, "fault": {"kind": "error", "status": 503}})

    with pytest.raises(LeanplumError, match=r"^Service unavailable\.$"):
        sender.send_digest("carol", 1001)
    pushfake_server.assert_requested(action="sendMessage", status=503, count=1)
    pushfake_server.assert_no_pushes()
