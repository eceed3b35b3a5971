"""The control plane's routes (openapi/control.yaml): thin handlers over `Fake`'s Python API.

Request bodies are read by `core.decoding.parse_json` (bounded nesting, no lone surrogates,
no numbers out of range) and checked against the control spec's schemas; every error is
`{"error": {"status", "message"}}`. A refused request changes nothing: each handler checks all
it was given (times included) before it touches the fake.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pushfake.control.views import (
    DELIVERY_FILTERS,
    JOURNAL_FILTERS,
    clock_view,
    delivery_query,
    delivery_view,
    filters,
    journal_query,
    shown,
)
from pushfake.core.admin import AdminError, view
from pushfake.core.clock import SystemClock, TimeOutOfRange, checked_step, checked_time
from pushfake.core.decoding import DecodeError, JsonProblem, parse_json, read_body
from pushfake.core.fixtures import FixtureError, check_fixtures, check_part, parse_fixtures
from pushfake.core.spec import ApiSpec, SchemaValidator
from pushfake.dengage import admin as dengage_admin
from pushfake.fake import Fake
from pushfake.gateway.config import when
from pushfake.leanplum import admin as leanplum_admin
from pushfake.version import __version__

Handler = Callable[[Request], Awaitable[Any]]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def ok(body: Any, status: int = 200) -> Response:
    # backslashreplace: a lone surrogate that reached a record some other way goes out as its
    # JSON escape (the text is JSON, so the escape is exactly what ensure_ascii would write)
    text = json.dumps(body, default=str, ensure_ascii=False, separators=(",", ":"))
    return Response(text.encode("utf-8", "backslashreplace"), status, media_type="application/json")


def parsed(raw: bytes | str, what: str = "the body") -> Any:
    """`raw` as JSON read by `parse_json`; AdminError 400 in the control plane's words."""
    try:
        return parse_json(raw)
    except JsonProblem as exc:
        raise AdminError(400, f"{what} {exc.plain}") from None


def moment(value: Any, now: float, name: str = "now") -> float:
    """A time from the control plane (epoch seconds, ISO 8601, '+30s'), checked to be one the
    clock can stand at; AdminError 400 naming the field."""
    try:
        return checked_time(when(value, now))
    except (ValueError, OverflowError) as exc:
        raise AdminError(400, f"{name}: {exc}") from None


def error_response(status: int, message: str) -> Response:
    return ok({"error": {"status": status, "message": message}}, status)


@functools.cache
def _spec() -> ApiSpec:
    return ApiSpec.of("control")


@functools.cache
def _body_validator(operation_id: str) -> SchemaValidator | None:
    for _, _, operation in _spec().operations():
        if operation["operationId"] == operation_id:
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            return _spec().validator(schema["$ref"]) if schema and "$ref" in schema else (
                SchemaValidator(_spec().document, schema) if schema else None)
    raise KeyError(operation_id)


# The largest control-plane body read: a fixtures document of a big world fits many times over.
MAX_BODY_BYTES = 16 * 1024 * 1024


async def body_bytes(request: Request) -> bytes:
    """The request's body, read up to MAX_BODY_BYTES (413 past it) so no client can make the
    control plane hold a body of any size."""
    try:
        return await read_body(request, MAX_BODY_BYTES)
    except DecodeError as exc:
        if exc.status == 413:
            raise AdminError(413, f"the body is larger than {MAX_BODY_BYTES} bytes") from None
        raise AdminError(exc.status, "the body could not be read") from None


async def json_body(request: Request, operation_id: str, required: bool = True) -> Any:
    raw = await body_bytes(request)
    if not raw.strip():
        if required:
            raise AdminError(400, "a JSON body is required")
        return {}
    body = parsed(raw)
    validator = _body_validator(operation_id)
    problem = validator.problem(body) if validator is not None else None
    if problem is not None:
        raise AdminError(400, f"{problem.location or 'body'}: {problem.plain or problem.detail}")
    return body


