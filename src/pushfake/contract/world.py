"""What the suite may rely on finding in the target's account.

On a fake it is the default world (`pushfake/fixtures/default.yaml`): known users, devices,
messages, segments, tables and templates to steer requests to. A real account promises nothing
the suite did not create itself, so there `World.from_target` is empty, and checks that need more
say they are not checkable.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any


from pushfake.core.resources import default_fixtures
from pushfake.core.spec import load_trusted_yaml


@dataclass(frozen=True)
class LeanplumWorld:
    users: tuple[str, ...] = ()
    devices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # user → device ids
    push_messages: tuple[int, ...] = ()  # push messages every user gets (no targeting)
    targeted_messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → attribute rule
    other_messages: tuple[int, ...] = ()  # messages of another channel (in-app)


@dataclass(frozen=True)
class DengageWorld:
    segments: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    readonly_user: tuple[str, str] | None = None  # (userkey, password) without Push.Manage
    contacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class World:
    leanplum: LeanplumWorld = field(default_factory=LeanplumWorld)
    dengage: DengageWorld = field(default_factory=DengageWorld)

    @classmethod
    def from_target(cls, fake: dict[str, bool]) -> World:
        """The default world for each fake vendor; nothing for a real one."""
        default = default_world()
        return cls(leanplum=default.leanplum if fake.get("leanplum") else LeanplumWorld(),
                   dengage=default.dengage if fake.get("dengage") else DengageWorld())


@functools.cache
def default_document() -> dict[str, Any]:
    """The default fixtures as written (`pushfake/fixtures/default.yaml`), read once; not to be changed."""
    return load_trusted_yaml(default_fixtures().read_text(encoding="utf-8"))


@functools.cache
def default_world() -> World:
    document = default_document()
    app = document["leanplum"]["apps"][0]
    users = tuple(u["id"] for u in app["users"])
    devices = {u["id"]: tuple(d["id"] for d in u.get("devices", ())) for u in app["users"]}
    push = [m for m in app["messages"] if m.get("channel") == "push"]
    leanplum = LeanplumWorld(
        users=users, devices=devices,
        push_messages=tuple(int(m["id"]) for m in push if not m.get("target")),
        targeted_messages={int(m["id"]): m["target"][0] for m in push if m.get("target")},
        other_messages=tuple(int(m["id"]) for m in app["messages"] if m.get("channel") != "push"),
    )
    account = document["dengage"]["accounts"][0]
    readonly = next(((u["userkey"], u["password"]) for u in account["apiUsers"]
                     if "Push.Manage" not in u.get("permissions", ())), None)
    dengage = DengageWorld(
        segments=tuple(s["id"] for s in account.get("segments", ())),
        tables=tuple(t["id"] for t in account.get("tables", ())),
        templates=tuple(t["id"] for t in account.get("templates", ())),
        readonly_user=readonly,
        contacts=tuple(c["key"] for c in account.get("contacts", ())),
    )
    return World(leanplum=leanplum, dengage=dengage)
