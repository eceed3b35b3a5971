"""A JSON schema of an OpenAPI document as a reader scans it: a short type text, its limits in
words, and an object's fields (through `allOf` and `$ref`) with whether each is required.

Each outlined node keeps its JSON pointer in the document, so the docs page can put the node's
fidelity mark (`ApiSpec.fidelity_marks`, keyed by pointer) beside it. A `$ref` is followed one
level for a field's type and named otherwise, so recursive schemas (`JsonValue`) stay finite.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

REF_PREFIX = "#/components/schemas/"
_TYPES = {"string": "text", "integer": "whole number", "number": "number", "boolean": "boolean",
          "array": "list", "object": "object", "null": "null"}


def child(pointer: str, *keys: str | int) -> str:
    """The JSON pointer of a node under `pointer` (the escaping `ApiSpec.fidelity_marks` uses)."""
    for key in keys:
        pointer += "/" + str(key).replace("~", "~0").replace("/", "~1")
    return pointer


@dataclass(frozen=True)
class Field:
    """One property of an object schema, as a row of the outline."""

    name: str
    pointer: str  # where it is defined (its mark, if any, is at this pointer)
    type: str
    ref: str | None  # the component schema its type is, for a link
    required: bool
    limits: tuple[str, ...]
    description: str
    depth: int = 0  # fields of an inline object nested in another field


@dataclass
class Outline:
    """What a schema says: its type in words, limits, fields, and the rules across fields."""

    type: str
    ref: str | None
    limits: tuple[str, ...]
    fields: list[Field] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


class Outliner:
    """Outlines the schemas of one document."""

    MAX_DEPTH = 3  # inline objects nested deeper are named, not expanded

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: Any, pointer: str) -> tuple[dict[str, Any], str]:
        """`schema` with `$ref`s followed (to a local schema), and the pointer it ends at."""
        seen = set()
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
            target = schema["$ref"]
            node = _at(self.document, target)
            if target in seen or not isinstance(node, dict):
                break
            seen.add(target)
            schema, pointer = node, target
        return (schema if isinstance(schema, dict) else {}), pointer

    def outline(self, schema: Any, pointer: str) -> Outline:
        target, where = self.resolve(schema, pointer)
        fields, rules = self._fields(target, where, 0)
        return Outline(self.type_text(schema), ref_name(schema), limits(target), fields, rules)

    def type_text(self, schema: Any, expand: bool = True) -> str:
        """The schema's type in a few words ("text or null", "list of MultiItem", "one of IP, CELL")."""
        if not isinstance(schema, dict):
            return "any"
        name = ref_name(schema)
        if name is not None:
            return self.type_text(self.resolve(schema, "")[0], expand=False) if expand else name
        if "const" in schema:
            return f"exactly {_json(schema['const'])}"
        if "enum" in schema:
            return "one of " + ", ".join(_json(v) for v in schema["enum"])
        for keyword in ("anyOf", "oneOf"):
            branches = [b for b in schema.get(keyword, []) if isinstance(b, dict) and _typed(b)]
            if branches:
                return " or ".join(dict.fromkeys(self._branch(b) for b in branches))
        kinds = schema.get("type")
        if kinds is None and isinstance(schema.get("allOf"), list):
            names = [n for n in (ref_name(p) for p in schema["allOf"]) if n]
            return "all of " + ", ".join(names) if names else "object"
        if kinds is None and ("properties" in schema or "additionalProperties" in schema):
            kinds = "object"
        kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
        if not kinds:
            return "any"
        text = " or ".join(_TYPES.get(str(k), str(k)) for k in kinds)
        if "format" in schema:
            text += f" ({schema['format']})"
        if "array" in kinds and isinstance(schema.get("items"), dict):
            text = text.replace("list", f"list of {self.type_text(schema['items'], expand=False)}", 1)
        extra = schema.get("additionalProperties")
        if "object" in kinds and isinstance(extra, dict) and not schema.get("properties"):
            text = text.replace("object", f"object of {self.type_text(extra, expand=False)}", 1)
        return text

    def _branch(self, schema: dict[str, Any]) -> str:
        text = self.type_text(schema, expand=False)
        said = limits(schema)
        return f"{text} ({'; '.join(said)})" if said else text

    def _fields(self, schema: dict[str, Any], pointer: str, depth: int) -> tuple[list[Field], list[str]]:
        """The fields of an object schema, through `allOf` parts (later parts win), and the rules."""
        found: dict[str, tuple[Field, dict[str, Any], str]] = {}
        required: set[str] = set()
        rules: list[str] = []
        self._collect(schema, pointer, found, required, rules, set())
        rows = []
        for name, (row, target, where) in found.items():
            rows.append(dataclasses.replace(row, required=name in required, depth=depth))
            if depth < self.MAX_DEPTH and row.ref is None and _has_fields(target):
                rows.extend(self._fields(target, where, depth + 1)[0])
        return rows, rules

    def _collect(self, schema: dict[str, Any], pointer: str, found: dict[str, Any], required: set[str],
                 rules: list[str], seen: set[str]) -> None:
        if pointer in seen:
            return
        seen.add(pointer)
        for index, part in enumerate(schema.get("allOf", [])):
            target, where = self.resolve(part, child(pointer, "allOf", index))
            self._collect(target, where, found, required, rules, seen)
        required.update(n for n in schema.get("required", []) if isinstance(n, str))
        for name, prop in (schema.get("properties") or {}).items():
            where = child(pointer, "properties", name)
            target, target_pointer = self.resolve(prop, where)
            said = tuple(dict.fromkeys([*limits(prop), *limits(target)]))
            description = str(prop.get("description") or "").strip()  # a $ref's own is in its schema's entry
            row = Field(name, where, self.type_text(prop), ref_name(prop), False, said, description)
            found[name] = (row, target, target_pointer)
        rules.extend(self._rules(schema))

    def _rules(self, schema: dict[str, Any]) -> list[str]:
        out = []
        if "x-pushfake-message" in schema:
            out.append(f"otherwise: {schema['x-pushfake-message']}")
        for keyword, words in (("anyOf", "needs at least one of"), ("oneOf", "needs exactly one of")):
            needs = [" and ".join(b["required"]) for b in schema.get(keyword, []) if isinstance(b, dict) and b.get("required")]
            if needs:
                out.append(f"{words}: {'; '.join(needs)}")
        extra = schema.get("additionalProperties")
        if extra is False:
            out.append("no other fields")
        elif isinstance(extra, dict):
            out.append(f"other fields: {self.type_text(extra, expand=False)}")
        actions = schema.get("x-pushfake-item-actions")
        if isinstance(actions, dict):
            out.append("each item is checked against its action's schema: "
                       + ", ".join(f"{a} → {str(ref).rsplit('/', 1)[-1]}" for a, ref in actions.items()))
        return out


