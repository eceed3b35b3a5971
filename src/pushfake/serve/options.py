"""`pushfake serve`'s options: one table holds each option's flag, variable, default and help.

Every option can also be set by its `PUSHFAKE_*` variable, as CI services and containers
configure servers. Precedence: the command line, then the environment, then the fixtures file
(seed, journal bounds, retention), then the built-in default. An empty variable counts as unset.
A wrong value, from either source, is one line naming where it came from (`pushfake:
PUSHFAKE_PORT must be a whole number, not 'eighty'`), and the command exits 2.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pushfake.core.journal import DEFAULT_BYTES, DEFAULT_SIZE
from pushfake.core.retention import DEFAULT_BOUNDS, bounds_from
from pushfake.core.server_limits import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, ServerLimits
from pushfake.core.stores import DEFAULT_NAMESPACE, MEMORY, checked_namespace, checked_spec

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("text", "json")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
DEFAULT_WATCH_INTERVAL = 0.5
MAX_WORKERS = 64  # a typo's worth of processes (--workers 1000) is refused, not started


class OptionError(ValueError):
    """A wrong value: `source` is the flag or the variable it came from, `problem` a predicate."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source} {problem}")


# --- how a value is read from its text (the same for a flag and a variable) -------------------
def _text(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw


def _number(convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        try:
            return convert(raw.strip())
        except ValueError:
            raise ValueError(f"must be {what}, not {raw!r}") from None
    return parse


_whole = _number(int, "a whole number")
_seconds = _number(float, "a number of seconds")


def _positive(raw: str) -> int:
    value = _whole(raw)
    if value < 1:
        raise ValueError(f"must be >= 1, not {value}")
    return value


def _port(raw: str) -> int:
    value = _whole(raw)
    if not 0 <= value <= 65535:
        raise ValueError(f"must be a port number from 0 to 65535, not {value}")
    return value


def _limit(field: str, read: Callable[[str], Any]) -> Callable[[str], Any]:
    """A server limit, held to `ServerLimits`' own rule (its one home)."""
    def parse(raw: str) -> Any:
        value = read(raw)
        try:
            ServerLimits(**{field: value})
        except ValueError as exc:
            raise ValueError(f"is refused: {exc}") from None
        return value
    return parse


def _workers(raw: str) -> int:
    value = _whole(raw)
    if not 1 <= value <= MAX_WORKERS:
        raise ValueError(f"must be from 1 to {MAX_WORKERS}, not {value}")
    return value


def _interval(raw: str) -> float:
    value = _seconds(raw)
    if not 0 < value <= 60:
        raise ValueError(f"must be above 0 and at most 60 seconds, not {value:g}")
    return value


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.strip().lower() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {raw!r}")
        return raw.strip().lower()
    return parse


def _switch(raw: str) -> bool:
    """A variable's yes or no (a flag's comes from argparse)."""
    word = raw.strip().lower()
    if word in TRUE or word in FALSE:
        return word in TRUE
    raise ValueError(f"must be one of {', '.join(TRUE + FALSE)}, not {raw!r}")


def _retention(items: list[str]) -> dict[str, int]:
    """`deliveries=500000` items as `Fake(retention=...)`, checked against the kinds and bounds."""
    out: dict[str, int] = {}
    for item in items:
        kind, _, number = item.partition("=")
        try:
            out[kind.strip()] = int(number)
        except ValueError:
            raise ValueError(f"takes KIND=N, not {item!r}") from None
    try:
        bounds_from(out)
    except ValueError as exc:
        raise ValueError(f"is refused: {exc}") from None
    return out


@dataclass(frozen=True)
class Option:
    """One `serve` option. `default` is the built-in value (None: decided later, as `shown` says);
    `kind` is "value", "switch" (`--x/--no-x`) or "list" (a repeatable flag; a comma-separated
    variable)."""

    flag: str
    help: str
    parse: Callable[[str], Any] = _text
    default: Any = None
    shown: str | None = None  # the default as --help tells it, when it is not `default` itself
    metavar: str | None = None
    kind: str = "value"

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")

    @property
    def env(self) -> str:
        return "PUSHFAKE_" + self.dest.upper()

    def help_text(self) -> str:
        if self.shown is not None:
            shown = self.shown
        elif self.kind == "switch":
            shown = "on" if self.default else "off"
        else:
            shown = f"{self.default:g}" if isinstance(self.default, float) else str(self.default)
        text = f"{self.help} (env {self.env}, default {shown})"
        return text.replace("%", "%%")  # argparse formats help with %


OPTIONS: tuple[Option, ...] = (
    Option("--host", "address to bind", default="127.0.0.1", metavar="HOST"),
    Option("--port", "port to bind; 0 picks a free one and prints it", _port, default=8080, metavar="PORT"),
    Option("--fixtures", "fixtures file (YAML or JSON) describing the world", metavar="PATH",
           shown="the built-in world"),
    Option("--seed", "seed for every random choice", _whole, metavar="N", shown="the fixtures' seed, or 0"),
    Option("--admin-token", "token the control plane requires when the server binds a non-loopback address; "
           "ignored on loopback", metavar="TOKEN", shown="a new one, printed at start-up"),
    Option("--log-level", f"how much the server itself logs on stderr (start-up, shutdown, errors): "
           f"{', '.join(LOG_LEVELS)}", _one_of(LOG_LEVELS), default="warning", metavar="LEVEL"),
    Option("--access-log", "one line on stdout per request: time, client, method, path, status, duration and "
           "vendor operation; query values named token are redacted", kind="switch",
           shown="on when stdout is a terminal, else off"),
    Option("--log-format", "the access log's format: text, or json (one object per line, for log shippers)",
           _one_of(LOG_FORMATS), default="text", metavar="FORMAT"),
    Option("--journal-size", "how many requests the journal keeps", _positive, metavar="N",
           shown=f"the fixtures' journal.size, or {DEFAULT_SIZE}"),
    Option("--journal-bytes", "how many bytes the journal's entries may hold together", _positive, metavar="N",
           shown=f"the fixtures' journal.bytes, or {DEFAULT_BYTES // 2**20} MiB"),
    Option("--retention", "keep at most N records of KIND (" + ", ".join(sorted(DEFAULT_BOUNDS))
           + "), oldest dropped; a repeatable flag, comma-separated in the variable", _retention,
           metavar="KIND=N", kind="list",
           shown="the fixtures' retention, or " + ", ".join(f"{k}={v}" for k, v in DEFAULT_BOUNDS.items())),
    Option("--header-timeout", "a request's headers must arrive within this long of the connection opening or of "
           "the previous answer, else the connection closes", _limit("header_timeout", _seconds),
           default=DEFAULT_HEADER_TIMEOUT, metavar="SECONDS"),
    Option("--body-timeout", "a request's body must arrive within this long of its headers",
           _limit("body_timeout", _seconds), default=DEFAULT_BODY_TIMEOUT, metavar="SECONDS"),
    Option("--max-connections", "open connections at most; one more closes the connection idle the longest",
           _limit("max_connections", _whole), metavar="N", shown="the open-files limit less an eighth, at most 4096"),
    Option("--store", "where the world lives: memory (this process's), or a Redis URL (redis://HOST:PORT/DB, "
           "rediss://... or unix://PATH; the redis extra) that keeps it across restarts and shares it between "
           "workers and hosts", checked_spec, default=MEMORY, metavar="SPEC"),
    Option("--namespace", "the prefix of the world's keys in Redis, so fakes can share one Redis "
           "(letters, digits, -, _ and .)", checked_namespace, default=DEFAULT_NAMESPACE, metavar="NAME"),
    Option("--workers", f"processes serving the one port (at most {MAX_WORKERS}); more than one needs a Redis "
           "--store", _workers, default=1, metavar="N"),
    Option("--watch", "reload the fixtures file when it changes, keeping the journal; a broken file is reported "
           "and the running world stays", kind="switch", default=False),
    Option("--watch-interval", "how often --watch looks at the file", _interval,
           default=DEFAULT_WATCH_INTERVAL, metavar="SECONDS"),
)

DESCRIPTION = ("Run the fake server. Every option can be set by its PUSHFAKE_* variable; the command line "
               "beats the environment, which beats the fixtures file, which beats the built-in default. "
               "An empty variable counts as unset.")


@dataclass(frozen=True)
class ServeSettings:
    """What `pushfake serve` runs with, every source applied (one field per option)."""

    host: str
    port: int
    fixtures: str | None
    seed: int | None
    admin_token: str | None
    log_level: str
    access_log: bool
    log_format: str
    journal_size: int | None
    journal_bytes: int | None
    retention: dict[str, int]
    header_timeout: float
    body_timeout: float
    max_connections: int | None
    store: str
    namespace: str
    workers: int
    watch: bool
    watch_interval: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The table's flags on `parser`. Each is read as text (None when absent) and parsed by
    `settings`, so a flag and its variable share one parser and one wording of errors."""
    for option in OPTIONS:
        if option.kind == "switch":
            parser.add_argument(option.flag, action=argparse.BooleanOptionalAction, default=None,
                                help=option.help_text())
        elif option.kind == "list":
            parser.add_argument(option.flag, action="append", metavar=option.metavar, help=option.help_text())
        else:
            parser.add_argument(option.flag, metavar=option.metavar, help=option.help_text())


def settings(args: argparse.Namespace, environ: Mapping[str, str] | None = None, *,
             stdout_is_terminal: bool | None = None) -> ServeSettings:
    """The settings `args` and `environ` (default `os.environ`) give; OptionError naming the flag
    or variable of the first wrong value."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in OPTIONS:
        values[option.dest] = _value(option, getattr(args, option.dest), environ.get(option.env, ""))
    if values["access_log"] is None:
        values["access_log"] = os.isatty(1) if stdout_is_terminal is None else stdout_is_terminal
    if values["watch"] and values["fixtures"] is None:
        source = "--watch" if args.watch else "PUSHFAKE_WATCH"
        raise OptionError(source, "needs a fixtures file to watch (--fixtures or PUSHFAKE_FIXTURES)")
    workers = "--workers" if args.workers is not None else "PUSHFAKE_WORKERS"
    if values["workers"] > 1 and values["store"] == MEMORY:
        raise OptionError(workers, f"{values['workers']} needs a store the workers share, and the memory store is "
                                   f"one process's own: use --store redis://HOST:PORT/DB")
    if values["workers"] > 1 and values["watch"]:
        raise OptionError(workers, f"{values['workers']} cannot go with --watch, which reloads the world in one "
                                   f"process while the others keep the old file's settings: restart the server "
                                   f"after changing the file")
    return ServeSettings(**values)


def _value(option: Option, given: Any, variable: str) -> Any:
    """The option's value: the flag's, else the variable's, else the default."""
    if option.kind == "list":  # per item: the command line's over the environment's
        merged: dict[str, Any] = {}
        items = [item for item in variable.split(",") if item.strip()]
        if items:
            merged.update(_parsed(option, option.env, items))
        if given:
            merged.update(_parsed(option, option.flag, given))
        return merged
    if given is not None:
        return given if option.kind == "switch" else _parsed(option, option.flag, given)
    if variable.strip():
        return _parsed(option, option.env, variable, _switch if option.kind == "switch" else None)
    return option.default


def _parsed(option: Option, source: str, raw: Any, parse: Callable[[Any], Any] | None = None) -> Any:
    try:
        return (parse or option.parse)(raw)
    except ValueError as exc:
        raise OptionError(source, str(exc)) from None
