"""The journal is bounded by bytes as well as by entries: a huge request keeps only the start of
its body, answer and parameters with their true lengths, and the entries together stay under
the byte bound; ordinary requests are kept whole, so assertions on them keep working."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, MemoryStore, create_app
from pushfake.core.journal import DEFAULT_BODY_BYTES, DEFAULT_BYTES, Entry, Journal
from tests.leanplum.helpers import CREDS, post

MiB = 1024 * 1024


def _client(fake: Fake) -> TestClient:
    return TestClient(create_app(fake), raise_server_exceptions=True)


def _big_start(client: TestClient, size: int, user: str = "alice") -> Any:
    """A Leanplum start whose JSON body is about `size` bytes (a long attribute)."""
    body = {**CREDS, "userId": user, "userAttributes": {"bio": "x" * size}}
    return client.post("/api?action=start", content=json.dumps(body), headers={"content-type": "application/json"})


def test_an_ordinary_request_is_kept_whole(fake, client):
    response = post(client, "start", userId="alice", userAttributes={"plan": "gold"})
    assert response.status_code == 200
    (entry,) = client.get("/_pushfake/journal").json()["entries"]
    assert entry["body"] == {**CREDS, "userId": "alice", "userAttributes": {"plan": "gold"}}
    assert entry["params"]["userId"] == "alice"
    assert entry["response"]["response"][0]["success"] is True
    assert entry["truncated"] == []
    assert (entry["bodyBytes"], entry["responseBytes"]) == (len(response.request.content), len(response.content))


def test_a_huge_request_keeps_its_start_and_its_true_length(fake, client):
    response = _big_start(client, 900_000)
    (entry,) = client.get("/_pushfake/journal").json()["entries"]
    assert entry["status"] == response.status_code
    assert entry["bodyBytes"] == len(response.request.content) > 900_000
    assert "body" in entry["truncated"] and "params" in entry["truncated"]
    assert isinstance(entry["body"], str) and len(entry["body"]) <= DEFAULT_BODY_BYTES
    assert entry["body"].startswith('{"appId"')
    assert entry["params"]["userId"] == "alice", "what names the request stays readable"
    assert entry["user"] == "alice"
    assert len(json.dumps(entry["params"])) < DEFAULT_BODY_BYTES


def test_huge_requests_stay_under_the_byte_bound():
    fake = Fake(seed=1, clock=ManualClock(), journal_bytes=1 * MiB)
    with _client(fake) as client:
        for n in range(40):
            _big_start(client, 500_000, user=f"u{n}")
        stats = client.get("/_pushfake/stats").json()["journal"]
        entries = client.get("/_pushfake/journal").json()["entries"]
    assert stats["bytes"] <= 1 * MiB and stats["maxBytes"] == 1 * MiB
    assert stats["held"] == len(entries) < 40 and stats["dropped"] == 40 - len(entries)
    assert [e["user"] for e in entries] == [f"u{n}" for n in range(40 - len(entries), 40)], "the newest kept"


def test_the_bounds_come_from_the_fixtures(tmp_path):
    path = tmp_path / "world.yaml"
    path.write_text("journal: {size: 50, bytes: 200000, bodyBytes: 1000}\n")
    fake = Fake(fixtures=path, clock=ManualClock())
    assert (fake.journal.size, fake.journal.max_bytes, fake.journal.body_bytes) == (50, 200_000, 1000)
    with _client(fake) as client:
        _big_start(client, 5000)
        (entry,) = client.get("/_pushfake/journal").json()["entries"]
    assert len(entry["body"]) == 1000 and entry["bodyBytes"] > 5000


def test_the_defaults():
    journal = Fake(seed=1, clock=ManualClock()).journal
    assert (journal.size, journal.max_bytes, journal.body_bytes) == (10_000, DEFAULT_BYTES, DEFAULT_BODY_BYTES)
    assert (DEFAULT_BYTES, DEFAULT_BODY_BYTES) == (64 * MiB, 64 * 1024)


def test_a_cut_multibyte_body_decodes_cleanly():
    journal = Journal(MemoryStore(), body_bytes=5)
    journal.add(Entry(1, 0.0, "leanplum", "POST", "/api", "start", None, None, b"{}", "ééé".encode()))
    (entry,) = journal.find()
    assert entry.to_dict()["body"] == "éé" and entry.to_dict()["bodyBytes"] == 6


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_a_bad_bound_is_refused(bad):
    with pytest.raises(ValueError, match="whole number >= 1"):
        Journal(MemoryStore(), max_bytes=bad)
