"""Which key may do what: Leanplum's production and development keys."""

from __future__ import annotations

from pushfake.leanplum import errors
from pushfake.leanplum.errors import LeanplumError
from pushfake.leanplum.models import App

# Actions only the production key may call, whatever devMode says.
PRODUCTION_ONLY = frozenset({"sendMessage"})


def check_key(app: App, client_key: str) -> None:
    """The key belongs to the app (either kind); used for a multi's top level."""
    if client_key not in (app.production_key, app.development_key):
        raise LeanplumError(403, errors.INVALID_KEY)


def check_action(app: App, client_key: str, dev_mode: bool, action: str) -> None:
    """Full check for one action: right key for the mode and the action."""
    check_key(app, client_key)
    if client_key == app.production_key:
        if dev_mode:
            raise LeanplumError(403, errors.DEV_MODE_NOT_PERMITTED)
        return
    # The development key: only in devMode, never for production-only actions.
    if not dev_mode or action in PRODUCTION_ONLY:
        raise LeanplumError(403, errors.INVALID_KEY)
