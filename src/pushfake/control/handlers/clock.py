"""The fake's clock: read, set, moved on, settled (every due item run), frozen and let run.

Each answers with the clock as it stands afterwards (`views.clock_view`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pushfake.control.requests import json_body, moment
from pushfake.control.views import clock_view
from pushfake.core.admin import AdminError
from pushfake.core.clock import SystemClock, TimeOutOfRange, checked_step
from pushfake.fake import Fake


async def get_clock(fake: Fake, request: Request) -> Any:
    return clock_view(fake.clock)


async def set_clock(fake: Fake, request: Request) -> Any:
    body = await json_body(request, "setClock")
    target = moment(body["now"], fake.clock.now())
    try:
        fake.set_time(target)
    except ValueError as exc:
        raise AdminError(400, f"now: {exc}") from None
    return clock_view(fake.clock)


async def advance_clock(fake: Fake, request: Request) -> Any:
    body = await json_body(request, "advanceClock")
    try:
        checked_step(fake.clock.now(), body["seconds"])
    except TimeOutOfRange as exc:
        raise AdminError(400, f"seconds: {exc}") from None
    fake.advance(body["seconds"])
    return clock_view(fake.clock)


async def settle_clock(fake: Fake, request: Request) -> Any:
    fake.run_until_idle()
    return clock_view(fake.clock)


async def freeze_clock(fake: Fake, request: Request) -> Any:
    if isinstance(fake.clock, SystemClock):
        fake.clock.freeze()
    return clock_view(fake.clock)


async def unfreeze_clock(fake: Fake, request: Request) -> Any:
    if not isinstance(fake.clock, SystemClock):
        raise AdminError(409, "this fake runs on a manual clock, which only moves when advanced")
    fake.clock.unfreeze()
    return clock_view(fake.clock)
