"""Reading a control-plane request: its body (bounded), its JSON, its times.

Bodies are read up to `MAX_BODY_BYTES`, parsed by `core.decoding.parse_json` (bounded nesting,
no lone surrogates, no numbers out of range) and checked against the control spec's schema of
the operation. Each problem is an `AdminError` in the control plane's own words, raised before
a handler touches the fake, so a refused request changes nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.requests import Request

from pushfake.core.admin import AdminError
from pushfake.core.clock import checked_time
from pushfake.core.decoding import DecodeError, JsonProblem, parse_json, read_body
from pushfake.core.spec import ApiSpec, SchemaValidator
from pushfake.core.times import when

# The largest control-plane body read: a fixtures document of a big world fits many times over.
MAX_BODY_BYTES = 16 * 1024 * 1024


async def body_bytes(request: Request) -> bytes:
    """The request's body, read up to MAX_BODY_BYTES (413 past it) so no client can make the
    control plane hold a body of any size."""
    try:
        return await read_body(request, MAX_BODY_BYTES)
    except DecodeError as exc:
        if exc.status == 413:
            raise AdminError(413, f"the body is larger than {MAX_BODY_BYTES} bytes") from None
        raise AdminError(exc.status, "the body could not be read") from None


def parsed(raw: bytes | str, what: str = "the body") -> Any:
    """`raw` as JSON read by `parse_json`; AdminError 400 in the control plane's words."""
    try:
        return parse_json(raw)
    except JsonProblem as exc:
        raise AdminError(400, f"{what} {exc.plain}") from None


async def json_body(request: Request, operation_id: str, required: bool = True) -> Any:
    """The body as JSON checked against `operation_id`'s request schema; `{}` for a missing
    body that is not `required`."""
    raw = await body_bytes(request)
    if not raw.strip():
        if required:
            raise AdminError(400, "a JSON body is required")
        return {}
    body = parsed(raw)
    validator = _body_validator(operation_id)
    problem = validator.problem(body) if validator is not None else None
    if problem is not None:
        raise AdminError(400, f"{problem.location or 'body'}: {problem.plain or problem.detail}")
    return body


def moment(value: Any, now: float, name: str = "now") -> float:
    """A time from the control plane (epoch seconds, ISO 8601, '+30s'), checked to be one the
    clock can stand at; AdminError 400 naming the field."""
    try:
        return checked_time(when(value, now))
    except (ValueError, OverflowError) as exc:
        raise AdminError(400, f"{name}: {exc}") from None


@functools.cache
def _body_validator(operation_id: str) -> SchemaValidator | None:
    spec = ApiSpec.of("control")
    for _, _, operation in spec.operations():
        if operation["operationId"] == operation_id:
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            return spec.validator(schema["$ref"]) if schema and "$ref" in schema else (
                SchemaValidator(spec.document, schema) if schema else None)
    raise KeyError(operation_id)
