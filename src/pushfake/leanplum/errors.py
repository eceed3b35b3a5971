"""Leanplum's error vocabulary and the one function that renders its envelope.

Every failure the fake can give a Leanplum client is a `LeanplumError` with an HTTP status
and a message; the texts Leanplum is known to use are constants here.
"""

from __future__ import annotations

from typing import Any

INVALID_KEY = "Invalid access key"
APP_NOT_FOUND = "App not found."
DEV_MODE_NOT_PERMITTED = "Development mode requested but not permitted."
USER_NOT_FOUND = "User not found; request skipped."
DEVICE_NOT_FOUND = "Device not found; request skipped."
MESSAGE_NOT_FOUND = "Message entity not found"
USER_OR_DEVICE_REQUIRED = "'userId' or 'deviceId' must be provided"
CONCURRENT_REQUESTS = "Request failed due to concurrent requests to the same profile ID"
DEV_MODE_RATE_LIMIT = "Per device rate limit exceeded."
MULTI_TOO_LARGE = "Too many users or actions in one multi call (limit: {users} users, {actions} actions)."
TOO_MANY_REQUESTS = "Too many requests."
# What an injected error fault says when its rule gives no text of its own (assumed: the
# documented 429 is strict device locking; 5xx bodies are not recorded).
FAULT_MESSAGES = {
    429: CONCURRENT_REQUESTS,
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service unavailable.",
    504: "Gateway timeout.",
}


def must_be_provided(name: str) -> str:
    return f"'{name}' must be provided"


def invalid_value(name: str, detail: str) -> str:
    return f"Invalid value for '{name}': {detail}" if name else f"Invalid request: {detail}"


def unknown_action(name: str) -> str:
    return f"Unknown action '{name}'."


class LeanplumError(Exception):
    """A request (or one item of a multi) that fails with `status` and `message`."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None,
                 limit: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.limit = limit  # the id of the rate limit that refused the request

    def element(self) -> dict[str, Any]:
        return error_element(self.message)


def error_element(message: str) -> dict[str, Any]:
    return {"success": False, "error": {"message": message}}


def warning_element(message: str, **fields: Any) -> dict[str, Any]:
    return {"success": True, **fields, "warning": {"message": message}}
