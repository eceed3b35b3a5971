"""The access log: one line per request with method, path, status, duration and the vendor
operation, as text or JSON, written without ever stalling the server; the admin token never
reaches it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import threading

import httpx

from pushfake.serve.access_log import QUEUE_SIZE, AccessLog, AccessLogOutput, JsonFormat
from pushfake.traffic import OPERATION_KEY
from tests.control.helpers import APP, PASSWORD, PROD, USERKEY
from tests.serve.helpers import running

TEXT_LINE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1:\d+ "(\S+) (\S+)" (\d{3}|-) '
                       r'(\d+\.\d\d)ms (\S+)$')


def _start_and_login(url: str) -> None:
    with httpx.Client(timeout=10) as http:
        started = http.get(f"{url}/api", params={"action": "start", "appId": APP, "clientKey": PROD, "userId": "al"})
        assert started.status_code == 200
        assert http.post(f"{url}/rest/login", json={"userkey": USERKEY, "password": PASSWORD}).status_code == 200
        assert http.get(f"{url}/_pushfake/health").status_code == 200


def test_text_lines_carry_the_vendor_operation():
    with running("--port", "0", "--access-log") as server:
        _start_and_login(server.url)
        server.wait_for(server.out, lambda line: "/_pushfake/health" in line)
    lines = [TEXT_LINE.match(line.rstrip("\n")) for line in server.out if '"' in line]
    rows = [m.groups() for m in lines if m]
    assert len(rows) == 3, server.out
    (m1, p1, s1, _, op1), (m2, p2, s2, _, op2), (m3, p3, s3, _, op3) = rows
    assert (m1, p1.split("?")[0], s1, op1) == ("GET", "/api", "200", "start")
    assert "action=start" in p1
    assert "clientKey=***" in p1 and PROD not in p1, "the app's key stays out of the log"
    assert (m2, p2, s2, op2) == ("POST", "/rest/login", "200", "login")
    assert (m3, p3, s3, op3) == ("GET", "/_pushfake/health", "200", "-"), "the control plane has no operation"


def test_json_lines_use_standard_keys_and_redact_the_admin_token():
    with running("--port", "0", "--host", "0.0.0.0", "--admin-token", "s3cret",
                 env={"PUSHFAKE_ACCESS_LOG": "1", "PUSHFAKE_LOG_FORMAT": "json"}) as server:
        _start_and_login_with_token(server.url)
        server.wait_for(server.out, lambda line: "/_pushfake/inbox" in line)
    rows = [json.loads(line) for line in server.out if line.startswith("{")]
    assert [list(row) for row in rows] == [["time", "method", "path", "status", "duration_ms", "operation",
                                            "client"]] * len(rows)
    assert [(r["method"], r["path"].split("?")[0], r["status"], r["operation"]) for r in rows] == [
        ("GET", "/api", 200, "start"), ("POST", "/rest/login", 200, "login"),
        ("GET", "/_pushfake/health", 401, None), ("GET", "/_pushfake/inbox", 303, None)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0]["time"])
    assert isinstance(rows[0]["duration_ms"], float) and rows[0]["client"].startswith("127.0.0.1:")
    assert rows[3]["path"] == "/_pushfake/inbox?token=***&view=devices"
    assert not any("s3cret" in line for line in server.out if line.startswith("{"))


def _start_and_login_with_token(url: str) -> None:
    """The vendors (no admin token needed), the control plane without it, the inbox with it."""
    with httpx.Client(timeout=10) as http:
        http.get(f"{url}/api", params={"action": "start", "appId": APP, "clientKey": PROD, "userId": "al"})
        http.post(f"{url}/rest/login", json={"userkey": USERKEY, "password": PASSWORD})
        assert http.get(f"{url}/_pushfake/health").status_code == 401
        answer = http.get(f"{url}/_pushfake/inbox", params={"token": "s3cret", "view": "devices"})
        assert answer.status_code == 303, answer.status_code


# --- the middleware and the output, in-process ------------------------------------------------
def _call(app, path: bytes, query: bytes = b"") -> logging.LogRecord:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("tests.serve.access")
    logger.handlers[:] = [Keep()]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    scope = {"type": "http", "method": "GET", "path": path.decode(), "raw_path": path, "query_string": query,
             "client": ("10.0.0.1", 5000), "headers": []}

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    try:
        asyncio.run(AccessLog(app, logger)(scope, receive, send))
    except RuntimeError:  # what the app raised goes on to the server; the line is logged first
        pass
    return records[0]


def test_a_line_stays_one_line_and_tokens_stay_out():
    async def answer(scope, receive, send):
        scope[OPERATION_KEY] = "send\nMessage"  # were a vendor ever to name it from the request
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    record = _call(answer, b"/api/%0a\n\x1b", b"action=sendMessage&%74oken=abc&tokens=ok")
    line = record.getMessage()
    assert "\n" not in line and "\\x0a\\x1b" in line
    assert "%74oken=***" in line and "tokens=ok" in line and "abc" not in line
    assert line.endswith(" send\\x0aMessage") and record.access["client"] == "10.0.0.1:5000"


def test_a_request_that_never_answered_is_logged_without_a_status():
    async def dropped(scope, receive, send):
        raise RuntimeError("connection cut")

    record = _call(dropped, b"/api")
    assert record.access["status"] is None and ' - ' in record.getMessage()
    assert json.loads(JsonFormat().format(record))["status"] is None


def test_an_unread_stdout_never_blocks_logging():
    """Past QUEUE_SIZE waiting lines, new ones are dropped and counted, not waited for."""
    blocked = threading.Event()

    class Stuck(io.StringIO):
        def write(self, text: str) -> int:
            blocked.wait(5)
            return 0

    output = AccessLogOutput("text", stream=Stuck())
    logger = logging.getLogger("pushfake.access")
    with output:
        for _ in range(QUEUE_SIZE + 1500):
            logger.info("line", extra={"access": {}})  # returns at once whatever the stream does
        assert output.handler.dropped >= 1500 - 1000  # the writer holds at most one batch
        blocked.set()
    assert not logger.handlers or output.handler not in logger.handlers
