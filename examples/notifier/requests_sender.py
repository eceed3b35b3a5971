"""The nightly digest job's Leanplum sender. It predates the httpx clients and still uses
`requests`; the base URL comes from its settings (`LEANPLUM_API_URL` in production)."""

from __future__ import annotations

import os
from typing import Any

import requests

from notifier.leanplum_client import API_VERSION, DEFAULT_BASE_URL, LeanplumError


class DigestSender:
    def __init__(self, *, app_id: str, client_key: str, base_url: str | None = None,
                 session: requests.Session | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url or os.environ.get("LEANPLUM_API_URL", DEFAULT_BASE_URL)
        self._credentials = {"appId": app_id, "clientKey": client_key}
        self._session = session or requests.Session()
        self._timeout = timeout

    def send_digest(self, user_id: str, message_id: int, values: dict[str, Any] | None = None) -> int:
        """sendMessage for one user; the number of devices Leanplum queued it for."""
        body: dict[str, Any] = {**self._credentials, "userId": user_id, "messageId": message_id}
        if values:
            body["values"] = values
        response = self._session.post(self.base_url, params={"action": "sendMessage", "apiVersion": API_VERSION},
                                      json=body, timeout=self._timeout)
        try:
            element = response.json()["response"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LeanplumError(f"unreadable answer (HTTP {response.status_code})", response.status_code) from None
        if not element.get("success"):
            raise LeanplumError((element.get("error") or {}).get("message", "failed"), response.status_code)
        return int(element.get("messagesSent", 0))

    def close(self) -> None:
        self._session.close()
