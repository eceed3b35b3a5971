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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema_rs
import yaml

from pushfake.core.resources import openapi_document

FIDELITY_LEVELS = ("documented", "recorded", "assumed")


@dataclass(frozen=True)
class SchemaProblem:
    """Why an instance failed its schema, in terms a vendor error message can use."""

    kind: str  # "missing", "invalid" or "custom"
    location: str  # dotted path of the offending value ("" for the whole instance)
    detail: str
    custom_message: str | None = None
    custom_field: str | None = None


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
            return SchemaProblem("invalid", _dotted(fast.instance_path), _short(fast.message))
        custom = sorted((e for e in errors if _custom(e)), key=lambda e: len(e.absolute_path))
        error = custom[0] if custom else jsonschema.exceptions.best_match(errors)
        location = _dotted(error.absolute_path)
        if _custom(error):
            return SchemaProblem("custom", location, error.message, error.schema["x-pushfake-message"],
                                 error.schema.get("x-pushfake-field"))
        if error.validator == "required":
            missing = next(n for n in error.validator_value if n not in error.instance)
            name = f"{location}.{missing}" if location else missing
            return SchemaProblem("missing", name, error.message)
        return SchemaProblem("invalid", location, _short(error.message))


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
    def from_resource(cls, filename: str) -> ApiSpec:
        return _load_resource(filename)

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
def _load_resource(filename: str) -> ApiSpec:
    with openapi_document(filename).open("r", encoding="utf-8") as fh:
        return ApiSpec(yaml.safe_load(fh), filename)


def _mark_summary(node: dict[str, Any]) -> str:
    """A mark's one-line summary: its `summary`, or for an error catalogue entry its status,
    text and when it is answered. Empty when the mark has neither (a test refuses that)."""
    if "summary" in node:
        return str(node["summary"])
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
