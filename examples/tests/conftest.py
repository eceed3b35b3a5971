"""The shop's clients, wired the way production wires them: real vendor hosts, real credentials'
shape. The `pushfake` fixture (from the pushfake plugin) answers for those hosts in process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from default_world import DENGAGE_PASSWORD, DENGAGE_USER, LEANPLUM_APP, LEANPLUM_KEY, SALE_TEMPLATE, SHIPPED_MESSAGE
from notifier.dengage_client import DengageClient
from notifier.leanplum_client import LeanplumClient
from notifier.service import Notifier


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def waits() -> list[float]:
    """The back-off waits the Leanplum client asked for, instead of sleeping through them."""
    return []


@pytest.fixture
def leanplum(pushfake, http, waits) -> LeanplumClient:
    pushfake.add_message(SHIPPED_MESSAGE)
    return LeanplumClient(http, app_id=LEANPLUM_APP, client_key=LEANPLUM_KEY, sleep=waits.append)


@pytest.fixture
def dengage(pushfake, http) -> DengageClient:
    return DengageClient(http, userkey=DENGAGE_USER, password=DENGAGE_PASSWORD)


@pytest.fixture
def notifier(leanplum, dengage) -> Notifier:
    return Notifier(leanplum, dengage, shipped_message_id=SHIPPED_MESSAGE["id"], sale_template_id=SALE_TEMPLATE)
