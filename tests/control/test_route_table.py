"""The control plane's route table and `openapi/control.yaml` agree: every operation has
exactly one handler (or is served by a named other module), every handler an operation, and
an app whose table and spec disagree does not start."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Match, Route

from pushfake import Fake, create_app
from pushfake.control import routes
from pushfake.control.handlers import world
from pushfake.core.spec import ApiSpec

SPEC = ApiSpec.of("control")
OPERATIONS = [(path, method, op["operationId"]) for path, method, op in SPEC.operations()]


def test_each_operation_has_one_handler_and_each_handler_an_operation() -> None:
    ids = [operation_id for _, _, operation_id in OPERATIONS]
    assert len(ids) == len(set(ids)), "an operationId is used twice in control.yaml"
    assert not set(routes.HANDLERS) & set(routes.SERVED_ELSEWHERE)
    assert set(routes.HANDLERS) | set(routes.SERVED_ELSEWHERE) == set(ids)


def test_each_operation_reaches_a_route_of_the_app_and_each_route_is_an_operation() -> None:
    app = create_app(Fake(seed=1))
    for path, method, operation_id in OPERATIONS:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        scope = {"type": "http", "path": concrete, "method": method, "root_path": ""}
        assert any(r.matches(scope)[0] == Match.FULL for r in app.routes), f"{operation_id}: {method} {path} is not routed"
    served = {(r.path, m) for r in app.routes if isinstance(r, Route) and r.path.startswith("/_pushfake")
              for m in r.methods or () if m != "HEAD"}
    assert served <= {(path, method) for path, method, _ in OPERATIONS}


def test_the_table_follows_the_spec_order_and_methods() -> None:
    served = [(path, method) for path, method, _ in routes.table()]
    assert served == [(path, method) for path, method, operation_id in OPERATIONS
                      if operation_id not in routes.SERVED_ELSEWHERE]


def test_a_handler_without_an_operation_stops_the_app_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(routes.HANDLERS, "noSuchOperation", world.health)
    with pytest.raises(RuntimeError, match="lacks the operations \\['noSuchOperation'\\]"):
        create_app(Fake(seed=1))


def test_an_operation_without_a_handler_stops_the_app_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(routes.HANDLERS, "wait")
    with pytest.raises(RuntimeError, match="no control-plane handler for wait"):
        create_app(Fake(seed=1))
