"""A lease in Redis: at most one process at a time holds a key, for `ttl` seconds unless renewed.

The scheduler runs due work only while its process holds `{namespace}:lease:scheduler`
(`Scheduler.run_forever(lease=...)`), so of N workers one delivers; when the holder dies its
lease runs out and another takes it. The lease keeps the work from being done by every worker,
not from being done twice: due work is popped under the world lock, so even two holders (one
whose lease ran out mid-run) never take the same item.

Each `Lease` stands for one holder and carries a random token (from `secrets`, not the fake's
seeded generator: two processes with one seed must not draw the same token); renewing and
releasing compare the token in one Lua script, so a holder whose lease ran out and was taken by
another can neither extend nor delete the new holder's.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

DEFAULT_TTL = 3.0  # seconds: a dead holder's work waits at most this long (plus a third) for another

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class Lease:
    """`client` is a redis-py client; `key` the lease's key; `ttl` seconds a take or a renewal
    lasts. `held` is this holder's belief: true from a successful `acquire`/`renew` until `ttl`
    after the request for it was sent (so it turns false no later than Redis lets the key go),
    or until `release`."""

    def __init__(self, client: Any, key: str, ttl: float = DEFAULT_TTL) -> None:
        if not ttl > 0:
            raise ValueError(f"a lease lasts a positive number of seconds, not {ttl!r}")
        self._client = client
        self.key = key
        self.ttl = float(ttl)
        self.token = secrets.token_hex(16)
        self._until = 0.0  # time.monotonic() when this holder's belief runs out
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def held(self) -> bool:
        return time.monotonic() < self._until

    def acquire(self) -> bool:
        """Take the lease if nobody holds it (renew it if this holder does); whether it is held."""
        if self.held and self.renew():
            return True
        sent = time.monotonic()
        taken = self._client.set(self.key, self.token, nx=True, px=self._ttl_ms)
        self._until = sent + self.ttl if taken else 0.0
        return bool(taken)

    def renew(self) -> bool:
        """Extend the lease by `ttl` if this holder still has it; whether it does."""
        sent = time.monotonic()
        kept = self._renew(keys=[self.key], args=[self.token, self._ttl_ms]) == 1
        self._until = sent + self.ttl if kept else 0.0
        return kept

    def release(self) -> bool:
        """Let the lease go at once (another holder may take it at its next try), if this holder
        has it; whether it had."""
        self._until = 0.0
        return bool(self._release(keys=[self.key], args=[self.token]))

    @property
    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl * 1000))
