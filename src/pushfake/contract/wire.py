"""Reading back what a prepared request carries, the way the fakes read it: the query string,
and a JSON, urlencoded or multipart body. Used by the safety gate (judging a request before it
leaves) and by the conformance checks (judging what was actually sent)."""

from __future__ import annotations

import json
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import requests

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class Unreadable(ValueError):
    """The body is not one of the encodings the vendors read."""


def body_bytes(request: requests.PreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def query(request: requests.PreparedRequest) -> dict[str, str]:
    """The query string; a repeated key counts with its last value (as the fakes read it)."""
    return dict(parse_qsl(urlsplit(request.url or "").query, keep_blank_values=True))


def media_type(request: requests.PreparedRequest) -> str:
    return (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def body(request: requests.PreparedRequest) -> Any:
    """The decoded body: a JSON value, a dict of form fields, or None when there is none.
    Raises `Unreadable` for anything else."""
    raw = body_bytes(request)
    kind = media_type(request)
    if not raw:
        return None
    try:
        if kind == FORM:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        if kind == MULTIPART:
            return _multipart(request, raw)
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(f"{kind or 'untyped'} body that cannot be read: {exc}") from None


def _multipart(request: requests.PreparedRequest, raw: bytes) -> dict[str, str]:
    header = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = BytesParser().parsebytes(header + raw)
    if not message.is_multipart():
        raise Unreadable("a multipart body without parts")
    fields = {}
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = (part.get_payload(decode=True) or b"").decode("utf-8")
    return fields


def curl(request: requests.PreparedRequest, secrets: dict[str, str] | None = None) -> str:
    """A curl command that sends `request` again. Each secret value is written as a reference to
    its environment variable, so the command reproduces without showing the secret."""
    parts = ["curl", "-X", request.method or "GET"]
    for name, value in request.headers.items():
        if name.lower() not in ("content-length", "accept-encoding", "connection", "user-agent"):
            parts += ["-H", f"{name}: {value}"]
    raw = body_bytes(request)
    if raw:
        parts += ["--data-binary", raw.decode("utf-8", errors="replace")]
    parts.append(request.url or "")
    command = " ".join(_quote(part) for part in parts)
    for variable, value in sorted((secrets or {}).items(), key=lambda item: -len(item[1])):
        if not value:
            continue
        reference = f"'\"${{{variable}}}\"'"  # inside '...': close, expand the variable, reopen
        # The secret as it may travel: plain, JSON-escaped, percent-encoded. An encoded one comes
        # back as the plain value when the command runs, which is better than showing it.
        encoded = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
                   quote(value, safe=""), quote(value), quote_plus(value)}
        for form in sorted({_quote(form)[1:-1] for form in encoded}, key=len, reverse=True):
            command = command.replace(form, reference)
    return command


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\"'\"'") + "'"
