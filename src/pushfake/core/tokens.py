"""Which push tokens the gateways have rejected, so later sends skip them.

A gateway that answers "unregistered" or "invalid token" is telling the sender to stop using
that token; both vendors' real services then leave it out of later sends. The marks live in the
store (they are state, reset with it), keyed by platform and token. A web push subscription is
keyed by its endpoint, the part that names the browser's push channel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pushfake.core.store import Store

INVALID = "invalid"  # the gateway said the token is malformed or not its own
UNREGISTERED = "unregistered"  # the app was removed or the subscription expired


@dataclass(frozen=True, slots=True)
class TokenMark:
    platform: str
    key: str
    status: str  # INVALID or UNREGISTERED
    since: float  # APNs' Unregistered timestamp; otherwise when the gateway answered
    reason: str  # the gateway's outcome code


def token_key(platform: str, token: Any) -> str:
    """The text a token is known by: itself, or a web push subscription's endpoint."""
    if isinstance(token, dict):
        endpoint = token.get("endpoint")
        return endpoint if isinstance(endpoint, str) else json.dumps(token, sort_keys=True)
    return str(token)


class TokenRegistry:
    def __init__(self, store: Store) -> None:
        self._table = store.table("gateway", "token-marks")

    def mark(self, platform: str, token: Any, status: str, since: float, reason: str) -> TokenMark:
        key = token_key(platform, token)
        mark = TokenMark(platform, key, status, since, reason)
        self._table.put(f"{platform}\x00{key}", mark)
        return mark

    def mark_of(self, platform: str, token: Any) -> TokenMark | None:
        if not len(self._table):
            return None
        return self._table.get(f"{platform}\x00{token_key(platform, token)}")

    def usable(self, platform: str, token: Any) -> bool:
        """Whether a send should still go to this token."""
        return self.mark_of(platform, token) is None

    def forget(self, platform: str, token: Any) -> None:
        """The device registered the token again: sends may use it until a gateway objects."""
        self._table.delete(f"{platform}\x00{token_key(platform, token)}")

    def marks(self) -> list[TokenMark]:
        return sorted(self._table.values(), key=lambda m: (m.since, m.platform, m.key))
