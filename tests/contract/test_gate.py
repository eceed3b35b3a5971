"""The gate every request of a contract run goes through, with a recording adapter in place of
the network: it keeps the budget, spaces sends to the rate cap, backs off on 429 only when told
to, sends nothing in a dry run or when the policy refuses, and logs curl commands that hide the
secrets yet still reproduce the request in a shell."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from typing import Any

import pytest
import requests
import requests.adapters

from pushfake.contract.gate import MAX_BACKOFF, RETRIES_ON_429, BudgetExhausted, DryRun, Gate, Withheld, session_through

URL = "https://api.example.test/api"


class Recorder(requests.adapters.BaseAdapter):
    """Stands in for the network: keeps every request it gets and answers from a script of
    (status, headers, body); 200 `{}` once the script runs out."""

    def __init__(self, *answers: tuple[int, dict[str, str], bytes]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(request)
        status, headers, body = self.answers.pop(0) if self.answers else (200, {}, b"{}")
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        response._content = body
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


class Clock:
    """A clock that only moves when the gate sleeps (or a test moves it); keeps every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def gated(recorder: Recorder, clock: Clock | None = None, **options: Any) -> tuple[Gate, requests.Session]:
    clock = clock or Clock()
    gate = Gate(sleep=clock.sleep, monotonic=clock.monotonic, **options)
    return gate, session_through(gate, recorder)


def too_many(retry_after: str | None = None) -> tuple[int, dict[str, str], bytes]:
    return 429, ({"Retry-After": retry_after} if retry_after is not None else {}), b'{"error": "slow down"}'


# --- budget ----------------------------------------------------------------------------------------
def test_the_budget_is_never_exceeded() -> None:
    recorder = Recorder()
    gate, session = gated(recorder, budget=3)
    for _ in range(3):
        assert session.get(URL).status_code == 200
    for _ in range(2):
        with pytest.raises(BudgetExhausted, match=r"budget \(3\) is spent"):
            session.get(URL)
    assert len(recorder.requests) == 3 == gate.sent
    assert gate.remaining == 0
    assert [e.outcome for e in gate.log] == ["answered"] * 3 + ["over budget"] * 2
    assert gate.log[-1].reason == "the budget of 3 requests is spent"
    assert gate.counts() == {"answered": 3, "over budget": 2}
    assert [e.seq for e in gate.log] == [1, 2, 3, 4, 5]


def test_a_budget_of_zero_sends_nothing() -> None:
    recorder = Recorder()
    gate, session = gated(recorder, budget=0)
    with pytest.raises(BudgetExhausted):
        session.post(URL, json={"a": 1})
    assert recorder.requests == [] and gate.sent == 0


def test_no_budget_means_no_limit() -> None:
    recorder = Recorder()
    gate, session = gated(recorder)
    for _ in range(50):
        session.get(URL)
    assert gate.sent == 50 and gate.remaining is None


# --- rate cap --------------------------------------------------------------------------------------
def test_the_rate_cap_spaces_sends() -> None:
    clock = Clock()
    recorder = Recorder()
    _, session = gated(recorder, clock, rate=2.0)  # one send per 0.5 s
    session.get(URL)  # the first goes at once
    session.get(URL)  # straight after: waits the whole interval
    clock.now += 0.2
    session.get(URL)  # 0.2 s after the last: waits the rest
    clock.now += 5.0
    session.get(URL)  # long after: no wait
    assert clock.sleeps == pytest.approx([0.5, 0.3])
    assert len(recorder.requests) == 4


def test_without_a_rate_cap_nothing_waits() -> None:
    clock = Clock()
    _, session = gated(Recorder(), clock)
    for _ in range(10):
        session.get(URL)
    assert clock.sleeps == []


