"""The inbox's event stream on a real server: `ready` at once, `deliveries` after a send,
`requests` after any vendor call, bursts coalesced, and a shutdown that an open page does not
hold up. Every wait is bounded by the HTTP client's read timeout and a deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx

from pushfake import Fake
from tests.support import serve_in_thread

READ_TIMEOUT = 5.0
APP = {"appId": "app_pushfake", "clientKey": "prod_pushfake"}


def events(lines: Iterator[str], deadline: float) -> Iterator[str]:
    """Event names (and `ping` for a comment) as they arrive, until `deadline` (monotonic)."""
    name = None
    for line in lines:
        if time.monotonic() > deadline:
            raise AssertionError("the awaited event did not come in time")
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith(":"):
            yield "ping"
        elif line == "" and name is not None:
            yield name
            name = None


def wait_for(stream: Iterator[str], wanted: set[str], seconds: float = 10.0) -> list[str]:
    """Events until every one of `wanted` was seen; what came, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    for name in events(stream, deadline):
        seen.append(name)
        if wanted <= set(seen):
            return seen
    raise AssertionError(f"the stream ended before {wanted - set(seen)}; saw {seen}")


def test_the_stream_says_ready_then_requests_after_a_vendor_call_and_deliveries_after_a_send():
    with (serve_in_thread(Fake(seed=7)) as server, httpx.Client(timeout=READ_TIMEOUT) as http,
          http.stream("GET", f"{server.url}/_pushfake/inbox/events") as response):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        lines = response.iter_lines()
        assert wait_for(lines, {"ready"}) == ["ready"], "ready comes first, at once"

        started = http.get(f"{server.url}/api", params={"action": "start", "userId": "alice", **APP})
        assert started.status_code == 200
        assert "deliveries" not in wait_for(lines, {"requests"}), "a call that sends nothing moves no delivery"

        sent = http.get(f"{server.url}/api", params={"action": "sendMessage", "userId": "alice",
                                                     "messageId": "1001", **APP})
        assert sent.json()["response"][0]["messagesSent"] == 1
        wait_for(lines, {"deliveries", "requests"})


def test_a_burst_of_changes_becomes_a_few_events_not_one_per_change():
    fake = Fake(seed=7)
    quiet = 1.0  # a read that waits this long for the next line means the stream went quiet

    def burst() -> None:
        for _ in range(50):  # half a second of changes, one every 10 ms
            fake.journal.changes.notify()
            fake.deliveries.changes.notify()
            time.sleep(0.01)

    with (serve_in_thread(fake) as server, httpx.Client(timeout=quiet) as http,
          http.stream("GET", f"{server.url}/_pushfake/inbox/events") as response):
        lines = response.iter_lines()
        wait_for(lines, {"ready"})
        notifier = threading.Thread(target=burst)
        notifier.start()
        seen: list[str] = []
        try:
            seen.extend(events(lines, time.monotonic() + 10))
        except httpx.ReadTimeout:
            pass
        notifier.join(5)
    assert 1 <= seen.count("requests") <= 4 and 1 <= seen.count("deliveries") <= 4, seen


def test_a_server_with_a_page_open_still_shuts_down_at_once():
    fake = Fake(seed=7)
    http = httpx.Client(timeout=READ_TIMEOUT)
    try:
        with serve_in_thread(fake) as server:
            response = http.send(http.build_request("GET", f"{server.url}/_pushfake/inbox/events"), stream=True)
            wait_for(response.iter_lines(), {"ready"})
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 2.5, "an open event stream must not hold the graceful shutdown"
        response.close()
    finally:
        http.close()


def test_the_page_and_its_static_files_are_served_by_a_live_server():
    with serve_in_thread(Fake(seed=7)) as server, httpx.Client(timeout=READ_TIMEOUT) as http:
        page = http.get(f"{server.url}/_pushfake/inbox")
        assert page.status_code == 200 and 'data-live="off"' in page.text
        script = http.get(f"{server.url}/_pushfake/inbox/static/inbox.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert "EventSource" in script.text
        style = http.get(f"{server.url}/_pushfake/inbox/static/inbox.css")
        assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
        assert "@import" not in style.text and "url(" not in style.text, "no fonts or images from elsewhere: works offline"
        assert http.get(f"{server.url}/_pushfake/inbox/static/missing.js").status_code == 404


def test_a_reset_from_elsewhere_tells_every_open_page():
    with (serve_in_thread(Fake(seed=7)) as server, httpx.Client(timeout=READ_TIMEOUT) as http,
          http.stream("GET", f"{server.url}/_pushfake/inbox/events") as response):
        lines = response.iter_lines()
        wait_for(lines, {"ready"})
        assert http.post(f"{server.url}/_pushfake/reset").status_code == 200  # another tab, a test, a script
        seen = wait_for(lines, {"deliveries", "requests"})
        assert seen[-1] in ("deliveries", "requests")
