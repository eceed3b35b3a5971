"""A process's replica of a world kept in Redis, and the write-sets that keep replicas alike.

The replica is a `MemoryStore`; `RedisStore` hands out its parts wrapped (`Recorded*`): reads
are the replica's, and each mutation runs inside a transaction and is recorded in its write-set
as an op, `(part, method, args)`, or `(RESET, "reset", keep)`. `write_set` turns the ops into
the commands the commit script runs on the part keys and into the stream entry other replicas
`replay`; `load` fills a replica from the part keys (a new process, or one the stream no longer
reaches). Each part's key is `{namespace}:{kind}:{name parts joined by /}`, with `%`, `/` and
`:` escaped: a table is a HASH (field -> value), a counter and a cell a STRING (an absent cell is
None), a log a LIST, ordered keys a ZSET scored by insertion number (oldest first), an agenda a
ZSET scored by due time whose members are a 16-byte (commit, op) order then `(when, item)`, so
equal times come out in the order added on every replica.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator
from typing import Any

from pushfake.core import codec
from pushfake.core.store import (MemoryAgenda, MemoryCell, MemoryCounter, MemoryLog, MemoryOrdered, MemoryStore,
                                 MemoryTable, Name)

__all__ = ["KINDS", "RESET", "Op", "Recorded", "load", "replay", "write_set"]

_ORDER = struct.Struct(">QQ")  # an agenda member's prefix: commit version, op number
RESET: Any = object()  # the write-set's marker for a reset (it names no part)
Op = tuple[Any, str, tuple[Any, ...]]  # (a Recorded part or RESET, method, args)
PartOf = Callable[[str, Name], Any]  # the replica's memory part of a kind and name


def escape(part: str) -> str:
    """One part of a name as a piece of a Redis key or channel: `%`, `/` and `:` escaped, so no two
    names meet in one key (`("a/b",)` is not `("a", "b")`)."""
    return part.replace("%", "%25").replace("/", "%2F").replace(":", "%3A")


def _unescape(part: str) -> str:
    return part.replace("%3A", ":").replace("%2F", "/").replace("%25", "%")


class Recorded:
    """A replica's part: reads are the replica's, each mutation runs in a transaction of `store`
    and is recorded in its write-set."""

    __slots__ = ("_store", "_part", "key", "name", "owner")

    kind = ""

    def __init__(self, store: Any, part: Any, name: Name) -> None:
        self._store, self._part, self.name = store, part, name
        self.key = f"{store.namespace}:{self.kind}:{'/'.join(map(escape, name))}"
        self.owner = escape(name[0]) if name else ""

    def _record(self, method: str, *args: Any) -> None:
        self._store._record(self, method, args)


class RecordedTable(Recorded):
    kind = "table"

    def get(self, key: str) -> Any:
        self._store._fresh()
        return self._part.get(key)

    def put(self, key: str, value: Any) -> None:
        with self._store._transaction:
            self._part.put(key, value)
            self._record("put", key, value)

    def get_or_create(self, key: str, factory: Callable[[], Any]) -> tuple[Any, bool]:
        with self._store._transaction:
            row, created = self._part.get_or_create(key, factory)
            if created:
                self._record("put", key, row)
            return row, created

    def delete(self, key: str) -> None:
        with self._store._transaction:
            if key in self._part:
                self._part.delete(key)
                self._record("delete", key)

    def values(self) -> Iterator[Any]:
        self._store._fresh()
        return self._part.values()  # type: ignore[no-any-return]

    def __len__(self) -> int:
        self._store._fresh()
        return len(self._part)

    def __contains__(self, key: object) -> bool:
        self._store._fresh()
        return key in self._part


class RecordedCounter(Recorded):
    kind = "counter"

    def next(self) -> int:
        return self.add(1)

    def add(self, amount: int) -> int:
        with self._store._transaction:
            self._record("add", amount)
            return self._part.add(amount)  # type: ignore[no-any-return]

    @property
    def value(self) -> int:
        self._store._fresh()
        return self._part.value  # type: ignore[no-any-return]


class RecordedCell(Recorded):
    kind = "cell"

    def get(self) -> Any:
        self._store._fresh()
        value = self._part.get()
        if isinstance(value, random.Random):
            # The generators draw from the object held, never writing it back: the commit writes it
            # (a generator is read only to draw from it).
            self._store._drawn(self, value)
        return value

    def set(self, value: Any) -> None:
        with self._store._transaction:
            self._part.set(value)
            self._record("set", value)


class _OldestFirst(Recorded):
    """What ordered keys and a log share: the oldest, taken or not, and how many."""

    def oldest(self) -> Any:
        self._store._fresh()
        return self._part.oldest()

    def pop_oldest(self) -> Any:
        with self._store._transaction:
            if not len(self._part):
                return None
            self._record("pop_oldest")
            return self._part.pop_oldest()

    def __len__(self) -> int:
        self._store._fresh()
        return len(self._part)


class RecordedOrdered(_OldestFirst):
    kind = "ordered"

    def add(self, key: Any) -> bool:
        with self._store._transaction:
            added = self._part.add(key)
            if added:
                self._record("add", key)
            return added  # type: ignore[no-any-return]

    def discard(self, key: Any) -> None:
        with self._store._transaction:
            if key in self._part:
                self._part.discard(key)
                self._record("discard", key)


    def __contains__(self, key: object) -> bool:
        self._store._fresh()
        return key in self._part

    def __iter__(self) -> Iterator[Any]:
        self._store._fresh()
        return iter(self._part)


class RecordedLog(_OldestFirst):
    kind = "log"

    def append(self, item: Any) -> None:
        with self._store._transaction:
            self._part.append(item)
            self._record("append", item)


    def newest(self) -> Any:
        self._store._fresh()
        return self._part.newest()

    def items(self) -> list[Any]:
        self._store._fresh()
        return self._part.items()  # type: ignore[no-any-return]


class RecordedAgenda(Recorded):
    kind = "agenda"

    def add(self, when: float, item: Any) -> None:
        with self._store._transaction:
            self._part.add(when, item)
            self._record("add", when, item)

    def next_due(self) -> float | None:
        self._store._fresh()
        return self._part.next_due()  # type: ignore[no-any-return]

    def pop_due(self, now: float) -> tuple[float, Any] | None:
        with self._store._transaction:
            due = self._part.pop_due(now)
            if due is not None:
                self._record("pop_due")
            return due  # type: ignore[no-any-return]

    def __len__(self) -> int:
        self._store._fresh()
        return len(self._part)


KINDS: dict[str, tuple[type[Recorded], type]] = {  # a part's kind: its wrapper, the replica's part
    "table": (RecordedTable, MemoryTable), "counter": (RecordedCounter, MemoryCounter),
    "cell": (RecordedCell, MemoryCell), "ordered": (RecordedOrdered, MemoryOrdered),
    "log": (RecordedLog, MemoryLog), "agenda": (RecordedAgenda, MemoryAgenda)}


def write_set(ops: list[Op], version: int) -> tuple[bytes, dict[str, str], list[Any]]:
    """The ops recorded in a transaction that commits as world `version`: as a stream entry (each
    value encoded once, shared with the commands), the part keys touched (-> owner), and the
    commands COMMIT runs."""
    encode = codec.encode
    commands: list[Any] = []
    replay: list[tuple[str, Name, str, tuple[Any, ...]]] = []
    touched: dict[str, str] = {}
    for index, (part, method, args) in enumerate(ops):
        if part is RESET:
            keep = [escape(owner) for owner in args]
            commands += ["reset", len(keep), *keep]
            replay.append(("", (), "reset", args))
            continue
        key, kind = part.key, part.kind
        touched[key] = part.owner
        if kind == "table":
            if method == "put":
                value = encode(args[1])
                commands += ["hset", key, args[0], value]
                args = (args[0], value)
            else:
                commands += ["hdel", key, args[0]]
        elif kind == "counter":
            commands += ["incrby", key, args[0]]
        elif kind == "cell":
            if args[0] is None:
                commands += ["del", key]
            else:
                args = (encode(args[0]),)
                commands += ["set", key, args[0]]
        elif kind == "ordered":
            if method == "pop_oldest":
                commands += ["zpopmin", key]
            else:
                args = (encode(args[0]),)
                commands += ["append" if method == "add" else "zrem", key, args[0]]
        elif kind == "log":
            if method == "append":
                args = (encode(args[0]),)
                commands += ["rpush", key, args[0]]
            else:
                commands += ["lpop", key]
        elif method == "add":  # agenda: the member carries (when, item), after its order
            member = _ORDER.pack(version, index) + encode(args)
            commands += ["zadd", key, repr(float(args[0])), member]
            args = (member,)
        else:
            commands += ["zpopmin", key]
        replay.append((kind, part.name, method, args))
    return encode(replay), touched, commands


def replay(write_sets: list[bytes], replica: MemoryStore, part_of: PartOf) -> None:
    """Apply other processes' write-sets, oldest first, to `replica`."""
    decode = codec.decode
    for entry in write_sets:
        for kind, name, method, args in decode(entry):
            if kind == "":
                replica.reset(args)
                continue
            part = part_of(kind, name)
            if kind == "table":
                if method == "put":
                    part.put(args[0], decode(args[1]))
                else:
                    part.delete(args[0])
            elif kind == "counter":
                part.add(args[0])
            elif kind == "cell":
                part.set(decode(args[0]) if args[0] is not None else None)
            elif method == "pop_oldest":
                part.pop_oldest()
            elif kind == "ordered" and method == "add":
                part.add(decode(args[0]))
            elif kind == "ordered":
                part.discard(decode(args[0]))
            elif kind == "log":
                part.append(decode(args[0]))
            elif method == "add":  # agenda
                part.add(*decode(args[0][_ORDER.size:]))
            else:
                part.pop_due(float("inf"))


def load(flat: list[Any], namespace: str, replica: MemoryStore, part_of: PartOf) -> None:
    """The whole world into `replica` from ACQUIRE's flat list of (part key, what it holds)."""
    decode = codec.decode
    replica.reset()
    prefix = len(namespace) + 1
    for key, held in zip(flat[::2], flat[1::2]):
        kind, _, rest = key.decode()[prefix:].partition(":")
        if kind not in KINDS:
            continue
        name = tuple(map(_unescape, rest.split("/"))) if rest else ()
        part = part_of(kind, name)
        if kind == "table":
            for field, value in zip(held[::2], held[1::2]):
                part.put(field.decode(), decode(value))
        elif kind == "counter":
            part.add(int(held[0]))
        elif kind == "cell":
            part.set(decode(held[0]))
        elif kind == "ordered":
            for member in held:
                part.add(decode(member))
        elif kind == "log":
            for item in held:
                part.append(decode(item))
        else:
            for member in held:
                part.add(*decode(member[_ORDER.size:]))
