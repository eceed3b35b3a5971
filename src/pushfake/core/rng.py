"""Every random choice of the fake (ids, tokens, gateway latency and failures) comes from here.

One `Random` seeded once; the same seed and the same requests give the same ids. Secrets a
client authenticates with (D·engage access tokens, Leanplum session tokens) come from `secret`:
seeded too on loopback, where tests compare them, but drawn from `secrets` when the fake is
`unguessable` (a server bound to a non-loopback address), since anyone who knows the seed
could otherwise predict them after a reset.
"""

from __future__ import annotations

import random
import secrets
import string

from pushfake.core.store import MemoryStore, Store

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"


class SeededRandom:
    """A thread-safe wrapper over one `random.Random`, with the draws the fake needs; its state is
    the store's cell `name` (a store of its own when none is given)."""

    def __init__(self, seed: int = 0, *, unguessable: bool = False, store: Store | None = None,
                 name: tuple[str, ...] = ("rng",)) -> None:
        self.seed = seed
        self.unguessable = unguessable
        store = store if store is not None else MemoryStore()
        self._state = store.cell(*name)
        self._lock = store.transaction()  # a draw moves the world's generator: one step of the world

    @property
    def _random(self) -> random.Random:
        generator = self._state.get()
        if generator is None:  # none drawn since the last reset: start from the seed
            generator = random.Random(self.seed)
            self._state.set(generator)
        return generator

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._state.set(None)

    def token(self, length: int = 43) -> str:
        """A base64url-looking token, like Leanplum's start `token`."""
        with self._lock:
            return "".join(self._random.choices(_TOKEN_ALPHABET, k=length))

    def secret(self, length: int = 43) -> str:
        """A token a client authenticates with. The seeded draw is always taken, so every id
        drawn after it is the same whether or not the fake is `unguessable`."""
        seeded = self.token(length)
        if not self.unguessable:
            return seeded
        return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))

    def uuid4(self) -> str:
        """A version-4 UUID string; the same text `uuid.UUID(int=bits, version=4)` gives, faster."""
        with self._lock:
            return _uuid4_text(self._random.getrandbits(128))

    def uuid4s(self, count: int) -> list[str]:
        """`count` version-4 UUID strings from one draw (a bulk send needs thousands at once)."""
        if count <= 0:
            return []
        with self._lock:
            text = self._random.randbytes(16 * count).hex()
        # Version nibble 4; variant bits 10 (first hex digit of the fourth group in 8-b).
        return [
            f"{text[i:i + 8]}-{text[i + 8:i + 12]}-4{text[i + 13:i + 16]}-"
            f"{_VARIANT[text[i + 16]]}{text[i + 17:i + 20]}-{text[i + 20:i + 32]}"
            for i in range(0, 32 * count, 32)
        ]

    def random(self) -> float:
        """A float in [0, 1)."""
        with self._lock:
            return self._random.random()

    def uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._random.uniform(low, high)

    def lognormal(self, mu: float, sigma: float) -> float:
        with self._lock:
            return self._random.lognormvariate(mu, sigma)


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _uuid4_text(bits: int) -> str:
    bits = (bits & ~(0xC000 << 48) | (0x8000 << 48)) & ~(0xF000 << 64) | (4 << 76)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