# --- 429 back-off ----------------------------------------------------------------------------------
def test_a_429_is_retried_after_its_retry_after() -> None:
    clock = Clock()
    recorder = Recorder(too_many("7"), (200, {}, b'{"ok": true}'))
    gate, session = gated(recorder, clock, backoff_on_429=True)
    assert session.get(URL).status_code == 200
    assert clock.sleeps == [7.0]
    assert len(recorder.requests) == 2 == gate.sent  # each retry is a request of the budget
    assert [(e.outcome, e.status, e.retries) for e in gate.log] == [("answered", 200, 1)]


def test_without_retry_after_the_back_off_doubles_and_stops_after_three_retries() -> None:
    clock = Clock()
    recorder = Recorder(*[too_many()] * 6)
    gate, session = gated(recorder, clock, backoff_on_429=True)
    assert session.get(URL).status_code == 429  # the last answer is handed back
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert RETRIES_ON_429 == 3
    assert len(recorder.requests) == 4 == gate.sent
    assert [(e.outcome, e.status, e.retries) for e in gate.log] == [("answered", 429, 3)]


@pytest.mark.parametrize(("header", "wait"), [("120", MAX_BACKOFF), ("3600", 60.0), ("-5", 0.0), ("0.25", 0.25)])
def test_retry_after_is_capped_at_a_minute(header: str, wait: float) -> None:
    clock = Clock()
    _, session = gated(Recorder(too_many(header)), clock, backoff_on_429=True)
    session.get(URL)
    assert clock.sleeps == [wait]


def test_retries_count_against_the_budget() -> None:
    clock = Clock()
    recorder = Recorder(*[too_many("1")] * 5)
    gate, session = gated(recorder, clock, backoff_on_429=True, budget=2)
    with pytest.raises(BudgetExhausted):
        session.get(URL)
    assert len(recorder.requests) == 2 == gate.sent
    assert gate.log[-1].outcome == "over budget"


def test_a_429_is_handed_back_at_once_without_back_off() -> None:
    clock = Clock()
    recorder = Recorder(too_many("7"))
    gate, session = gated(recorder, clock)
    assert session.get(URL).status_code == 429
    assert clock.sleeps == [] and len(recorder.requests) == 1
    assert [(e.outcome, e.status, e.retries) for e in gate.log] == [("answered", 429, 0)]


def test_the_back_off_and_the_rate_cap_add_up_to_no_more_than_needed() -> None:
    clock = Clock()
    recorder = Recorder(too_many("2"))
    _, session = gated(recorder, clock, backoff_on_429=True, rate=1.0)
    session.get(URL)
    assert clock.sleeps == [2.0]  # the back-off already spaced the retry beyond the rate's second


# --- dry run, refusals, errors -----------------------------------------------------------------------
def test_a_dry_run_sends_nothing_and_lists_everything() -> None:
    recorder = Recorder()
    gate, session = gated(recorder, dry_run=True, budget=1)
    for _ in range(3):
        with pytest.raises(DryRun, match="dry run"):
            session.post(URL, params={"action": "start"}, json={"userId": "u"})
    assert recorder.requests == [] and gate.sent == 0
    assert [e.outcome for e in gate.log] == ["dry run"] * 3  # listing is not spending the budget
    assert all(e.curl.startswith("'curl'") and "action=start" in e.curl for e in gate.log)
    assert issubclass(DryRun, Withheld) and issubclass(BudgetExhausted, Withheld)


def test_a_request_the_policy_refuses_never_leaves() -> None:
    recorder = Recorder()
    asked: list[str] = []

    def policy(request: requests.PreparedRequest) -> str | None:
        asked.append(request.url or "")
        return "userId 'alice' is not one of the suite's own ids" if "alice" in (request.url or "") else None

    gate, session = gated(recorder, policy=policy, budget=10, dry_run=False)
    with pytest.raises(Withheld) as refused:
        session.get(URL, params={"userId": "alice"})
    assert refused.value.reason == "withheld by safe mode: userId 'alice' is not one of the suite's own ids"
    assert not isinstance(refused.value, (DryRun, BudgetExhausted))
    session.get(URL, params={"userId": "mine"})
    assert [r.url for r in recorder.requests] == [f"{URL}?userId=mine"]
    assert gate.sent == 1  # the refused one did not spend the budget
    assert [(e.outcome, e.reason) for e in gate.log] == [
        ("withheld", "userId 'alice' is not one of the suite's own ids"), ("answered", None)]
    assert len(asked) == 2


