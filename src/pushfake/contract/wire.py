"""Reading back what a prepared request carries, the way the fakes read it: the query string,
and a JSON, urlencoded or multipart body. Used by the safety gate (judging a request before it
leaves) and by the conformance checks (judging what was actually sent). And writing it back out:
a curl command that repeats it, with every credential it must not show (in whatever form it
travels) written as its variable's placeholder (`references`, also the reports' scrubber)."""

from __future__ import annotations

import json
import re
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import requests

from pushfake.contract.settings import placeholder

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


def curl(request: requests.PreparedRequest, hidden: dict[str, str] | None = None) -> str:
    """A curl command that sends `request` again, byte for byte, on one printable line. Each value of
    `hidden` ({variable: value}: the secrets, a dry run's placeholders) is written as a reference
    to its environment variable, so the command reproduces without showing the secret. A body
    that is not printable text (control bytes, bytes that are not UTF-8) is written escaped and
    fed to curl by `printf '%b'` on its standard input; a header or URL, in place (`_argument`)."""
    parts = ["'curl'", "'-X'", _argument(request.method or "GET")]
    for name, value in request.headers.items():
        if name.lower() not in ("content-length", "accept-encoding", "connection", "user-agent"):
            parts += ["'-H'", _argument(f"{name}: {value}")]
    raw = body_bytes(request)
    feed = ""
    if raw and _printable(raw):
        parts += ["'--data-binary'", _quote(raw.decode("utf-8"))]
    elif raw:
        feed = f"'printf' '%b' {_quote(_escaped(raw))} | "
        parts += ["'--data-binary'", "'@-'"]
    parts.append(_argument(request.url or ""))
    return references(feed + " ".join(parts), hidden or {}, shell=True)


def _printable(raw: bytes) -> bool:
    """UTF-8 text that `str.isprintable` passes: no control (newline included: one line), format
    (bidi overrides among them), surrogate, private-use, unassigned or separator character but
    the space."""
    try:
        return raw.decode("utf-8").isprintable()
    except UnicodeDecodeError:
        return False


def _escaped(raw: bytes) -> str:
    """`raw` for `printf '%b'`: printable characters as they are (a backslash doubled), every
    other byte as its octal escape, so the shell writes back exactly `raw`."""
    out: list[str] = []
    for char in raw.decode("utf-8", errors="surrogateescape"):
        if char == "\\":
            out.append("\\\\")
        elif not char.isprintable():  # a byte that is not UTF-8 (surrogateescape) among them
            data = bytes([ord(char) - 0xDC00]) if "\udc80" <= char <= "\udcff" else char.encode("utf-8")
            out += [f"\\0{byte:03o}" for byte in data]
        else:
            out.append(char)
    return "".join(out)


def _argument(text: str) -> str:
    """One quoted argument; with a character that is not printable, the `printf '%b'` of its escaped
    form (a header or URL cannot hold NUL or a newline anyway)."""
    raw = text.encode("utf-8", errors="surrogatepass")  # a lone surrogate: its three bytes, escaped
    if _printable(raw):
        return _quote(text)
    return f"\"$('printf' '%b' {_quote(_escaped(raw))})\""


def forms(value: str) -> set[str]:
    """`value` as it may travel in a request: plain, JSON-escaped, percent-encoded."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
            quote(value, safe=""), quote(value), quote_plus(value)}


def references(text: str, hidden: dict[str, str], *, shell: bool = False) -> str:
    """`text` with each value of `hidden` ({variable: value}), in any of its `forms`, written as
    its variable's `placeholder`, in one pass, the longest match first (a secret that contains
    another is replaced whole). `shell`: `text` is a command `curl` quoted, and the reference
    closes the quote, expands the variable and reopens it. An encoded value comes back as the
    plain one when such a command runs, which is better than showing it."""
    table: dict[str, str] = {}
    for variable, value in hidden.items():
        if value:
            reference = f"'\"{placeholder(variable)}\"'" if shell else placeholder(variable)
            written = forms(value) | {_escaped(form.encode("utf-8", "surrogatepass")) for form in forms(value)}
            table.update({(_quote(form)[1:-1] if shell else form): reference for form in written})
    if not table:
        return text
    pattern = "|".join(re.escape(form) for form in sorted(table, key=len, reverse=True))
    return re.sub(pattern, lambda match: table[match.group(0)], text)


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\"'\"'") + "'"
