"""Loading an OpenAPI document and compiling the request schemas the fake validates with.

The fake never carries its own copy of a request schema: it asks the vendor's OpenAPI
document for the schema at a JSON pointer and validates against that. Validation has two
speeds: a compiled Rust validator (`jsonschema_rs`) answers "valid?" on the hot path, and
only an invalid request pays for the pure-Python `jsonschema` walk that explains why.

Fidelity marks: every node that says how faithful it is (`x-pushfake-fidelity`,
`x-pushfake-basis`) can be listed with `fidelity_marks`, which `pushfake spec` prints.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema_rs
import yaml

from pushfake.core.resources import openapi_document

FIDELITY_LEVELS = ("documented", "recorded", "assumed")
# libyaml's parser where PyYAML was built with it: our own documents load ten times faster, which
# every process that starts a fake pays (a user's fixtures keep the pure-Python loader's messages)
_TRUSTED_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_trusted_yaml(source: Any) -> Any:
    """A YAML document the package ships (text or an open file), read with the fastest safe loader."""
    return yaml.load(source, Loader=_TRUSTED_LOADER)  # noqa: S506 - a safe loader, C or Python


@dataclass(frozen=True)
class SchemaProblem:
    """Why an instance failed its schema, in terms a vendor error message can use."""

    kind: str  # "missing", "invalid" or "custom"
    location: str  # dotted path of the offending value ("" for the whole instance)
    detail: str  # the validator's own wording: for logs, never for a client
    custom_message: str | None = None
    custom_field: str | None = None
    plain: str = ""  # what is wrong, in plain words a client may read (`plain_words`)


@dataclass(frozen=True)
class FidelityMark:
    pointer: str
    fidelity: str
    basis: str
    summary: str


class SchemaValidator:
    """One schema of a document (a `$ref` pointer, or a schema built from the document), compiled once."""

    def __init__(self, document: dict[str, Any], pointer: str | dict[str, Any]) -> None:
        schema = {"$ref": pointer} if isinstance(pointer, str) else pointer
        root = {**schema, "components": document.get("components", {})}
        self.pointer = pointer if isinstance(pointer, str) else "(built)"
        self._root = root
        self._fast = jsonschema_rs.Draft202012Validator(root)
        self._slow = jsonschema.Draft202012Validator(root)

    def is_valid(self, instance: Any) -> bool:
        return self._fast.is_valid(instance)

    def problem(self, instance: Any) -> SchemaProblem | None:
        """The most useful single reason `instance` is invalid, or `None` if it is valid."""
        if self._fast.is_valid(instance):
            return None
        errors = list(self._slow.iter_errors(instance))
        if not errors:
            # The two disagree (Python's `$` also matches before a final newline, ECMA's does
            # not): the compiled validator's verdict stands, with its own explanation.
            fast = next(iter(self._fast.iter_errors(instance)))
            *where, keyword = fast.schema_path
            node = _node(self._root, where)
            return SchemaProblem("invalid", _dotted(fast.instance_path), _short(fast.message),
                                 plain=plain_words(str(keyword), node.get(keyword), node, fast.instance))
        custom = sorted((e for e in errors if _custom(e)), key=lambda e: len(e.absolute_path))
        error = custom[0] if custom else jsonschema.exceptions.best_match(errors)
        location = _dotted(error.absolute_path)
        if _custom(error):
            return SchemaProblem("custom", location, error.message, error.schema["x-pushfake-message"],
                                 error.schema.get("x-pushfake-field"), plain=error.schema["x-pushfake-message"])
        if error.validator == "required":
            missing = next(n for n in error.validator_value if n not in error.instance)
            name = f"{location}.{missing}" if location else missing
            return SchemaProblem("missing", name, error.message, plain="is required")
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            extra = _unknown_fields(error.schema, error.instance)
            if extra:
                name = f"{location}.{extra[0]}" if location else extra[0]
                return SchemaProblem("invalid", name, _short(error.message), plain="is not a known field")
        plain = plain_words(str(error.validator), error.validator_value, error.schema, error.instance)
        return SchemaProblem("invalid", location, _short(error.message), plain=plain)


# What a `format` or a documented pattern asks for, as the end of "must be ...". A schema can say it
# itself with `x-pushfake-expects` ("a two-letter language code").
_FORMATS = {"uuid": "a UUID", "date-time": "a date and time", "date": "a date", "email": "an email address",
            "uri": "a URL", "ipv4": "an IPv4 address", "ipv6": "an IPv6 address"}
_TYPES = {"string": "text", "integer": "a whole number", "number": "a number", "array": "a list",
          "object": "an object", "null": "null"}


def plain_words(keyword: str, value: Any, schema: Any, instance: Any) -> str:
    """What is wrong with one value, in plain words ("must be a UUID", "is too long (at most 500
    characters)"), from the JSON Schema keyword it broke, that keyword's value and its schema.

    Vendor-neutral: each vendor puts the words into its own error style, with the field's name. No
    validator's wording and no Python repr ever reaches a client through here."""
    schema = schema if isinstance(schema, dict) else {}
    if keyword in ("type", "enum", "const", "anyOf", "oneOf") and schema.get("x-pushfake-expects"):
        return f"must be {schema['x-pushfake-expects']}"  # the schema says what it takes, in its words
    if keyword == "type":
        words = [w for n in (value if isinstance(value, list) else [value])
                 for w in (("true", "false") if n == "boolean" else (_TYPES.get(str(n), str(n)),))]
        return "must be " + (", ".join(words[:-1]) + " or " if len(words) > 1 else "") + words[-1]
    if keyword == "enum" and isinstance(value, list):
        return "must be one of " + ", ".join(_show(v) for v in value)
    if keyword == "const":
        return f"must be {_show(value)}"
    if keyword in ("pattern", "format"):
        expects = schema.get("x-pushfake-expects") or _FORMATS.get(str(schema.get("format")))
        return f"must be {expects}" if expects else "is not in the expected form"
    if keyword == "maxLength":
        return f"is too long (at most {value} character{_s(value)})"
    if keyword == "minLength":
        return "must not be empty" if value == 1 else f"is too short (at least {value} characters)"
    if keyword == "maxItems":
        return f"has too many items (at most {value})"
    if keyword == "minItems":
        return "must not be an empty list" if value == 1 else f"has too few items (at least {value})"
    if keyword == "maxProperties":
        return f"has too many fields (at most {value})"
    if keyword == "minProperties":
        return f"has too few fields (at least {value})"
    if keyword == "minimum":
        return f"must be at least {_show(value)}"
    if keyword == "maximum":
        return f"must be at most {_show(value)}"
    if keyword == "exclusiveMinimum":
        return f"must be more than {_show(value)}"
    if keyword == "exclusiveMaximum":
        return f"must be less than {_show(value)}"
    if keyword == "multipleOf":
        return f"must be a multiple of {_show(value)}"
    if keyword == "uniqueItems":
        return "must not list an item twice"
    if keyword == "required":
        return "is required"
    if keyword == "additionalProperties" and isinstance(instance, dict):
        extra = _unknown_fields(schema, instance)
        return f"has an unknown field '{extra[0]}'" if extra else "has an unknown field"
    return "is not valid here"


