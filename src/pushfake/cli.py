"""The `pushfake` command: `serve`, `spec`, `check-fixtures` and `contract`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from pushfake import __version__
from pushfake.core.fixtures import FixtureError
from pushfake.core.resources import SPEC_FILES, VENDORS, openapi_document
from pushfake.core.spec import ApiSpec
from pushfake.serve import command as serve_command
from pushfake.serve.stdout import let_go

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pushfake", description="A fake of the Leanplum and D·engage push APIs.")
    parser.add_argument("--version", action="version", version=f"pushfake {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_command.add_parser(commands)

    spec = commands.add_parser("spec", help="print a vendor spec, or the behaviours it marks as assumed")
    spec.add_argument("--vendor", choices=sorted(VENDORS), default="leanplum",
                      help="whose spec: leanplum or dengage (default leanplum)")
    spec.add_argument("--assumptions", action="store_true", help="list every behaviour marked x-pushfake-fidelity: assumed")
    spec.add_argument("--fidelity", choices=["documented", "recorded", "assumed"], help="list marks of this level")
    spec.add_argument("--errors", action="store_true",
                      help="print the vendor's error catalogue: every error and warning text with its status, "
                           "fidelity mark and basis")
    spec.add_argument("--json", action="store_true", help="print the list as JSON")

    check = commands.add_parser("check-fixtures", help="check a fixtures file and exit")
    check.add_argument("path", help="the fixtures file (YAML or JSON) to read and check, as serve --fixtures would")

    from pushfake.contract import command as contract

    contract.add_parser(commands)

    args = parser.parse_args(argv)
    if args.command == "contract":
        return contract.run(args)
    if args.command == "serve":
        return serve_command.run(args)
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
        let_go()  # nothing left to flush at exit
        return 141  # 128 + SIGPIPE, what a shell reports for a command its reader left


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


def _check_fixtures(path: str) -> int:
    from pushfake.fake import Fake

    try:
        Fake(fixtures=path)
    except FixtureError as exc:
        print(f"pushfake: {exc}", file=sys.stderr)
        return 1
    print(f"{path}: OK")
    return 0
