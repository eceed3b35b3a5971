"""Times as clients write them, and as the fake writes them back.

A client names a moment (a fixtures file, a fault rule's window, the gateway's outages, the
control plane's clock) as epoch seconds, an ISO 8601 date-time with a zone, or `+30s` /
`+5m` / `+250ms` / `+1h` from now; `when` reads all three. `iso` is how the control plane and
the inbox show a moment. A vendor's own date formats stay in the vendor.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_RELATIVE = re.compile(r"\+(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def when(value: Any, now: float) -> float:
    """Epoch seconds from a number, an ISO 8601 date-time, or `+N(ms|s|m|h)` after `now`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        relative = _RELATIVE.fullmatch(value.strip())
        if relative:
            return now + float(relative.group(1)) * _UNITS[relative.group(2)]
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                raise ValueError(f"{value!r} needs a time zone (e.g. Z)")
            return moment.timestamp()
    raise ValueError(f"{value!r} is not a time: use epoch seconds, an ISO 8601 date-time or '+30s'")


def iso(at: float) -> str:
    """Epoch seconds as ISO 8601 in UTC, to the millisecond: 2026-01-01T00:00:05.000Z."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