def _show(value: Any) -> str:
    """A schema value as a client would write it: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _s(count: Any) -> str:
    return "" if count == 1 else "s"


def _unknown_fields(schema: dict[str, Any], instance: dict[str, Any]) -> list[str]:
    known = schema.get("properties") or {}
    patterns = [re.compile(p) for p in schema.get("patternProperties") or {}]
    return [k for k in instance if k not in known and not any(p.search(k) for p in patterns)]


def _node(root: dict[str, Any], path: Any) -> dict[str, Any]:
    """The schema node at a compiled validator's schema path (references already followed)."""
    node: Any = root
    for part in path:
        node = node[part] if isinstance(node, (dict, list)) else {}
    return node if isinstance(node, dict) else {}


def _custom(error: jsonschema.ValidationError) -> bool:
    return isinstance(error.schema, dict) and "x-pushfake-message" in error.schema


def _dotted(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


class ApiSpec:
    """An OpenAPI document plus compiled validators for the schemas the fake asks for."""

    def __init__(self, document: dict[str, Any], name: str = "<spec>") -> None:
        self.document = document
        self.name = name

    @classmethod
    def of(cls, name: str) -> ApiSpec:
        """The document `name` shipped in the package (``leanplum``, ``dengage``, ``control``),
        read once per process."""
        return _load_resource(name)

    @functools.lru_cache(maxsize=None)  # noqa: B019 - one spec object lives as long as the process
    def validator(self, pointer: str) -> SchemaValidator:
        return SchemaValidator(self.document, pointer)

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(path, METHOD, operation) for every operation of the document."""
        for path, item in self.document.get("paths", {}).items():
            for method in ("get", "put", "post", "delete", "patch", "head", "options"):
                if method in item:
                    yield path, method.upper(), item[method]

    def query_validator(self, operation: dict[str, Any]) -> SchemaValidator:
        """A validator of the query string (as a dict) against the operation's query parameters."""
        params = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        schema = {
            "type": "object",
            "required": [p["name"] for p in params if p.get("required")],
            "properties": {p["name"]: p["schema"] for p in params},
        }
        return SchemaValidator(self.document, schema)

    def resolve(self, pointer: str) -> Any:
        node: Any = self.document
        for part in pointer.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def fidelity_marks(self) -> list[FidelityMark]:
        return list(_walk_marks(self.document, "#"))


@functools.lru_cache(maxsize=None)
def _load_resource(name: str) -> ApiSpec:
    document = openapi_document(name)
    with document.open("r", encoding="utf-8") as fh:
        return ApiSpec(load_trusted_yaml(fh), document.name)


def _mark_summary(node: dict[str, Any]) -> str:
    """A mark's one-line summary: its `summary` (`x-pushfake-summary` where OpenAPI allows no
    `summary`: responses, schemas, security schemes), or for an error catalogue entry its
    status, text and when it is answered. Empty when the mark has none (a test refuses that)."""
    for key in ("summary", "x-pushfake-summary"):
        if key in node:
            return str(node[key])
    if "text" in node and "when" in node:
        status = node.get("status")
        kind = "warning" if status == 200 else f"HTTP {status}" if status else "text"
        return f"{kind} \"{node['text']}\" when {node['when']}"
    return ""


def _walk_marks(node: Any, pointer: str) -> Iterator[FidelityMark]:
    if isinstance(node, dict):
        if "x-pushfake-fidelity" in node:
            yield FidelityMark(
                pointer=pointer,
                fidelity=node["x-pushfake-fidelity"],
                basis=node.get("x-pushfake-basis", ""),
                summary=_mark_summary(node),
            )
        for key, value in node.items():
            yield from _walk_marks(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_marks(value, f"{pointer}/{index}")
