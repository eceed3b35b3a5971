"""A live server per test module for the fault and limit tests (test_control_plane.py runs
`pushfake serve` itself and overrides `server`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pushfake import Fake
from tests.support import LiveServer, serve_in_thread


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with serve_in_thread(Fake(seed=7)) as live:
        yield live
