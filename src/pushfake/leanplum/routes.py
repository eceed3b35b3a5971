"""HTTP plumbing for `/api`: decode, merge query and body, run, render. Nothing else."""

from __future__ import annotations

import json
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pushfake.core.decoding import DecodeError, body_params, query_params, read_body
from pushfake.core.deliveries import DeliveryQueue
from pushfake.leanplum.errors import error_element
from pushfake.leanplum.service import LeanplumService, Outcome

MEDIA_TYPE = "application/json;charset=utf-8"
HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "private"}


def merge(query: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Leanplum's precedence: the body wins for every key except `action`, where the query wins."""
    merged = {**query, **body}
    if "action" in query:
        merged["action"] = query["action"]
    return merged


def render(outcome: Outcome, background: BackgroundTask | None = None) -> Response:
    headers = dict(HEADERS)
    if outcome.status == 429 and outcome.retry_after is not None:
        headers["Retry-After"] = str(int(outcome.retry_after + 0.999))
    body = json.dumps({"response": outcome.elements}, separators=(",", ":"), ensure_ascii=False)
    return Response(body, outcome.status, headers, MEDIA_TYPE, background)


def error_response(status: int, message: str) -> Response:
    return render(Outcome(status, [error_element(message)]))


def routes(service: LeanplumService, deliveries: DeliveryQueue) -> list[BaseRoute]:
    async def api(request: Request) -> Response:
        try:
            query = query_params(request)
            body: dict[str, Any] = {}
            if request.method == "POST":
                raw = await read_body(request, service.settings.max_body_bytes)
                body = await body_params(request, raw)
        except DecodeError as exc:
            return error_response(exc.status, exc.message)
        outcome = await service.handle(merge(query, body))
        task = BackgroundTask(deliveries.hand_off, outcome.pending) if outcome.pending else None
        return render(outcome, task)

    return [
        Route("/api", api, methods=["GET", "POST"], name="leanplum-api"),
        # Scopely's Java client posts batches to /api-batch; treated as an alias.
        Route("/api-batch", api, methods=["GET", "POST"], name="leanplum-api-batch"),
    ]
