"""Turning an HTTP request into parameter dicts, whatever encoding the client chose.

Real push-API clients send the same parameters as a query string, a JSON body (labelled
`application/json`, `text/plain` or nothing at all), a urlencoded form or a multipart form.
This module only decodes; which source wins for a key is the vendor's rule.
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


class DecodeError(Exception):
    """The request could not be read; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def query_params(request: Request) -> dict[str, str]:
    """The query string as a dict; for a repeated key the last value counts."""
    return dict(parse_qsl(request.url.query, keep_blank_values=True))


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise DecodeError(400, "Invalid Content-Length header.") from None
        if size > max_bytes:
            raise DecodeError(413, f"Request body too large: {size} bytes (limit {max_bytes}).")
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_bytes:
                raise DecodeError(413, f"Request body too large: over {max_bytes} bytes.")
            chunks.append(chunk)
    except ClientDisconnect:
        raise DecodeError(400, "The client disconnected before sending the whole body.") from None
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def json_body(request: Request, body: bytes) -> dict[str, Any]:
    """`body` as a JSON object, refusing any content type but `application/json`."""
    kind = media_type(request)
    if kind != "application/json":
        raise DecodeError(415, f"Unsupported content type '{kind}'; send application/json.")
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
            raise DecodeError(400, "Form body is not valid UTF-8.") from None
    if kind == MULTIPART_TYPE:
        return await _multipart(request, body)
    raise DecodeError(415, f"Unsupported content type '{kind}'; send JSON, a urlencoded form or multipart form data.")


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(400, f"Request body is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise DecodeError(400, "Request body must be a JSON object.")
    return value


async def _multipart(request: Request, body: bytes) -> dict[str, Any]:
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    replayed = Request(request.scope, receive=replay)
    try:
        form = await replayed.form()
    except Exception as exc:  # python-multipart raises several unrelated types
        raise DecodeError(400, f"Malformed multipart body: {exc}.") from None
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
