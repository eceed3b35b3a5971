"""What one fault does to one request. The whole taxonomy:

| kind        | the client sees                                         | request runs by default |
|-------------|---------------------------------------------------------|-------------------------|
| `pass`      | the normal answer (a step of a sequence that succeeds)  | yes |
| `latency`   | the normal answer, `delay` seconds late                 | yes |
| `error`     | HTTP `status` (429, 500, 502, 503, 504) with the vendor's own error body | no |
| `reset`     | the connection reset, no response at all                | no |
| `hang`      | nothing, until it gives up (or `seconds` pass, then a reset) | no |
| `truncate`  | the headers and the first `fraction` of the body, then the connection closes | yes |
| `malformed` | a complete response whose body is not the JSON it claims to be | yes |
| `trickle`   | the normal answer, its body spread over `seconds` in `chunks` pieces | yes |

Every kind also takes `delay` (seconds or a latency model, drawn from the fake's seed) before
it acts, and `process` to say whether the request really runs: a reset after processing is
the case where the send happened but the client never heard (and may retry it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushfake.core.latency import Fixed, Latency, latency_dict, latency_from

KINDS = ("pass", "latency", "error", "reset", "hang", "truncate", "malformed", "trickle")
_PROCESS_BY_DEFAULT = {"pass": True, "latency": True, "error": False, "reset": False, "hang": False,
                       "truncate": True, "malformed": True, "trickle": True}
DEFAULT_HANG_SECONDS = 300.0
NO_DELAY = Fixed(0.0)  # a bound, so a forgotten hang cannot hold a connection forever


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    delay: Latency = NO_DELAY
    process: bool = True
    status: int = 0  # error
    message: str | None = None  # error: replaces the vendor's default text
    retry_after: float | None = None  # error: adds a Retry-After header
    seconds: float = 0.0  # hang: the most it holds; trickle: how long the body takes
    fraction: float = 0.5  # truncate: how much of the body is sent
    chunks: int = 10  # trickle
    body: str | None = None  # malformed: the text sent instead (default: the real body cut short)

    @property
    def short(self) -> str:
        return f"error {self.status}" if self.kind == "error" else self.kind

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "process": self.process}
        if self.delay != NO_DELAY:
            out["delay"] = latency_dict(self.delay)
        if self.kind == "error":
            out["status"] = self.status
            if self.message is not None:
                out["message"] = self.message
            if self.retry_after is not None:
                out["retryAfter"] = self.retry_after
        if self.kind in ("hang", "trickle"):
            out["seconds"] = self.seconds
        if self.kind == "trickle":
            out["chunks"] = self.chunks
        if self.kind == "truncate":
            out["fraction"] = self.fraction
        if self.kind == "malformed" and self.body is not None:
            out["body"] = self.body
        return out


def fault_from(raw: dict[str, Any]) -> Fault:
    """A fault from its JSON form (already checked against the control spec's `Fault` schema);
    ValueError for what a schema cannot say."""
    kind = raw["kind"]
    fields: dict[str, Any] = {"kind": kind, "process": raw.get("process", _PROCESS_BY_DEFAULT[kind])}
    if "delay" in raw:
        fields["delay"] = latency_from(raw["delay"])
    if kind == "latency" and "delay" not in raw:
        raise ValueError("a latency fault needs `delay`")
    if kind == "error":
        fields.update(status=raw["status"], message=raw.get("message"), retry_after=raw.get("retryAfter"))
    if kind == "hang":
        fields["seconds"] = float(raw.get("seconds", DEFAULT_HANG_SECONDS))
    if kind == "trickle":
        fields.update(seconds=float(raw["seconds"]), chunks=int(raw.get("chunks", 10)))
    if kind == "truncate":
        fields["fraction"] = float(raw.get("fraction", 0.5))
    if kind == "malformed":
        fields["body"] = raw.get("body")
    if not fields["process"] and kind in ("pass", "latency", "truncate", "malformed", "trickle"):
        raise ValueError(f"a {kind} fault answers with the real response, so it must process the request")
    return Fault(**fields)
