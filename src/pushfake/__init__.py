"""pushfake: a stateful fake of the Leanplum and D·engage push APIs, for tests.

    from pushfake import Fake, create_app
    app = create_app(Fake(seed=1))      # an ASGI app; `pushfake serve` runs the same

    from pushfake import Client
    Client("http://127.0.0.1:8080").wait_for_delivery(device="d1", state="delivered")

The names below load on first use, so importing a submodule (the contract kit's pytest plugin,
which pytest imports at every start through its entry point) does not load the app.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pushfake.version import __version__

if TYPE_CHECKING:
    from pushfake.app import create_app
    from pushfake.client import AsyncClient, Client, ControlError, FakeFailure, WaitTimeout
    from pushfake.core.clock import ManualClock, SystemClock
    from pushfake.core.fixtures import FixtureError
    from pushfake.core.store import MemoryStore
    from pushfake.fake import Fake

_HOMES = {"create_app": "pushfake.app", "AsyncClient": "pushfake.client", "Client": "pushfake.client",
          "ControlError": "pushfake.client", "FakeFailure": "pushfake.client", "WaitTimeout": "pushfake.client",
          "ManualClock": "pushfake.core.clock", "SystemClock": "pushfake.core.clock",
          "FixtureError": "pushfake.core.fixtures", "MemoryStore": "pushfake.core.store", "Fake": "pushfake.fake"}

__all__ = ["AsyncClient", "Client", "ControlError", "Fake", "FakeFailure", "FixtureError", "ManualClock", "MemoryStore",
           "SystemClock", "WaitTimeout", "__version__", "create_app"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pushfake' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once: later reads are plain attribute reads
    return value


def __dir__() -> list[str]:
    """The public names and the submodules loaded so far, as an eager package would list them."""
    loaded = {name for name, value in globals().items()
              if isinstance(value, ModuleType) and value.__name__ == f"pushfake.{name}"}
    return sorted({*(name for name in globals() if name.startswith("__")), *__all__, *loaded})
