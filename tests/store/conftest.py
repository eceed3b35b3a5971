"""Two fakes on one store: what `pushfake serve --workers N` will be, in one process.

Every piece of a world's state lives in the store (issue 21), so two `Fake`s built on the same
store and clock are one world: whatever one is sent, the other sees, counts and refuses alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, MemoryStore, create_app
from pushfake.core.redis_store import RedisStore


@dataclass
class SharedWorld:
    store: MemoryStore
    clock: ManualClock
    a: Fake
    b: Fake
    client_a: TestClient
    client_b: TestClient


@pytest.fixture
def shared() -> Iterator[SharedWorld]:
    store, clock = MemoryStore(), ManualClock()
    a = Fake(seed=7, clock=clock, store=store)
    b = Fake(seed=7, clock=clock, store=store)  # built second: its reset leaves the world as a fresh fake's
    with TestClient(create_app(a)) as client_a, TestClient(create_app(b)) as client_b:
        yield SharedWorld(store, clock, a, b, client_a, client_b)


@pytest.fixture
def replicas(redis_url: str) -> Iterator[Callable[..., RedisStore]]:
    """Opens one more process's store on the test's Redis."""
    opened: list[RedisStore] = []

    def open_store(**options: Any) -> RedisStore:
        opened.append(RedisStore(redis_url, **options))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()
