"""The deliveries the gateway was handed: listed by filters, one by id, and engaged with
(opened or dismissed) the way a device would."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pushfake.control.requests import json_body
from pushfake.control.views import DELIVERY_FILTERS, delivery_query, delivery_view, filters, shown
from pushfake.core.admin import AdminError
from pushfake.fake import Fake


async def list_deliveries(fake: Fake, request: Request) -> Any:
    f = filters(dict(request.query_params), DELIVERY_FILTERS, with_limit=True)
    rows = fake.deliveries.find(**delivery_query(f))
    if "limit" in f:
        rows = rows[-f["limit"]:]
    return {"deliveries": [delivery_view(d) for d in rows]}


async def get_delivery(fake: Fake, request: Request) -> Any:
    found = fake.deliveries.get(request.path_params["id"])
    if found is None:
        raise AdminError(404, f"no delivery {shown(request.path_params['id'])}")
    return delivery_view(found)


async def engage_delivery(fake: Fake, request: Request) -> Any:
    delivery_id = request.path_params["id"]
    body = await json_body(request, "engageDelivery", required=False)
    if fake.deliveries.get(delivery_id) is None:
        raise AdminError(404, f"no delivery {shown(delivery_id)}")
    try:
        return delivery_view(fake.engage(delivery_id, body.get("kind", "open")))
    except ValueError as exc:
        raise AdminError(409, str(exc)) from None
