"""pushfake: a stateful fake of the Leanplum and D·engage push APIs, for tests.

    from pushfake import Fake, create_app
    app = create_app(Fake(seed=1))      # an ASGI app; `pushfake serve` runs the same

    from pushfake import Client
    Client("http://127.0.0.1:8080").wait_for_delivery(device="d1", state="delivered")
"""

from pushfake.app import create_app
from pushfake.client import AsyncClient, Client, ControlError, FakeFailure, WaitTimeout
from pushfake.core.clock import ManualClock, SystemClock
from pushfake.core.fixtures import FixtureError
from pushfake.core.store import MemoryStore
from pushfake.fake import Fake
from pushfake.version import __version__

__all__ = ["AsyncClient", "Client", "ControlError", "Fake", "FakeFailure", "FixtureError", "ManualClock", "MemoryStore",
           "SystemClock", "WaitTimeout", "__version__", "create_app"]
