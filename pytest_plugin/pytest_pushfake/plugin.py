"""The pytest hooks and fixtures. Cheap to import: pushfake itself loads inside the fixtures.

Fixtures meant to be overridden in a `conftest.py`: `pushfake_fixtures` (the world),
`pushfake_seed`, `pushfake_faults` (rules in force from the start) and `pushfake_clock` (when
the clock starts). `@pytest.mark.pushfake(fixtures=, seed=, faults=, clock=)` changes them for
one test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_pushfake.handle import Pushfake
    from pytest_pushfake.inprocess import InProcessPool
    from pytest_pushfake.live import LiveServer

_HANDLES = pytest.StashKey[list["Pushfake"]]()
_DEFAULT_TIMEOUT = 5.0

MARKER = ("pushfake(fixtures=None, seed=None, faults=None, clock=None): the pushfake world for this test: "
          "a fixtures file (a path from the rootdir) or document (a dict), the seed, fault rules in force "
          "from the start, and when the clock starts (epoch seconds or ISO 8601)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pushfake", "pushfake (a fake of the Leanplum and D·engage push APIs)")
    group.addoption("--pushfake-fixtures", metavar="PATH", default=None,
                    help="fixtures file the fakes start from (default: the pushfake_fixtures ini value, "
                         "else pushfake's default world)")
    group.addoption("--pushfake-seed", metavar="N", type=int, default=None,
                    help="seed of every random draw in the fakes (default: the pushfake_seed ini value, else 0)")
    group.addoption("--pushfake-timeout", metavar="SECONDS", type=float, default=None,
                    help=f"how long pushfake_server's assertions wait for what they expect "
                         f"(default {_DEFAULT_TIMEOUT:g})")
    group.addoption("--pushfake-store", metavar="URL", default=None,
                    help="where pushfake_server keeps its world: memory, or a Redis URL (redis://HOST:PORT/DB; "
                         "the redis extra), in a namespace of the session's own, emptied at its end "
                         "(default: the pushfake_store ini value, else memory)")
    parser.addini("pushfake_fixtures", "fixtures file the fakes start from (a path from the rootdir)", default="")
    parser.addini("pushfake_seed", "seed of every random draw in the fakes", default="0")
    parser.addini("pushfake_store", "where pushfake_server keeps its world: memory or a Redis URL", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    fixtures = config.getoption("pushfake_fixtures") or config.getini("pushfake_fixtures")
    if fixtures and not (config.rootpath / fixtures).is_file():  # once, not in every test
        raise pytest.UsageError(f"pushfake fixtures: no file at {config.rootpath / fixtures}")
    _ini_seed(config)
    _store(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A failure inside a fake (a bug in pushfake, not a fault asked for) fails the test that
    caused it, with the fake's traceback, instead of a 500 the test may not look at."""
    handles = item.stash.get(_HANDLES, [])
    try:
        result = yield
    except BaseException as exc:  # the test failed already: add what broke inside the fake
        for handle in handles:
            for failure in _quietly(handle.failures):
                exc.add_note(f"pushfake failed inside, in {failure['where']}:\n{failure['traceback']}")
        raise
    for handle in handles:
        failures = handle.failures()
        if failures:  # the fake's traceback is what matters, not this hook's
            from pushfake import FakeFailure

            pytest.fail(str(FakeFailure(failures[0])), pytrace=False)
    return result


def _quietly(read: Any) -> list[Any]:
    try:
        return list(read())
    except Exception:  # noqa: BLE001 - the fake is beyond asking (the test's own error says more)
        return []


# --- small fixtures to override ---------------------------------------------------------------------
@pytest.fixture
def pushfake_fixtures(pytestconfig: pytest.Config) -> Any:
    """The fixtures file (a path from the rootdir) or document (a dict) tests start from; None is
    pushfake's default world."""
    return pytestconfig.getoption("pushfake_fixtures") or pytestconfig.getini("pushfake_fixtures") or None


@pytest.fixture
def pushfake_seed(pytestconfig: pytest.Config) -> int:
    option = pytestconfig.getoption("pushfake_seed")
    return int(option) if option is not None else _ini_seed(pytestconfig)


