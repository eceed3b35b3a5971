"""What the one request path hands a vendor and gets back (`pushfake.traffic` runs it).

A vendor's routes read a request off the wire (`Wire`); its service describes it once (`Ask`:
the `RequestFacts` that fault rules and the journal match on, the parameters as the fake reads
them, and whatever the service parsed on the way, in the vendor's own subclass), then answers
it (`Answer`), which the vendor's routes render. No HTTP framework here: the services use these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.decoding import DecodeError
from pushfake.faults.rules import RequestFacts


@dataclass(slots=True)
class Wire:
    """A request as read off the wire, before any vendor rule looks at it."""

    method: str
    path: str
    headers: Mapping[str, str]
    operation: str | None  # what the route says it is (D·engage's operationId); None when the request says
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None  # decoded; None when there is none or it could not be read
    raw: bytes | None = None  # the body as sent
    failure: DecodeError | None = None  # why the query or the body could not be read


@dataclass(slots=True)
class Ask:
    """What a vendor made of a request before it runs; each vendor's own adds what it parsed."""

    facts: RequestFacts
    params: dict[str, Any]  # as the fake reads them (coerced where the spec says): the journal's record


@dataclass(slots=True)
class Answer:
    """A vendor's answer, before its vendor renders it."""

    status: int
    body: Any  # JSON: the vendor's envelope, or (Leanplum) the elements it wraps
    pending: list[str] = field(default_factory=list)  # deliveries handed to the gateway once answered
    retry_after: float | None = None
    limit: str | None = None  # the id of the rate limit that refused it
