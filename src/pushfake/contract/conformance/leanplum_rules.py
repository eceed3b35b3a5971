"""What openapi/leanplum.yaml says beyond JSON Schema, read from the document itself (not through
the fake's code), and the two checks narrowed by it.

`rules()` reads the document on first use and keeps what it derives: the actions and their
parameter schemas, which parameters hold JSON text (`format: json-object` / `json-array`), a
validator per batch item action and per parameter, each built once.

Narrowed checks:

- Positive data acceptance, for requests that break a rule of the spec JSON Schema cannot
  enforce, so that a JSON Schema validator (Schemathesis's included) passes them though they are
  invalid: a `format: json-object` / `json-array` string that is not JSON text of that type
  (`format` is an annotation in JSON Schema 2020-12 and Schemathesis cannot assert a custom one),
  and a batch item that, merged with the top-level parameters, does not satisfy the schema its
  action names in `x-pushfake-item-actions` (the merge with the enclosing object cannot be written
  in JSON Schema, so `MultiItem` only requires `action`). Such a request must be rejected instead.
- Negative data rejection, for requests that carry their parameters as text (the query string of
  a GET, a urlencoded or multipart body) and whose violation does not survive serialization: the
  integer -2^53, sent as the text "-9007199254740992", is a valid `userId`. Schemathesis re-checks
  such values as they travel, but not inside a form-exploded object parameter (`params`), so here
  the wrapper reads the parameters back from the request actually sent and lets a request pass
  only if that wire form satisfies the operation's schema (and the JSON-text rules above). A
  repeated key counts with its last value, as pushfake reads it; the spec does not say.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
from schemathesis.specs.openapi.checks import (
    expand_status_codes,
    negative_data_rejection,
    positive_data_acceptance,
)

from pushfake.contract import wire
from pushfake.contract.spec import document

TEXT_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class LeanplumRules:
    """The Leanplum document's actions, parameter schemas and JSON-text rules, with validators."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.document = doc
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}
        self.path_actions: dict[str, str] = {  # action -> its parameters' schema
            path["x-pushfake-action"]: path["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            for path in doc["paths"].values()
            if "x-pushfake-action" in path
        }
        self.item_actions: dict[str, str] = dict(doc["components"]["schemas"]["MultiItem"]["x-pushfake-item-actions"])
        self.json_text: dict[str, dict[str, type]] = {
            action: {name: kind for name, prop in self._properties({"$ref": pointer})
                     if (kind := self._json_text_kind(prop))}
            for action, pointer in {**self.item_actions, **self.path_actions}.items()
        }
        self.item_validators = {action: self.validator({"$ref": pointer})
                                for action, pointer in self.item_actions.items()}
        self.property_validators: dict[str, dict[str, list[jsonschema.Draft202012Validator]]] = {}
        for action, pointer in self.path_actions.items():
            for name, prop in self._properties({"$ref": pointer}):
                self.property_validators.setdefault(action, {}).setdefault(name, []).append(self.validator(prop))

    def _deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
        """A validator for `schema` (a node of the document, or a `$ref` into it), built once."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft202012Validator(
                {**schema, "components": self.document["components"]})
        return self._validators[key]

    def _properties(self, schema: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
        """Every (name, schema) of a named property reachable through `$ref` and `allOf`."""
        schema = self._deref(schema)
        if not isinstance(schema, dict) or depth > 20:
            return
        for part in schema.get("allOf", ()):
            yield from self._properties(part, depth + 1)
        yield from schema.get("properties", {}).items()

    def _json_text_kind(self, schema: Any) -> type | None:
        """`dict` / `list` when the property may be JSON text (`format: json-object` / `json-array`)."""
        schema = self._deref(schema)
        if not isinstance(schema, dict):
            return None
        for branch in (schema, *schema.get("anyOf", ())):
            branch = self._deref(branch)
            if isinstance(branch, dict) and branch.get("format") == "json-object":
                return dict
            if isinstance(branch, dict) and branch.get("format") == "json-array":
                return list
        return None

    # --- a generated case, read against the document ---------------------------------------------
    def operation(self, case: Any) -> dict[str, Any] | None:
        """The operation object, or None for a method the path does not declare (a coverage probe)."""
        return self.document["paths"][case.operation.path].get(case.method.lower())

    def action_of(self, case: Any) -> str:
        return self.document["paths"][case.operation.path]["x-pushfake-action"]

    def params_schema(self, case: Any) -> dict[str, Any] | None:
        """The schema of the action's parameters for this case: GET's `params`, or the body's media type."""
        operation = self.operation(case)
        if operation is None:
            return None
        if case.method.upper() == "GET":
            return next(self._deref(p)["schema"] for p in operation["parameters"] if self._deref(p)["name"] == "params")
        content = operation["requestBody"]["content"].get(case.media_type or "")
        return content["schema"] if content else None

    def action_constant(self, case: Any) -> str:
        operation = self.operation(case) or {}
        action = next(self._deref(p) for p in operation["parameters"] if self._deref(p)["name"] == "action")
        return action["schema"]["const"]

    def params(self, case: Any) -> dict[str, Any] | None:
        """The action's parameters as the server reads them, or None when the body is not an object."""
        if self.operation(case) is None:
            return None
        if case.method.upper() == "GET":
            source = {k: v for k, v in case.query.items() if k != "action"}
        elif isinstance(case.body, dict):
            source = case.body
        else:
            return None
        as_text = case.method.upper() == "GET" or case.media_type in TEXT_MEDIA_TYPES
        return {k: _text(v) for k, v in source.items()} if as_text else dict(source)

    # --- the rules JSON Schema cannot enforce ----------------------------------------------------
    def _json_text_problem(self, action: str, params: dict[str, Any], where: str = "") -> str | None:
        for name, kind in self.json_text.get(action, {}).items():
            value = params.get(name)
            if not isinstance(value, str):
                continue
            try:
                decoded = json.loads(value)
            except ValueError:
                return f"{where}{name!r} is not JSON text"
            if not isinstance(decoded, kind):
                return f"{where}{name!r} is JSON text of the wrong type"
        return None

    def beyond_json_schema(self, case: Any) -> str | None:
        """How the case breaks a rule of the spec that JSON Schema cannot enforce, or None."""
        params = self.params(case)
        return None if params is None else self.params_beyond_json_schema(self.action_of(case), params)

    def params_beyond_json_schema(self, action: str, params: dict[str, Any]) -> str | None:
        problem = self._json_text_problem(action, params)
        if problem is not None or action != "multi" or "data" not in params:
            return problem
        items = json.loads(params["data"]) if isinstance(params["data"], str) else params["data"]
        if not isinstance(items, list):
            return None
        context = {k: v for k, v in params.items() if k not in ("action", "data")}
        for index, item in enumerate(items):
            where = f"data[{index}]: "
            if not isinstance(item, dict):
                return f"{where}not an object"
            merged = {**context, **item}
            name = merged.get("action")
            if name not in self.item_validators:
                return f"{where}unknown action {name!r}"
            if not self.item_validators[name].is_valid(merged):
                return f"{where}does not satisfy {self.item_actions[name]}"
            problem = self._json_text_problem(name, merged, where)
            if problem is not None:
                return problem
        return None


@functools.cache
def rules() -> LeanplumRules:
    """The rules of the shipped Leanplum document, read when first asked for."""
    return LeanplumRules(document("leanplum"))


def _text(value: Any) -> Any:
    """A value as a query string or form carries it: text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _sent_params(case: Any, response: Any) -> tuple[dict[str, str], dict[str, Any]] | None:
    """(query, parameters) read back from the request actually sent, for text carriers; None otherwise.

    A repeated key (how an array travels in a query string or form) counts with its last value,
    as pushfake reads them (`pushfake.core.decoding`); the spec itself does not say.
    """
    request = response.request
    query = wire.query(request)
    if case.method.upper() == "GET":
        return query, {k: v for k, v in query.items() if k != "action"}
    if case.media_type not in TEXT_MEDIA_TYPES:
        return None
    try:
        fields = wire.body(request)
    except wire.Unreadable:
        return None
    return (query, fields) if isinstance(fields, dict) else None


# --- the narrowed checks -----------------------------------------------------------------------------
def positive_data_acceptance_beyond_json_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """The built-in positive data acceptance, except for requests that break a rule JSON Schema
    cannot enforce (see the module doc): those are invalid, so they must be rejected instead."""
    meta = case.meta
    problem = rules().beyond_json_schema(case) if meta is not None and meta.generation.mode.is_positive else None
    if problem is None:
        return positive_data_acceptance(ctx, response, case)
    rejected = expand_status_codes(ctx.config.negative_data_rejection.expected_statuses or [])
    assert response.status_code in rejected, (
        f"Invalid data (a rule JSON Schema cannot express: {problem}) should have been rejected, "
        f"got {response.status_code}: {response.text[:300]}"
    )
    return None


def negative_data_rejection_on_the_wire(ctx: Any, response: Any, case: Any) -> bool | None:
    """The built-in negative data rejection, except for a text-carried request whose violation did not
    survive serialization (see the module doc): read back from the wire, it is valid."""
    meta = case.meta
    rejected = expand_status_codes(ctx.config.negative_data_rejection.expected_statuses or [])
    if meta is not None and meta.generation.mode.is_negative and response.status_code not in rejected:
        spec = rules()
        sent = _sent_params(case, response)
        schema = spec.params_schema(case)
        if (
            sent is not None
            and schema is not None
            and sent[0].get("action") == spec.action_constant(case)
            and spec.validator(schema).is_valid(sent[1])
            and spec.params_beyond_json_schema(spec.action_of(case), sent[1]) is None
        ):
            return None
    return negative_data_rejection(ctx, response, case)


def narrowed_checks() -> dict[str, list[Any]]:
    """The built-in checks left out, and the narrowed ones run in their place."""
    return {
        "excluded": [positive_data_acceptance, negative_data_rejection],
        "additional": [positive_data_acceptance_beyond_json_schema, negative_data_rejection_on_the_wire],
    }
