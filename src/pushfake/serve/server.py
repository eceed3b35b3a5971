"""The fake on a uvicorn server: built from `ServeSettings` on the store it names, announced by
its banner, with the access log and the fixtures watch beside it, stopped cleanly by SIGINT or
SIGTERM. `build_fake` and `run_server` are also what each `--workers` process runs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlencode

import uvicorn

from pushfake import __version__
from pushfake.app import create_app, uvicorn_config
from pushfake.control.security import admin_token_for, is_loopback
from pushfake.core.fixtures import FixtureError
from pushfake.core.server_limits import ServerLimits
from pushfake.core.store import Store
from pushfake.core.stores import MEMORY, StoreUnreachable, close_store, open_store, shown
from pushfake.extras import MissingExtra
import pushfake.fake
from pushfake.fake import Fake
from pushfake.serve.access_log import AccessLog, AccessLogOutput
from pushfake.serve.options import ServeSettings
from pushfake.serve.sockets import bound
from pushfake.serve.stdout import say
from pushfake.serve.watch import FixturesWatch


def serve(chosen: ServeSettings) -> int:
    """Run until a signal; 0 after a clean stop, 2 when the world, the store or the address is
    refused. With `--workers N` (N > 1), this process builds the world, prints the banner and
    supervises N worker processes on its socket (`pushfake.serve.workers`)."""
    # the watch first sees the file before the fake reads it: a change in between is not missed
    watch = FixturesWatch(chosen.fixtures, _to_stderr) if chosen.watch and chosen.fixtures else None
    try:
        store = open_store(chosen.store, chosen.namespace)
        fake = build_fake(chosen, store)
    except (FixtureError, ValueError, MissingExtra, StoreUnreachable) as exc:
        print(f"pushfake: {exc}", file=sys.stderr)
        return 2
    try:
        sock, base = bound(chosen.host, chosen.port)
    except OSError as exc:
        close_store(store)
        print(f"pushfake: cannot bind {chosen.host}:{chosen.port}: {exc.strerror}", file=sys.stderr)
        return 2
    admin_token = admin_token_for(chosen.host, chosen.admin_token)
    banner = _banner(fake, base, admin_token, chosen)
    if chosen.workers > 1:
        close_store(store)  # each worker opens its own; this process only supervises them
        from pushfake.serve.workers import supervise

        status = supervise(chosen, admin_token, sock, work, on_ready=lambda: [say(line) for line in banner])
    else:
        for line in banner:
            say(line)
        if watch is not None:
            say(f"  watching  {chosen.fixtures} (every {chosen.watch_interval:g} s)")
        try:
            run_server(fake, chosen, admin_token, sock, watch=watch)
        finally:
            close_store(store)
        status = 0
    if status == 0:
        say("pushfake stopped")
    return status


def work(chosen: ServeSettings, admin_token: str | None, sock: socket.socket, started: Connection) -> None:
    """One `--workers` process (`pushfake.serve.workers`): its fake on the shared store, served on
    `sock` until its supervisor's SIGTERM; it says on `started` when it serves. What keeps it
    from starting is one line on stderr, exit status 2."""
    try:
        store = open_store(chosen.store, chosen.namespace)
        fake = build_fake(chosen, store)
    except (FixtureError, ValueError, MissingExtra, StoreUnreachable) as exc:
        print(f"pushfake: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    try:
        run_server(fake, chosen, admin_token, sock, on_started=lambda: started.send(True), signals=(signal.SIGTERM,))
    finally:
        started.close()
        close_store(store)


def build_fake(chosen: ServeSettings, store: Store) -> Fake:
    """The fake `chosen` describes, on `store` (joining the world there if it is this one)."""
    fake = pushfake.fake.Fake(fixtures=chosen.fixtures, seed=chosen.seed, store=store,
                              journal_size=chosen.journal_size, journal_bytes=chosen.journal_bytes,
                              retention=chosen.retention, unguessable_secrets=not is_loopback(chosen.host))
    fake.workers = chosen.workers
    return fake


def run_server(fake: Fake, chosen: ServeSettings, admin_token: str | None, sock: socket.socket, *,
               watch: FixturesWatch | None = None, on_started: Callable[[], None] | None = None,
               signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
    """Serve `fake` on the listening `sock` until one of `signals` (then stop gracefully);
    `on_started` is called once the server accepts connections."""
    tasks = []
    if watch is not None:
        tasks.append(lambda: watch.run(fake, chosen.watch_interval))
    gc.freeze()  # the world just loaded lives as long as the server; keep it out of GC scans
    _log_own_lines(chosen.log_level)
    limits = ServerLimits(header_timeout=chosen.header_timeout, body_timeout=chosen.body_timeout,
                          max_connections=chosen.max_connections)
    config = uvicorn_config(create_app(fake, admin_token=admin_token), limits=limits, log_level=chosen.log_level,
                            lifespan="on", middleware=AccessLog if chosen.access_log else None)
    server = _Server(config, tasks, on_started)
    output = AccessLogOutput(chosen.log_format) if chosen.access_log else contextlib.nullcontext()
    with _graceful_signals(server, signals), output:
        server.run(sockets=[sock])


def _log_own_lines(level: str) -> None:
    """pushfake's own log lines (which process runs the scheduled work, a shared store's trouble)
    on stderr at the level uvicorn's use: `--log-level info` shows them all, the default its warnings."""
    logger = logging.getLogger("pushfake")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())


