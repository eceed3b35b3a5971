"""What uvicorn's HTTP parser cannot take is answered in the vendor's error shape, the same on
both parsers (`pushfake.core.server_limits`, `pushfake.app.parser_refusal`): a request target
past 65,535 bytes gets 414, a malformed request line or header 400, each as JSON in the shape of
the API the path names (the control plane's when it names none), never uvicorn's plain text.
Real sockets against a live server, once on httptools and once on h11."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pushfake import Fake, create_app
from pushfake.app import uvicorn_config
from pushfake.core import admin
from pushfake.core.server_limits import MAX_TARGET_BYTES, request_target
from pushfake.dengage import errors as dengage_errors
from pushfake.leanplum import errors as leanplum_errors
from tests.leanplum.helpers import APP, PROD
from tests.support import LiveServer, serve_in_thread

PARSERS = ("httptools", "h11")


@pytest.fixture(scope="module", params=PARSERS)
def live(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with serve_in_thread(Fake(seed=7), http=request.param) as served:
        yield served


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        assert self.headers["content-type"].startswith("application/json"), self.headers
        return json.loads(self.body)


def exchange(live: LiveServer, raw: bytes, chunk: int = 0) -> list[Answer]:
    """Send `raw` (in pieces of `chunk` bytes, if given) and read every answer until the server
    closes the connection (which it must, within 5 s)."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        for at in range(0, len(raw), chunk or len(raw)):
            sock.sendall(raw[at:at + (chunk or len(raw))])
        received = b""
        deadline = time.monotonic() + 5
        while (piece := sock.recv(65536)) != b"":
            received += piece
            assert time.monotonic() < deadline, "the server kept the connection open"
    return answers_in(received)


def answers_in(received: bytes) -> list[Answer]:
    answers = []
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        answers.append(Answer(int(status_line.split()[1]), headers, rest[:length]))
        received = rest[length:]
    return answers


def refused(live: LiveServer, raw: bytes, chunk: int = 0) -> Answer:
    """The one answer to `raw`, which must change nothing; the server then answers a new client."""
    before = state(live)
    (answer,) = exchange(live, raw, chunk)
    assert state(live) == before
    assert health(live) == 200
    return answer


def state(live: LiveServer) -> Any:
    with urllib.request.urlopen(f"{live.url}/_pushfake/stats", timeout=5) as answer:
        return json.load(answer), len(live.fake.journal.find())


def health(live: LiveServer) -> int:
    with urllib.request.urlopen(f"{live.url}/_pushfake/health", timeout=5) as answer:
        return int(answer.status)


def get(target: str, *headers: str) -> bytes:
    return "\r\n".join([f"GET {target} HTTP/1.1", "Host: pushfake", *headers, "", ""]).encode("latin-1")


def padded(prefix: str, size: int) -> str:
    """`prefix` with a query parameter that makes it `size` bytes long."""
    filler = size - len(prefix) - len("&pad=")
    return f"{prefix}&pad={'%C3%A9' * (filler // 6)}{'a' * (filler % 6)}"


def leanplum_error(message: str) -> Any:
    return {"response": [{"success": False, "error": {"message": message}}]}


TOO_LONG = {
    "/api?action=start": leanplum_error(leanplum_errors.parser_refusal(414, MAX_TARGET_BYTES)),
    "/api-batch?action=multi": leanplum_error(leanplum_errors.parser_refusal(414, MAX_TARGET_BYTES)),
    "/rest/push/sendInstant?x=1": {"code": 414, "message": dengage_errors.parser_refusal(414, MAX_TARGET_BYTES)},
    "/_pushfake/health?x=1": {"error": {"status": 414,
                                        "message": admin.TARGET_TOO_LONG.format(limit=MAX_TARGET_BYTES)}},
}


def test_each_parser_is_the_one_asked_for() -> None:
    app = create_app(Fake())
    assert issubclass(uvicorn_config(app, http="h11").http, H11Protocol)
    assert issubclass(uvicorn_config(app, http="httptools").http, HttpToolsProtocol)
    with pytest.raises(ValueError, match="h11"):
        uvicorn_config(app, http="zttp")


@pytest.mark.parametrize("prefix", list(TOO_LONG))
def test_a_target_past_the_limit_gets_414_in_the_shape_of_its_api(live: LiveServer, prefix: str) -> None:
    answer = refused(live, get(padded(prefix, 70_000)))
    assert answer.status == 414
    assert answer.json() == TOO_LONG[prefix]
    assert "65535 bytes" in json.dumps(answer.json())


def test_a_target_past_the_limit_sent_in_pieces_gets_414(live: LiveServer) -> None:
    answer = refused(live, get(padded("/api?action=start", MAX_TARGET_BYTES + 1)), chunk=1000)
    assert (answer.status, answer.json()) == (414, TOO_LONG["/api?action=start"])


