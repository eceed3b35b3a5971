"""The three push gateways as a device's sender meets them: token formats, payload shape and
size limit, and the outcome codes each one answers with.

Outcome codes are the gateways' own words: APNs' `reason` strings, FCM HTTP v1's error
`status` names, web push's HTTP status codes. Every outcome has a kind:

- `ok`: delivered;
- `transient`: try again later (throttling, 5xx, an outage), with back-off;
- `permanent`: this delivery cannot succeed (the payload is too large); not retried;
- `token`: the token itself is bad (`invalid`) or gone (`unregistered`); not retried, and the
  token is marked so later sends leave it out.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from pushfake.core.tokens import INVALID, UNREGISTERED

OK, TRANSIENT, PERMANENT, TOKEN = "ok", "transient", "permanent", "token"
PAYLOAD_LIMIT_BYTES = 4096  # APNs, FCM and web push all stop at 4 KB


@dataclass(frozen=True, slots=True)
class Outcome:
    code: str  # what the gateway answers
    status: int  # its HTTP status
    kind: str  # OK, TRANSIENT, PERMANENT or TOKEN
    token_status: str | None = None  # for kind TOKEN: INVALID or UNREGISTERED


@dataclass(frozen=True, slots=True)
class Platform:
    name: str  # apns, fcm, webpush
    outcomes: dict[str, Outcome]  # code -> outcome; what fixtures and Python may inject
    delivered: Outcome
    bad_token: Outcome
    unregistered: Outcome
    too_large: Outcome
    throttled: Outcome
    unavailable: Outcome  # what an outage answers unless told otherwise

    def outcome(self, code: str) -> Outcome:
        found = self.outcomes.get(str(code))
        if found is None:
            raise ValueError(f"{self.name} has no outcome {code!r}; it answers one of {', '.join(self.outcomes)}")
        return found


def _platform(name: str, *outcomes: Outcome, delivered: str, bad_token: str, unregistered: str,
              throttled: str, unavailable: str, too_large: Outcome) -> Platform:
    table = {o.code: o for o in outcomes}
    return Platform(name, table, table[delivered], table[bad_token], table[unregistered], too_large,
                    table[throttled], table[unavailable])


APNS = _platform(
    "apns",
    Outcome("Success", 200, OK),
    Outcome("BadDeviceToken", 400, TOKEN, INVALID),
    Outcome("Unregistered", 410, TOKEN, UNREGISTERED),
    Outcome("PayloadTooLarge", 413, PERMANENT),
    Outcome("TooManyRequests", 429, TRANSIENT),
    Outcome("InternalServerError", 500, TRANSIENT),
    Outcome("ServiceUnavailable", 503, TRANSIENT),
    delivered="Success", bad_token="BadDeviceToken", unregistered="Unregistered",
    throttled="TooManyRequests", unavailable="ServiceUnavailable",
    too_large=Outcome("PayloadTooLarge", 413, PERMANENT),
)

FCM = _platform(
    "fcm",
    Outcome("OK", 200, OK),
    Outcome("UNREGISTERED", 404, TOKEN, UNREGISTERED),
    # Injected or for a malformed token: FCM's answer to a registration token it does not know.
    Outcome("INVALID_ARGUMENT", 400, TOKEN, INVALID),
    Outcome("QUOTA_EXCEEDED", 429, TRANSIENT),
    Outcome("UNAVAILABLE", 503, TRANSIENT),
    Outcome("INTERNAL", 500, TRANSIENT),
    delivered="OK", bad_token="INVALID_ARGUMENT", unregistered="UNREGISTERED",
    throttled="QUOTA_EXCEEDED", unavailable="UNAVAILABLE",
    # FCM answers a message above 4 KB with INVALID_ARGUMENT too; the token is not at fault.
    too_large=Outcome("INVALID_ARGUMENT", 400, PERMANENT),
)

WEBPUSH = _platform(
    "webpush",
    Outcome("201", 201, OK),
    Outcome("400", 400, TOKEN, INVALID),  # a subscription no push service accepts
    Outcome("404", 404, TOKEN, UNREGISTERED),
    Outcome("410", 410, TOKEN, UNREGISTERED),
    Outcome("413", 413, PERMANENT),
    Outcome("429", 429, TRANSIENT),
    Outcome("500", 500, TRANSIENT),
    Outcome("503", 503, TRANSIENT),
    delivered="201", bad_token="400", unregistered="410", throttled="429", unavailable="503",
    too_large=Outcome("413", 413, PERMANENT),
)

PLATFORMS: dict[str, Platform] = {p.name: p for p in (APNS, FCM, WEBPUSH)}


def platform(name: str) -> Platform:
    found = PLATFORMS.get(name)
    if found is None:
        raise ValueError(f"unknown platform {name!r}; use one of {', '.join(PLATFORMS)}")
    return found


# --- token formats -------------------------------------------------------------------------------
_APNS_TOKEN = re.compile(r"[0-9A-Fa-f]{64,200}")  # 32 bytes today; Apple says not to rely on it
_FCM_TOKEN = re.compile(r"[A-Za-z0-9_:\-]{32,4096}")


def token_is_well_formed(platform_name: str, token: Any) -> bool:
    """Whether the gateway would accept `token` as one of its own (assumed formats)."""
    if platform_name == "webpush":
        if not isinstance(token, dict) or not isinstance(token.get("keys"), dict):
            return False
        keys = token["keys"]
        parts = (token.get("endpoint"), keys.get("p256dh"), keys.get("auth"))
        return all(isinstance(p, str) for p in parts) and _is_subscription(*parts)
    return isinstance(token, str) and _is_token(platform_name, token)


# Every attempt asks; a device's token is the same each time, so remember the verdicts.
@functools.lru_cache(maxsize=65536)
def _is_token(platform_name: str, token: str) -> bool:
    if platform_name == "apns":
        return len(token) % 2 == 0 and _APNS_TOKEN.fullmatch(token) is not None
    return _FCM_TOKEN.fullmatch(token) is not None


@functools.lru_cache(maxsize=65536)
def _is_subscription(endpoint: str, p256dh_text: str, auth_text: str) -> bool:
    """A browser's PushSubscription: an https endpoint, a P-256 point and a 16-byte secret."""
    if not endpoint.startswith("https://"):
        return False
    p256dh, auth = _b64url(p256dh_text), _b64url(auth_text)
    return p256dh is not None and len(p256dh) == 65 and p256dh[0] == 4 and auth is not None and len(auth) == 16


