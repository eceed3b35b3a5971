"""Small helpers for Leanplum tests: credentials, calls, and worlds with changed settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from pushfake.core.resources import default_fixtures

APP = "app_pushfake"
PROD = "prod_pushfake"
DEV = "dev_pushfake"
CREDS = {"appId": APP, "clientKey": PROD}


def post(client: Any, action: str, **params: Any) -> Any:
    """POST /api?action=<action> with a JSON body holding the credentials and `params`."""
    return client.post(f"/api?action={action}", json={**CREDS, **params})


def element(response: Any, index: int = -1) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"response"}, body
    return body["response"][index]


def error_message(response: Any) -> str:
    item = element(response)
    assert item["success"] is False, item
    return item["error"]["message"]


def warning_message(response: Any) -> str:
    item = element(response)
    assert item["success"] is True, item
    return item["warning"]["message"]


def world_with(tmp_path: Path, **settings: Any) -> Path:
    """A fixtures file: the default world with `leanplum.settings` updated."""
    document = yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))
    document["leanplum"]["settings"].update(settings)
    path = tmp_path / "world.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
