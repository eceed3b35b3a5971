"""The action table, derived from the Leanplum OpenAPI document.

Which actions exist and which schema validates each comes from the spec: every path with
`x-pushfake-action` (its POST JSON body schema) and every entry of the batch item's
`x-pushfake-item-actions`. The handlers are a literal table in `actions`; start-up fails if
the two disagree, so the spec and the fake cannot drift apart silently.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pushfake.core.coercion import Coercer, coerce_params, coercers_for, without_nulls
from pushfake.core.spec import ApiSpec, SchemaValidator
from pushfake.leanplum import errors
from pushfake.leanplum.actions import HANDLERS, Handler
from pushfake.leanplum.errors import LeanplumError

MULTI = "multi"


@dataclass(frozen=True, slots=True)
class Prepared:
    """An action's parameters as read: each value coerced as the spec says where it can be (one
    that cannot stays as sent), and the refusal, if they are not acceptable."""

    params: dict[str, Any]
    refusal: LeanplumError | None


@dataclass(frozen=True)
class ActionEntry:
    name: str
    validator: SchemaValidator
    coercers: dict[str, Coercer]
    handler: Handler | None  # None for `multi`, which the service runs itself

    def prepare(self, params: dict[str, Any], *, in_batch: bool = False) -> dict[str, Any]:
        """`read`, raising its refusal (400, or 404 for a batch item naming no user)."""
        prepared = self.read(params, in_batch=in_batch)
        if prepared.refusal is not None:
            raise prepared.refusal
        return prepared.params

    def read(self, params: dict[str, Any], *, in_batch: bool = False) -> Prepared:
        """Validate raw `params` against the spec and normalise them; never raises.

        A parameter sent as null counts as not sent (clients serialise absent optionals that
        way). JSON text (an object or array sent as a string) is checked again once decoded: it
        must satisfy the same schema as the structured form (e.g. every batch item is an object).
        Every value is coerced even when another is refused, so what a refused request was about
        (a batch's items) can still be told. `in_batch`: the parameters are a `multi` item, merged
        with the batch's own.
        """
        params = without_nulls(params)
        coerced, failure = coerce_params(params, self.coercers)
        refusal = self._problem(params, in_batch)
        if refusal is None and failure is not None:
            refusal = LeanplumError(400, errors.invalid_value(failure.name, failure.detail))
        if refusal is None and any(isinstance(params.get(k), str) and isinstance(v, (dict, list))
                                   for k, v in coerced.items()):
            refusal = self._problem(coerced, in_batch)
        return Prepared(coerced, refusal)

    def _problem(self, params: dict[str, Any], in_batch: bool) -> LeanplumError | None:
        if self.validator.is_valid(params):
            return None
        problem = self.validator.problem(params)
        if problem is None:
            return None
        if problem.custom_message == errors.USER_OR_DEVICE_REQUIRED and in_batch:
            return LeanplumError(404, errors.INVALID_APP_USER)
        if problem.custom_message:
            return LeanplumError(400, problem.custom_message)
        if problem.kind == "missing":
            return LeanplumError(400, errors.must_be_provided(problem.location))
        return LeanplumError(400, errors.invalid_value(problem.location, problem.plain or "is not valid here"))


class ActionTable:
    def __init__(self, spec: ApiSpec) -> None:
        pointers = _action_schemas(spec)
        expected = set(HANDLERS) | {MULTI}
        if set(pointers) != expected:
            raise RuntimeError(
                f"{spec.name} and the Leanplum handlers disagree: only in the spec "
                f"{sorted(set(pointers) - expected)}, only in the code {sorted(expected - set(pointers))}"
            )
        self._entries = {
            name: ActionEntry(name, spec.validator(ptr), coercers_for(spec, ptr), HANDLERS.get(name))
            for name, ptr in pointers.items()
        }

    def get(self, action: Any) -> ActionEntry:
        if action is None or action == "":
            raise LeanplumError(400, errors.must_be_provided("action"))
        entry = self._entries.get(action) if isinstance(action, str) else None
        if entry is None:
            raise LeanplumError(400, errors.unknown_action(str(action)))
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)


@functools.cache
def _shipped_table() -> ActionTable:
    return ActionTable(ApiSpec.of("leanplum"))


def as_read(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` of `action` as the fake reads them, which is what its journal records: each value
    coerced as the spec says (a `messageId` sent as the number 3001 is read as the text '3001').
    A value that cannot be coerced, or an unknown action's, stays as given."""
    try:
        entry = _shipped_table().get(action)
    except LeanplumError:
        return params
    return coerce_params(params, entry.coercers)[0]


def _action_schemas(spec: ApiSpec) -> dict[str, str]:
    found: dict[str, str] = {}
    item_actions: dict[str, str] = {}
    for path in spec.document["paths"].values():
        action = path.get("x-pushfake-action")
        if action is None:
            continue
        schema = path["post"]["requestBody"]["content"]["application/json"]["schema"]
        found[action] = schema["$ref"]
    for name, schema in spec.document["components"]["schemas"].items():
        item_actions.update(schema.get("x-pushfake-item-actions", {}))
    for name, pointer in item_actions.items():
        found.setdefault(name, pointer)
    return found