def _b64url(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


# --- payloads ------------------------------------------------------------------------------------
_TITLE, _BODY, _IMAGE = ("title",), ("body", "message"), ("imageUrl", "mediaUrl")


def wire_payload(platform_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What the gateway carries to the device for a rendered `payload`, in its own shape."""
    title = payload.get("title")
    body = next((payload[k] for k in _BODY if k in payload), None)
    image = next((payload[k] for k in _IMAGE if k in payload), None)
    extra = {k: v for k, v in payload.items() if k not in _TITLE + _BODY + _IMAGE}
    if platform_name == "apns":
        aps: dict[str, Any] = {"alert": {"title": title, "body": body}}
        if image is not None:
            aps["mutable-content"] = 1  # a notification service extension fetches the image
            extra = {**extra, "imageUrl": image}
        return {"aps": aps, **extra}
    if platform_name == "fcm":
        notification = {"title": title, "body": body, **({"image": image} if image is not None else {})}
        data = {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for k, v in extra.items()}
        return {"message": {"notification": notification, "data": data}}
    return {"title": title, "body": body, **({"image": image} if image is not None else {}), "data": extra}


def within_limit(platform_name: str, payload: dict[str, Any]) -> bool:
    """Whether the payload fits in 4 KB; measured exactly only when a cheap bound says it might not."""
    return _bound(payload) * 2 + _WIRE_OVERHEAD <= PAYLOAD_LIMIT_BYTES or (
        payload_size(platform_name, payload) <= PAYLOAD_LIMIT_BYTES)


_WIRE_OVERHEAD = 128  # the gateways' own keys ("aps", "alert", "notification", ...)


def _bound(value: Any) -> int:
    """At least the UTF-8 JSON size of `value` (6 bytes a character covers any escape). FCM's
    data values are JSON text inside JSON, so callers double it."""
    if isinstance(value, str):
        return 6 * len(value) + 2
    if isinstance(value, dict):
        return 2 + sum(_bound(str(k)) + _bound(v) + 2 for k, v in value.items())
    if isinstance(value, list | tuple):
        return 2 + sum(_bound(v) + 1 for v in value)
    return 32 if isinstance(value, int | float) else 8


def payload_size(platform_name: str, payload: dict[str, Any]) -> int:
    """Bytes of the gateway's payload as UTF-8 JSON, the figure the 4 KB limit applies to."""
    wire = wire_payload(platform_name, payload)
    return len(json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
