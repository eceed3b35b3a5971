"""The one place the fake keeps state: everything a fake must remember lives here, so a shared
or persistent backend that implements these protocols holds a whole world.

Vendor modules see only `Store` and its parts, each named by a tuple whose first part says who
owns it (`("leanplum", app_id, "users")`), so apps and components never see each other's rows:

- `table`: records keyed by string (users, devices, deliveries, sends);
- `counter`: a number that counts up (sequence numbers, ids, how many were dropped);
- `cell`: one value (a random generator's state, settings in force, a bucket);
- `ordered`: keys in the order they were first added, oldest first (what a bound drops);
- `log`: items in the order they were appended, oldest dropped first (the journal);
- `agenda`: items due at a time on the fake's clock (the gateway's attempts, scheduled sends);
- `changes`: wake-ups for whoever long-polls (a shared backend would publish them).

Records are the vendor's own dataclasses; a module that mutates a record writes it back with
`put`. Items in a log or an agenda are plain data or records, never callables.

Multi-step updates run under `store.transaction()`, a re-entrant lock: concurrent requests
from uvicorn's event loop, a threaded server or respx-routed test clients never interleave
inside one. `reset()` empties every part at once (one reset is the whole world's), except the
owners named in `keep`; parts already handed out stay usable.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Generic, Protocol, TypeVar

from pushfake.core.changes import Changes

V = TypeVar("V")
Name = tuple[str, ...]


class Table(Protocol[V]):
    def get(self, key: str) -> V | None: ...

    def put(self, key: str, value: V) -> None: ...

    def get_or_create(self, key: str, factory: Callable[[], V]) -> tuple[V, bool]:
        """The record at `key`, creating it with `factory` if absent; `True` if created."""

    def delete(self, key: str) -> None: ...

    def values(self) -> Iterator[V]: ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...


class Counter(Protocol):
    def next(self) -> int:
        """One more: 1, 2, 3... (from 1 again after a reset)."""

    def add(self, amount: int) -> int:
        """Count `amount` more (or fewer); the new value."""

    @property
    def value(self) -> int: ...


class Cell(Protocol[V]):
    def get(self) -> V | None:
        """The value, or None when none was set since the last reset."""

    def set(self, value: V | None) -> None: ...


class Ordered(Protocol):
    def add(self, key: Any) -> bool:
        """Add `key` at the newest end; a key already there keeps its place (False)."""

    def discard(self, key: Any) -> None: ...

    def oldest(self) -> Any:
        """The oldest key, or None."""

    def pop_oldest(self) -> Any:
        """Remove and return the oldest key (None when empty)."""

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def __iter__(self) -> Iterator[Any]:
        """Oldest first."""


class Log(Protocol[V]):
    def append(self, item: V) -> None: ...

    def pop_oldest(self) -> V | None: ...

    def oldest(self) -> V | None: ...

    def newest(self) -> V | None: ...

    def items(self) -> list[V]:
        """Every item, oldest first."""

    def __len__(self) -> int: ...


class Agenda(Protocol[V]):
    def add(self, when: float, item: V) -> None:
        """`item` falls due at `when`; items due at the same time come out in the order added."""

    def next_due(self) -> float | None:
        """When the earliest item falls due, or None if there is none."""

    def pop_due(self, now: float) -> tuple[float, V] | None:
        """The earliest item due by `now` with its time, removed; None if none is due."""

    def __len__(self) -> int: ...


class Store(Protocol):
    def table(self, *name: str) -> Table[Any]: ...

    def counter(self, *name: str) -> Counter: ...

    def cell(self, *name: str) -> Cell[Any]: ...

    def ordered(self, *name: str) -> Ordered: ...

    def log(self, *name: str) -> Log[Any]: ...

    def agenda(self, *name: str) -> Agenda[Any]: ...

    def changes(self, *name: str) -> Changes: ...

    def transaction(self) -> AbstractContextManager[Any]: ...

    def turn(self) -> AbstractAsyncContextManager[Any]:
        """A unit of work on the event loop (a request, a turn of the scheduler): a shared
        backend waits for this process's turn at the world without holding up the loop, and
        writes what the block committed in one go when it ends."""

    async def flushed(self) -> None:
        """Return once what this process committed is readable by every process (a server
        awaits it before a response starts)."""

    def reset(self, keep: Collection[str] = ()) -> None:
        """Empty every part, except those whose owner (the first part of the name) is in `keep`;
        parts already handed out stay usable."""


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


class MemoryCounter:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value

    def add(self, amount: int) -> int:
        self.value += amount
        return self.value

    def clear(self) -> None:
        self.value = 0


class MemoryCell(Generic[V]):
    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value: V | None = None

    def get(self) -> V | None:
        return self._value

    def set(self, value: V | None) -> None:
        self._value = value

    def clear(self) -> None:
        self._value = None


class MemoryOrdered:
    # An OrderedDict, not a dict: a dict whose oldest keys are deleted keeps their holes at the
    # front until it resizes, so finding the oldest would scan them (quadratic at 100,000).
    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: OrderedDict[Any, None] = OrderedDict()

    def add(self, key: Any) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        return True

    def discard(self, key: Any) -> None:
        self._keys.pop(key, None)

    def oldest(self) -> Any:
        return next(iter(self._keys), None)

    def pop_oldest(self) -> Any:
        return self._keys.popitem(last=False)[0] if self._keys else None

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._keys))

    def clear(self) -> None:
        self._keys.clear()


class MemoryLog(Generic[V]):
    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: deque[V] = deque()

    def append(self, item: V) -> None:
        self._items.append(item)

    def pop_oldest(self) -> V | None:
        return self._items.popleft() if self._items else None

    def oldest(self) -> V | None:
        return self._items[0] if self._items else None

    def newest(self) -> V | None:
        return self._items[-1] if self._items else None

    def items(self) -> list[V]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()


class MemoryAgenda(Generic[V]):
    __slots__ = ("_heap", "_order")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, V]] = []
        self._order = itertools.count()

    def add(self, when: float, item: V) -> None:
        heapq.heappush(self._heap, (when, next(self._order), item))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> tuple[float, V] | None:
        heap = self._heap
        if not heap or heap[0][0] > now:
            return None
        when, _, item = heapq.heappop(heap)
        return when, item

    def __len__(self) -> int:
        return len(self._heap)

    def clear(self) -> None:
        self._heap.clear()
        self._order = itertools.count()


class MemoryStore:
    """Every part in this process's memory, guarded by one re-entrant lock; the default."""

    def __init__(self) -> None:
        self._parts: dict[tuple[type, Name], Any] = {}
        self._changes: dict[Name, Changes] = {}
        self._lock = threading.RLock()

    def _part(self, kind: type, name: Name) -> Any:
        part = self._parts.get((kind, name))
        if part is None:
            with self._lock:
                part = self._parts.setdefault((kind, name), kind())
        return part

    def table(self, *name: str) -> MemoryTable[Any]:
        return self._part(MemoryTable, name)  # type: ignore[no-any-return]

    def counter(self, *name: str) -> MemoryCounter:
        return self._part(MemoryCounter, name)  # type: ignore[no-any-return]

    def cell(self, *name: str) -> MemoryCell[Any]:
        return self._part(MemoryCell, name)  # type: ignore[no-any-return]

    def ordered(self, *name: str) -> MemoryOrdered:
        return self._part(MemoryOrdered, name)  # type: ignore[no-any-return]

    def log(self, *name: str) -> MemoryLog[Any]:
        return self._part(MemoryLog, name)  # type: ignore[no-any-return]

    def agenda(self, *name: str) -> MemoryAgenda[Any]:
        return self._part(MemoryAgenda, name)  # type: ignore[no-any-return]

    def changes(self, *name: str) -> Changes:
        changes = self._changes.get(name)
        if changes is None:
            with self._lock:
                changes = self._changes.setdefault(name, Changes())
        return changes

    def transaction(self) -> threading.RLock:
        return self._lock

    def turn(self) -> AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext()  # one process: its turn always, every commit everyone's

    async def flushed(self) -> None:
        pass

    def reset(self, keep: Collection[str] = ()) -> None:
        with self._lock:  # contents go; the parts stay, so references held elsewhere stay valid
            for (_, name), part in self._parts.items():
                if not name or name[0] not in keep:
                    part.clear()

    def contents(self) -> dict[tuple[str, Name], Any]:
        """What every non-empty part holds, keyed by (kind, name), e.g. ("counter", ("journal",
        "seq")): what a persistent backend would have to keep, and what two worlds compare by."""
        out: dict[tuple[str, Name], Any] = {}
        with self._lock:
            for (kind, name), part in self._parts.items():
                held = _held(part)
                if held:
                    out[kind.__name__.removeprefix("Memory").lower(), name] = held
        return out


def _held(part: Any) -> Any:
    if isinstance(part, MemoryTable):
        return dict(part._rows)
    if isinstance(part, MemoryCounter):
        return part.value
    if isinstance(part, MemoryCell):
        value = part.get()
        return ("random", value.getstate()) if isinstance(value, random.Random) else value
    if isinstance(part, MemoryOrdered):
        return list(part)
    if isinstance(part, MemoryLog):
        return part.items()
    return [(when, item) for when, _, item in sorted(part._heap, key=lambda entry: entry[:2])]
