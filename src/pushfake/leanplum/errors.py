"""Leanplum's error vocabulary and the one function that renders its envelope.

Every failure the fake can give a Leanplum client is a `LeanplumError` with an HTTP status
and a message. Every text comes from the error catalogue in openapi/leanplum.yaml
(`x-pushfake-errors`, printed by `pushfake spec --errors`); the common ones are constants here.
"""

from __future__ import annotations

from typing import Any

from pushfake.core.catalogue import ErrorCatalogue
from pushfake.core.spec import ApiSpec

CATALOGUE = ErrorCatalogue(ApiSpec.of("leanplum"))
text = CATALOGUE.text

INVALID_KEY = text("invalid-key")
APP_NOT_FOUND = text("app-not-found")
DEV_MODE_NOT_PERMITTED = text("dev-mode-not-permitted")
USER_NOT_FOUND = text("user-not-found")
DEVICE_NOT_FOUND = text("device-not-found")
MESSAGE_NOT_FOUND = text("message-not-found")
NO_PUSH_DEVICE = text("no-push-device")
USER_OR_DEVICE_REQUIRED = text("user-or-device-required")
INVALID_APP_USER = text("invalid-app-user")
CONCURRENT_REQUESTS = text("concurrent-requests")
DEV_MODE_RATE_LIMIT = text("dev-mode-rate-limit")
TOO_MANY_REQUESTS = text("too-many-requests")


def fault_message(status: int) -> str:
    """What an injected error fault says when its rule gives no text of its own (a 429 says
    what strict device locking says, the documented 429)."""
    return CONCURRENT_REQUESTS if status == 429 else CATALOGUE.fault_text(status)



def parser_refusal(status: int, limit: int) -> str:
    """What a request the HTTP parser cannot take is told (`pushfake.app.parser_refusal`): its
    target is longer than `limit` bytes (414), or it is malformed (400)."""
    return text("request-target-too-long", limit=limit) if status == 414 else text("malformed-request")

def must_be_provided(name: str) -> str:
    return text("missing-parameter", name=name)


def invalid_value(name: str, detail: str) -> str:
    return text("invalid-value", name=name, detail=detail) if name else text("invalid-request", detail=detail)


def clock_skew(days: int) -> str:
    return text("clock-skew", days=days)


def device_fields_ignored(names: list[str]) -> str:
    return text("device-fields-ignored", names=", ".join(names))


def unknown_action(name: str) -> str:
    return text("unknown-action", name=name)


def multi_too_large(users: int, actions: int) -> str:
    return text("multi-too-large", users=users, actions=actions)


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
