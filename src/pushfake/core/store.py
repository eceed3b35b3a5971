"""The one place the fake keeps state.

Vendor modules see only `Store` and `Table`: named tables of records keyed by string. Names
carry the isolation (`("leanplum", app_id, "users")`), so apps never see each other's rows.
Records are the vendor's own dataclasses; a module that mutates a record writes it back with
`put`, so a persistent or shared backend can implement the same two protocols without any
vendor module changing.

Multi-step updates run under `store.transaction()`, a re-entrant lock: concurrent requests
from uvicorn's event loop, a threaded server or respx-routed test clients never interleave
inside one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Generic, Protocol, TypeVar

V = TypeVar("V")


class Table(Protocol[V]):
    def get(self, key: str) -> V | None: ...

    def put(self, key: str, value: V) -> None: ...

    def get_or_create(self, key: str, factory: Callable[[], V]) -> tuple[V, bool]:
        """The record at `key`, creating it with `factory` if absent; `True` if created."""

    def delete(self, key: str) -> None: ...

    def values(self) -> Iterator[V]: ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...


class Store(Protocol):
    def table(self, *name: str) -> Table[Any]: ...

    def transaction(self) -> AbstractContextManager[Any]: ...

    def reset(self) -> None:
        """Drop every record of every table; `Table` objects already handed out stay usable."""


class MemoryTable(Generic[V]):
    """A table held in a dict; the default backend."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[str, V] = {}

    def get(self, key: str) -> V | None:
        return self._rows.get(key)

    def put(self, key: str, value: V) -> None:
        self._rows[key] = value

    def get_or_create(self, key: str, factory: Callable[[], V]) -> tuple[V, bool]:
        row = self._rows.get(key)
        if row is not None:
            return row, False
        row = self._rows[key] = factory()
        return row, True

    def delete(self, key: str) -> None:
        self._rows.pop(key, None)

    def values(self) -> Iterator[V]:
        return iter(list(self._rows.values()))

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def clear(self) -> None:
        self._rows.clear()


class MemoryStore:
    """All tables in memory, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self._tables: dict[tuple[str, ...], MemoryTable[Any]] = {}
        self._lock = threading.RLock()

    def table(self, *name: str) -> MemoryTable[Any]:
        table = self._tables.get(name)
        if table is None:
            with self._lock:
                table = self._tables.setdefault(name, MemoryTable())
        return table

    def transaction(self) -> threading.RLock:
        return self._lock

    def reset(self) -> None:
        with self._lock:  # rows go; tables stay, so references held elsewhere stay valid
            for table in self._tables.values():
                table.clear()
