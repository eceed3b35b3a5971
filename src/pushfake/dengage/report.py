"""The SendInstantPush report (GET /rest/push/sendInstant): a send's counts, read from its
deliveries as they stand."""

from __future__ import annotations

from typing import Any

from pushfake.core.deliveries import Delivery, DeliveryQueue
from pushfake.dengage import content
from pushfake.dengage.errors import not_found
from pushfake.dengage.models import Send
from pushfake.dengage.state import DengageState


def of(state: DengageState, queue: DeliveryQueue, account_id: str, query: dict[str, str]) -> dict[str, Any]:
    """The report of the send `query` names (`trackingId`, optionally one `applicationId`); 404
    for a send the account does not have."""
    send = state.send(account_id, query["trackingId"])
    if send is None:
        raise not_found("Send", query["trackingId"])
    app_id = query.get("applicationId")
    app_id = app_id.lower() if app_id is not None else None  # UUIDs compare without regard to case
    deliveries = [d for d in map(queue.get, send.delivery_ids)
                  if d is not None and (app_id is None or d.app_id.lower() == app_id)]
    devices = state.devices(account_id)
    browsers = {d.device_id: device.browser if (device := devices.get(d.device_id)) is not None else None
                for d in deliveries if d.platform == "webpush"}
    return _summary(send, deliveries, browsers)


_PLATFORM_NAMES = {"apns": "iOS", "fcm": "Android", "webpush": "Web"}


def _items(counts: dict[str, list[int]]) -> list[dict[str, Any]]:
    return [{"itemName": name, "deliveredCount": c[0], "openCount": c[1]} for name, c in sorted(counts.items())]


def _summary(send: Send, deliveries: list[Delivery], browsers: dict[str, str | None]) -> dict[str, Any]:
    """One pass over the send's deliveries (a report may be polled while 10,000 are in flight).
    `browsers`: the browser of each web device, by device id."""
    delivered = opened = bounced = errors = 0
    first_failure: str | None = None
    finished = True
    by_platform: dict[str, list[int]] = {}  # name -> [delivered, opened]
    by_browser: dict[str, list[int]] = {}  # web-push deliveries only
    for d in deliveries:
        state = d.timeline[-1][0]
        counts = [by_platform.setdefault(_PLATFORM_NAMES.get(d.platform, d.platform), [0, 0])]
        if d.platform == "webpush":
            counts.append(by_browser.setdefault(browsers.get(d.device_id) or "Other", [0, 0]))
        if state == "delivered":
            delivered += 1
            for c in counts:
                c[0] += 1
        elif state == "failed":
            if d.token_rejected:
                bounced += 1
            else:
                errors += 1
            if first_failure is None:
                first_failure = d.timeline[-1][2]
        else:
            finished = False
        if d.engagements and d.engaged("open"):
            opened += 1
            for c in counts:
                c[1] += 1
    status = send.status if send.status == "Scheduled" else ("Completed" if finished else "Sending")
    return {
        "trackingId": send.tracking_id,
        "status": status,
        "createdAt": content.iso(send.created_at),
        "scheduleDate": content.iso(send.schedule_at) if send.schedule_at is not None else None,
        "totalCount": len(deliveries),
        "totalDeliveredCount": delivered,
        "totalOpenCount": opened,
        "totalBounceCount": bounced,
        "totalErrorCount": errors,
        "errorMessage": first_failure,
        "browsers": _items(by_browser),
        "deviceTypes": _items(by_platform),
    }
