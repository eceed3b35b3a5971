"""The `pushfake` command: `serve`, `spec`, `check-fixtures` and `contract`."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

from pushfake import __version__
from pushfake.core.fixtures import FixtureError
from pushfake.core.resources import SPEC_FILES, VENDORS, openapi_document
from pushfake.core.spec import ApiSpec
from pushfake.core.server_limits import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pushfake", description="A fake of the Leanplum and D·engage push APIs.")
    parser.add_argument("--version", action="version", version=f"pushfake {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the fake server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one (default 8080)")
    serve.add_argument("--fixtures", metavar="PATH", help="fixtures file (YAML or JSON); default: the built-in world")
    serve.add_argument("--seed", type=int, help="seed for every random choice (default: the fixtures' seed)")
    serve.add_argument("--admin-token", metavar="TOKEN",
                       help="token the control plane requires when binding a non-loopback address "
                            "(default: a new one, printed at start-up); ignored on loopback")
    serve.add_argument("--journal-size", type=int, metavar="N",
                       help="how many requests the journal keeps (default: the fixtures' journal.size, or 10000)")
    serve.add_argument("--journal-bytes", type=int, metavar="N",
                       help="how many bytes the journal's entries may hold together "
                            "(default: the fixtures' journal.bytes, or 64 MiB)")
    serve.add_argument("--retention", action="append", default=[], metavar="KIND=N",
                       help="keep at most N records of KIND (deliveries, events, sends, tokens), oldest dropped; "
                            "repeatable (default: the fixtures' retention, or 100000 deliveries and events, "
                            "10000 sends and tokens)")
    serve.add_argument("--header-timeout", type=float, default=DEFAULT_HEADER_TIMEOUT, metavar="SECONDS",
                       help="a request's headers must arrive within this long of the connection opening or of "
                            f"the previous answer, else the connection closes (default {DEFAULT_HEADER_TIMEOUT:g})")
    serve.add_argument("--body-timeout", type=float, default=DEFAULT_BODY_TIMEOUT, metavar="SECONDS",
                       help="a request's body must arrive within this long of its headers "
                            f"(default {DEFAULT_BODY_TIMEOUT:g})")
    serve.add_argument("--max-connections", type=int, metavar="N",
                       help="open connections at most; one more closes the connection idle the longest "
                            "(default: the open-files limit less an eighth, at most 4096)")
    serve.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])

    spec = commands.add_parser("spec", help="print a vendor spec, or the behaviours it marks as assumed")
    spec.add_argument("--vendor", choices=sorted(VENDORS), default="leanplum")
    spec.add_argument("--assumptions", action="store_true", help="list every behaviour marked x-pushfake-fidelity: assumed")
    spec.add_argument("--fidelity", choices=["documented", "recorded", "assumed"], help="list marks of this level")
    spec.add_argument("--errors", action="store_true",
                      help="print the vendor's error catalogue: every error and warning text with its status, "
                           "fidelity mark and basis")
    spec.add_argument("--json", action="store_true", help="print the list as JSON")

    check = commands.add_parser("check-fixtures", help="check a fixtures file and exit")
    check.add_argument("path")

    from pushfake.contract import command as contract

    contract.add_parser(commands)

    args = parser.parse_args(argv)
    if args.command == "contract":
        return contract.run(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "spec":
        return _quiet_on_closed_pipe(lambda: _spec(args))
    return _check_fixtures(args.path)


def _quiet_on_closed_pipe(run: Callable[[], int]) -> int:
    """`run`, for output a reader may stop reading (`pushfake spec --errors | head`): a closed pipe
    ends the command quietly, as it ends `cat`, instead of with a traceback."""
    try:
        code = run()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 141  # 128 + SIGPIPE, what a shell reports for a command its reader left


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pushfake.app import create_app, uvicorn_config
    from pushfake.control.security import admin_token_for, is_loopback
    from pushfake.fake import Fake
    from pushfake.core.server_limits import ServerLimits

    for name in ("journal_size", "journal_bytes"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            print(f"pushfake: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    try:
        retention = _retention(args.retention)
        limits = ServerLimits(header_timeout=args.header_timeout, body_timeout=args.body_timeout,
                              max_connections=args.max_connections)
    except ValueError as exc:
        print(f"pushfake: {exc}", file=sys.stderr)
        return 2
    try:
        fake = Fake(fixtures=args.fixtures, seed=args.seed, journal_size=args.journal_size,
                    journal_bytes=args.journal_bytes, retention=retention,
                    unguessable_secrets=not is_loopback(args.host))
    except (FixtureError, ValueError) as exc:
        print(f"pushfake: {exc}", file=sys.stderr)
        return 2
    admin_token = admin_token_for(args.host, args.admin_token)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = listening_socket(family)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"pushfake: cannot bind {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    sock.listen(2048)
    host, port = sock.getsockname()[:2]
    base = f"http://{'[' + host + ']' if family == socket.AF_INET6 else host}:{port}"
    print(f"pushfake {__version__} listening on {base}", flush=True)
    print(f"  fixtures: {fake.fixtures_label}; seed {fake.seed}", flush=True)
    if admin_token is None:
        print(f"  control   {base}/_pushfake/  (open: loopback only)", flush=True)
    else:
        print(f"  control   {base}/_pushfake/  admin token: {admin_token}", flush=True)
    inbox_query = f"?{urlencode({'token': admin_token})}" if admin_token is not None else ""
    print(f"  inbox     {base}/_pushfake/inbox{inbox_query}", flush=True)
    for app in fake.leanplum.state.apps():
        print(f"  Leanplum  {base}/api  appId={app.id}  production key={app.production_key}  "
              f"development key={app.development_key}", flush=True)
    for account in fake.dengage.state.accounts():
        users = ", ".join(f"{u.userkey}/{u.password}" for u in account.api_users.values())
        print(f"  D·engage  {base}/rest  account={account.id}  API users (userkey/password): {users}", flush=True)
    gc.freeze()  # the world just loaded lives as long as the server; keep it out of GC scans
    app = create_app(fake, admin_token=admin_token)
    server = uvicorn.Server(uvicorn_config(app, limits=limits, log_level=args.log_level, access_log=False,
                                           lifespan="on"))
    with _graceful_signals(server):
        server.run(sockets=[sock])
    print("pushfake stopped", flush=True)
    return 0


def _retention(given: list[str]) -> dict[str, int]:
    """`--retention deliveries=500000` (repeatable) as `Fake(retention=...)`."""
    out: dict[str, int] = {}
    for item in given:
        kind, _, number = item.partition("=")
        try:
            out[kind.strip()] = int(number)
        except ValueError:
            raise ValueError(f"--retention takes KIND=N, not {item!r}") from None
    return out


@contextlib.contextmanager
def _graceful_signals(server: Any) -> Iterator[None]:
    """SIGINT and SIGTERM stop the server gracefully and `serve` exits 0.

    uvicorn re-raises a caught signal after shutting down, which turns a clean stop into a
    non-zero exit; CI scripts that stop a background fake expect success.
    """
    server.capture_signals = contextlib.nullcontext
    previous = {sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _spec(args: argparse.Namespace) -> int:
    spec = ApiSpec.of(args.vendor)
    if args.errors:
        return _errors(spec, args.json)
    level = "assumed" if args.assumptions else args.fidelity
    if level is None:

        sys.stdout.write(openapi_document(args.vendor).read_text(encoding="utf-8"))
        return 0
    marks = [m for m in spec.fidelity_marks() if m.fidelity == level]
    if args.json:
        print(json.dumps([m.__dict__ for m in marks], indent=2))
        return 0
    print(f"{len(marks)} {level} behaviours in openapi/{SPEC_FILES[args.vendor]}:")
    for mark in marks:
        print(f"- {mark.summary}")
        print(f"    where: {mark.pointer}")
        if mark.basis:
            print(f"    basis: {mark.basis}")
    return 0


def _errors(spec: ApiSpec, as_json: bool) -> int:
    from pushfake.core.catalogue import ErrorCatalogue

    entries = ErrorCatalogue(spec).entries()
    if as_json:
        print(json.dumps([e.__dict__ for e in entries], indent=2, ensure_ascii=False))
        return 0
    print(f"{len(entries)} error and warning texts in openapi/{spec.name} (status 200: a warning in a success):")
    for e in entries:
        status = str(e.status) if e.status else "any"
        print(f"- {status} {e.text}")
        print(f"    when:  {e.when}")
        print(f"    mark:  {e.fidelity}" + (f"; {e.basis}" if e.basis else ""))
    return 0


def listening_socket(family: socket.AddressFamily) -> socket.socket:
    """A TCP socket to listen on, created with IPPROTO_TCP: asyncio sets TCP_NODELAY on the
    connections it accepts only then; without it Nagle's algorithm holds every answer after the
    first on a keep-alive connection for the client's delayed ACK (about 40 ms)."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def _check_fixtures(path: str) -> int:
    from pushfake.fake import Fake

    try:
        Fake(fixtures=path)
    except FixtureError as exc:
        print(f"pushfake: {exc}", file=sys.stderr)
        return 1
    print(f"{path}: OK")
    return 0