def ref_name(schema: Any) -> str | None:
    """The component schema a `$ref` names (`StartParams`), or None."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return ref[len(REF_PREFIX):] if isinstance(ref, str) and ref.startswith(REF_PREFIX) else None


def limits(schema: Any) -> tuple[str, ...]:
    """The limits a schema sets, in words ("1 to 200 characters", "at most 2000 items", "default IP")."""
    if not isinstance(schema, dict):
        return ()
    out = []
    for low, high, unit in (("minLength", "maxLength", "character"), ("minItems", "maxItems", "item"),
                            ("minProperties", "maxProperties", "field")):
        out.extend(_range(schema.get(low), schema.get(high), unit))
    out.extend(_range(schema.get("minimum"), schema.get("maximum"), ""))
    if "exclusiveMinimum" in schema:
        out.append(f"more than {_show(schema['exclusiveMinimum'])}")
    if "exclusiveMaximum" in schema:
        out.append(f"less than {_show(schema['exclusiveMaximum'])}")
    if "pattern" in schema:
        out.append(f"pattern {schema['pattern']}")
    if schema.get("uniqueItems"):
        out.append("no item twice")
    if "default" in schema:
        out.append(f"default {_json(schema['default'])}")
    return tuple(out)


def _range(low: Any, high: Any, unit: str) -> list[str]:
    """"1 to 200 characters", "at most 2000 items", "at least 1 item" (no unit for numbers)."""
    def words(count: Any) -> str:
        return f"{_show(count)} {unit}{'' if count == 1 else 's'}" if unit else _show(count)

    if low is not None and high is not None:
        return [f"{_show(low)} to {words(high)}"]
    if high is not None:
        return [f"at most {words(high)}"]
    if low is not None:
        return [f"at least {words(low)}"]
    return []


def _typed(schema: dict[str, Any]) -> bool:
    """Whether an anyOf/oneOf branch says what a value is (not only which fields are required)."""
    return any(k in schema for k in ("type", "$ref", "enum", "const", "anyOf", "oneOf", "properties", "items"))


def _has_fields(schema: dict[str, Any]) -> bool:
    return bool(schema.get("properties")) or any(isinstance(p, dict) and p.get("properties") for p in schema.get("allOf", []))


def _at(document: dict[str, Any], pointer: str) -> Any:
    """The node at a local JSON pointer (`#/a/b/0`), or None."""
    node: Any = document
    for part in pointer[2:].split("/") if pointer.startswith("#/") else []:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and key.isdecimal() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
    return node


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _show(value: Any) -> str:
    """A schema value as a reader writes it: text as is, anything else as JSON."""
    return value if isinstance(value, str) else _json(value)
