"""The one request path both vendors take (`pushfake.traffic`): what the journal records of a
request, and what it leaves in the ASGI scope for an access log."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from pushfake import Fake, create_app
from pytest_pushfake import assertions
from tests.leanplum.helpers import CREDS, post


def only_entry(fake: Fake) -> dict[str, Any]:
    [entry] = fake.journal.find()
    return entry.to_dict()


def test_the_vendor_operation_is_left_in_the_scope_for_an_access_log(fake):
    app = create_app(fake)
    seen: list[Any] = []

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)
        if scope["type"] == "http":
            seen.append((scope["path"], scope.get("pushfake.operation", "(not set)")))

    with TestClient(logged) as client:
        post(client, "start", userId="alice")
        client.post("/rest/login", json={"userkey": "nobody", "password": "x"})
        client.post("/api", json=CREDS)  # no action: none to tell
        client.get("/_pushfake/health")
    assert seen == [("/api", "start"), ("/rest/login", "login"), ("/api", None), ("/_pushfake/health", "(not set)")]


def test_the_journal_records_parameters_as_the_fake_read_them_and_the_body_as_sent(client, fake):
    post(client, "sendMessage", userId=42.0, messageId=1001.0, force="false")
    entry = only_entry(fake)
    assert entry["params"] == {"action": "sendMessage", **CREDS, "userId": "42", "messageId": "1001", "force": False}
    assert entry["body"] == {**CREDS, "userId": 42.0, "messageId": 1001.0, "force": "false"}
    assert entry["user"] == "42"


def test_a_request_refused_for_its_parameters_is_journaled_as_sent(client, fake):
    assert post(client, "sendMessage", userId="alice", messageId="soon", force="false").status_code == 400
    assert only_entry(fake)["params"] == {"action": "sendMessage", **CREDS, "userId": "alice", "messageId": "soon",
                                          "force": "false"}


def test_a_batch_sent_as_json_text_is_journaled_with_its_items_and_every_user(client, fake):
    data = '[{"action": "start", "userId": "u1"}, {"action": "track", "deviceId": "d2", "event": "e"}]'
    response = client.post("/api", data={"action": "multi", **CREDS, "data": data})
    assert response.status_code == 200, response.text
    [entry] = fake.journal.find()
    assert entry.users == ("u1", "d2") and entry.user == "u1" and entry.items == ("start", "track")
    assert entry.to_dict()["params"]["data"] == [{"action": "start", "userId": "u1"},
                                                 {"action": "track", "deviceId": "d2", "event": "e"}]


def test_a_refused_batch_still_tells_its_items_and_users(client, fake):
    data = '[{"action": "start", "userId": "u1"}, 5]'
    assert client.post("/api", data={"action": "multi", **CREDS, "data": data}).status_code == 400
    [entry] = fake.journal.find()
    assert entry.users == ("u1",) and entry.items == ("start",)
    assert entry.to_dict()["params"]["data"] == data


def test_a_message_id_sent_as_a_number_matches_the_text_the_spec_reads_it_as(client, fake):
    post(client, "sendMessage", userId="alice", messageId=1001)
    entry = only_entry(fake)
    assert assertions.differences(entry, {"params": {"messageId": "1001"}}, assertions.REQUEST_FIELDS) == []
    assert assertions.differences(entry, {"params": {"messageId": "1002"}}, assertions.REQUEST_FIELDS) == [
        "params.messageId '1001' (expected '1002')"]


def test_dengage_parameters_are_journaled_as_sent(client, fake):
    client.post("/rest/login", json={"userkey": "nobody", "password": 5})
    assert only_entry(fake)["params"] == {"userkey": "nobody", "password": 5}
