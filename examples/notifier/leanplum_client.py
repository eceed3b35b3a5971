"""Leanplum's server-side API (`start`, `sendMessage`) over httpx."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_BASE_URL = "https://api.leanplum.com/api"
API_VERSION = "1.0.6"
RETRY_STATUSES = frozenset({429, 503})

log = logging.getLogger(__name__)


class LeanplumError(Exception):
    """Leanplum refused a call (`success: false`), or did not answer in a usable way."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Sent:
    """What `sendMessage` did: how many devices it queued, and Leanplum's warning if it skipped."""

    messages_sent: int
    warning: str | None = None


class LeanplumClient:
    """One Leanplum app, called with its production key.

    429 and 503 answers are retried `retries` times, after `Retry-After` seconds when the answer
    gives them, else `backoff`, doubled each time. `sleep` is how the client waits (tests pass
    a function that does not block)."""

    def __init__(self, http: httpx.Client, *, app_id: str, client_key: str, base_url: str = DEFAULT_BASE_URL,
                 retries: int = 2, backoff: float = 0.5, sleep: Callable[[float], object] = time.sleep) -> None:
        self._http = http
        self._credentials = {"appId": app_id, "clientKey": client_key}
        self._base_url = base_url
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep

    def start(self, user_id: str, *, device_id: str | None = None, ios_push_token: str | None = None,
              gcm_registration_id: str | None = None, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Register (or update) a user and their device, e.g. when the app reports a push token."""
        params: dict[str, Any] = {"userId": user_id}
        optional = {"deviceId": device_id, "iosPushToken": ios_push_token,
                    "gcmRegistrationId": gcm_registration_id, "userAttributes": attributes}
        params.update({name: value for name, value in optional.items() if value is not None})
        return self._call("start", params)

    def send_message(self, user_id: str, message_id: int, *, values: dict[str, Any] | None = None,
                     device_id: str | None = None) -> Sent:
        """Send a manual-delivery message to every device of a user (or one device)."""
        params: dict[str, Any] = {"userId": user_id, "messageId": message_id}
        if values:
            params["values"] = values
        if device_id is not None:
            params["deviceId"] = device_id
        element = self._call("sendMessage", params)
        warning = (element.get("warning") or {}).get("message")
        if warning:
            log.warning("Leanplum skipped message %s for %s: %s", message_id, user_id, warning)
        return Sent(int(element.get("messagesSent", 0)), warning)

    def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        query = {"action": action, "apiVersion": API_VERSION}
        body = {**self._credentials, **params}
        for attempt in range(self._retries + 1):
            response = self._http.post(self._base_url, params=query, json=body)
            if response.status_code not in RETRY_STATUSES or attempt == self._retries:
                break
            delay = _retry_after(response) or self._backoff * 2**attempt
            log.info("Leanplum %s answered %s; retrying in %.1fs", action, response.status_code, delay)
            self._sleep(delay)
        return _element(response)


def _element(response: httpx.Response) -> dict[str, Any]:
    """The first element of Leanplum's `response` array, or LeanplumError with its message."""
    try:
        element = response.json()["response"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LeanplumError(f"unreadable answer (HTTP {response.status_code})", response.status_code) from None
    if not element.get("success"):
        message = (element.get("error") or {}).get("message") or f"HTTP {response.status_code}"
        raise LeanplumError(message, response.status_code)
    return element


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
