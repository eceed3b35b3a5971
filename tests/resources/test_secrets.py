"""Secrets a client authenticates with (D·engage access tokens, Leanplum session tokens) follow
the seed on loopback, where tests compare them, and come from `secrets` off loopback, where
anyone who knows the seed could predict them after a reset; every other id stays seeded."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from pushfake import Fake, FixtureError, ManualClock, create_app, fake as fake_module
from pushfake.cli import main
from tests.dengage import helpers as dg
from tests.leanplum.helpers import element, post


def _secrets_and_ids(unguessable: bool) -> dict[str, Any]:
    """What one client session sees: two logins, a session token, and the seeded ids."""
    fake = Fake(seed=5, clock=ManualClock(), unguessable_secrets=unguessable)
    with TestClient(create_app(fake), raise_server_exceptions=True) as client:
        first = dg.login(client)
        session = element(post(client, "start", userId="alice"))["token"]
        tracking = dg.tracking_id(dg.send(client, first, {"content": dg.CONTENT}))
        sent = element(post(client, "sendMessage", userId="bob", messageId=1001))
        client.post("/_pushfake/reset")
        after_reset = dg.login(client)
        deliveries = [d.id for d in fake.deliveries.find()]
    return {"tokens": (first, session, after_reset), "tracking": tracking, "sent": sent,
            "deliveries": deliveries}


def test_on_loopback_secrets_follow_the_seed():
    one, two = _secrets_and_ids(False), _secrets_and_ids(False)
    assert one["tokens"] == two["tokens"]
    assert one["tokens"][0] == one["tokens"][2], "a reset replays the same token"


def test_off_loopback_secrets_cannot_be_predicted_from_the_seed():
    one, two = _secrets_and_ids(True), _secrets_and_ids(True)
    seeded = _secrets_and_ids(False)
    for a, b, c in zip(one["tokens"], two["tokens"], seeded["tokens"], strict=True):
        assert a != b and a != c
    assert one["tokens"][0] != one["tokens"][2], "a reset does not replay it"
    assert len(one["tokens"][0]) == len(seeded["tokens"][0]) == 64
    assert len(one["tokens"][1]) == len(seeded["tokens"][1])


def test_off_loopback_every_other_id_stays_seeded():
    one, seeded = _secrets_and_ids(True), _secrets_and_ids(False)
    assert (one["tracking"], one["sent"], one["deliveries"]) == (
        seeded["tracking"], seeded["sent"], seeded["deliveries"])


@pytest.mark.parametrize(("host", "unguessable"), [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                                   ("0.0.0.0", True), ("192.0.2.10", True)])
def test_serve_draws_secrets_from_secrets_off_loopback(monkeypatch, capsys, host, unguessable):
    seen: dict[str, Any] = {}

    def recording_fake(**options: Any) -> Fake:
        seen.update(options)
        raise FixtureError("stopped by the test before binding")

    monkeypatch.setattr(fake_module, "Fake", recording_fake)
    assert main(["serve", "--host", host, "--port", "0"]) == 2
    assert seen["unguessable_secrets"] is unguessable
    assert "stopped by the test" in capsys.readouterr().err
