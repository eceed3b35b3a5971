"""Helpers for the device gateway tests: who is on which platform, sends, timelines, worlds."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from pushfake.core.deliveries import Delivery
from pushfake.core.resources import default_fixtures
from pushfake.gateway import PLATFORMS
from pushfake.leanplum.errors import CATALOGUE as LEANPLUM_ERRORS
from tests.dengage import helpers as dg
from tests.leanplum.helpers import APP, element, post

START = 1_767_225_600.0  # where a ManualClock starts: 2026-01-01T00:00:00Z

# The default world's Leanplum user and device on each platform (one device each).
LEANPLUM_USER = {"apns": "alice", "fcm": "bob", "webpush": "carol"}
LEANPLUM_DEVICE = {"apns": "alice-iphone", "fcm": "bob-pixel", "webpush": "carol-chrome"}
NO_PUSH_DEVICE = LEANPLUM_ERRORS.text("no-push-device")  # the catalogue's text: one home for it


def outcome_cases(kind: str) -> list[Any]:
    """(platform, code) of every outcome of `kind` in PLATFORMS, as pytest params."""
    import pytest

    return [pytest.param(name, code, id=f"{name}-{code}")
            for name, gateway in PLATFORMS.items() for code, outcome in gateway.outcomes.items()
            if outcome.kind == kind]


def leanplum_token(fake: Fake, platform: str) -> Any:
    """The push token of the default Leanplum device on `platform`."""
    device = fake.leanplum.state.device(APP, LEANPLUM_DEVICE[platform])
    assert device is not None
    target = device.push_target()
    assert target is not None and target[0] == platform
    return target[1]


def dengage_token(fake: Fake, device_id: str) -> Any:
    device = fake.dengage.device(dg.ACCOUNT, device_id)
    assert device is not None
    return device.token


def token_key(token: Any) -> str:
    """What a token mark is keyed by: the token, or a web push subscription's endpoint."""
    return token["endpoint"] if isinstance(token, dict) else token


def send_message(client: TestClient, user: str, message_id: int = 1001, **params: Any) -> dict[str, Any]:
    """Leanplum sendMessage; the (successful) response element."""
    response = post(client, "sendMessage", userId=user, messageId=message_id, **params)
    assert response.status_code == 200, response.text
    item = element(response)
    assert item["success"] is True, item
    return item


def sent(client: TestClient, user: str, message_id: int = 1001, **params: Any) -> int:
    """messagesSent of a Leanplum sendMessage that is answered 'Message sent'."""
    item = send_message(client, user, message_id, **params)
    assert item.get("result") == "Message sent", item
    return item["messagesSent"]


def assert_no_device(client: TestClient, user: str, message_id: int = 1001) -> None:
    """sendMessage answers messagesSent 0 with the no-device warning."""
    item = send_message(client, user, message_id)
    assert item["messagesSent"] == 0, item
    assert item["warning"] == {"message": NO_PUSH_DEVICE}, item


def start_device(client: TestClient, user: str, device: str, token_field: str, token: Any) -> None:
    """Leanplum start registering `token` (iosPushToken, gcmRegistrationId or webPushSubscription)."""
    response = post(client, "start", userId=user, deviceId=device, **{token_field: token})
    assert response.status_code == 200, response.text
    assert element(response)["success"] is True, response.text


def add_apns_devices(client: TestClient, user: str, count: int) -> list[str]:
    """`count` iPhones with distinct well-formed APNs tokens for one new Leanplum user."""
    tokens = [f"{i:02x}" * 32 for i in range(count)]
    for i, token in enumerate(tokens):
        start_device(client, user, f"{user}-{i}", "iosPushToken", token)
    return tokens


def last_delivery(fake: Fake, **filters: Any) -> Delivery:
    """The newest delivery matching `filters`."""
    found = fake.deliveries.find(**filters)
    assert found, filters
    return found[-1]


def deliver_one(fake: Fake, client: TestClient, platform: str, **params: Any) -> Delivery:
    """sendMessage 1001 to the default user on `platform`, run the gateway, return the delivery."""
    user = LEANPLUM_USER[platform]
    before = len(fake.deliveries.find(user_id=user))
    assert sent(client, user, **params) == 1
    fake.run_until_idle()
    found = fake.deliveries.find(user_id=user)
    assert len(found) == before + 1
    return found[-1]


