"""Turning an HTTP request into parameter dicts, whatever encoding the client chose.

Real push-API clients send the same parameters as a query string, a JSON body (labelled
`application/json`, `text/plain` or nothing at all), a urlencoded form or a multipart form.
This module only decodes; which source wins for a key is the vendor's rule.

A `DecodeError` names its text by a key of the vendor's error catalogue
(`pushfake.core.catalogue`) and the fields that fill it, so each vendor words it in its own
document. `parse_json` is the one JSON reader for anything a client sends: it refuses what no
later step could hold safely (nesting past `MAX_DEPTH`, lone surrogates, numbers a float or a
64-bit integer cannot carry, NaN and Infinity) instead of letting it fail deep inside the fake.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

JSON_TYPES = frozenset({"", "application/json", "text/plain", "text/json"})
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


MAX_DEPTH = 64  # objects and arrays inside each other; no real client comes near it
MAX_INTEGER = 2**63 - 1


class DecodeError(Exception):
    """The request could not be read: `status` to answer with, the catalogue `key` of the text
    and the `fields` that fill it."""

    def __init__(self, status: int, key: str, **fields: Any) -> None:
        super().__init__(key, fields)
        self.status = status
        self.key = key
        self.fields = fields


class JsonProblem(ValueError):
    """JSON text that cannot be taken: `key` is the catalogue entry of the reason."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key, fields)
        self.key = key
        self.fields = fields

    @property
    def plain(self) -> str:
        """What is wrong in pushfake's own words, the end of a sentence: 'is not UTF-8 text'."""
        return _PLAIN[self.key].format(**self.fields)


# pushfake's own words for each problem (the control plane and the fixtures loader, which have
# no vendor to speak for): the end of a sentence whose subject is the body or the file.
_PLAIN = {
    "body-not-json": "is not JSON (line {line}, column {column})",
    "body-not-utf8": "is not UTF-8 text",
    "json-too-deep": "nests objects or arrays more than {depth} levels deep",
    "json-lone-surrogate": "holds text that is not valid Unicode (a lone surrogate escape)",
    "json-number-out-of-range": "holds a number out of range (beyond a 64-bit integer or a double, NaN or Infinity)",
}


def _refuse_constant(name: str) -> Any:
    raise JsonProblem("json-number-out-of-range")


def parse_json(text: str | bytes) -> Any:
    """`text` as JSON, held to what the fake can store, journal and answer with.

    Raises `JsonProblem` with the catalogue key of the reason: `body-not-json` (with `line`
    and `column`), `json-too-deep`, `json-lone-surrogate` or `json-number-out-of-range`.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except JsonProblem:
        raise
    except RecursionError:
        raise JsonProblem("json-too-deep", depth=MAX_DEPTH) from None
    except json.JSONDecodeError as exc:
        raise JsonProblem("body-not-json", line=exc.lineno, column=exc.colno) from None
    except UnicodeDecodeError:
        raise JsonProblem("body-not-utf8") from None
    except ValueError:  # an integer with more digits than Python converts
        raise JsonProblem("json-number-out-of-range") from None
    check_json_value(value)
    return value


def check_json_value(value: Any) -> None:
    """Raise `JsonProblem` if `value` (decoded JSON) nests past MAX_DEPTH, holds a lone surrogate
    in a key or string, or a number out of range. Iterative: it never recurses itself."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not -MAX_INTEGER - 1 <= node <= MAX_INTEGER:
                raise JsonProblem("json-number-out-of-range")
        elif isinstance(node, float):
            if node != node or node in (float("inf"), float("-inf")):
                raise JsonProblem("json-number-out-of-range")
        elif isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise JsonProblem("json-too-deep", depth=MAX_DEPTH)
            if isinstance(node, dict):
                for key, item in node.items():
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)


def _check_text(text: Any) -> None:
    if isinstance(text, str) and not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonProblem("json-lone-surrogate") from None


def query_params(request: Request) -> dict[str, str]:
    """The query string as a dict; for a repeated key the last value counts."""
    return dict(parse_qsl(request.url.query, keep_blank_values=True))


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise DecodeError(400, "invalid-content-length") from None
        if size > max_bytes:
            raise DecodeError(413, "body-too-large", limit=max_bytes)
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_bytes:
                raise DecodeError(413, "body-too-large", limit=max_bytes)
            chunks.append(chunk)
    except ClientDisconnect:
        raise DecodeError(400, "client-disconnected") from None
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def json_body(request: Request, body: bytes) -> dict[str, Any]:
    """`body` as a JSON object, refusing any content type but `application/json`."""
    kind = media_type(request)
    if kind != "application/json":
        raise DecodeError(415, "unsupported-content-type", type=kind)
    return _json_object(body)


async def body_params(request: Request, body: bytes) -> dict[str, Any]:
    """Decode `body` (already read, size-checked) by the request's content type."""
    kind = media_type(request)
    if kind in JSON_TYPES:
        return _json_object(body)
    if kind == FORM_TYPE:
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise DecodeError(400, "body-not-utf8") from None
    if kind == MULTIPART_TYPE:
        return await _multipart(request, body)
    raise DecodeError(415, "unsupported-content-type", type=kind)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = parse_json(body)
    except JsonProblem as exc:
        raise DecodeError(400, exc.key, **exc.fields) from None
    if not isinstance(value, dict):
        raise DecodeError(400, "body-not-object")
    return value


async def _multipart(request: Request, body: bytes) -> dict[str, Any]:
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    replayed = Request(request.scope, receive=replay)
    try:
        form = await replayed.form()
    except Exception:  # python-multipart raises several unrelated types
        raise DecodeError(400, "multipart-malformed") from None
    params: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raw = await value.read()
            try:
                params[key] = raw.decode("utf-8")
            except UnicodeDecodeError:
                params[key] = f"<{len(raw)} bytes: {value.filename}>"
        else:
            params[key] = value
    await form.close()
    return params
