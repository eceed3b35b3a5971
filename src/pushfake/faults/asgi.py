"""How a fault reaches the wire: an ASGI response that misbehaves as its fault says.

Cutting a connection needs the socket, which ASGI does not expose. `Connections` is a registry
of open connections by client address, filled by a subclass of uvicorn's HTTP protocol that
only adds itself on `connection_made` and removes itself on `connection_lost` (public asyncio
protocol methods). Served any other way (an in-process ASGI client), the faults that need the
socket raise `DroppedConnection` instead, which the in-process transport passes to the caller.
The app keeps its registry in `app.state.connections` (`pushfake.app.create_app`), so whatever
needs it finds it from the request's scope (`Connections.of`) instead of being handed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pushfake.core.clock import Clock, wire_wait
from pushfake.faults.kinds import Fault


class DroppedConnection(Exception):
    """A fault cut the connection of an in-process request (no socket to cut)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"pushfake fault: {kind} (the connection was dropped without a complete response)")
        self.kind = kind


class Connections:
    """Open connections of one server, by the client address ASGI reports in `scope["client"]`."""

    def __init__(self) -> None:
        self._by_client: dict[tuple[str, int], Any] = {}
        self._held: set[tuple[str, int]] = set()

    @staticmethod
    def of(scope: Scope) -> Connections | None:
        """The registry of the app serving `scope` (Starlette puts the app in `scope["app"]`)."""
        found = getattr(getattr(scope.get("app"), "state", None), "connections", None)
        return found if isinstance(found, Connections) else None

    def transport(self, scope: Scope) -> asyncio.Transport | None:
        client = scope.get("client")
        return self._by_client.get(tuple(client)) if client else None  # type: ignore[arg-type]

    def protocol_class(self, base: type[asyncio.Protocol] | None = None) -> type[asyncio.Protocol]:
        """uvicorn's HTTP protocol (`base`, else the best one installed), registering each
        connection here (`uvicorn.Config(http=...)`)."""
        if base is None:
            from uvicorn.protocols.http.auto import AutoHTTPProtocol as base

        registry = self

        class RegisteredProtocol(base):  # type: ignore[misc, valid-type]
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                if self.client:
                    registry._by_client[tuple(self.client)] = transport

            def connection_lost(self, exc: Exception | None) -> None:
                if self.client:
                    registry._by_client.pop(tuple(self.client), None)
                    registry._held.discard(tuple(self.client))
                super().connection_lost(exc)

            def shutdown(self) -> None:
                # A connection a `hang` holds would keep a graceful shutdown waiting.
                if self.client and tuple(self.client) in registry._held:
                    self.transport.abort()
                super().shutdown()

        return RegisteredProtocol

    def hold(self, scope: Scope) -> None:
        self._held.add(tuple(scope["client"]))


class FaultResponse(Response):
    """The answer to a request a wire-level fault (reset, hang, truncate, malformed, trickle)
    applies to; `inner` is the real answer (None when the request did not run). The real
    answer's background work (handing deliveries to the gateway) runs whatever the fault does
    to the wire."""

    def __init__(self, fault: Fault, inner: Response | None, clock: Clock) -> None:
        super().__init__(status_code=inner.status_code if inner is not None else 200)
        self.fault = fault
        self.inner = inner
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._act(scope, receive, send)
        finally:
            if self.inner is not None and self.inner.background is not None:
                await self.inner.background()

    async def _act(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault, inner = self.fault, self.inner
        if fault.kind in ("reset", "hang") or (fault.kind == "truncate" and inner is not None):
            connections = Connections.of(scope)
            transport = connections.transport(scope) if connections is not None else None
            if connections is None or transport is None:
                raise DroppedConnection(fault.kind)
            if fault.kind == "hang":
                await self._hang(scope, receive, connections, transport)
            elif fault.kind == "reset":
                _reset(transport)
            else:
                assert inner is not None
                await self._start(send, inner, len(inner.body))
                await send({"type": "http.response.body", "body": inner.body[: int(len(inner.body) * fault.fraction)],
                            "more_body": True})
                await asyncio.sleep(0.01)  # let the bytes leave before the close
                transport.close()
            await _until_disconnected(receive)
            return
        if inner is None:  # the other kinds always process the request
            return
        if fault.kind == "malformed":
            body = fault.body.encode() if fault.body is not None else inner.body[: max(1, len(inner.body) // 2)]
            await self._start(send, inner, len(body))
            await send({"type": "http.response.body", "body": body})
        elif fault.kind == "trickle":  # each piece waits its share of `seconds` before it goes
            await self._start(send, inner, len(inner.body))
            pieces = max(1, min(fault.chunks, len(inner.body)))
            size = -(-len(inner.body) // pieces) or 1
            for i in range(0, max(1, len(inner.body)), size):
                await wire_wait(self._clock, fault.seconds / pieces)
                await send({"type": "http.response.body", "body": inner.body[i:i + size], "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    async def _start(self, send: Send, inner: Response, length: int) -> None:
        headers = [(k, v) for k, v in inner.raw_headers if k != b"content-length"]
        headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": inner.status_code, "headers": headers})

    async def _hang(self, scope: Scope, receive: Receive, connections: Connections,
                    transport: asyncio.Transport) -> None:
        """Say nothing until the client gives up; after `seconds`, reset (a hang is bounded)."""
        connections.hold(scope)
        try:
            await asyncio.wait_for(_until_disconnected(receive), timeout=self.fault.seconds)
        except TimeoutError:
            _reset(transport)


def _reset(transport: asyncio.Transport) -> None:
    """Close with RST, not FIN: the client sees 'connection reset by peer'."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _until_disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
