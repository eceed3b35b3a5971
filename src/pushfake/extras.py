"""Optional parts of pushfake and the one error for a missing one.

A plain `pip install pushfake` runs the fake and its client; the fixtures plugin and the
contract kit need extras (`pushfake[pytest]`, `pushfake[contract]`). A feature whose extra is
not installed says so in one line that names the extra and the command that installs it,
instead of a traceback ending in `No module named 'respx'`.
"""

from __future__ import annotations

import importlib.util

__all__ = ["MissingExtra", "require"]


class MissingExtra(ImportError):
    """A feature was used without the extra that installs what it needs. The message is one
    line, ready to show a user as it is."""

    def __init__(self, extra: str, feature: str, missing: str) -> None:
        super().__init__(f'the "{extra}" extra is needed for {feature} ({missing} is not installed): '
                         f"pip install 'pushfake[{extra}]'", name=missing)
        self.extra = extra
        self.feature = feature
        self.missing = missing


def require(extra: str, feature: str, *modules: str) -> None:
    """Raise `MissingExtra` unless every one of `modules` can be imported.

    `feature` names what the user asked for, to follow "needed for" ("pushfake's pytest
    fixtures", "pushfake contract"); `extra` is the name in `pushfake[extra]`. Only finds the
    modules (`importlib.util.find_spec`), never imports them, so a check costs nothing.
    """
    for module in modules:
        if not _found(module):
            raise MissingExtra(extra, feature, module)


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing, or a broken one
        return False
