"""The vendors' records a test seeds and reads: Leanplum apps, users, devices and messages;
D·engage accounts, contacts, devices, templates, segments and tables. Each vendor's `admin`
module builds and shows them; these handlers only find the place and hand the body over."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pushfake.control.requests import json_body
from pushfake.control.views import shown
from pushfake.core.admin import AdminError, view
from pushfake.dengage import admin as dengage_admin
from pushfake.fake import Fake
from pushfake.leanplum import admin as leanplum_admin

DENGAGE_KINDS = ("contacts", "templates", "segments", "tables")


# --- Leanplum ------------------------------------------------------------------------------------
async def list_leanplum_apps(fake: Fake, request: Request) -> Any:
    return {"apps": [{"id": a.id, "name": a.name, "productionKey": a.production_key,
                      "developmentKey": a.development_key} for a in fake.leanplum.state.apps()]}


async def list_leanplum_users(fake: Fake, request: Request) -> Any:
    lp, app = fake.leanplum.state, request.path_params["app"]
    leanplum_admin.app_of(lp, app)
    return {"users": [leanplum_admin.user_view(lp, app, u) for u in lp.users(app).values()]}


async def create_leanplum_user(fake: Fake, request: Request) -> Any:
    lp, app = fake.leanplum.state, request.path_params["app"]
    leanplum_admin.app_of(lp, app)
    user = leanplum_admin.add_user(lp, app, await json_body(request, "createLeanplumUser"), fake.clock.now())
    return 201, leanplum_admin.user_view(lp, app, user)


async def get_leanplum_user(fake: Fake, request: Request) -> Any:
    lp, app, user_id = fake.leanplum.state, request.path_params["app"], request.path_params["user"]
    leanplum_admin.app_of(lp, app)
    user = lp.user(app, user_id)
    if user is None:
        raise AdminError(404, f"no user {shown(user_id)} in app {shown(app)}")
    return leanplum_admin.user_view(lp, app, user)


async def create_leanplum_device(fake: Fake, request: Request) -> Any:
    app, user_id = request.path_params["app"], request.path_params["user"]
    body = await json_body(request, "createLeanplumDevice")
    return 201, leanplum_admin.device_view(leanplum_admin.add_device(fake.leanplum.state, app, user_id, body))


async def list_leanplum_messages(fake: Fake, request: Request) -> Any:
    app = leanplum_admin.app_of(fake.leanplum.state, request.path_params["app"])
    return {"messages": [leanplum_admin.message_view(m) for m in app.messages.values()]}


async def create_leanplum_message(fake: Fake, request: Request) -> Any:
    body = await json_body(request, "createLeanplumMessage")
    message = leanplum_admin.add_message(fake.leanplum.state, request.path_params["app"], body)
    return 201, leanplum_admin.message_view(message)


# --- D·engage ------------------------------------------------------------------------------------
async def list_dengage_accounts(fake: Fake, request: Request) -> Any:
    return {"accounts": [{"id": a.id, "name": a.name, "apiUsers": sorted(a.api_users),
                          "applications": [view(x) for x in a.applications.values()]}
                         for a in fake.dengage.state.accounts()]}


def _records_place(fake: Fake, request: Request) -> tuple[str, str, Any]:
    """(account id, kind, account) of a records path; 404 for an unknown kind or account."""
    account_id, kind = request.path_params["account"], request.path_params["kind"]
    if kind not in DENGAGE_KINDS:
        raise AdminError(404, f"no such D·engage records: {shown(kind)}")
    return account_id, kind, dengage_admin.account_of(fake.dengage.state, account_id)


async def list_dengage_records(fake: Fake, request: Request) -> Any:
    de = fake.dengage.state
    account_id, kind, account = _records_place(fake, request)
    if kind == "contacts":
        return {kind: [dengage_admin.contact_view(de, account_id, c) for c in de.contacts(account_id).values()]}
    return {kind: [dengage_admin.part_view(p) for p in getattr(account, kind).values()]}


async def create_dengage_record(fake: Fake, request: Request) -> Any:
    de = fake.dengage.state
    account_id, kind, _ = _records_place(fake, request)
    body = await json_body(request, "createDengageRecord")
    if kind == "contacts":
        return 201, dengage_admin.contact_view(de, account_id, dengage_admin.add_contact(de, account_id, body))
    return 201, dengage_admin.part_view(dengage_admin.add_part(de, account_id, kind, body))


async def get_dengage_contact(fake: Fake, request: Request) -> Any:
    de, account_id, key = fake.dengage.state, request.path_params["account"], request.path_params["key"]
    dengage_admin.account_of(de, account_id)
    contact = de.contacts(account_id).get(key)
    if contact is None:
        raise AdminError(404, f"no contact {shown(key)} in account {shown(account_id)}")
    return dengage_admin.contact_view(de, account_id, contact)


async def create_dengage_device(fake: Fake, request: Request) -> Any:
    account_id, key = request.path_params["account"], request.path_params["key"]
    body = await json_body(request, "createDengageDevice")
    return 201, dengage_admin.device_view(dengage_admin.add_device(fake.dengage.state, account_id, key, body))
