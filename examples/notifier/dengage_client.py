"""D·engage's REST API: log in, then send instant pushes (SendInstantPush) with the token."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

DEFAULT_BASE_URL = "https://api.dengage.com/rest"
EARLY_REFRESH = 60.0  # log in again this long before the token would expire


class DengageError(Exception):
    """D·engage answered with an error (`code` and `message`), or with something unreadable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class DengageClient:
    """One D·engage API user. The access token is kept until shortly before `expires_in` runs out
    on `clock` (seconds, e.g. `time.monotonic`), or until D·engage answers 401; then the client
    logs in again, once, and repeats the call."""

    def __init__(self, http: httpx.Client, *, userkey: str, password: str, base_url: str = DEFAULT_BASE_URL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._login = {"userkey": userkey, "password": password}
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0

    def send_instant_push(self, *, title: str | None = None, message: str | None = None,
                          template_id: str | None = None, segment_id: str | None = None,
                          table_id: str | None = None, application_ids: list[str] | None = None,
                          tracking_id: str | None = None) -> str:
        """Send now, inline content (`title` and `message`) or a template, to a segment, a table or
        (neither) every reachable device. Returns the tracking id, which names the send in reports."""
        content = {"templateId": template_id} if template_id else {"title": title, "message": message}
        body: dict[str, Any] = {"content": content, "trackingId": tracking_id or str(uuid.uuid4())}
        optional = {"segmentId": segment_id, "tableId": table_id, "applicationIds": application_ids}
        body.update({name: value for name, value in optional.items() if value is not None})
        return self._authorized("POST", "/push/sendInstant", json=body)["data"]["trackingId"]

    def _authorized(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        for fresh_login in (False, True):
            headers = {"Authorization": f"Bearer {self._access_token(force=fresh_login)}"}
            response = self._http.request(method, self._base_url + path, headers=headers, **options)
            if response.status_code != 401:
                break
        return _body(response)

    def _access_token(self, *, force: bool) -> str:
        if force or self._token is None or self._clock() >= self._expires_at - EARLY_REFRESH:
            answer = _body(self._http.post(f"{self._base_url}/login", json=self._login))
            self._token = answer["access_token"]
            self._expires_at = self._clock() + float(answer["expires_in"])
        return self._token


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise DengageError(f"unreadable answer (HTTP {response.status_code})", response.status_code) from None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("code", 0) != 0:
        message = body.get("message") if isinstance(body, dict) else None
        raise DengageError(message or f"HTTP {response.status_code}", response.status_code)
    return body
