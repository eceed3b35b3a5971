"""The listening socket `pushfake serve` hands to uvicorn, and the URL it is reached at."""

from __future__ import annotations

import socket


def listening_socket(family: socket.AddressFamily) -> socket.socket:
    """A TCP socket to listen on, created with IPPROTO_TCP: asyncio sets TCP_NODELAY on the
    connections it accepts only then; without it Nagle's algorithm holds every answer after the
    first on a keep-alive connection for the client's delayed ACK (about 40 ms)."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def bound(host: str, port: int) -> tuple[socket.socket, str]:
    """A socket listening on `host`:`port` (0: a free port) and its base URL; OSError if the
    address cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = listening_socket(family)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    name, number = sock.getsockname()[:2]
    return sock, f"http://{'[' + name + ']' if family == socket.AF_INET6 else name}:{number}"
