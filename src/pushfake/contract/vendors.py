"""Small callers of the two vendor APIs over the target's gated session, for the semantic and
assumption checks: they fill in the credentials and read the answers the vendors' way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from pushfake.contract.target import Target


@dataclass
class Answer:
    """A response, read once: status, decoded JSON (None if not JSON) and text."""

    status: int
    body: Any
    text: str
    headers: dict[str, str]

    @classmethod
    def of(cls, response: requests.Response) -> Answer:
        try:
            body = response.json()
        except ValueError:
            body = None
        return cls(response.status_code, body, response.text, dict(response.headers))

    # --- Leanplum's envelope: {"response": [element, ...]} --------------------------------------
    @property
    def elements(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("response"), list):
            return [e if isinstance(e, dict) else {} for e in self.body["response"]]
        return []

    def element(self, index: int = 0) -> dict[str, Any]:
        elements = self.elements
        return elements[index] if index < len(elements) else {}

    def warning(self, index: int = 0) -> str | None:
        warning = self.element(index).get("warning")
        return warning.get("message") if isinstance(warning, dict) else None

    def error(self, index: int = 0) -> str | None:
        error = self.element(index).get("error")
        return error.get("message") if isinstance(error, dict) else None

    # --- D·engage's envelope: {"code", "message", "data" | "errors"} ------------------------------
    @property
    def message(self) -> str | None:
        return self.body.get("message") if isinstance(self.body, dict) else None

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    def describe(self) -> str:
        """The answer in one line, for a report: status and the start of the body."""
        text = json.dumps(self.body, separators=(",", ":")) if self.body is not None else self.text
        return f"{self.status} {text[:600]}"


# --- Leanplum's answer elements, as the checks and the state machines read them --------------------
def element_warned(element: dict[str, Any], text: str) -> bool:
    """A success with the warning `text`."""
    warning = element.get("warning")
    return element.get("success") is True and isinstance(warning, dict) and warning.get("message") == text


def element_failed(element: dict[str, Any], text: str | None = None) -> bool:
    """A failure with the error `text` (any error message, without `text`)."""
    error = element.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return element.get("success") is False and (message == text if text is not None else bool(message))


def element_sent_nothing(element: dict[str, Any]) -> bool:
    """A send that reached no device: messagesSent 0, with a warning naming why."""
    warning = element.get("warning")
    return (element.get("success") is True and element.get("messagesSent") == 0 and isinstance(warning, dict)
            and isinstance(warning.get("message"), str) and bool(warning["message"]))


class Leanplum:
    """`/api` calls with the target's app and keys. `key="development"` also sets devMode."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.credentials = target.credentials

    @property
    def url(self) -> str:
        return f"{self.target.url('leanplum')}/api"

    def credentials_for(self, key: str | None) -> dict[str, Any]:
        c = self.credentials
        if key == "development":
            return {"appId": c.leanplum_app_id, "clientKey": c.leanplum_development_key, "devMode": True}
        if key == "production":
            return {"appId": c.leanplum_app_id, "clientKey": c.leanplum_production_key}
        return {}

    def call(self, action: str, params: dict[str, Any] | None = None, *, key: str | None = "development",
             method: str = "POST", query: dict[str, Any] | None = None) -> Answer:
        """One action: `action` in the query string, the parameters in a JSON body (POST) or the
        query string (GET)."""
        merged = {**self.credentials_for(key), **(params or {})}
        if method == "GET":
            text = {k: _text(v) for k, v in merged.items()}
            response = self.target.session.get(self.url, params={"action": action, **text, **(query or {})})
        else:
            response = self.target.session.post(self.url, params={"action": action, **(query or {})}, json=merged)
        return Answer.of(response)

    def multi(self, items: list[dict[str, Any]], *, key: str | None = "development",
              params: dict[str, Any] | None = None) -> Answer:
        return self.call("multi", {"data": items, **(params or {})}, key=key)


class Dengage:
    """`/rest` calls with the target's API user; the login token is kept until the target resets."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.credentials = target.credentials
        self._token: tuple[int, float, str] | None = None  # (epoch, expiry on the target's clock, token)

    @property
    def url(self) -> str:
        return f"{self.target.url('dengage')}/rest"

    @property
    def application_ids(self) -> tuple[str, ...]:
        return self.credentials.dengage_application_ids

    def login(self, userkey: str | None = None, password: str | None = None, **extra: Any) -> Answer:
        body = {"userkey": userkey if userkey is not None else self.credentials.dengage_userkey,
                "password": password if password is not None else self.credentials.dengage_password, **extra}
        answer = Answer.of(self.target.session.post(f"{self.url}/login", json=body))
        token = answer.body.get("access_token") if isinstance(answer.body, dict) else None
        if isinstance(token, str) and token and not self.target.all_fake:  # a real account's token is a secret
            self.target.gate.secrets.setdefault("PUSHFAKE_DENGAGE_TOKEN", token)
        return answer

    def token(self) -> str:
        """A valid access token: logs in again after a reset of the target, or when the last
        token is within a minute of its `expires_in`."""
        now = self.target.now("dengage")
        if self._token is None or self._token[0] != self.target.epoch or now >= self._token[1]:
            answer = self.login()
            if answer.status != 200 or not isinstance(answer.body, dict) or "access_token" not in answer.body:
                raise LoginFailed(answer)
            lifetime = answer.body.get("expires_in")
            lifetime = float(lifetime) if isinstance(lifetime, (int, float)) else 3600.0
            self._token = (self.target.epoch, now + max(lifetime - 60.0, 0.0), answer.body["access_token"])
        return self._token[2]

    def headers(self, scheme: str | None = "Bearer", token: str | None = None) -> dict[str, str]:
        if scheme is None:
            return {}
        token = self.token() if token is None else token
        return {"Authorization": f"{scheme} {token}" if scheme else token}

    def send(self, body: Any, *, scheme: str | None = "Bearer", token: str | None = None) -> Answer:
        """`POST /rest/push/sendInstant`; `scheme=""` sends the bare token, None no header."""
        return Answer.of(self.target.session.post(f"{self.url}/push/sendInstant", json=body,
                                                  headers=self.headers(scheme, token)))

    def report(self, tracking_id: str, application_id: str | None = None, *, scheme: str | None = "Bearer",
               token: str | None = None) -> Answer:
        params = {"trackingId": tracking_id, **({"applicationId": application_id} if application_id else {})}
        return Answer.of(self.target.session.get(f"{self.url}/push/sendInstant", params=params,
                                                 headers=self.headers(scheme, token)))


class LoginFailed(RuntimeError):
    def __init__(self, answer: Answer) -> None:
        super().__init__(f"D·engage login with the run's API user failed: {answer.describe()}")
        self.answer = answer


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
