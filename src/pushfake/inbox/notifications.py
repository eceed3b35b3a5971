"""What a device shows for a delivery: title, body and image, read from the payload in the shape
its gateway carries it (APNs' `aps.alert`, FCM's `message.notification`, web push's top level).

Reading the wire shape, not the vendor's rendering, keeps vendor knowledge out: whatever the
gateway would put on screen is what the inbox puts on screen.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pushfake.gateway.platforms import wire_payload


class Shown(NamedTuple):
    title: str | None
    body: str | None
    image: str | None


def shown(platform: str, payload: dict[str, Any]) -> Shown:
    """The notification a device on `platform` displays for `payload`."""
    try:
        wire = wire_payload(platform, payload)
    except (TypeError, ValueError, AttributeError):
        return Shown(None, None, None)
    if platform == "apns":
        alert = wire.get("aps", {}).get("alert") or {}
        return Shown(_text(alert.get("title")), _text(alert.get("body")), _text(wire.get("imageUrl")))
    if platform == "fcm":
        notification = wire.get("message", {}).get("notification") or {}
        return Shown(_text(notification.get("title")), _text(notification.get("body")),
                     _text(notification.get("image")))
    return Shown(_text(wire.get("title")), _text(wire.get("body")), _text(wire.get("image")))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
