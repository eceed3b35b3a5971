"""`pushfake serve`'s options: each has a PUSHFAKE_* variable and a help text naming it and its
default; the command line beats the environment, which beats the built-in default; a wrong
value from either is one line naming where it came from."""

from __future__ import annotations

import argparse

import pytest

from pushfake.cli import main
from pushfake.serve.options import OPTIONS, ServeSettings, add_arguments, settings

UNBINDABLE = "192.0.2.1"  # TEST-NET-1, no machine's own: had a wrong value passed, binding fails at once


def chosen(*argv: str, env: dict[str, str] | None = None, terminal: bool = False) -> ServeSettings:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return settings(parser.parse_args(argv), env or {}, stdout_is_terminal=terminal)


def test_help_names_every_variable_and_default(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    for option in OPTIONS:
        assert f"(env {option.env}, default " in text, option.flag
    assert "(env PUSHFAKE_PORT, default 8080)" in text
    assert "(env PUSHFAKE_ACCESS_LOG, default on when stdout is a terminal, else off)" in text
    assert {o.env for o in OPTIONS} >= {
        "PUSHFAKE_HOST", "PUSHFAKE_PORT", "PUSHFAKE_FIXTURES", "PUSHFAKE_SEED", "PUSHFAKE_ADMIN_TOKEN",
        "PUSHFAKE_LOG_LEVEL", "PUSHFAKE_ACCESS_LOG", "PUSHFAKE_LOG_FORMAT", "PUSHFAKE_JOURNAL_SIZE",
        "PUSHFAKE_JOURNAL_BYTES", "PUSHFAKE_RETENTION", "PUSHFAKE_HEADER_TIMEOUT", "PUSHFAKE_BODY_TIMEOUT",
        "PUSHFAKE_MAX_CONNECTIONS", "PUSHFAKE_WATCH"}


def test_every_option_is_a_setting():
    assert [o.dest for o in OPTIONS] == list(ServeSettings.__dataclass_fields__)


def test_the_other_commands_options_have_help(capsys):
    for command in (["spec", "--help"], ["check-fixtures", "--help"]):
        with pytest.raises(SystemExit):
            main(command)
    text = " ".join(capsys.readouterr().out.split())
    assert "whose spec: leanplum or dengage (default leanplum)" in text
    assert "path the fixtures file (YAML or JSON) to read and check" in text


def test_defaults_without_flags_or_variables():
    got = chosen()
    assert (got.host, got.port, got.seed, got.fixtures, got.admin_token) == ("127.0.0.1", 8080, None, None, None)
    assert (got.log_level, got.log_format, got.access_log, got.watch) == ("warning", "text", False, False)
    assert (got.header_timeout, got.body_timeout, got.retention) == (10.0, 60.0, {})
    assert chosen(terminal=True).access_log is True, "on by default when stdout is a terminal"


def test_variables_set_every_kind_of_option():
    got = chosen(env={"PUSHFAKE_PORT": "9090", "PUSHFAKE_SEED": "7", "PUSHFAKE_ACCESS_LOG": "yes",
                      "PUSHFAKE_LOG_FORMAT": "JSON", "PUSHFAKE_RETENTION": "deliveries=5, tokens=7",
                      "PUSHFAKE_HEADER_TIMEOUT": "2.5", "PUSHFAKE_WATCH": "1", "PUSHFAKE_FIXTURES": "w.yaml",
                      "PUSHFAKE_ADMIN_TOKEN": "s3cret", "PUSHFAKE_HOST": ""})
    assert (got.port, got.seed, got.access_log, got.log_format) == (9090, 7, True, "json")
    assert (got.retention, got.header_timeout, got.watch, got.fixtures) == ({"deliveries": 5, "tokens": 7}, 2.5,
                                                                             True, "w.yaml")
    assert (got.admin_token, got.host) == ("s3cret", "127.0.0.1"), "an empty variable counts as unset"


def test_the_command_line_beats_the_environment():
    env = {"PUSHFAKE_PORT": "9090", "PUSHFAKE_ACCESS_LOG": "1", "PUSHFAKE_RETENTION": "deliveries=5,tokens=7"}
    got = chosen("--port", "0", "--no-access-log", "--retention", "deliveries=9", env=env)
    assert (got.port, got.access_log) == (0, False)
    assert got.retention == {"deliveries": 9, "tokens": 7}, "per kind, as the fixtures' retention merges"


@pytest.mark.parametrize(("env", "says"), [
    ({"PUSHFAKE_PORT": "eighty"}, "PUSHFAKE_PORT must be a whole number, not 'eighty'"),
    ({"PUSHFAKE_PORT": "70000"}, "PUSHFAKE_PORT must be a port number from 0 to 65535, not 70000"),
    ({"PUSHFAKE_JOURNAL_SIZE": "0"}, "PUSHFAKE_JOURNAL_SIZE must be >= 1, not 0"),
    ({"PUSHFAKE_ACCESS_LOG": "maybe"}, "PUSHFAKE_ACCESS_LOG must be one of 1, true, yes, on, 0, false, no, off"),
    ({"PUSHFAKE_LOG_FORMAT": "xml"}, "PUSHFAKE_LOG_FORMAT must be one of text, json, not 'xml'"),
    ({"PUSHFAKE_RETENTION": "users=5"}, "PUSHFAKE_RETENTION is refused: retention: no kind 'users'"),
    ({"PUSHFAKE_RETENTION": "deliveries"}, "PUSHFAKE_RETENTION takes KIND=N, not 'deliveries'"),
    ({"PUSHFAKE_HEADER_TIMEOUT": "0"}, "PUSHFAKE_HEADER_TIMEOUT is refused: header_timeout is a number of seconds"),
    ({"PUSHFAKE_MAX_CONNECTIONS": "-1"}, "PUSHFAKE_MAX_CONNECTIONS is refused: max_connections is a whole number"),
    ({"PUSHFAKE_WATCH": "1"}, "PUSHFAKE_WATCH needs a fixtures file to watch (--fixtures or PUSHFAKE_FIXTURES)"),
])
def test_a_wrong_variable_is_one_line_naming_it(monkeypatch, capsys, env, says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--host", UNBINDABLE]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pushfake: {says}") and err.count("\n") == 1, err


@pytest.mark.parametrize(("args", "says"), [
    (["--port", "x"], "--port must be a whole number, not 'x'"),
    (["--log-level", "loud"], "--log-level must be one of critical, error, warning, info, debug, not 'loud'"),
    (["--watch"], "--watch needs a fixtures file to watch"),
    (["--admin-token", " "], "--admin-token must not be empty"),
    (["--watch-interval", "0"], "--watch-interval must be above 0 and at most 60 seconds, not 0"),
])
def test_a_wrong_flag_is_one_line_naming_it(capsys, args, says):
    assert main(["serve", "--host", UNBINDABLE, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pushfake: {says}") and err.count("\n") == 1, err
