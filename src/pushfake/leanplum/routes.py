"""HTTP plumbing for `/api`: how Leanplum's body is read and its answers look. Nothing else."""

from __future__ import annotations

import json

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pushfake.core.decoding import body_params
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.limits import retry_after_header
from pushfake.leanplum.errors import error_element, fault_message
from pushfake.leanplum.service import LeanplumService
from pushfake.plumbing import Answer
from pushfake.traffic import Traffic, VendorApi

MEDIA_TYPE = "application/json;charset=utf-8"
HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "private"}


def render(answer: Answer, background: BackgroundTask | None = None) -> Response:
    headers = dict(HEADERS)
    if answer.status == 429 and answer.retry_after is not None:
        headers["Retry-After"] = retry_after_header(answer.retry_after)
    body = json.dumps({"response": answer.body}, separators=(",", ":"), ensure_ascii=False)
    return Response(body, answer.status, headers, MEDIA_TYPE, background)


def error_response(status: int, message: str | None) -> Response:
    return render(Answer(status, [error_element(message or fault_message(status))]))


def routes(service: LeanplumService, traffic: Traffic, deliveries: DeliveryQueue) -> list[BaseRoute]:
    api = VendorApi(service, traffic, deliveries, body_params, render, error_response).endpoint()
    return [
        Route("/api", api, methods=["GET", "POST"], name="leanplum-api"),
        # Scopely's Java client posts batches to /api-batch; treated as an alias.
        Route("/api-batch", api, methods=["GET", "POST"], name="leanplum-api-batch"),
    ]
