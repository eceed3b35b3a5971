"""HTTP plumbing for `/api`: decode, merge query and body, run, render. Nothing else."""

from __future__ import annotations

import json
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pushfake.core.decoding import DecodeError, body_params, parse_json, query_params, read_body
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.limits import retry_after_header
from pushfake.faults.asgi import Connections
from pushfake.faults.rules import RequestFacts
from pushfake.leanplum.errors import error_element, fault_message, text
from pushfake.leanplum.service import LeanplumService, Outcome
from pushfake.traffic import Handled, Traffic

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
        headers["Retry-After"] = retry_after_header(outcome.retry_after)
    body = json.dumps({"response": outcome.elements}, separators=(",", ":"), ensure_ascii=False)
    return Response(body, outcome.status, headers, MEDIA_TYPE, background)


def error_response(status: int, message: str | None) -> Response:
    return render(Outcome(status, [error_element(message or fault_message(status))]))


def facts(request: Request, params: dict[str, Any]) -> RequestFacts:
    """What a request is about, before it runs: its action, app and user(s)."""
    action = params.get("action")
    items: tuple[str, ...] = ()
    users: list[str] = []
    if action == "multi":
        data = params.get("data")
        if isinstance(data, str):
            try:
                data = parse_json(data)
            except ValueError:  # JsonProblem: the action itself refuses it in Leanplum's words
                data = None
        batch = [i for i in data if isinstance(i, dict)] if isinstance(data, list) else []
        items = tuple(str(i.get("action")) for i in batch)
        users = [str(i.get("userId") or i.get("deviceId")) for i in batch if i.get("userId") or i.get("deviceId")]
    subject = params.get("userId") or params.get("deviceId")
    if subject:
        users.insert(0, str(subject))
    app = params.get("appId")
    return RequestFacts("leanplum", request.method, request.url.path, action if isinstance(action, str) else None,
                        app if isinstance(app, str) else None, tuple(dict.fromkeys(users)), params, items)


def routes(service: LeanplumService, deliveries: DeliveryQueue, traffic: Traffic,
           connections: Connections | None) -> list[BaseRoute]:
    async def api(request: Request) -> Response:
        query: dict[str, Any] = {}
        body: dict[str, Any] = {}
        raw: bytes | None = None
        try:
            query = query_params(request)
            if request.method == "POST":
                raw = await read_body(request, service.settings.max_body_bytes)
                body = await body_params(request, raw)
        except DecodeError as exc:
            failure: DecodeError | None = exc
        else:
            failure = None
        params = merge(query, body)

        async def handle() -> Handled:
            if failure is not None:
                outcome = Outcome(failure.status, [error_element(text(failure.key, **failure.fields))])
                return Handled(render(outcome))
            outcome = await service.handle(params)
            task = BackgroundTask(deliveries.hand_off, outcome.pending) if outcome.pending else None
            return Handled(render(outcome, task), outcome.limit)

        return await traffic.run(facts(request, params), raw, handle, error_response, connections)

    return [
        Route("/api", api, methods=["GET", "POST"], name="leanplum-api"),
        # Scopely's Java client posts batches to /api-batch; treated as an alias.
        Route("/api-batch", api, methods=["GET", "POST"], name="leanplum-api-batch"),
    ]
