"""A latency on a live server (`wire_wait` on a `SystemClock`) lasts at least what it says, on the
event loop `pushfake serve` runs (uvloop, whose timers count whole milliseconds and may wake a
fraction of one early): a test asserting a 300 ms fault took 300 ms must never see 299.6."""

from __future__ import annotations

import asyncio
import time

import pytest
import uvloop

from pushfake.core.clock import SystemClock, wire_wait

WAITS = [0.0013, 0.0021, 0.0037, 0.0049, 0.0102] * 8


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_a_real_wait_never_ends_early(run):
    clock = SystemClock()

    async def waits() -> list[tuple[float, float]]:
        took = []
        for seconds in WAITS:
            started = time.monotonic()
            await wire_wait(clock, seconds)
            took.append((seconds, time.monotonic() - started))
        return took

    early = [(s, t) for s, t in run(waits()) if t < s]
    assert not early, early