def test_the_policy_is_asked_before_the_dry_run() -> None:
    gate, session = gated(Recorder(), policy=lambda request: "no", dry_run=True)
    with pytest.raises(Withheld) as refused:
        session.get(URL)
    assert not isinstance(refused.value, DryRun)
    assert gate.log[0].outcome == "withheld"


def test_a_network_error_is_logged_and_raised() -> None:
    class Down(Recorder):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            raise requests.ConnectionError("connection refused")

    gate, session = gated(Down())
    with pytest.raises(requests.ConnectionError):
        session.get(URL)
    assert [(e.outcome, e.reason) for e in gate.log] == [("error", "connection refused")]
    assert gate.sent == 1  # it may have reached the service: it counts


def test_the_log_keeps_the_answer_and_its_messages() -> None:
    body = json.dumps({"response": [{"success": True, "warning": {"message": "User not found; request skipped."}}]})
    gate, session = gated(Recorder((200, {"Content-Type": "application/json"}, body.encode())))
    session.post(URL, params={"action": "sendMessage"}, json={"userId": "x"})
    (exchange,) = gate.log
    assert exchange.messages == ("User not found; request skipped.",)
    assert exchange.answer.startswith('{"response"')
    assert exchange.method == "POST" and exchange.url == f"{URL}?action=sendMessage"


# --- curl -------------------------------------------------------------------------------------------
SECRETS = {"PUSHFAKE_LEANPLUM_PRODUCTION_KEY": "prod-S3cret", "PUSHFAKE_DENGAGE_PASSWORD": "pass word&more",
           "PUSHFAKE_DENGAGE_USERKEY": "api-user"}


def run_curl(command: str, environ: dict[str, str]) -> list[str]:
    """The arguments a shell hands to curl for `command` (curl replaced by a function that prints them)."""
    script = (f'curl() {{ "{sys.executable}" -c "import json, sys; print(json.dumps(sys.argv[1:]))" "$@"; }}\n'
              f"{command}\n")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, timeout=30,
                            env={**os.environ, **environ})
    return json.loads(result.stdout)


def curl_of(secrets: dict[str, str], **request: Any) -> tuple[str, requests.PreparedRequest]:
    recorder = Recorder()
    gate, session = gated(recorder, secrets=secrets)
    session.request(url=URL, **request)
    return gate.log[0].curl, recorder.requests[0]


def test_the_curl_command_hides_secrets_and_reproduces_the_request() -> None:
    body = {"userkey": "api-user", "password": "pass word&more", "note": "it's \"quoted\" $HOME `x`"}
    command, sent = curl_of(SECRETS, method="POST", params={"action": "start", "clientKey": "prod-S3cret"}, json=body,
                            headers={"X-Test": "a b"})
    for value in SECRETS.values():
        assert value not in command
    for variable in SECRETS:
        assert f"${{{variable}}}" in command

    words = shlex.split(command)  # valid shell; the references stay references
    assert words[:3] == ["curl", "-X", "POST"]
    assert words[-1] == f"{URL}?action=start&clientKey=${{PUSHFAKE_LEANPLUM_PRODUCTION_KEY}}"
    assert "X-Test: a b" in words and "Content-Type: application/json" in words
    data = json.loads(words[words.index("--data-binary") + 1])
    assert data == {**body, "userkey": "${PUSHFAKE_DENGAGE_USERKEY}", "password": "${PUSHFAKE_DENGAGE_PASSWORD}"}

    arguments = run_curl(command, SECRETS)  # a shell with the variables set sends the very request
    assert arguments[-1] == sent.url
    assert arguments[arguments.index("--data-binary") + 1].encode() == sent.body


