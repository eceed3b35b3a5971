"""Standard output a reader may leave: `pushfake serve | head -1` reads the banner's first line
and goes, `pushfake spec --errors | head` reads ten. A write to a pipe nobody reads any more
raises BrokenPipeError; the commands then carry on (a server keeps serving) or end quietly, and
never with a traceback."""

from __future__ import annotations

import os
import sys


def say(line: str) -> None:
    """`line` on stdout, at once; nothing (and nothing more, ever) once its reader has gone."""
    try:
        print(line, flush=True)
    except (BrokenPipeError, ValueError):  # ValueError: stdout was closed in this process
        let_go()


def let_go() -> None:
    """Stdout's reader has gone: what is still buffered, and every later write, goes nowhere, so
    neither a later print nor the interpreter's flush at exit raises."""
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())