def _store(config: pytest.Config) -> str:
    """The live server's store spec, checked (a wrong one is a usage error, once)."""
    spec = config.getoption("pushfake_store") or config.getini("pushfake_store") or "memory"
    if spec == "memory":
        return spec
    from pushfake.core.stores import checked_spec

    try:
        return checked_spec(spec)
    except ValueError as exc:
        raise pytest.UsageError(f"pushfake store {exc}") from None


def _ini_seed(config: pytest.Config) -> int:
    value = config.getini("pushfake_seed")
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"pushfake_seed ini value: a whole number, not {value!r}") from None


@pytest.fixture
def pushfake_faults() -> list[dict[str, Any]]:
    """Fault rules in force when each test starts (none by default)."""
    return []


@pytest.fixture
def pushfake_clock() -> Any:
    """When the clock starts (epoch seconds, ISO 8601 or an aware datetime). None: 2026-01-01T00:00Z
    in process, real time on the live server."""
    return None


# --- the fakes ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _pushfake_pool() -> Iterator[InProcessPool]:
    _require_extra("the `pushfake` fixture", "respx")  # routes httpx into the fake
    from pytest_pushfake.inprocess import InProcessPool

    pool = InProcessPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def _pushfake_live(pytestconfig: pytest.Config) -> Iterator[LiveServer]:
    from pushfake.core.stores import StoreUnreachable
    from pushfake.extras import MissingExtra
    from pytest_pushfake.live import LiveServer

    try:
        server = LiveServer(timeout=_timeout(pytestconfig), store=_store(pytestconfig))
    except (MissingExtra, StoreUnreachable) as exc:
        message = str(exc)
    else:
        message = ""
    if message:  # outside the `except`: no chained exception to show
        pytest.fail(f"pushfake_server: {message}", pytrace=False)
    yield server
    server.close()


@pytest.fixture
def pushfake(request: pytest.FixtureRequest, _pushfake_pool: InProcessPool, pushfake_fixtures: Any,
             pushfake_seed: Any, pushfake_faults: Any, pushfake_clock: Any) -> Iterator[Pushfake]:
    """An in-process fake with fresh state, a virtual clock and a fixed seed. httpx requests to
    api.leanplum.com, www.leanplum.com, api.dengage.com and *-api.dengage.com reach it."""
    handle, close = _pushfake_pool.open(_settings(request, pushfake_fixtures, pushfake_seed, pushfake_faults,
                                                  pushfake_clock))
    handle.timeout = _timeout(request.config)
    request.node.stash.setdefault(_HANDLES, []).append(handle)
    try:
        yield handle
    finally:
        close()


@pytest.fixture
def pushfake_server(request: pytest.FixtureRequest, _pushfake_live: LiveServer, pushfake_fixtures: Any,
                    pushfake_seed: Any, pushfake_faults: Any, pushfake_clock: Any) -> Pushfake:
    """A live pushfake server on a loopback port (one per session and xdist worker), reset for
    this test: `url`, `leanplum_url` and `dengage_url` serve any client (requests, subprocesses,
    Node SDKs)."""
    handle = _pushfake_live.open(_settings(request, pushfake_fixtures, pushfake_seed, pushfake_faults,
                                           pushfake_clock))
    request.node.stash.setdefault(_HANDLES, []).append(handle)
    return handle


def _settings(request: pytest.FixtureRequest, fixtures: Any, seed: Any, faults: Any, clock: Any) -> Any:
    __tracebackhide__ = True
    from pytest_pushfake.settings import settings

    marker = request.node.get_closest_marker("pushfake")
    return settings(fixtures=fixtures, seed=seed, faults=faults, clock=clock,
                    marker=marker.kwargs if marker else None, marker_args=marker.args if marker else (),
                    rootdir=Path(request.config.rootpath))


def _require_extra(feature: str, *modules: str) -> None:
    """pytest may be installed without the `pytest` extra: a fixture that needs it fails in one
    line naming the extra, instead of a traceback ending in `No module named ...`."""
    __tracebackhide__ = True
    from pushfake.extras import MissingExtra, require

    try:
        require("pytest", feature, *modules)
    except MissingExtra as missing:
        message = str(missing)
    else:
        return
    pytest.fail(message, pytrace=False)  # outside the `except`: no chained exception to show


def _timeout(config: pytest.Config) -> float:
    value = config.getoption("pushfake_timeout")
    return _DEFAULT_TIMEOUT if value is None else float(value)
