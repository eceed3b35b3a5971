"""HTTP plumbing for `/rest`: the routes come from the spec's operations; nothing else here."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pushfake.core.clock import Clock, wire_wait
from pushfake.core.decoding import DecodeError, json_body, query_params, read_body
from pushfake.core.deliveries import DeliveryQueue
from pushfake.core.limits import retry_after_header
from pushfake.dengage import errors
from pushfake.dengage.errors import DengageError, fault_message, text
from pushfake.dengage.service import DengageService, Result
from pushfake.faults.asgi import Connections
from pushfake.faults.rules import RequestFacts
from pushfake.traffic import Handled, Traffic

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, dict[str, str], Any], Awaitable[Result]]


def render(status: int, body: dict[str, Any], background: BackgroundTask | None = None,
           retry_after: float | None = None) -> Response:
    headers = {"Retry-After": retry_after_header(retry_after)} if retry_after is not None else None
    return Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False), status, headers,
                    media_type="application/json", background=background)


def error_response(status: int, message: str | None) -> Response:
    return render(status, DengageError(status, message or fault_message(status)).body())


def routes(service: DengageService, deliveries: DeliveryQueue, clock: Clock, traffic: Traffic,
           connections: Connections | None) -> list[BaseRoute]:
    async def login(request: Request, query: dict[str, str], body: Any) -> Result:
        return service.login(body)

    async def send_instant(request: Request, query: dict[str, str], body: Any) -> Result:
        caller = service.authenticate(request.headers.get("authorization"), errors.SEND)
        service.require_push_permission(caller)
        with service.admitted(caller, errors.SEND):
            if service.settings.processing_delay_seconds:
                await wire_wait(clock, service.settings.processing_delay_seconds)
            return service.send_instant(caller, body)

    async def report(request: Request, query: dict[str, str], body: Any) -> Result:
        caller = service.authenticate(request.headers.get("authorization"), errors.REPORT)
        with service.admitted(caller, errors.REPORT):
            return service.report(caller, query)

    handlers: dict[str, Handler] = {"login": login, "sendInstantPush": send_instant, "getSendInstantPushReport": report}
    by_path: dict[str, dict[str, tuple[str, Handler]]] = {}
    for path, method, operation in service.spec.operations():
        operation_id = operation["operationId"]
        handler = handlers.pop(operation_id, None)
        if handler is None:
            raise RuntimeError(f"{service.spec.name}: no D·engage handler for {operation_id}")
        by_path.setdefault(path, {})[method] = (operation_id, handler)
    if handlers:
        raise RuntimeError(f"{service.spec.name} lacks the operations {sorted(handlers)}")

    def endpoint(methods: dict[str, tuple[str, Handler]]) -> Endpoint:
        async def answer(request: Request) -> Response:
            operation_id, handler = methods[request.method if request.method != "HEAD" else "GET"]
            query: dict[str, str] = {}
            body: Any = None
            raw: bytes | None = None
            failure: DecodeError | None = None
            try:
                query = query_params(request)
                if request.method == "POST":
                    raw = await read_body(request, service.settings.max_body_bytes)
                    body = json_body(request, raw)
            except DecodeError as exc:
                failure = exc

            async def handle() -> Handled:
                if failure is not None:
                    error = DengageError(failure.status, text(failure.key, **failure.fields))
                    return Handled(render(error.status, error.body()))
                try:
                    result = await handler(request, query, body)
                except DengageError as exc:
                    return Handled(render(exc.status, exc.body(), retry_after=exc.retry_after), exc.limit)
                task = BackgroundTask(deliveries.hand_off, result.pending) if result.pending else None
                return Handled(render(result.status, result.body, task))

            who = _who(service, operation_id, request, body)
            params = {**query, **body} if isinstance(body, dict) else dict(query)
            facts = RequestFacts("dengage", request.method, request.url.path, operation_id,
                                 who[0] if who else None, (who[1],) if who else (), params)
            return await traffic.run(facts, raw, handle, error_response, connections)

        return answer

    # One route per path, so a wrong method's 405 lists every method the path has.
    return [Route(path, endpoint(methods), methods=list(methods)) for path, methods in by_path.items()]


def _who(service: DengageService, operation_id: str, request: Request, body: Any) -> tuple[str, str] | None:
    """(account, API user) a request comes from, as far as can be told before it runs."""
    if operation_id == "login":
        userkey = body.get("userkey") if isinstance(body, dict) else None
        account = service.state.account_of_user(userkey) if isinstance(userkey, str) else None
        return (account.id, userkey) if account is not None and isinstance(userkey, str) else None
    return service.account_of_token(request.headers.get("authorization"))
