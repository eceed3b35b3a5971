"""Normalising loose wire values, driven by the spec.

A spec schema component that carries `x-pushfake-coerce: <kind>` says how a value that
passed it is normalised (e.g. "true" -> True, "12" -> 12, "1001.0" -> 1001, JSON text ->
object). `coercers_for` walks an operation's parameter schema once and returns
{parameter: function}.

A coercer never lets Python's wording out: a value it cannot normalise (a number past what a
float holds, JSON text nested too deep) raises `CoercionError` with the parameter's name and
what is wrong in plain words, which the vendor puts into its own error style. JSON text is read
with `core.decoding.parse_json`, the one reader for anything a client sends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pushfake.core.decoding import JsonProblem, parse_json
from pushfake.core.spec import ApiSpec

Coercer = Callable[[Any], Any]

class CoercionError(ValueError):
    """A value passed the schema but cannot be normalised. `name` is the parameter (set by
    `coerce_params`), `detail` what is wrong in plain words ("must be a number")."""

    def __init__(self, detail: str, name: str = "") -> None:
        super().__init__(f"'{name}' {detail}" if name else detail)
        self.name = name
        self.detail = detail


def _boolean(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise CoercionError("must be a number") from None
    if not math.isfinite(number):
        raise CoercionError("is out of range")
    return number


def _whole(value: Any) -> int:
    """An integer from an int, a float with no fraction (1001.0) or digits with an optional
    fraction of zeros ("-18000.0"): whatever a client's number type wrote for a whole number."""
    if isinstance(value, bool):
        raise CoercionError("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise CoercionError("must be a whole number")
        return int(value)
    text = str(value).strip()
    whole, _, fraction = text.partition(".")
    if fraction.strip("0") or len(whole.lstrip("-")) > 19:
        raise CoercionError("must be a whole number")
    try:
        return int(whole)
    except ValueError:
        raise CoercionError("must be a whole number") from None


def _integer_text(value: Any) -> str:
    """A numeric id (a message id) as the decimal text of the whole number it is."""
    return str(_whole(value))


def _id(value: Any) -> str:
    """A user or device id: text as sent; a number as its decimal text (123 and 123.0 alike)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def _json(kind: type, label: str) -> Coercer:
    def coerce(value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = parse_json(value)
            except JsonProblem as exc:
                raise CoercionError(f"is not JSON text of {label}" if exc.key == "body-not-json" else exc.plain) from None
        if not isinstance(value, kind):
            raise CoercionError(f"must be {label} (or the JSON text of one)")
        return value

    return coerce


def _text(value: Any) -> Any:
    return value


COERCERS: dict[str, Coercer] = {
    "boolean": _boolean,
    "number": _number,
    "integer": _whole,
    "integer-text": _integer_text,
    "id": _id,
    "json-object": _json(dict, "an object"),
    "json-array": _json(list, "a list"),
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


def without_nulls(params: dict[str, Any]) -> dict[str, Any]:
    """`params` without the parameters sent as null: clients serialise an absent optional as null."""
    return {key: value for key, value in params.items() if value is not None}


def coerce_params(params: dict[str, Any], coercers: dict[str, Coercer]) -> tuple[dict[str, Any], CoercionError | None]:
    """A copy of `params` with nulls dropped and every known parameter normalised, and the first
    failure (naming its parameter), if any. A value that cannot be normalised stays as sent, so
    the rest can still be read."""
    out: dict[str, Any] = {}
    failure: CoercionError | None = None
    for key, value in without_nulls(params).items():
        coerce = coercers.get(key)
        try:
            out[key] = coerce(value) if coerce is not None else value
        except CoercionError as exc:
            out[key] = value
            failure = failure or CoercionError(exc.detail, key)
    return out, failure
