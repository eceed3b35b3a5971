"""The fake on a uvicorn server: built from `ServeSettings`, announced by its banner, with the
access log and the fixtures watch beside it, stopped cleanly by SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any
from urllib.parse import urlencode

import uvicorn

from pushfake import __version__
from pushfake.app import create_app, uvicorn_config
from pushfake.control.security import admin_token_for, is_loopback
from pushfake.core.fixtures import FixtureError
from pushfake.core.server_limits import ServerLimits
import pushfake.fake
from pushfake.fake import Fake
from pushfake.serve.access_log import AccessLog, AccessLogOutput
from pushfake.serve.options import ServeSettings
from pushfake.serve.sockets import bound
from pushfake.serve.stdout import say
from pushfake.serve.watch import FixturesWatch


def serve(chosen: ServeSettings) -> int:
    """Run until a signal; 0 after a clean stop, 2 when the world or the address is refused."""
    # the watch first sees the file before the fake reads it: a change in between is not missed
    watch = FixturesWatch(chosen.fixtures, _to_stderr) if chosen.watch and chosen.fixtures else None
    try:
        fake = pushfake.fake.Fake(fixtures=chosen.fixtures, seed=chosen.seed, journal_size=chosen.journal_size,
                    journal_bytes=chosen.journal_bytes, retention=chosen.retention,
                    unguessable_secrets=not is_loopback(chosen.host))
    except (FixtureError, ValueError) as exc:
        print(f"pushfake: {exc}", file=sys.stderr)
        return 2
    try:
        sock, base = bound(chosen.host, chosen.port)
    except OSError as exc:
        print(f"pushfake: cannot bind {chosen.host}:{chosen.port}: {exc.strerror}", file=sys.stderr)
        return 2
    admin_token = admin_token_for(chosen.host, chosen.admin_token)
    _banner(fake, base, admin_token)
    tasks = []
    if watch is not None:
        say(f"  watching  {chosen.fixtures} (every {chosen.watch_interval:g} s)")
        tasks.append(lambda: watch.run(fake, chosen.watch_interval))
    gc.freeze()  # the world just loaded lives as long as the server; keep it out of GC scans
    limits = ServerLimits(header_timeout=chosen.header_timeout, body_timeout=chosen.body_timeout,
                          max_connections=chosen.max_connections)
    config = uvicorn_config(create_app(fake, admin_token=admin_token), limits=limits, log_level=chosen.log_level,
                            lifespan="on", middleware=AccessLog if chosen.access_log else None)
    server = _Server(config, tasks)
    output = AccessLogOutput(chosen.log_format) if chosen.access_log else contextlib.nullcontext()
    with _graceful_signals(server), output:
        server.run(sockets=[sock])
    say("pushfake stopped")
    return 0


def _banner(fake: Fake, base: str, admin_token: str | None) -> None:
    """Where everything is, and the credentials of the world loaded."""
    say(f"pushfake {__version__} listening on {base}")
    say(f"  fixtures: {fake.fixtures_label}; seed {fake.seed}")
    if admin_token is None:
        say(f"  control   {base}/_pushfake/  (open: loopback only)")
    else:
        say(f"  control   {base}/_pushfake/  admin token: {admin_token}")
    token_query = f"?{urlencode({'token': admin_token})}" if admin_token is not None else ""
    say(f"  inbox     {base}/_pushfake/inbox{token_query}")
    say(f"  docs      {base}/_pushfake/docs{token_query}")
    for app in fake.leanplum.state.apps():
        say(f"  Leanplum  {base}/api  appId={app.id}  production key={app.production_key}  "
            f"development key={app.development_key}")
    for account in fake.dengage.state.accounts():
        users = ", ".join(f"{u.userkey}/{u.password}" for u in account.api_users.values())
        say(f"  D·engage  {base}/rest  account={account.id}  API users (userkey/password): {users}")


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Server(uvicorn.Server):  # type: ignore[misc]
    """uvicorn's server, running `tasks` (coroutine factories, e.g. the fixtures watch) beside it
    on its event loop, started with it and cancelled when it stops."""

    def __init__(self, config: uvicorn.Config, tasks: list[Callable[[], Coroutine[Any, Any, None]]]) -> None:
        super().__init__(config)
        self.tasks = tasks

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        running = [asyncio.create_task(start()) for start in self.tasks]
        try:
            await super().serve(sockets=sockets)
        finally:
            for task in running:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


@contextlib.contextmanager
def _graceful_signals(server: uvicorn.Server) -> Iterator[None]:
    """SIGINT and SIGTERM stop the server gracefully and `serve` exits 0.

    uvicorn re-raises a caught signal after shutting down, which turns a clean stop into a
    non-zero exit; CI scripts that stop a background fake expect success.
    """
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    previous = {sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