def relative(delivery: Delivery) -> list[tuple[str, float, str | None]]:
    """The timeline with times counted from the `queued` step (to the microsecond: epoch floats
    near 1.8e9 carry about 0.2 microseconds of rounding)."""
    t0 = delivery.timeline[0][1]
    return [(state, round(at - t0, 6), reason) for state, at, reason in delivery.timeline]


def times_of(delivery: Delivery, state: str) -> list[float]:
    """Times (from `queued`) of every step in `state`."""
    return [at for s, at, _ in relative(delivery) if s == state]


def reasons(delivery: Delivery, state: str) -> list[str | None]:
    return [reason for s, _, reason in delivery.timeline if s == state]


def latency_of(delivery: Delivery) -> float:
    """Seconds from the (only) attempt to the answer."""
    (_, sending, _), (_, answer, _) = delivery.timeline[-2:]
    return round(answer - sending, 6)


def gateway_world(tmp_path: Path, gateway: dict[str, Any] | None, name: str = "world.yaml") -> Path:
    """A YAML fixtures file: the default world with its `gateway` section replaced."""
    document = yaml.safe_load(default_fixtures().read_text(encoding="utf-8"))
    if gateway is None:
        document.pop("gateway", None)
    else:
        document["gateway"] = gateway
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def serving(fake: Fake) -> Iterator[TestClient]:
    with TestClient(create_app(fake), raise_server_exceptions=True) as client:
        yield client


def fake_with(tmp_path: Path, gateway: dict[str, Any] | None) -> Fake:
    return Fake(fixtures=gateway_world(tmp_path, gateway), seed=7, clock=ManualClock())


def dengage_send(client: TestClient, token: str, **body: Any) -> str:
    """A D·engage sendInstant of the plain CONTENT; its tracking id."""
    return dg.tracking_id(dg.send(client, token, {"content": dg.CONTENT, **body}))


# --- end-to-end, determinism, property and live tests ------------------------------------------
TOKEN_FIELD = {"apns": "iosPushToken", "fcm": "gcmRegistrationId", "webpush": "webPushSubscription"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def good_token(platform: str, n: int) -> Any:
    """A well-formed token of `platform`, different for every `n`."""
    if platform == "apns":
        return f"{n:064x}"
    if platform == "fcm":
        return f"fcm-token:{n:030d}"
    return {"endpoint": f"https://push.example.com/sub/{n}",
            "keys": {"p256dh": _b64url(b"\x04" + n.to_bytes(64, "big")), "auth": _b64url(n.to_bytes(16, "big"))}}


def bad_token(platform: str, n: int) -> Any:
    """A token the platform's gateway refuses as malformed, different for every `n`."""
    if platform == "apns":
        return f"not-hex-{n}"
    if platform == "fcm":
        return f"short{n}"
    return {"endpoint": f"http://insecure.example.com/sub/{n}", "keys": {"p256dh": "x", "auth": "y"}}


def register(client: TestClient, user: str, device: str, platform: str, token: Any) -> None:
    """Leanplum start registering `device` of `user` with `token` on `platform`."""
    start_device(client, user, device, TOKEN_FIELD[platform], token)


def delivery_log(fake: Fake) -> list[tuple[Any, ...]]:
    """Every delivery as (id, device id, timeline, token_rejected), sorted: equal logs, same run."""
    return sorted((d.id, d.device_id, d.timeline, d.token_rejected) for d in fake.deliveries.find())


def states(delivery: Delivery) -> list[str]:
    return [step[0] for step in delivery.timeline]


# queued, then attempts: each `sending` is answered by `retrying` (then another attempt) or a final state
TIMELINE_GRAMMAR = re.compile(r"queued( sending retrying)* sending (delivered|failed)")


def wait_until(predicate: Callable[[], Any], timeout: float = 4.0, interval: float = 0.02) -> Any:
    """Poll `predicate` (real time) until it returns something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"not true within {timeout} s"
        time.sleep(interval)
