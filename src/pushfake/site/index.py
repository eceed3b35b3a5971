"""What `/_pushfake/` says about the running fake: its version and seed, the world it has loaded
(Leanplum apps with their users and devices, D·engage accounts with their contacts and devices,
counted through the vendors' public inspection API), and where everything else is.

The same data answers a client as JSON and a browser as HTML (`index.html`).
"""

from __future__ import annotations

from typing import Any

from pushfake.control.security import PREFIX
from pushfake.core.resources import SPEC_FILES
from pushfake.fake import Fake
from pushfake.site.specs import MEDIA_TYPES
from pushfake.version import __version__

WORLD = "default"  # one world per fake today; the list leaves room for more
VENDOR_BASES = {"leanplum": "/api", "dengage": "/rest"}


def links() -> dict[str, Any]:
    """Where the control plane's pages, the specs and their docs are (paths on this server)."""
    return {
        "inbox": f"{PREFIX}/inbox",
        "journal": f"{PREFIX}/journal",
        "deliveries": f"{PREFIX}/deliveries",
        "stats": f"{PREFIX}/stats",
        "health": f"{PREFIX}/health",
        "docs": f"{PREFIX}/docs",
        "specs": {name: {**{fmt: f"{PREFIX}/openapi/{name}.{fmt}" for fmt in MEDIA_TYPES},
                         "docs": f"{PREFIX}/docs/{name}"} for name in SPEC_FILES},
        "vendors": dict(VENDOR_BASES),
    }


def index(fake: Fake) -> dict[str, Any]:
    return {
        "name": "pushfake",
        "version": __version__,
        "seed": fake.seed,
        "fixtures": fake.fixtures_label,
        "worlds": [{"name": WORLD, "leanplum": {"apps": _apps(fake)}, "dengage": {"accounts": _accounts(fake)}}],
        "links": links(),
    }


def _apps(fake: Fake) -> list[dict[str, Any]]:
    state = fake.leanplum.state
    return [{"id": app.id, "name": app.name, "users": len(state.users(app.id)), "devices": len(state.devices(app.id))}
            for app in state.apps()]


def _accounts(fake: Fake) -> list[dict[str, Any]]:
    state = fake.dengage.state
    return [{"id": account.id, "name": account.name, "contacts": len(state.contacts(account.id)),
             "devices": len(state.devices(account.id))} for account in state.accounts()]
