"""How a shared store writes records as bytes: pickle (protocol 5), read back by a restricted
unpickler.

Records are the vendors' dataclasses, tuples, `random.Random` (the generators' state) and frozen
configuration objects, so pickle is the one encoding that keeps them whole. But a shared store
lives on shared infrastructure (Redis): anyone who can write a key there could plant bytes that,
unpickled by a plain `pickle.loads`, call any function (`os.system`). So `decode` resolves only
the globals a world is made of: pushfake's own types, `random.Random`, and the plain builtins and
`collections` types records use. Anything else is refused with `UnsafeValue` before it is called
("Restricting Globals" in the `pickle` documentation).
"""

from __future__ import annotations

import io
import pickle
from typing import Any

__all__ = ["UnsafeValue", "decode", "encode"]

PROTOCOL = 5

# Non-pushfake globals a record may name: the generator, and builtins and collections types (the
# pickle protocol writes lists, dicts, tuples, sets and bytes as opcodes, naming no global). A type
# added to records that needs another one fails `decode` with its name.
_ALLOWED = {
    "builtins": frozenset({"bytearray", "bytes", "complex", "dict", "float", "frozenset", "int", "list", "set",
                           "str", "tuple"}),
    "collections": frozenset({"OrderedDict", "defaultdict", "deque"}),
    "random": frozenset({"Random"}),
}


class UnsafeValue(pickle.UnpicklingError):
    """A stored value names a global outside what a pushfake world is made of: someone else wrote
    it, and it is not run."""


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        if _ours(module) and "." not in name:
            found = super().find_class(module, name)
            # Only pushfake's own classes: a pushfake module's other globals include what it
            # imported (`subprocess.run` would be reachable as `pushfake.x.run`).
            if isinstance(found, type) and _ours(found.__module__):
                return found
        raise UnsafeValue(f"refused to read a stored value that names {module}.{name}: a pushfake store holds "
                          "only pushfake's records, random.Random and plain builtins, so someone else wrote it")


def _ours(module: str) -> bool:
    return module == "pushfake" or module.startswith("pushfake.")


def encode(value: Any) -> bytes:
    return pickle.dumps(value, protocol=PROTOCOL)


def decode(data: bytes) -> Any:
    """`data` as `encode` wrote it; `UnsafeValue` if it names a global a world never holds."""
    return _Restricted(io.BytesIO(data)).load()
