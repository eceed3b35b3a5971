"""The official Leanplum JavaScript SDK (npm ``leanplum-sdk`` 1.9.0), unmodified, against pushfake.

``tests/node/leanplum_client.js`` runs the SDK under Node with browser shims, points it at the
live fake, calls ``Leanplum.start`` (and optionally ``Leanplum.track``), and prints one JSON line
with the start outcome, ``Leanplum.getVariables()`` and every HTTP exchange it made.

Requires ``node`` on PATH and ``npm ci --prefix tests/node``. These tests never skip: a missing
toolchain is a failure, so CI cannot silently stop exercising the SDK.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.node

NODE_DIR = Path(__file__).resolve().parent / "node"
CLIENT_SCRIPT = NODE_DIR / "leanplum_client.js"
REQUIRED_PACKAGES = ("leanplum-sdk", "xhr2")

APP_ID = "app_pushfake"
PROD_KEY = "prod_pushfake"
DEV_KEY = "dev_pushfake"

SETUP_HINT = "run `npm ci --prefix tests/node` (CI installs it)"


def _node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"`node` is not on PATH; install Node.js >= 20 and {SETUP_HINT}", pytrace=False)
    missing = [p for p in REQUIRED_PACKAGES if not (NODE_DIR / "node_modules" / p / "package.json").is_file()]
    if missing:
        pytest.fail(
            f"Node packages {', '.join(missing)} are not installed in {NODE_DIR / 'node_modules'}; {SETUP_HINT}",
            pytrace=False,
        )
    return node


def run_client(
    server: Any,
    *,
    key: str,
    user_id: str,
    mode: str = "production",
    track_event: str | None = None,
) -> dict[str, Any]:
    """Run the Node SDK client against ``server`` and return its parsed JSON report."""
    node = _node_executable()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LP_")}
    env.update(
        PUSHFAKE_API=f"{server.url}/api",
        LP_APP_ID=APP_ID,
        LP_KEY=key,
        LP_MODE=mode,
        LP_USER_ID=user_id,
    )
    if track_event:
        env["LP_TRACK_EVENT"] = track_event
    proc = subprocess.run(
        [node, str(CLIENT_SCRIPT)],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    details = f"exit={proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    assert proc.returncode == 0, f"Node SDK client did not finish cleanly\n{details}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"Node SDK client printed nothing\n{details}"
    try:
        report: dict[str, Any] = json.loads(lines[-1])
    except json.JSONDecodeError as exc:  # pragma: no cover - diagnostic path
        pytest.fail(f"Node SDK client output is not JSON ({exc})\n{details}")
    return report


def actions_of(exchange: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-action dicts the SDK batched into one ``multi`` request body."""
    body = exchange.get("requestBody") or ""
    try:
        data = json.loads(body).get("data", [])
    except (ValueError, AttributeError):
        return []
    return [item for item in data if isinstance(item, dict)]


def exchange_for(report: dict[str, Any], action: str) -> dict[str, Any]:
    matches = [x for x in report["exchanges"] if any(a.get("action") == action for a in actions_of(x))]
    assert len(matches) == 1, f"expected exactly one request carrying action={action!r}: {report['exchanges']}"
    return matches[0]


def describe(exchange: dict[str, Any]) -> str:
    return (
        f"POST {exchange['url']}\nrequest body: {exchange['requestBody']}\n"
        f"-> HTTP {exchange['status']}: {exchange['responseText']}"
    )


def last_response_item(exchange: dict[str, Any]) -> dict[str, Any]:
    parsed = json.loads(exchange["responseText"])
    items = parsed["response"]
    assert isinstance(items, list) and items, describe(exchange)
    last: dict[str, Any] = items[-1]
    return last


def test_production_start_gets_server_variables_and_creates_user(live_server: Any) -> None:
    user_id = "user-js-1"
    report = run_client(live_server, key=PROD_KEY, user_id=user_id)

    start = exchange_for(report, "start")
    assert report["started"] is True, describe(start)
    assert start["status"] == 200, describe(start)
    assert "action=multi" in start["url"], describe(start)
    assert last_response_item(start).get("success") is True, describe(start)

    # Server values override the code defaults declared with setVariables().
    variables = report["variables"]
    assert variables["welcomeMessage"] == "Welcome to pushfake", variables
    assert variables["maxItems"] == 10, variables

    user = live_server.fake.leanplum.user(APP_ID, user_id)
    assert user is not None, f"fake has no user {user_id!r} after\n{describe(start)}"
    assert user.attributes.get("plan") == "gold", user.attributes
    sent_device_id = actions_of(start)[0]["deviceId"]
    assert list(user.device_ids) == [sent_device_id], (user.device_ids, sent_device_id)


def test_production_track_is_accepted_and_recorded(live_server: Any) -> None:
    user_id = "user-js-1"
    report = run_client(live_server, key=PROD_KEY, user_id=user_id, track_event="purchase")

    assert report["started"] is True, [describe(x) for x in report["exchanges"]]
    track = exchange_for(report, "track")
    assert track["status"] == 200, describe(track)
    assert last_response_item(track).get("success") is True, describe(track)

    events = live_server.fake.leanplum.events(APP_ID, user_id)
    purchases = [e for e in events if e.name == "purchase"]
    assert purchases, f"no 'purchase' event recorded; events={events!r}\n{describe(track)}"
    assert any(e.params == {"sku": "a"} and e.kind == "track" for e in purchases), [
        (e.name, e.kind, e.params) for e in purchases
    ]


def test_development_mode_start_succeeds(live_server: Any) -> None:
    user_id = "user-js-dev"
    report = run_client(live_server, key=DEV_KEY, user_id=user_id, mode="development")

    start = exchange_for(report, "start")
    assert actions_of(start)[0].get("devMode") is True, describe(start)
    assert start["status"] == 200, describe(start)
    assert report["started"] is True, describe(start)
    assert live_server.fake.leanplum.user(APP_ID, user_id) is not None


def test_wrong_key_is_rejected_and_creates_nothing(live_server: Any) -> None:
    user_id = "user-js-badkey"
    report = run_client(live_server, key="not-a-key", user_id=user_id)

    assert len(report["exchanges"]) == 1, report["exchanges"]
    start = report["exchanges"][0]
    assert report["started"] is False, describe(start)
    assert start["status"] == 403, describe(start)
    assert "Invalid access key" in start["responseText"], describe(start)
    # A failed start leaves the code defaults in place.
    assert report["variables"]["welcomeMessage"] == "hi from code", report["variables"]
    assert live_server.fake.leanplum.user(APP_ID, user_id) is None