@pytest.mark.parametrize("chunk", [0, 1000])
def test_a_target_at_the_limit_is_answered_by_the_app(live: LiveServer, chunk: int) -> None:
    prefix = f"/api?action=start&appId={APP}&clientKey={PROD}&userId=long-url-user-{chunk}&deviceId=d{chunk}"
    journaled = len(live.fake.journal.find())
    (answer,) = exchange(live, get(padded(prefix, MAX_TARGET_BYTES), "Connection: close"), chunk)
    assert answer.status == 200, answer.body[:300]
    assert answer.json()["response"][0]["success"] is True
    assert len(live.fake.journal.find()) == journaled + 1


MALFORMED = {
    "an unknown HTTP version on /api": (b"GET /api?action=start HTTP/9.9x\r\nHost: pushfake\r\n\r\n", "leanplum"),
    "a NUL in an /api path": (b"GET /api\x00x HTTP/1.1\r\nHost: pushfake\r\n\r\n", "leanplum"),
    "a header without a colon on /rest": (b"GET /rest/login HTTP/1.1\r\nHost: pushfake\r\nBroken header\r\n\r\n",
                                          "dengage"),
    "a header without a colon on the control plane": (b"GET /_pushfake/health HTTP/1.1\r\nBroken\r\n\r\n", "control"),
    "no request line at all": (b"\x16\x03\x01\x02\x00\x01 hello\r\n\r\n", "control"),
}


def malformed_body(shape: str) -> Any:
    if shape == "leanplum":
        return leanplum_error(leanplum_errors.parser_refusal(400, MAX_TARGET_BYTES))
    if shape == "dengage":
        return {"code": 400, "message": dengage_errors.parser_refusal(400, MAX_TARGET_BYTES), "errors": []}
    return {"error": {"status": 400, "message": admin.MALFORMED_REQUEST}}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_gets_400_in_the_shape_its_path_tells(live: LiveServer, case: str) -> None:
    raw, shape = MALFORMED[case]
    answer = refused(live, raw)
    assert (answer.status, answer.json()) == (400, malformed_body(shape))
    assert b"Invalid HTTP request" not in answer.body


def test_a_malformed_request_pipelined_behind_another_is_refused_after_its_answer(live: LiveServer) -> None:
    first, second = exchange(live, get("/_pushfake/health") + b"GET /api HTTP/9.9x\r\nHost: pushfake\r\n\r\n")
    assert first.status == 200 and first.json()["status"] == "ok"
    assert (second.status, second.json()) == (400, malformed_body("leanplum"))  # its path is told
    assert health(live) == 200


def exchange_in_pieces(live: LiveServer, *pieces: bytes) -> list[int]:
    """Send each piece after a pause (so each arrives on its own) and read the answers' statuses
    until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.15)
        received = b""
        while (chunk := sock.recv(65536)) != b"":
            received += chunk
    return [answer.status for answer in answers_in(received)]


LONG_START = b"GET /_pushfake/health?x=" + b"a" * 40_000  # a request line cut inside its target


def test_a_target_whose_line_passes_the_limit_before_its_end_arrives_gets_414(live: LiveServer) -> None:
    """The first piece takes the line past the limit while the target so far is under it: the
    target is still watched, and refused once it passes the limit."""
    start = b"GET /_pushfake/health?x="
    first = start + b"a" * (MAX_TARGET_BYTES + 2 - len(start))
    assert len(request_target(first)) < MAX_TARGET_BYTES < len(first)
    rest = b"a" * 30_000 + b" HTTP/1.1\r\nHost: pushfake\r\n\r\n"
    assert exchange_in_pieces(live, first, rest) == [414]
    assert health(live) == 200


def test_a_long_target_pipelined_right_after_a_request_gets_414(live: LiveServer) -> None:
    """A request line that starts in the same piece as the previous request's headers is watched
    from its start."""
    statuses = exchange_in_pieces(live, get("/_pushfake/health") + LONG_START,
                                  b"a" * 60_000 + b" HTTP/1.1\r\nHost: pushfake\r\n\r\n")
    assert statuses == [200, 414]


def test_a_long_target_pipelined_after_a_body_gets_414(live: LiveServer) -> None:
    """A request line that starts in the same piece as the end of the previous request's body
    is watched from its start."""
    body = b'{"userkey":"nobody","password":"wrong"}'
    post = (b"POST /rest/login HTTP/1.1\r\nHost: pushfake\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    statuses = exchange_in_pieces(live, post, body + LONG_START,
                                  b"a" * 60_000 + b" HTTP/1.1\r\nHost: pushfake\r\n\r\n")
    assert statuses == [401, 414]


def test_a_target_at_the_limit_pipelined_after_a_body_is_answered(live: LiveServer) -> None:
    """Watching from the right place refuses nothing at the limit."""
    body = b'{"userkey":"nobody","password":"wrong"}'
    post = (b"POST /rest/login HTTP/1.1\r\nHost: pushfake\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    target = padded("/_pushfake/health?x=1", MAX_TARGET_BYTES).encode()
    line = get(target.decode(), "Connection: close")
    statuses = exchange_in_pieces(live, post, body + line[:40_000], line[40_000:])
    assert statuses == [401, 200]