def _banner(fake: Fake, base: str, admin_token: str | None, chosen: ServeSettings) -> list[str]:
    """Where everything is, and the credentials of the world loaded: the lines to print once the
    server serves (with workers, once every one of them does)."""
    lines: list[str] = []
    lines.append(f"pushfake {__version__} listening on {base}")
    lines.append(f"  fixtures: {fake.fixtures_label}; seed {fake.seed}")
    workers = f"{chosen.workers} worker{'s' * (chosen.workers != 1)}"
    if chosen.store == MEMORY:
        lines.append(f"  store     memory (this process's); {workers}")
    else:
        lines.append(f"  store     {shown(chosen.store)}, namespace {chosen.namespace}; {workers}")
    if admin_token is None:
        lines.append(f"  control   {base}/_pushfake/  (open: loopback only)")
    else:
        lines.append(f"  control   {base}/_pushfake/  admin token: {admin_token}")
    token_query = f"?{urlencode({'token': admin_token})}" if admin_token is not None else ""
    lines.append(f"  inbox     {base}/_pushfake/inbox{token_query}")
    lines.append(f"  docs      {base}/_pushfake/docs{token_query}")
    for app in fake.leanplum.state.apps():
        lines.append(f"  Leanplum  {base}/api  appId={app.id}  production key={app.production_key}  "
            f"development key={app.development_key}")
    for account in fake.dengage.state.accounts():
        users = ", ".join(f"{u.userkey}/{u.password}" for u in account.api_users.values())
        lines.append(f"  D·engage  {base}/rest  account={account.id}  API users (userkey/password): {users}")
    return lines


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Server(uvicorn.Server):  # type: ignore[misc]
    """uvicorn's server, running `tasks` (coroutine factories, e.g. the fixtures watch) beside it
    on its event loop, started with it and cancelled when it stops."""

    def __init__(self, config: uvicorn.Config, tasks: list[Callable[[], Coroutine[Any, Any, None]]],
                 on_started: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.tasks = tasks
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_started is not None:
            self.on_started()

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
def _graceful_signals(server: uvicorn.Server, signals: tuple[signal.Signals, ...]) -> Iterator[None]:
    """`signals` (SIGINT and SIGTERM; a worker only SIGTERM, from its supervisor) stop the server
    gracefully and `serve` exits 0.

    uvicorn re-raises a caught signal after shutting down, which turns a clean stop into a
    non-zero exit; CI scripts that stop a background fake expect success.
    """
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    previous = {sig: signal.signal(sig, server.handle_exit) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