def test_a_curl_command_without_secrets_is_the_request_as_is() -> None:
    command, sent = curl_of({}, method="GET", params={"action": "start", "userId": "o'brien"})
    assert shlex.split(command) == ["curl", "-X", "GET", "-H", "Accept: */*", sent.url]
    assert run_curl(command, {})[-1] == sent.url


def test_a_form_body_is_in_the_curl_command() -> None:
    command, sent = curl_of(SECRETS, method="POST", params={"action": "start"},
                            data={"clientKey": "prod-S3cret", "userId": "u 1"})
    assert "prod-S3cret" not in command
    words = shlex.split(command)
    assert words[words.index("--data-binary") + 1] == "clientKey=${PUSHFAKE_LEANPLUM_PRODUCTION_KEY}&userId=u+1"
    arguments = run_curl(command, SECRETS)
    assert arguments[arguments.index("--data-binary") + 1] == sent.body


@pytest.mark.parametrize("password", ["it's-secret", 'quo"te-secret', "slash\\secret", "ünï-secret", "a/b+c@secret"])
def test_no_secret_appears_in_the_curl_command_whatever_its_characters(password: str) -> None:
    command, _ = curl_of({"PUSHFAKE_DENGAGE_PASSWORD": password}, method="POST",
                         params={"password": password}, json={"password": password})
    shown = " ".join(shlex.split(command))
    for form in (password, json.dumps(password)[1:-1], requests.utils.quote(password, safe=""),
                 password.replace("'", "'\"'\"'")):
        assert form not in command and form not in shown


# --- a body that is not printable text: an exact, printable line ---------------------------------------
BINARY = b'{"a": "\x00\x1b[31m\r\n"}\r\n--b\r\n\xff\xfe\x80 \xe2\x82 \\0101 \\c % \'q\' \x7f\x00\xc3\xa9 prod-S3cret'


def feed_and_arguments(command: str, environ: dict[str, str]) -> tuple[bytes, list[str]]:
    """What a shell hands to curl for `command`: its standard input and its arguments (curl
    replaced by a function that writes them to files)."""
    script = (f'curl() {{ cat > "$OUT/stdin"; "{sys.executable}" -c "import json, sys; '
              f'print(json.dumps(sys.argv[1:]))" "$@" > "$OUT/argv"; }}\n{command}\n')
    folder = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        subprocess.run(["bash", "-c", script], check=True, timeout=30, env={**os.environ, **environ, "OUT": folder})
        with open(os.path.join(folder, "stdin"), "rb") as fh, open(os.path.join(folder, "argv"), encoding="utf-8") as fa:
            return fh.read(), json.load(fa)
    finally:
        subprocess.run(["rm", "-rf", folder], check=True)


def test_a_binary_body_is_logged_as_a_printable_line_that_recreates_its_bytes() -> None:
    command, sent = curl_of(SECRETS, method="POST", params={"action": "start"}, data=BINARY,
                            headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert not [c for c in command if ord(c) < 0x20 or ord(c) == 0x7F], command
    assert "\ufffd" not in command and "prod-S3cret" not in command
    assert command.startswith("'printf' '%b' '")
    stdin, arguments = feed_and_arguments(command, SECRETS)
    assert stdin == sent.body == BINARY
    assert arguments[arguments.index("--data-binary") + 1] == "@-" and arguments[-1] == sent.url


def test_a_header_with_a_control_character_is_escaped_in_place() -> None:
    command, sent = curl_of({}, method="GET", headers={"X-Odd": "a\x1bb\x01c"})
    assert not [c for c in command if ord(c) < 0x20], command
    _, arguments = feed_and_arguments(command, {})
    assert "X-Odd: a\x1bb\x01c" in arguments and arguments[-1] == sent.url


def test_a_printable_body_stays_one_quoted_argument() -> None:
    command, sent = curl_of({}, method="POST", data="ünïcode 'text' \\ $HOME".encode())
    assert "printf" not in command and "'--data-binary' 'ünïcode '\"'\"'text'\"'\"' \\ $HOME'" in command
    assert run_curl(command, {})[-2].encode() == sent.body
