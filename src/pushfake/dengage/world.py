"""The D·engage part of a fixtures file: settings and accounts with everything they own."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import urlsplit
from typing import Any

from pushfake.core.fixtures import FixtureError
from pushfake.dengage.models import (
    Account,
    ApiUser,
    Application,
    Contact,
    ContactTable,
    FieldCondition,
    MessageContent,
    PushDevice,
    Segment,
    Template,
)
from pushfake.dengage.state import DengageState

PLATFORMS = {"ios": "apns", "android": "fcm", "web": "webpush"}


@dataclass(frozen=True)
class DengageSettings:
    token_lifetime_seconds: int = 3600
    concurrency_limit: int = 5
    processing_delay_seconds: float = 0.0
    require_application_ids: bool = False
    max_body_bytes: int = 1_048_576

    @classmethod
    def from_fixtures(cls, raw: dict[str, Any]) -> DengageSettings:
        names = {
            "tokenLifetimeSeconds": "token_lifetime_seconds", "concurrencyLimit": "concurrency_limit",
            "processingDelaySeconds": "processing_delay_seconds",
            "requireApplicationIds": "require_application_ids", "maxBodyBytes": "max_body_bytes",
        }
        return cls(**{names[k]: v for k, v in raw.items()})


@dataclass(frozen=True)
class DengageWorld:
    settings: DengageSettings
    accounts: tuple[Account, ...]
    contacts: tuple[tuple[str, Contact, tuple[PushDevice, ...]], ...]  # (account id, contact, devices)

    def install(self, state: DengageState) -> None:
        for account in self.accounts:
            state.put_account(account)
        for account_id, contact, devices in self.contacts:
            state.put_contact(account_id, Contact(contact.key, contact.language, dict(contact.fields)))
            for d in devices:
                state.put_device(account_id, dataclasses.replace(d))  # a fresh record per reset


def content(raw: dict[str, Any]) -> MessageContent:
    return MessageContent(raw["title"], raw["message"], raw.get("mediaUrl"), raw.get("targetUrl"))


def build_world(label: str, section: dict[str, Any]) -> DengageWorld:
    settings = DengageSettings.from_fixtures(section.get("settings", {}))
    accounts: list[Account] = []
    contacts: list[tuple[str, Contact, tuple[PushDevice, ...]]] = []
    userkeys: set[str] = set()
    for index, raw in enumerate(section.get("accounts", [])):
        where = f"{label}: dengage.accounts[{index}]"
        if any(a.id == raw["id"] for a in accounts):
            raise FixtureError(f"{where}.id: account '{raw['id']}' is defined twice")
        for j, u in enumerate(raw["apiUsers"]):
            if u["userkey"] in userkeys:
                raise FixtureError(f"{where}.apiUsers[{j}].userkey: '{u['userkey']}' is defined twice")
            userkeys.add(u["userkey"])
        for j, t in enumerate(raw.get("templates", [])):
            languages = {c["language"].upper() for c in t.get("contents", [])}
            if "contents" in t and t["defaultLanguage"].upper() not in languages:
                raise FixtureError(f"{where}.templates[{j}].defaultLanguage: no content in "
                                   f"'{t['defaultLanguage']}'")
        account = account_from(raw)
        accounts.append(account)
        contacts.extend((account.id, c, d) for c, d in contacts_from(where, raw, account))
        for j, table in enumerate(raw.get("tables", [])):
            known = {c["key"] for c in raw.get("contacts", [])}
            unknown = [k for k in table["contacts"] if k not in known]
            if unknown:
                raise FixtureError(f"{where}.tables[{j}].contacts: unknown contact '{unknown[0]}'")
    return DengageWorld(settings, tuple(accounts), tuple(contacts))


def account_from(raw: dict[str, Any]) -> Account:
    templates = {}
    for t in raw.get("templates", []):
        if "content" in t:
            templates[t["id"].lower()] = Template(t["id"].lower(), t.get("name", t["id"]), "", {"": content(t["content"])})
        else:
            templates[t["id"].lower()] = Template(
                t["id"].lower(), t.get("name", t["id"]), t["defaultLanguage"].upper(),
                {c["language"].upper(): content(c) for c in t["contents"]},
            )
    return Account(
        id=raw["id"],
        name=raw.get("name", raw["id"]),
        api_users={
            u["userkey"]: ApiUser(u["userkey"], u["password"], frozenset(u.get("permissions", [])))
            for u in raw["apiUsers"]
        },
        applications={
            a["id"].lower(): Application(a["id"].lower(), a.get("name", a["id"]), a["platform"])
            for a in raw["applications"]
        },
        segments={
            s["id"].lower(): Segment(s["id"].lower(), s.get("name", s["id"]), tuple(
                FieldCondition(c["field"], op, c[op]) for c in s["rule"] for op in c if op != "field"))
            for s in raw.get("segments", [])
        },
        tables={t["id"].lower(): ContactTable(t["id"].lower(), t.get("name", t["id"]), tuple(t["contacts"]))
                for t in raw.get("tables", [])},
        templates=templates,
    )


def contacts_from(where: str, raw: dict[str, Any], account: Account) -> list[tuple[Contact, tuple[PushDevice, ...]]]:
    out = []
    seen_devices: set[str] = set()
    for i, c in enumerate(raw.get("contacts", [])):
        devices = []
        for j, d in enumerate(c.get("devices", [])):
            place = f"{where}.contacts[{i}].devices[{j}]"
            if d["applicationId"].lower() not in account.applications:
                raise FixtureError(f"{place}.applicationId: no application '{d['applicationId']}' in this account")
            if d["id"] in seen_devices:
                raise FixtureError(f"{place}.id: device '{d['id']}' is defined twice")
            seen_devices.add(d["id"])
            platform = PLATFORMS[d["platform"]]
            devices.append(PushDevice(d["id"], c["key"], d["applicationId"].lower(), platform, d["token"],
                                      d.get("engaged", False), d["language"].upper() if "language" in d else None,
                                      d.get("browser") or (browser_of(d["token"]) if platform == "webpush" else None)))
        out.append((Contact(c["key"], c.get("language", "EN").upper(), c.get("fields", {})), tuple(devices)))
    return out


# A web-push subscription's endpoint names the browser's push service. The send report's browsers
# use this name when the fixtures give a web device no `browser` (assumed: the real report's
# names are not known).
_PUSH_SERVICES = (("mozilla.com", "Firefox"), ("fcm.googleapis.com", "Chrome"), ("push.apple.com", "Safari"),
                  ("notify.windows.com", "Edge"))


def browser_of(token: Any) -> str:
    endpoint = token.get("endpoint") if isinstance(token, dict) else None
    host = (urlsplit(endpoint).hostname or "") if isinstance(endpoint, str) else ""
    return next((name for suffix, name in _PUSH_SERVICES if host == suffix or host.endswith(f".{suffix}")), "Other")