def routes(fake: Fake) -> list[BaseRoute]:
    lp, de = fake.leanplum.state, fake.dengage.state

    def clock() -> dict[str, Any]:
        return clock_view(fake.clock)

    # --- server --------------------------------------------------------------------------------
    async def health(request: Request) -> Any:
        return {"status": "ok", "version": __version__, "seed": fake.seed, "now": fake.clock.now(),
                "fixtures": fake.fixtures_label}

    async def reset(request: Request) -> Any:
        body = await json_body(request, "reset", required=False)
        now = moment(body["now"], fake.clock.now()) if "now" in body else None
        fake.reset(keep_config=bool(body.get("keepConfig", False)), seed=body.get("seed"),
                   restart_clock=bool(body.get("restartClock", False)), now=now)
        return {"ok": True}

    async def stats(request: Request) -> Any:
        return fake.stats()

    async def failures(request: Request) -> Any:
        if request.method == "DELETE":
            fake.failures.clear()
            return {"ok": True}
        return {"failures": [f.to_dict() for f in fake.failures.list()]}

    async def load_fixtures(request: Request) -> Any:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = (await body_bytes(request)).decode("utf-8", errors="replace")
        try:
            if media in YAML_TYPES:
                document = parse_fixtures("fixtures", raw)
            else:
                document = check_fixtures("fixtures", parsed(raw, "the body (send YAML as application/yaml)"))
            fake.load_fixtures(document, label="fixtures (control plane)")
        except FixtureError as exc:
            raise AdminError(400, str(exc)) from None
        return {"ok": True}

    async def get_gateway(request: Request) -> Any:
        return fake.gateway.section

    async def set_gateway(request: Request) -> Any:
        body = await json_body(request, "setGateway")
        try:
            try:
                check_part("gateway", body)  # the fixtures schema first: types and bounds, then the gateway's rules
            except ValueError as exc:
                raise ValueError(f".{exc}" if not str(exc).startswith("body") else str(exc)[4:]) from None
            fake.gateway.replace_settings(body)
        except ValueError as exc:
            raise AdminError(400, f"gateway{exc}" if str(exc).startswith((".", ":")) else f"gateway: {exc}") from None
        return {"ok": True}

    # --- Leanplum state ------------------------------------------------------------------------
    async def leanplum_apps(request: Request) -> Any:
        return {"apps": [{"id": a.id, "name": a.name, "productionKey": a.production_key,
                          "developmentKey": a.development_key} for a in lp.apps()]}

    async def leanplum_users(request: Request) -> Any:
        app = request.path_params["app"]
        leanplum_admin.app_of(lp, app)
        if request.method == "POST":
            user = leanplum_admin.add_user(lp, app, await json_body(request, "createLeanplumUser"), fake.clock.now())
            return 201, leanplum_admin.user_view(lp, app, user)
        return {"users": [leanplum_admin.user_view(lp, app, u) for u in lp.users(app).values()]}

    async def leanplum_user(request: Request) -> Any:
        app, user_id = request.path_params["app"], request.path_params["user"]
        leanplum_admin.app_of(lp, app)
        user = lp.user(app, user_id)
        if user is None:
            raise AdminError(404, f"no user {shown(user_id)} in app {shown(app)}")
        return leanplum_admin.user_view(lp, app, user)

    async def leanplum_devices(request: Request) -> Any:
        app, user_id = request.path_params["app"], request.path_params["user"]
        body = await json_body(request, "createLeanplumDevice")
        return 201, leanplum_admin.device_view(leanplum_admin.add_device(lp, app, user_id, body))

    async def leanplum_messages(request: Request) -> Any:
        app = request.path_params["app"]
        if request.method == "POST":
            body = await json_body(request, "createLeanplumMessage")
            return 201, leanplum_admin.message_view(leanplum_admin.add_message(lp, app, body))
        return {"messages": [leanplum_admin.message_view(m) for m in leanplum_admin.app_of(lp, app).messages.values()]}

    # --- D·engage state ------------------------------------------------------------------------
    async def dengage_accounts(request: Request) -> Any:
        return {"accounts": [{"id": a.id, "name": a.name, "apiUsers": sorted(a.api_users),
                              "applications": [view(x) for x in a.applications.values()]} for a in de.accounts()]}

    async def dengage_records(request: Request) -> Any:
        account_id, kind = request.path_params["account"], request.path_params["kind"]
        if kind not in ("contacts", "templates", "segments", "tables"):
            raise AdminError(404, f"no such D·engage records: {shown(kind)}")
        account = dengage_admin.account_of(de, account_id)
        if request.method == "POST":
            body = await json_body(request, "createDengageRecord")
            if kind == "contacts":
                contact = dengage_admin.add_contact(de, account_id, body)
                return 201, dengage_admin.contact_view(de, account_id, contact)
            return 201, dengage_admin.part_view(dengage_admin.add_part(de, account_id, kind, body))
        if kind == "contacts":
            return {kind: [dengage_admin.contact_view(de, account_id, c) for c in de.contacts(account_id).values()]}
        return {kind: [dengage_admin.part_view(p) for p in getattr(account, kind).values()]}

    async def dengage_contact(request: Request) -> Any:
        account_id, key = request.path_params["account"], request.path_params["key"]
        dengage_admin.account_of(de, account_id)
        contact = de.contacts(account_id).get(key)
        if contact is None:
            raise AdminError(404, f"no contact {shown(key)} in account {shown(account_id)}")
        return dengage_admin.contact_view(de, account_id, contact)

    async def dengage_devices(request: Request) -> Any:
        account_id, key = request.path_params["account"], request.path_params["key"]
        body = await json_body(request, "createDengageDevice")
        return 201, dengage_admin.device_view(dengage_admin.add_device(de, account_id, key, body))

    # --- deliveries ----------------------------------------------------------------------------
    async def deliveries(request: Request) -> Any:
        f = filters(dict(request.query_params), DELIVERY_FILTERS, with_limit=True)
        rows = fake.deliveries.find(**delivery_query(f))
        if "limit" in f:
            rows = rows[-f["limit"]:]
        return {"deliveries": [delivery_view(d) for d in rows]}

    async def delivery(request: Request) -> Any:
        found = fake.deliveries.get(request.path_params["id"])
        if found is None:
            raise AdminError(404, f"no delivery {shown(request.path_params['id'])}")
        return delivery_view(found)

    async def engage(request: Request) -> Any:
        delivery_id = request.path_params["id"]
        body = await json_body(request, "engageDelivery", required=False)
        if fake.deliveries.get(delivery_id) is None:
            raise AdminError(404, f"no delivery {shown(delivery_id)}")
        try:
            return delivery_view(fake.engage(delivery_id, body.get("kind", "open")))
        except ValueError as exc:
            raise AdminError(409, str(exc)) from None

    # --- journal -------------------------------------------------------------------------------
    async def journal(request: Request) -> Any:
        if request.method == "DELETE":
            fake.journal.clear()
            return {"ok": True}
        f = filters(dict(request.query_params), JOURNAL_FILTERS, with_limit=True)
        entries = fake.journal.find(journal_query(f), f.get("limit"))
        return {"entries": [e.to_dict() for e in entries], "size": fake.journal.size}

    # --- clock ---------------------------------------------------------------------------------
    async def get_clock(request: Request) -> Any:
        if request.method == "PUT":
            body = await json_body(request, "setClock")
            target = moment(body["now"], fake.clock.now())
            try:
                fake.set_time(target)
            except ValueError as exc:
                raise AdminError(400, f"now: {exc}") from None
        return clock()

    async def advance(request: Request) -> Any:
        body = await json_body(request, "advanceClock")
        try:
            checked_step(fake.clock.now(), body["seconds"])
        except TimeOutOfRange as exc:
            raise AdminError(400, f"seconds: {exc}") from None
        fake.advance(body["seconds"])
        return clock()

    async def settle(request: Request) -> Any:
        fake.run_until_idle()
        return clock()

    async def freeze(request: Request) -> Any:
        if isinstance(fake.clock, SystemClock):
            fake.clock.freeze()
        return clock()

    async def unfreeze(request: Request) -> Any:
        if not isinstance(fake.clock, SystemClock):
            raise AdminError(409, "this fake runs on a manual clock, which only moves when advanced")
        fake.clock.unfreeze()
        return clock()

    # --- faults and limits ---------------------------------------------------------------------
    faults, fault = _book_routes("faults", "fault rule", fake.faults, fake.faults.rules, "addFault")
    limits, limit = _book_routes("limits", "limit", fake.limits, fake.limits.limits, "addLimit")

    # --- wait ----------------------------------------------------------------------------------
    async def wait(request: Request) -> Any:
        body = await json_body(request, "wait")
        timeout = float(body.get("timeout", 10))
        raw_filter = body.get("filter") or {}
        if body["for"] == "delivery":
            query = delivery_query(filters(raw_filter, DELIVERY_FILTERS, with_limit=False))
            changes = fake.deliveries.changes

            def look() -> dict[str, Any] | None:
                rows = fake.deliveries.find(**query)
                return {"delivery": delivery_view(rows[0])} if rows else None
        else:
            journal_filter = journal_query(filters(raw_filter, JOURNAL_FILTERS, with_limit=False))
            changes = fake.journal.changes

            def look() -> dict[str, Any] | None:
                rows = fake.journal.find(journal_filter)
                return {"request": rows[0].to_dict()} if rows else None

        started = time.monotonic()
        failed_before = fake.failures.last_seq
        while True:
            change, failure = changes.subscribe(), fake.failures.changes.subscribe()
            try:
                found = look()
                left = timeout - (time.monotonic() - started)
                broken = fake.failures.list(after=failed_before)
                if found is not None or left <= 0 or broken:
                    waited = {"waited": round(time.monotonic() - started, 3)}
                    if found is None and broken:  # what was awaited may never come: say why now
                        return {"found": False, "failure": broken[0].to_dict(), **waited}
                    return {"found": found is not None, **(found or {}), **waited}
                await asyncio.wait({change, failure}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                changes.unsubscribe(change)
                fake.failures.changes.unsubscribe(failure)

    table: list[tuple[str, Handler, list[str]]] = [
        ("/health", health, ["GET"]),
        ("/stats", stats, ["GET"]),
        ("/reset", reset, ["POST"]),
        ("/failures", failures, ["GET", "DELETE"]),
        ("/fixtures", load_fixtures, ["PUT"]),
        ("/gateway", get_gateway, ["GET"]),
        ("/gateway", set_gateway, ["PUT"]),
        ("/leanplum/apps", leanplum_apps, ["GET"]),
        ("/leanplum/apps/{app}/users", leanplum_users, ["GET", "POST"]),
        ("/leanplum/apps/{app}/users/{user}", leanplum_user, ["GET"]),
        ("/leanplum/apps/{app}/users/{user}/devices", leanplum_devices, ["POST"]),
        ("/leanplum/apps/{app}/messages", leanplum_messages, ["GET", "POST"]),
        ("/dengage/accounts", dengage_accounts, ["GET"]),
        ("/dengage/accounts/{account}/contacts/{key}", dengage_contact, ["GET"]),
        ("/dengage/accounts/{account}/contacts/{key}/devices", dengage_devices, ["POST"]),
        ("/dengage/accounts/{account}/{kind}", dengage_records, ["GET", "POST"]),
        ("/deliveries", deliveries, ["GET"]),
        ("/deliveries/{id}", delivery, ["GET"]),
        ("/deliveries/{id}/engage", engage, ["POST"]),
        ("/journal", journal, ["GET", "DELETE"]),
        ("/clock", get_clock, ["GET", "PUT"]),
        ("/clock/advance", advance, ["POST"]),
        ("/clock/settle", settle, ["POST"]),
        ("/clock/freeze", freeze, ["POST"]),
        ("/clock/unfreeze", unfreeze, ["POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/faults/{id}", fault, ["GET", "DELETE"]),
        ("/limits", limits, ["GET", "POST", "DELETE"]),
        ("/limits/{id}", limit, ["GET", "DELETE"]),
        ("/wait", wait, ["POST"]),
    ]
    by_path: dict[str, dict[str, Handler]] = {}
    for path, handler, methods in table:
        for method in methods:
            by_path.setdefault(path, {})[method] = handler
    return [Route(f"/_pushfake{path}", _endpoint(handlers), methods=list(handlers))
            for path, handlers in by_path.items()]


def _book_routes(name: str, what: str, book: Any, listing: Callable[[], list[Any]], add_operation: str
                 ) -> tuple[Handler, Handler]:
    """The collection and item handlers of a rule book (fault rules, rate limits): list, add,
    clear; get and remove one."""

    async def collection(request: Request) -> Any:
        if request.method == "POST":
            body = await json_body(request, add_operation)
            try:
                return 201, book.add(body).to_dict()
            except ValueError as exc:
                raise AdminError(400, str(exc)) from None
        if request.method == "DELETE":
            book.clear()
            return {"ok": True}
        return {name: [item.to_dict() for item in listing()]}

    async def item(request: Request) -> Any:
        item_id = request.path_params["id"]
        found = book.get(item_id)
        if found is None:
            raise AdminError(404, f"no {what} {shown(item_id)}")
        if request.method == "DELETE":
            book.remove(item_id)
            return {"ok": True}
        return found.to_dict()

    return collection, item


def _endpoint(handlers: dict[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        handler = handlers[request.method if request.method != "HEAD" else "GET"]
        try:
            result = await handler(request)
        except AdminError as exc:
            return error_response(exc.status, exc.message)
        except FixtureError as exc:  # a record in its fixtures form that describes an impossible world
            return error_response(400, str(exc))
        if isinstance(result, tuple):
            status, body = result
            return ok(body, status)
        return ok(result)

    return endpoint
