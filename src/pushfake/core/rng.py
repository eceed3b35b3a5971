"""Every random choice of the fake (ids, tokens, later latency and failures) comes from here.

One `Random` seeded once; the same seed and the same requests give the same ids.
"""

from __future__ import annotations

import random
import string
import threading

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"


class SeededRandom:
    """A thread-safe wrapper over one `random.Random`, with the draws the fake needs."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._random.seed(seed)

    def token(self, length: int = 43) -> str:
        """A base64url-looking token, like Leanplum's start `token`."""
        with self._lock:
            return "".join(self._random.choices(_TOKEN_ALPHABET, k=length))

    def uuid4(self) -> str:
        """A version-4 UUID string; the same text `uuid.UUID(int=bits, version=4)` gives, faster."""
        with self._lock:
            bits = self._random.getrandbits(128)
        bits = (bits & ~(0xC000 << 48) | (0x8000 << 48)) & ~(0xF000 << 64) | (4 << 76)
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def random(self) -> float:
        with self._lock:
            return self._random.random()
