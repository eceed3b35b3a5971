"""`pushfake serve`'s parser and entry: the options read, then the server run."""

from __future__ import annotations

import argparse
import sys

from pushfake.serve.options import DESCRIPTION, OptionError, add_arguments, settings


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = commands.add_parser("serve", help="run the fake server", description=DESCRIPTION)
    add_arguments(serve)


def run(args: argparse.Namespace) -> int:
    try:
        chosen = settings(args)
    except OptionError as exc:
        print(f"pushfake: {exc}", file=sys.stderr)
        return 2
    from pushfake.serve.server import serve  # uvicorn loads only for a server

    return serve(chosen)
