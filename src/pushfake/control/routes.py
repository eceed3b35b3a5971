"""The control plane's route table: each operation of `openapi/control.yaml` and its handler.

The paths and methods come from the spec's operations; `HANDLERS` names a handler for each
operationId, and building the routes fails at start-up if the spec and the table disagree
(an operation with no handler, a handler with no operation). The handlers live in
`control.handlers`, one module per resource; every answer is JSON, every error
`{"error": {"status", "message"}}`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pushfake.control.handlers import books, clock, deliveries, journal, records, wait, world
from pushfake.core.admin import AdminError
from pushfake.core.fixtures import FixtureError
from pushfake.core.spec import ApiSpec
from pushfake.fake import Fake

Handler = Callable[[Fake, Request], Awaitable[Any]]

HANDLERS: dict[str, Handler] = {
    "health": world.health,
    "stats": world.stats,
    "reset": world.reset,
    "listFailures": world.list_failures,
    "clearFailures": world.clear_failures,
    "loadFixtures": world.load_fixtures,
    "getGateway": world.get_gateway,
    "setGateway": world.set_gateway,
    "listLeanplumApps": records.list_leanplum_apps,
    "listLeanplumUsers": records.list_leanplum_users,
    "createLeanplumUser": records.create_leanplum_user,
    "getLeanplumUser": records.get_leanplum_user,
    "createLeanplumDevice": records.create_leanplum_device,
    "listLeanplumMessages": records.list_leanplum_messages,
    "createLeanplumMessage": records.create_leanplum_message,
    "listDengageAccounts": records.list_dengage_accounts,
    "listDengageRecords": records.list_dengage_records,
    "createDengageRecord": records.create_dengage_record,
    "getDengageContact": records.get_dengage_contact,
    "createDengageDevice": records.create_dengage_device,
    "listDeliveries": deliveries.list_deliveries,
    "getDelivery": deliveries.get_delivery,
    "engageDelivery": deliveries.engage_delivery,
    "listJournal": journal.list_journal,
    "clearJournal": journal.clear_journal,
    "getClock": clock.get_clock,
    "setClock": clock.set_clock,
    "advanceClock": clock.advance_clock,
    "settleClock": clock.settle_clock,
    "freezeClock": clock.freeze_clock,
    "unfreezeClock": clock.unfreeze_clock,
    "listFaults": books.list_faults,
    "addFault": books.add_fault,
    "clearFaults": books.clear_faults,
    "getFault": books.get_fault,
    "removeFault": books.remove_fault,
    "listLimits": books.list_limits,
    "addLimit": books.add_limit,
    "clearLimits": books.clear_limits,
    "getLimit": books.get_limit,
    "removeLimit": books.remove_limit,
    "wait": wait.wait,
}

# Operations of the control spec whose routes another module builds (pages, files, an event
# stream: answers other than this module's JSON), and that module.
SERVED_ELSEWHERE: dict[str, str] = {
    "inboxPage": "pushfake.inbox.routes",
    "inboxDevices": "pushfake.inbox.routes",
    "inboxRequests": "pushfake.inbox.routes",
    "inboxState": "pushfake.inbox.routes",
    "inboxEvents": "pushfake.inbox.routes",
    "inboxStatic": "pushfake.inbox.routes",
    "index": "pushfake.site.routes",
    "openapiDocument": "pushfake.site.routes",
    "docsIndex": "pushfake.site.routes",
    "docsPage": "pushfake.site.routes",
}


def table() -> list[tuple[str, str, Handler]]:
    """(path, METHOD, handler) for each operation this module serves, in the spec's order;
    RuntimeError where the spec and `HANDLERS` disagree."""
    spec = ApiSpec.of("control")
    unclaimed = dict(HANDLERS)
    rows: list[tuple[str, str, Handler]] = []
    for path, method, operation in spec.operations():
        operation_id = operation["operationId"]
        if operation_id in SERVED_ELSEWHERE:
            continue
        handler = unclaimed.pop(operation_id, None)
        if handler is None:
            raise RuntimeError(f"{spec.name}: no control-plane handler for {operation_id}")
        rows.append((path, method, handler))
    if unclaimed:
        raise RuntimeError(f"{spec.name} lacks the operations {sorted(unclaimed)}")
    return rows


def routes(fake: Fake) -> list[BaseRoute]:
    by_path: dict[str, dict[str, Handler]] = {}
    for path, method, handler in table():
        by_path.setdefault(path, {})[method] = handler
    # One route per path, so a wrong method's 405 lists every method the path has.
    return [Route(path, _endpoint(fake, handlers), methods=list(handlers)) for path, handlers in by_path.items()]


def ok(body: Any, status: int = 200) -> Response:
    # backslashreplace: a lone surrogate that reached a record some other way goes out as its
    # JSON escape (the text is JSON, so the escape is exactly what ensure_ascii would write)
    text = json.dumps(body, default=str, ensure_ascii=False, separators=(",", ":"))
    return Response(text.encode("utf-8", "backslashreplace"), status, media_type="application/json")


def error_response(status: int, message: str) -> Response:
    """The control plane's error body (also what `app` answers for its 404, 405 and 500)."""
    return ok({"error": {"status": status, "message": message}}, status)


def _endpoint(fake: Fake, handlers: dict[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        handler = handlers[request.method if request.method != "HEAD" else "GET"]
        try:
            result = await handler(fake, request)
        except AdminError as exc:
            return error_response(exc.status, exc.message)
        except FixtureError as exc:  # a record in its fixtures form that describes an impossible world
            return error_response(400, str(exc))
        if isinstance(result, tuple):
            status, body = result
            return ok(body, status)
        return ok(result)

    return endpoint
