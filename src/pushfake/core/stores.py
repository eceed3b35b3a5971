"""Which store a world lives in, named by a spec: `memory` (this process's memory, the default)
or a Redis URL (`redis://HOST:PORT/DB`, `rediss://` for TLS, `unix://PATH?db=N`), read one way
by `pushfake serve --store` (`PUSHFAKE_STORE`), `Fake(store="redis://...")` and the pytest
plugin's `--pushfake-store`.

A Redis store needs the `redis` extra; without it `open_store` raises `pushfake.extras`'
one-line `MissingExtra`. Several worlds share one Redis by their namespace, the prefix of every
key (letters, digits, `-`, `_`, `.`). `open_store` asks Redis for a PING first, so an address
nobody answers at is one sentence naming it (`StoreUnreachable`) at start-up, not a traceback
at the first request.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pushfake.core.store import MemoryStore
from pushfake.extras import require

if TYPE_CHECKING:
    from pushfake.core.store import Store

MEMORY = "memory"
REDIS_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_NAMESPACE = "pushfake"
CONNECT_TIMEOUT = 5.0  # seconds an address that never answers is waited for
_NAMESPACE = re.compile(r"[A-Za-z0-9._-]+")
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)

__all__ = ["DEFAULT_NAMESPACE", "MEMORY", "StoreUnreachable", "checked_namespace", "checked_spec", "close_store",
           "forget", "open_store", "shown"]


class StoreUnreachable(RuntimeError):
    """The store's address did not answer; the message is one sentence naming it."""


def checked_spec(spec: str) -> str:
    """`spec` as given when it names a store; ValueError in one sentence otherwise."""
    spec = spec.strip()
    if spec.lower() == MEMORY:
        return MEMORY
    scheme = spec.partition("://")[0].lower() if "://" in spec else ""
    if scheme not in REDIS_SCHEMES:
        raise ValueError(f"must be memory or a Redis URL (redis://HOST:PORT/DB, rediss://... or unix://PATH), "
                         f"not {shown(spec)!r}")
    return spec


def checked_namespace(name: str) -> str:
    """`name` when it can prefix keys; ValueError in one sentence otherwise."""
    if not _NAMESPACE.fullmatch(name):
        raise ValueError(f"must be letters, digits, '-', '_' or '.', not {name!r}")
    return name


def shown(spec: str) -> str:
    """The spec as a banner or an error may print it: a password in the URL (`user:password@`,
    `?password=`) as `***`."""
    scheme, separator, rest = spec.partition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        user = authority.rpartition("@")[0].partition(":")[0]
        authority = f"{user}:***@{authority.rpartition('@')[2]}"
    return scheme + separator + authority + slash + _PASSWORD_PARAMETER.sub(r"\1***", path)


def open_store(spec: str, namespace: str = DEFAULT_NAMESPACE) -> Store:
    """The store `spec` names: a new `MemoryStore`, or the Redis store of `namespace` at the URL.

    ValueError (one sentence) for a spec or namespace that names none; `MissingExtra` without
    the `redis` extra; `StoreUnreachable` when Redis does not answer."""
    if checked_spec(spec) == MEMORY:
        return MemoryStore()
    try:
        checked_namespace(namespace)
    except ValueError as exc:
        raise ValueError(f"namespace {exc}") from None
    require("redis", "a world kept in Redis", "redis")
    _ping(spec)
    from pushfake.core.redis_store import RedisStore

    return RedisStore.from_url(spec, namespace=namespace)  # type: ignore[no-any-return]


def close_store(store: Store) -> None:
    """Let go of what `store` holds open (a Redis store's connections and threads); nothing for
    the memory store."""
    close = getattr(store, "close", None)
    if close is not None:
        close()


def forget(spec: str, namespace: str) -> None:
    """Delete every key of `namespace` in the Redis `spec` names (the pytest plugin's session
    world, once the session ends); nothing for the memory store."""
    if checked_spec(spec) == MEMORY:
        return
    import redis

    with redis.Redis.from_url(spec, socket_connect_timeout=CONNECT_TIMEOUT) as client:
        keys = list(client.scan_iter(match=f"{checked_namespace(namespace)}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.unlink(*keys[start:start + 1000])


def _ping(spec: str) -> None:
    import redis

    try:
        client = redis.Redis.from_url(spec, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT)
    except ValueError as exc:  # redis-py's own reading of the URL
        raise ValueError(f"{shown(spec)} is not a Redis URL redis-py can read: {exc}") from None
    try:
        client.ping()
    except redis.RedisError as exc:
        raise StoreUnreachable(f"cannot reach Redis at {shown(spec)}: {_reason(exc)}") from None
    finally:
        client.close()


def _reason(exc: BaseException) -> str:
    """What went wrong in a few words: the operating system's words when there are some
    ("Connection refused"), else redis-py's ("Authentication required.")."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return str(exc).rstrip(".") or type(exc).__name__
