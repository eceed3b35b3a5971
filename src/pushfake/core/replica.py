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


_LENGTH = struct.Struct(">I")  # each item of a write-set: its length, then its bytes


def write_set(ops: list[Op], version: int) -> tuple[bytes, dict[str, str]]:
    """The ops recorded in the transactions that commit as world `version`, as the one blob that
    COMMIT runs (its Lua reads the items) and the stream keeps for other replicas to `replay`:
    commands of length-prefixed items, each value encoded once; and the part keys touched (->
    owner)."""
    encode = codec.encode
    items: list[bytes] = []
    touched: dict[str, str] = {}
    for index, (part, method, args) in enumerate(_superseded_dropped(ops)):
        if part is RESET:
            items += [b"reset", str(len(args)).encode(), *(escape(owner).encode() for owner in args)]
            continue
        key, kind = part.key.encode(), part.kind
        touched[part.key] = part.owner
        if kind == "table":
            if method == "put":
                items += [b"hset", key, args[0].encode(), encode(args[1])]
            else:
                items += [b"hdel", key, args[0].encode()]
        elif kind == "counter":
            items += [b"incrby", key, str(args[0]).encode()]
        elif kind == "cell":
            items += [b"del", key] if args[0] is None else [b"set", key, encode(args[0])]
        elif kind == "ordered":
            if method == "pop_oldest":
                items += [b"zpopmin", key]
            else:
                items += [b"append" if method == "add" else b"zrem", key, encode(args[0])]
        elif kind == "log":
            items += [b"rpush", key, encode(args[0])] if method == "append" else [b"lpop", key]
        elif method == "add":  # agenda: the member carries (when, item), after its order
            items += [b"zadd", key, repr(float(args[0])).encode(), _ORDER.pack(version, index) + encode(args)]
        else:
            items += [b"zpopmin", key]
    pack = _LENGTH.pack
    return b"".join(piece for item in items for piece in (pack(len(item)), item)), touched


def _superseded_dropped(ops: list[Op]) -> list[Op]:
    """`ops` less each write to a table row or a cell that a later op in the list overwrites (a
    batch of requests writes the generator's state and a user's record many times): the world
    they leave is the same, a reset between them included."""
    last: dict[tuple[int, Any], int] = {}
    for index, (part, _, args) in enumerate(ops):
        if part is not RESET and part.kind in ("table", "cell"):
            last[id(part), args[0] if part.kind == "table" else None] = index
    if len(last) == sum(1 for part, _, _ in ops if part is not RESET and part.kind in ("table", "cell")):
        return ops
    return [op for index, op in enumerate(ops)
            if op[0] is RESET or op[0].kind not in ("table", "cell")
            or last[id(op[0]), op[2][0] if op[0].kind == "table" else None] == index]


def _items(blob: bytes) -> Iterator[bytes]:
    unpack, size, at, end = _LENGTH.unpack_from, _LENGTH.size, 0, len(blob)
    while at < end:
        (length,) = unpack(blob, at)
        at += size + length
        yield blob[at - length:at]


def part_name(key: bytes, namespace: str) -> tuple[str, Name]:
    """(kind, name) of a part's Redis key in `namespace`."""
    kind, _, rest = key.decode()[len(namespace) + 1:].partition(":")
    return kind, tuple(map(_unescape, rest.split("/"))) if rest else ()


def replay(write_sets: list[bytes], namespace: str, replica: MemoryStore, part_of: PartOf) -> bool:
    """Apply other processes' write-sets, oldest first, to `replica`; whether one was a reset."""
    decode = codec.decode
    parts: dict[bytes, Any] = {}
    was_reset = False

    def part(key: bytes) -> Any:
        found = parts.get(key)
        if found is None:
            found = parts[key] = part_of(*part_name(key, namespace))
        return found

    for entry in write_sets:
        items = _items(entry)
        for op in items:
            if op == b"reset":
                replica.reset([_unescape(next(items).decode()) for _ in range(int(next(items)))])
                was_reset = True
                continue
            target = part(next(items))
            if op == b"hset":
                target.put(next(items).decode(), decode(next(items)))
            elif op == b"hdel":
                target.delete(next(items).decode())
            elif op == b"incrby":
                target.add(int(next(items)))
            elif op == b"set":
                target.set(decode(next(items)))
            elif op == b"del":
                target.set(None)
            elif op == b"append":
                target.add(decode(next(items)))
            elif op == b"zrem":
                target.discard(decode(next(items)))
            elif op == b"rpush":
                target.append(decode(next(items)))
            elif op == b"lpop":
                target.pop_oldest()
            elif op == b"zadd":
                next(items)  # the score: the member carries the time too
                target.add(*decode(next(items)[_ORDER.size:]))
            elif isinstance(target, MemoryOrdered):  # zpopmin
                target.pop_oldest()
            else:
                target.pop_due(float("inf"))
    return was_reset


def load(flat: list[Any], namespace: str, replica: MemoryStore, part_of: PartOf) -> None:
    """The whole world into `replica` from ACQUIRE's flat list of (part key, what it holds)."""
    decode = codec.decode
    replica.reset()
    for key, held in zip(flat[::2], flat[1::2]):
        kind, name = part_name(key, namespace)
        if kind not in KINDS:
            continue
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
