"""HTTP plumbing for `/rest`: the routes come from the spec's operations; how D·engage's body is
read and its answers look. Nothing else."""

from __future__ import annotations

import json
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pushfake.core.decoding import json_body
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.limits import retry_after_header
from pushfake.dengage.errors import DengageError, fault_message
from pushfake.dengage.service import DengageService
from pushfake.plumbing import Answer
from pushfake.traffic import Traffic, VendorApi


def render(answer: Answer, background: BackgroundTask | None = None) -> Response:
    headers = {"Retry-After": retry_after_header(answer.retry_after)} if answer.retry_after is not None else None
    return Response(json.dumps(answer.body, separators=(",", ":"), ensure_ascii=False), answer.status, headers,
                    media_type="application/json", background=background)


def error_response(status: int, message: str | None) -> Response:
    return render(Answer(status, DengageError(status, message or fault_message(status)).body()))


async def read_body(request: Request, raw: bytes) -> Any:
    return json_body(request, raw)


def routes(service: DengageService, traffic: Traffic, deliveries: DeliveryQueue) -> list[BaseRoute]:
    api = VendorApi(service, traffic, deliveries, read_body, render, error_response)
    by_path: dict[str, dict[str, str]] = {}  # path -> method -> operationId
    for path, method, operation in service.spec.operations():
        by_path.setdefault(path, {})[method] = operation["operationId"]
    # One route per path, so a wrong method's 405 lists every method the path has.
    return [Route(path, api.endpoint(methods), methods=list(methods)) for path, methods in by_path.items()]
