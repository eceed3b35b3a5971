"""The fake as a whole: health, stats, reset, the fixtures it runs on, its gateway settings,
and the failures inside it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pushfake.control.requests import body_bytes, json_body, moment, parsed
from pushfake.core.admin import AdminError
from pushfake.core.fixtures import FixtureError, check_fixtures, check_part, parse_fixtures
from pushfake.fake import Fake
from pushfake.version import __version__

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


async def health(fake: Fake, request: Request) -> Any:
    return {"status": "ok", "version": __version__, "seed": fake.seed, "now": fake.clock.now(),
            "fixtures": fake.fixtures_label}


async def stats(fake: Fake, request: Request) -> Any:
    return fake.stats()


def _one_process(fake: Fake, what: str, option: str) -> None:
    """The fixtures and the seed are each process's configuration: with several workers, one
    changing them would leave the others serving the old ones, so that is refused (409)."""
    if fake.workers > 1:
        raise AdminError(409, f"{what} cannot change while {fake.workers} workers serve this world "
                              f"(each holds its own): restart pushfake serve with {option}")


async def reset(fake: Fake, request: Request) -> Any:
    body = await json_body(request, "reset", required=False)
    if body.get("seed") is not None and body.get("seed") != fake.seed:
        _one_process(fake, "the seed", "--seed")
    now = moment(body["now"], fake.clock.now()) if "now" in body else None
    fake.reset(keep_config=bool(body.get("keepConfig", False)), seed=body.get("seed"),
               restart_clock=bool(body.get("restartClock", False)), now=now)
    return {"ok": True}


async def list_failures(fake: Fake, request: Request) -> Any:
    return {"failures": [f.to_dict() for f in fake.failures.list()]}


async def clear_failures(fake: Fake, request: Request) -> Any:
    fake.failures.clear()
    return {"ok": True}


async def load_fixtures(fake: Fake, request: Request) -> Any:
    """A whole fixtures document, JSON or (by its content type) YAML, in place of the world."""
    _one_process(fake, "the fixtures", "--fixtures")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = (await body_bytes(request)).decode("utf-8", errors="replace")
    try:
        if media in YAML_TYPES:
            document = parse_fixtures("fixtures", raw)
        else:
            document = check_fixtures("fixtures", parsed(raw, "the body (send YAML as application/yaml)"))
        fake.load_fixtures(document, label="fixtures (control plane)")
    except FixtureError as exc:
        raise AdminError(400, str(exc)) from None
    return {"ok": True}


async def get_gateway(fake: Fake, request: Request) -> Any:
    return fake.gateway.section


async def set_gateway(fake: Fake, request: Request) -> Any:
    body = await json_body(request, "setGateway")
    try:
        try:
            check_part("gateway", body)  # the fixtures schema first: types and bounds, then the gateway's rules
        except ValueError as exc:
            raise ValueError(f".{exc}" if not str(exc).startswith("body") else str(exc)[4:]) from None
        fake.gateway.replace_settings(body)
    except ValueError as exc:
        raise AdminError(400, f"gateway{exc}" if str(exc).startswith((".", ":")) else f"gateway: {exc}") from None
    return {"ok": True}
