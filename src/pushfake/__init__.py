"""pushfake: a stateful fake of the Leanplum and D·engage push APIs, for tests.

    from pushfake import Fake, create_app
    app = create_app(Fake(seed=1))      # an ASGI app; `pushfake serve` runs the same
"""

from pushfake.app import create_app
from pushfake.core.clock import ManualClock, SystemClock
from pushfake.core.fixtures import FixtureError
from pushfake.core.store import MemoryStore
from pushfake.fake import Fake

__version__ = "0.1.0"

__all__ = ["Fake", "FixtureError", "ManualClock", "MemoryStore", "SystemClock", "__version__", "create_app"]
