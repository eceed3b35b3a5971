"""Shared by the vendors' control-plane modules: the error they raise, and record views."""

from __future__ import annotations

import dataclasses
from typing import Any

from pushfake.core.fixtures import check_part


# The control plane's answers to what the HTTP parser refuses (also for a path no API names).
TARGET_TOO_LONG = "the request target (path and query) is longer than {limit} bytes"
MALFORMED_REQUEST = "the request line or a header is not well-formed HTTP/1.1"


class AdminError(LookupError):
    """A control-plane request about a record that does not exist, already does, or is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_record(name: str, raw: Any, wrapper: str = "") -> None:
    """Check a record in its fixtures form (`$defs/<name>`); AdminError 400 naming the place,
    without the `wrapper` path the caller's record was put inside for the check."""
    try:
        check_part(name, raw)
    except ValueError as exc:
        raise AdminError(400, unwrapped(str(exc), wrapper)) from None


def unwrapped(message: str, wrapper: str) -> str:
    """`message` with the `wrapper` prefix of its place taken off ('body' when nothing is left)."""
    if wrapper and message.startswith(wrapper):
        rest = message[len(wrapper):].lstrip(".")
        return rest if not rest.startswith(":") else "body" + rest
    return message


def view(record: Any) -> Any:
    """A dataclass record (or anything holding them) as JSON-ready data with camelCase keys."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        record = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if isinstance(record, dict):
        return {_camel(k): view(v) for k, v in record.items()}
    if isinstance(record, list | tuple | frozenset | set):
        return [view(v) for v in record]
    return record


def _camel(key: Any) -> Any:
    if not isinstance(key, str) or "_" not in key.strip("_"):
        return key
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)
