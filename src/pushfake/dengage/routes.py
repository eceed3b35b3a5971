"""HTTP plumbing for `/rest`: the routes come from the spec's operations; nothing else here."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pushfake.core.clock import Clock
from pushfake.core.decoding import DecodeError, json_body, query_params, read_body
from pushfake.core.deliveries import DeliveryQueue
from pushfake.dengage.errors import DengageError
from pushfake.dengage.service import DengageService, Result

Endpoint = Callable[[Request], Awaitable[Response]]


def render(status: int, body: dict[str, Any], background: BackgroundTask | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False), status,
                    media_type="application/json", background=background)


def error_response(status: int, message: str) -> Response:
    return render(status, DengageError(status, message).body())


def routes(service: DengageService, deliveries: DeliveryQueue, clock: Clock) -> list[BaseRoute]:
    async def body(request: Request) -> dict[str, Any]:
        return json_body(request, await read_body(request, service.settings.max_body_bytes))

    async def login(request: Request) -> Result:
        return service.login(await body(request))

    async def send_instant(request: Request) -> Result:
        caller = service.authenticate(request.headers.get("authorization"))
        service.require_push_permission(caller)
        with service.admitted(caller):
            if service.settings.processing_delay_seconds:
                await clock.sleep(service.settings.processing_delay_seconds)
            return service.send_instant(caller, await body(request))

    async def report(request: Request) -> Result:
        caller = service.authenticate(request.headers.get("authorization"))
        with service.admitted(caller):
            return service.report(caller, query_params(request))

    handlers: dict[str, Callable[[Request], Awaitable[Result]]] = {
        "login": login, "sendInstantPush": send_instant, "getSendInstantPushReport": report,
    }
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Result]]]] = {}
    for path, method, operation in service.spec.operations():
        handler = handlers.pop(operation["operationId"], None)
        if handler is None:
            raise RuntimeError(f"{service.spec.name}: no D·engage handler for {operation['operationId']}")
        by_path.setdefault(path, {})[method] = handler
    if handlers:
        raise RuntimeError(f"{service.spec.name} lacks the operations {sorted(handlers)}")
    # One route per path, so a wrong method's 405 lists every method the path has.
    return [Route(path, _endpoint(methods, deliveries), methods=list(methods)) for path, methods in by_path.items()]


def _endpoint(methods: dict[str, Callable[[Request], Awaitable[Result]]], deliveries: DeliveryQueue) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            result = await methods[request.method if request.method != "HEAD" else "GET"](request)
        except DecodeError as exc:
            return error_response(exc.status, exc.message)
        except DengageError as exc:
            return render(exc.status, exc.body())
        task = BackgroundTask(deliveries.hand_off, result.pending) if result.pending else None
        return render(result.status, result.body, task)

    return endpoint
