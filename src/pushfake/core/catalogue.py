"""A vendor's error catalogue: every error and warning text the fake can answer, in one place.

Each vendor's OpenAPI document holds its catalogue under the top-level key `x-pushfake-errors`:
a mapping from a short key (`invalid-key`) to the entry's HTTP status, its text (with
`{placeholders}` for the parts that vary), when the fake answers it, and its fidelity mark.
The vendors' `errors` modules build every message from it with `text(key, ...)`, so a text has
exactly one home, `pushfake spec --errors` prints the table, and a test can hold any answer the
fake gives to it (`match`).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

from pushfake.core.spec import ApiSpec

CATALOGUE_KEY = "x-pushfake-errors"


@dataclass(frozen=True)
class ErrorText:
    key: str
    status: int  # 200 for a warning carried by a successful answer
    text: str  # with {placeholders}
    when: str  # one line: what the request did to get this answer
    fidelity: str
    basis: str

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.text) if name)


class ErrorCatalogue:
    """The entries of one vendor document's `x-pushfake-errors`."""

    def __init__(self, spec: ApiSpec) -> None:
        raw: dict[str, dict[str, Any]] = spec.document.get(CATALOGUE_KEY, {})
        self.vendor = spec.document.get("info", {}).get("x-pushfake-vendor", spec.name)
        self._entries = {
            key: ErrorText(key, int(e["status"]), str(e["text"]), str(e["when"]),
                           str(e["x-pushfake-fidelity"]), str(e.get("x-pushfake-basis", "")))
            for key, e in raw.items()
        }
        self._patterns = [(_pattern(e.text), e) for e in self._entries.values()]

    def entry(self, key: str) -> ErrorText:
        try:
            return self._entries[key]
        except KeyError:
            raise KeyError(f"the {self.vendor} error catalogue has no entry {key!r}") from None

    def text(self, key: str, **fields: Any) -> str:
        """The message of entry `key`, its placeholders filled from `fields` (all are required)."""
        entry = self.entry(key)
        missing = set(entry.fields) - set(fields)
        if missing:
            raise KeyError(f"{self.vendor} error {key!r} needs {sorted(missing)}")
        return entry.text.format(**fields)

    def status(self, key: str) -> int:
        return self.entry(key).status

    def fault_text(self, status: int) -> str:
        """What an injected error fault with `status` says when its rule gives no text of its own:
        the catalogue's `fault-<status>` entry, else `fault-other`."""
        key = f"fault-{status}"
        return self.text(key) if key in self._entries else self.text("fault-other", status=status)

    def entries(self) -> list[ErrorText]:
        return list(self._entries.values())

    def match(self, message: str) -> ErrorText | None:
        """The entry `message` was built from, or None if no entry could have produced it."""
        for pattern, entry in self._patterns:
            if pattern.fullmatch(message):
                return entry
        return None


def _pattern(text: str) -> re.Pattern[str]:
    out = ""
    for literal, name, _, _ in string.Formatter().parse(text):
        out += re.escape(literal)
        if name is not None:
            out += "(?s:.*)"
    return re.compile(out)
