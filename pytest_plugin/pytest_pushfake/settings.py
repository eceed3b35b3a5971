"""What one test's fake starts from: the fixtures world, the seed, the fault rules in force and
the clock's start, read from the overridable fixtures and the `pushfake` marker, checked early
with a message that names the culprit."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

MARKER_OPTIONS = ("fixtures", "seed", "faults", "clock")


@dataclass(frozen=True)
class Settings:
    fixtures: Path | dict[str, Any] | None  # None: pushfake's default world
    seed: int
    faults: tuple[dict[str, Any], ...]
    clock: float | None  # epoch seconds the clock starts at; None: the default

    @property
    def fixtures_key(self) -> str:
        if isinstance(self.fixtures, dict):
            return json.dumps(self.fixtures, sort_keys=True, default=str)
        return str(self.fixtures)


def settings(*, fixtures: Any, seed: Any, faults: Any, clock: Any, marker: Mapping[str, Any] | None,
             marker_args: Sequence[Any] = (), rootdir: Path) -> Settings:
    """The fixtures' values, each replaced by the marker's when it gives one."""
    __tracebackhide__ = True
    if marker_args:
        raise TypeError("@pytest.mark.pushfake takes keywords only: " + ", ".join(f"{o}=" for o in MARKER_OPTIONS))
    marker = dict(marker or {})
    unknown = sorted(set(marker) - set(MARKER_OPTIONS))
    if unknown:
        raise TypeError(f"@pytest.mark.pushfake got unknown option(s) {', '.join(unknown)}; "
                        f"it takes {', '.join(MARKER_OPTIONS)}")
    return Settings(
        fixtures=_fixtures(marker.get("fixtures", fixtures), rootdir),
        seed=_seed(marker.get("seed", seed)),
        faults=_faults(marker.get("faults", faults)),
        clock=_clock(marker.get("clock", clock)),
    )


def _fixtures(value: Any, rootdir: Path) -> Path | dict[str, Any] | None:
    __tracebackhide__ = True
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str | Path):
        path = Path(value) if Path(value).is_absolute() else rootdir / value
        if not path.is_file():
            raise FileNotFoundError(f"pushfake fixtures: no file at {path} (a relative path starts at the rootdir)")
        return path
    raise TypeError(f"pushfake fixtures: a path, a fixtures document (dict) or None, not {value!r}")


def _seed(value: Any) -> int:
    __tracebackhide__ = True
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"pushfake seed: a whole number, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise TypeError(f"pushfake seed: a whole number, not {value!r}") from None


def _faults(value: Any) -> tuple[dict[str, Any], ...]:
    __tracebackhide__ = True
    if value is None:
        return ()
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(rule, dict) for rule in value):
        raise TypeError(f"pushfake faults: a fault rule (dict) or a list of them, not {value!r}")
    return tuple(value)


def _clock(value: Any) -> float | None:
    __tracebackhide__ = True
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"pushfake clock: {value!r} needs a time zone")
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment.timestamp()
    raise TypeError(f"pushfake clock: epoch seconds, an ISO 8601 time with a zone or an aware datetime, not {value!r}")
