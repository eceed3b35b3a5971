"""Small helpers for D·engage tests: the default world's ids, calls, checks, changed worlds."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from pushfake.core.resources import default_fixtures

ACCOUNT = "acc_pushfake"
USERKEY = "pushfake"
READONLY = "pushfake-readonly"
PASSWORD = "pushfake-secret"

MOBILE_APP = "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"
WEB_APP = "2b7e9a41-3c5d-4e6f-8a9b-0c1d2e3f4a5b"
GOLD_SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"  # tier gold: ayse, elif
BETA_TABLE = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"  # john, elif
SHIPPED_TEMPLATE = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"  # single language, {{contact.name}}
SALE_TEMPLATE = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"  # EN (default) and TR

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

# (contact, device, platform) of every device in the default world
AYSE_IPHONE = ("ayse", "ayse-iphone", "apns")
JOHN_ANDROID = ("john", "john-android", "fcm")
JOHN_FIREFOX = ("john", "john-firefox", "webpush")
ELIF_CHROME = ("elif", "elif-chrome", "webpush")
EVERYONE = {AYSE_IPHONE, JOHN_ANDROID, JOHN_FIREFOX, ELIF_CHROME}

# SendInstantPush's own texts (seed 001, "Responses"), byte for byte
NOT_AUTHENTICATED = "Not authenticated. Please re-login."
FORBIDDEN = "The operation is not allowed. Your api user is not authorized to use this api."
TEMPLATE_NOT_FOUND = "The template id you have set not found."
TOO_MANY_REQUESTS = "Too Many Requests"
# the report's (assumed: the sibling SendTransactionalPush's)
REPORT_NOT_AUTHENTICATED = "Not authenticated. The request lacks valid authentication credentials."
REPORT_TOO_MANY_REQUESTS = "Too many requests. The concurrent request limit has been exceeded."

CONTENT = {"title": "Hello", "message": "A message"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SEND_PATH = "/rest/push/sendInstant"


def login(client: Any, userkey: str = USERKEY, password: str = PASSWORD) -> str:
    response = client.post("/rest/login", json={"userkey": userkey, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send(client: Any, token: str, body: dict[str, Any]) -> Any:
    """POST /rest/push/sendInstant with `body` exactly as given."""
    return client.post(SEND_PATH, json=body, headers=bearer(token))


def tracking_id(response: Any) -> str:
    """The tracking id of a successful send, after checking the success body whole."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"code", "message", "data"}, body
    assert (body["code"], body["message"], set(body["data"])) == (0, "Success", {"trackingId"}), body
    assert UUID.fullmatch(body["data"]["trackingId"]), body
    return body["data"]["trackingId"]


def error(response: Any, status: int) -> dict[str, Any]:
    """The body of a D·engage error answer, after checking its envelope; `errors` on 400 only."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    expected_keys = {"code", "message", "errors"} if status == 400 else {"code", "message"}
    assert set(body) == expected_keys, body
    assert isinstance(body["code"], int) and body["code"] != 0 and body["code"] == status, body
    assert isinstance(body["message"], str) and body["message"], body
    if status == 400:
        assert isinstance(body["errors"], list), body
        for item in body["errors"]:
            assert set(item) == {"field", "message"} and all(isinstance(v, str) for v in item.values()), item
    return body


def field_error(response: Any) -> str:
    """The field named by a 400 answer's first entry in `errors`."""
    body = error(response, 400)
    assert body["errors"], body
    return body["errors"][0]["field"]


def reached(fake: Any, tracking: str) -> set[tuple[str, str, str]]:
    """(contact, device, platform) of every delivery of one send."""
    rows = fake.deliveries.find(send_id=tracking)
    assert all(d.vendor == "dengage" for d in rows)
    out = {(d.user_id, d.device_id, d.platform) for d in rows}
    assert len(out) == len(rows), "one delivery per device"
    return out


def report(client: Any, token: str, tracking: str, application_id: str | None = None) -> dict[str, Any]:
    params = {"trackingId": tracking, **({"applicationId": application_id} if application_id else {})}
    response = client.get(SEND_PATH, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (0, "Success"), body
    return body["data"]


def sends(fake: Any) -> int:
    return len(fake.dengage.state.sends(ACCOUNT))


def world(tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None, **settings: Any) -> Path:
    """A fixtures file: the default world with `dengage.settings` updated and `edit` applied."""
    document = yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))
    document["dengage"]["settings"].update(settings)
    if edit is not None:
        edit(document)
    path = tmp_path / "world.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


from pushfake.contract.conformance.dengage import documented_date  # noqa: F401 - the spec's date model
