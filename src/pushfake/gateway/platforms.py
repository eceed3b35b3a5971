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
    if platform_name == "apns":
        return isinstance(token, str) and len(token) % 2 == 0 and _APNS_TOKEN.fullmatch(token) is not None
    if platform_name == "fcm":
        return isinstance(token, str) and _FCM_TOKEN.fullmatch(token) is not None
    return _is_subscription(token)


def _is_subscription(token: Any) -> bool:
    """A browser's PushSubscription JSON: an https endpoint, a P-256 key and a 16-byte secret."""
    if not isinstance(token, dict):
        return False
    endpoint, keys = token.get("endpoint"), token.get("keys")
    if not isinstance(endpoint, str) or not endpoint.startswith("https://") or not isinstance(keys, dict):
        return False
    p256dh, auth = _b64url(keys.get("p256dh")), _b64url(keys.get("auth"))
    return p256dh is not None and len(p256dh) == 65 and p256dh[0] == 4 and auth is not None and len(auth) == 16


def _b64url(text: Any) -> bytes | None:
    if not isinstance(text, str):
        return None
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


def payload_size(platform_name: str, payload: dict[str, Any]) -> int:
    """Bytes of the gateway's payload as UTF-8 JSON, the figure the 4 KB limit applies to."""
    wire = wire_payload(platform_name, payload)
    return len(json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
