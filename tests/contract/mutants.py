"""Deliberately broken variants of the fake, built without touching its code: an ASGI middleware
around `pushfake.create_app(fake)` rewrites vendor requests or answers, and the wrapped app is
served on loopback like `pushfake serve`. The control plane (`/_pushfake/*`) passes through
untouched, so a contract run still sees a pushfake it can reset and whose clock it can move.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import uvicorn

from pushfake import Fake, create_app
from pushfake.app import uvicorn_config
from pushfake.serve.sockets import listening_socket

CONTROL_PREFIX = "/_pushfake"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def mentions(self, text: str) -> bool:
        """Whether `text` appears in the query string or body as sent (JSON, form or multipart)."""
        return text.encode() in self.query or text.encode() in self.body


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def with_json(self, body: Any) -> Answer:
        return replace(self, body=json.dumps(body, separators=(",", ":")).encode())


# A request rewrite returns the request to pass on, or an answer that stands in for the fake's.
RequestRewrite = Callable[[Request], "Request | Answer"]
AnswerRewrite = Callable[[Request, Answer], Answer]


@dataclass
class Mutant:
    """What one broken variant changes. No rewrites: the fake as it is, behind the same wrapper."""

    name: str
    request: RequestRewrite | None = None
    answer: AnswerRewrite | None = None
    rewritten: list[str] = field(default_factory=list)  # "METHOD path" of every exchange it changed

    def wrap(self, app: Any) -> MutantApp:
        return MutantApp(app, self)


class MutantApp:
    """ASGI middleware: buffers a vendor request and its answer so `mutant` can rewrite them."""

    def __init__(self, app: Any, mutant: Mutant) -> None:
        self.app, self.mutant = app, mutant
        self.state = app.state  # uvicorn_config reads app.state.connections

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Request(scope["method"], scope["path"], scope.get("query_string", b""),
                          tuple(scope["headers"]), body)
        if self.mutant.request is not None:
            changed = self.mutant.request(request)
            if isinstance(changed, Answer):
                self.mutant.rewritten.append(f"{request.method} {request.path}")
                await _answer(send, changed)
                return
            if changed != request:
                self.mutant.rewritten.append(f"{request.method} {request.path}")
            request = changed
        scope = {**scope, "query_string": request.query,
                 "headers": [h for h in request.headers if h[0].lower() != b"content-length"]
                 + [(b"content-length", str(len(request.body)).encode())]}
        if self.mutant.answer is None:
            await self.app(scope, _replay(request.body), send)
            return
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, _replay(request.body), capture)
        original = Answer(started["status"], tuple(started.get("headers", ())), b"".join(chunks))
        answer = self.mutant.answer(request, original)
        if answer != original:
            self.mutant.rewritten.append(f"{request.method} {request.path}")
        await _answer(send, answer)


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _answer(send: Any, answer: Answer) -> None:
    headers = [h for h in answer.headers if h[0].lower() != b"content-length"]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


@contextmanager
def serve(mutant: Mutant, fake: Fake | None = None) -> Iterator[str]:
    """The fake (the default world) wrapped in `mutant`, served on a free loopback port: its URL."""
    app = mutant.wrap(create_app(fake or Fake()))
    server = uvicorn.Server(uvicorn_config(app, log_level="warning", lifespan="on"))
    sock = listening_socket(socket.AF_INET)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"mutant-{mutant.name}",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {mutant.name} server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


# --- the mutants ---------------------------------------------------------------------------------

def _leanplum(request: Request) -> bool:
    return request.path in ("/api", "/api-batch")


def _action(request: Request) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(request.query.decode("latin-1")).get("action")
    return values[-1] if values else None


def _elements(body: Any) -> list[dict[str, Any]]:
    """The elements of Leanplum's envelope `{"response": [element, ...]}` (the same objects)."""
    response = body.get("response") if isinstance(body, dict) else None
    return [e for e in response if isinstance(e, dict)] if isinstance(response, list) else []


def wrong_warning_text() -> Mutant:
    """Leanplum's "User not found; request skipped." answered as "User not found."."""
    right, wrong = b"User not found; request skipped.", b"User not found."

    def answer(request: Request, original: Answer) -> Answer:
        if not _leanplum(request) or right not in original.body:
            return original
        return replace(original, body=original.body.replace(right, wrong))

    return Mutant("wrong-warning-text", answer=answer)


def leanplum_without_messages_sent() -> Mutant:
    """A Leanplum send that went out answered without `messagesSent`."""

    def answer(request: Request, original: Answer) -> Answer:
        if not _leanplum(request) or b"messagesSent" not in original.body:
            return original
        body = original.json()
        for element in _elements(body):
            if element.get("result") == "Message sent":
                element.pop("messagesSent", None)
        return original.with_json(body) if body is not None else original

    return Mutant("leanplum-without-messagesSent", answer=answer)


def dengage_without_tracking_id() -> Mutant:
    """A D·engage send accepted with `data: {}` instead of `data: {trackingId}`."""

    def answer(request: Request, original: Answer) -> Answer:
        body = original.json()
        if (request.method != "POST" or request.path != "/rest/push/sendInstant" or original.status != 200
                or not isinstance(body, dict) or not isinstance(body.get("data"), dict)):
            return original
        body["data"].pop("trackingId", None)
        return original.with_json(body)

    return Mutant("dengage-without-trackingId", answer=answer)


def dengage_sibling_401_text() -> Mutant:
    """SendInstantPush's 401 answered with the sibling SendTransactionalPush's text, not its own page's."""
    right = b"Not authenticated. Please re-login."
    wrong = b"Not authenticated. The request lacks valid authentication credentials."

    def answer(request: Request, original: Answer) -> Answer:
        if request.method != "POST" or request.path != "/rest/push/sendInstant" or right not in original.body:
            return original
        return replace(original, body=original.body.replace(right, wrong))

    return Mutant("dengage-sibling-401-text", answer=answer)


def dengage_ignores_contact_key() -> Mutant:
    """A send's contactKey dropped before the fake reads the body: ignored instead of refused."""

    def request(sent: Request) -> Request | Answer:
        if sent.method != "POST" or sent.path != "/rest/push/sendInstant" or not sent.mentions("contactKey"):
            return sent
        try:
            body = json.loads(sent.body)
        except ValueError:
            return sent
        if not isinstance(body, dict) or body.pop("contactKey", None) is None:
            return sent
        return replace(sent, body=json.dumps(body).encode())

    return Mutant("dengage-ignores-contactKey", request=request)


def server_error_on_create_if_needed() -> Mutant:
    """Any Leanplum request that says CreateIfNeeded (the query, the body or a batch item) gets a 500."""
    failed = Answer(500, ((b"content-type", b"text/plain; charset=utf-8"),), b"Internal Server Error")

    def request(sent: Request) -> Request | Answer:
        return failed if _leanplum(sent) and sent.mentions("CreateIfNeeded") else sent

    return Mutant("500-on-CreateIfNeeded", request=request)


def send_message_creates_by_default() -> Mutant:
    """sendMessage without createDisposition behaves as CreateIfNeeded (the spec's default is CreateNever).
    The query string gains the value; the fake merges it under the body's parameters, which lack it."""

    def request(sent: Request) -> Request | Answer:
        if not _leanplum(sent) or _action(sent) != "sendMessage" or sent.mentions("createDisposition"):
            return sent
        return replace(sent, query=sent.query + b"&createDisposition=CreateIfNeeded")

    return Mutant("sendMessage-default-CreateIfNeeded", request=request)


def unbroken() -> Mutant:
    return Mutant("unbroken")
