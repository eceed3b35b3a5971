"""Normalising loose wire values, driven by the spec.

A spec schema component that carries `x-pushfake-coerce: <kind>` says how a value that
passed it is normalised (e.g. "true" -> True, "12" -> 12, JSON text -> object). `coercers_for`
walks an operation's parameter schema once and returns {parameter: function}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pushfake.core.spec import ApiSpec

Coercer = Callable[[Any], Any]


class CoercionError(ValueError):
    """A value passed the schema but cannot be normalised (e.g. JSON text that is not JSON)."""


def _boolean(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _number(value: Any) -> float:
    return float(value)


def _integer(value: Any) -> int:
    return int(value)


def _id(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _json(kind: type, label: str) -> Coercer:
    def coerce(value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise CoercionError(f"is not valid JSON ({label} expected)") from None
        if not isinstance(value, kind):
            raise CoercionError(f"must be a JSON {label}")
        return value

    return coerce


def _text(value: Any) -> Any:
    return value


COERCERS: dict[str, Coercer] = {
    "boolean": _boolean,
    "number": _number,
    "integer": _integer,
    "id": _id,
    "json-object": _json(dict, "object"),
    "json-array": _json(list, "array"),
    "text": _text,
}


def coercers_for(spec: ApiSpec, pointer: str) -> dict[str, Coercer]:
    """Every named property reachable from the schema at `pointer`, with its coercer."""
    found: dict[str, Coercer] = {}
    _collect(spec, spec.resolve(pointer), found, depth=0)
    return found


def _collect(spec: ApiSpec, schema: Any, found: dict[str, Coercer], depth: int) -> None:
    if not isinstance(schema, dict) or depth > 20:
        return
    if "$ref" in schema:
        _collect(spec, spec.resolve(schema["$ref"]), found, depth + 1)
    for part in schema.get("allOf", ()):
        _collect(spec, part, found, depth + 1)
    for name, prop in schema.get("properties", {}).items():
        kind = _coerce_kind(spec, prop)
        if kind is not None:
            found[name] = COERCERS[kind]


def _coerce_kind(spec: ApiSpec, prop: Any) -> str | None:
    while isinstance(prop, dict):
        if "x-pushfake-coerce" in prop:
            return prop["x-pushfake-coerce"]
        if "$ref" not in prop:
            return None
        prop = spec.resolve(prop["$ref"])
    return None


def coerce_params(params: dict[str, Any], coercers: dict[str, Coercer]) -> dict[str, Any]:
    """A copy of `params` with nulls dropped and every known parameter normalised.

    Raises `CoercionError` with the parameter name as `args[0]`'s prefix on failure.
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        coerce = coercers.get(key)
        if coerce is None:
            out[key] = value
            continue
        try:
            out[key] = coerce(value)
        except CoercionError as exc:
            raise CoercionError(f"'{key}' {exc}") from None
    return out
