"""The docs page of one OpenAPI document, as data for its template: paths and their operations
(method, path, summary, parameters, request bodies outlined, responses), the fidelity marks
beside what they mark, the component schemas, and the error catalogue.

Every fidelity mark of the document (`ApiSpec.fidelity_marks`) appears once on the page: beside
the node it marks where the page shows that node, else under "other marks" with its pointer, so
the page never hides an assumption.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pushfake.core.catalogue import ErrorCatalogue, ErrorText
from pushfake.core.resources import SPEC_FILES
from pushfake.core.spec import FIDELITY_LEVELS, ApiSpec, FidelityMark
from pushfake.site.outline import Outline, Outliner, child, ref_name

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # query, path, header, cookie
    required: bool
    pointer: str
    description: str
    outline: Outline


@dataclass(frozen=True)
class Body:
    media_types: tuple[str, ...]  # the media types that share this schema
    outline: Outline


@dataclass(frozen=True)
class Answer:
    status: str
    pointer: str  # where the response is defined (its mark, if any)
    description: str
    content: tuple[tuple[str, str, str | None], ...]  # (media type, type text, schema name)


@dataclass
class Operation:
    id: str
    method: str
    path: str
    summary: str
    description: str
    behaviours: list[FidelityMark]
    parameters: list[Parameter]
    body_required: bool
    bodies: list[Body]
    answers: list[Answer]


@dataclass
class PathItem:
    path: str
    summary: str
    description: str
    behaviours: list[FidelityMark]
    operations: list[Operation]


@dataclass(frozen=True)
class Schema:
    name: str
    pointer: str
    description: str
    outline: Outline


@dataclass
class DocsPage:
    name: str
    title: str
    version: str
    summary: str
    description: str
    general: list[FidelityMark]  # marks on the document as a whole (info)
    paths: list[PathItem]
    schemas: list[Schema]
    catalogue: list[ErrorText]
    marks: dict[str, FidelityMark]  # every mark, by pointer (the template looks fields up here)
    other_marks: list[FidelityMark] = field(default_factory=list)

    @property
    def operations(self) -> list[Operation]:
        return [op for item in self.paths for op in item.operations]

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(m.fidelity for m in self.marks.values())
        return {level: counted[level] for level in FIDELITY_LEVELS}


@functools.cache
def docs_page(name: str) -> DocsPage:
    """The docs page of the shipped document `name` (built once: the documents never change)."""
    return build(ApiSpec.of(name), name)


def build(spec: ApiSpec, name: str) -> DocsPage:
    document = spec.document
    outliner = Outliner(document)
    marks = {m.pointer: m for m in spec.fidelity_marks()}
    info = document.get("info", {})
    page = DocsPage(
        name=name, title=str(info.get("title", SPEC_FILES.get(name, name))), version=str(info.get("version", "")),
        summary=str(info.get("summary", "")), description=str(info.get("description", "")).strip(),
        general=_under(marks, "#/info/"),
        paths=[_path_item(outliner, marks, path, item) for path, item in document.get("paths", {}).items()],
        schemas=[Schema(key, child("#/components/schemas", key), str(schema.get("description", "")).strip(),
                        outliner.outline(schema, child("#/components/schemas", key)))
                 for key, schema in document.get("components", {}).get("schemas", {}).items()],
        catalogue=ErrorCatalogue(spec).entries(),
        marks=marks,
    )
    shown = _shown(page)
    page.other_marks = [m for pointer, m in marks.items() if pointer not in shown]
    return page


def _path_item(outliner: Outliner, marks: dict[str, FidelityMark], path: str, item: dict[str, Any]) -> PathItem:
    pointer = child("#/paths", path)
    shared = [p for p in item.get("parameters", []) if isinstance(p, dict)]
    operations = [_operation(outliner, marks, path, method, item[method], child(pointer, method), shared)
                  for method in METHODS if isinstance(item.get(method), dict)]
    return PathItem(path, str(item.get("summary", "")), str(item.get("description", "")).strip(),
                    _under(marks, child(pointer, "x-pushfake-behaviours") + "/"), operations)


def _operation(outliner: Outliner, marks: dict[str, FidelityMark], path: str, method: str,
               operation: dict[str, Any], pointer: str, shared: list[dict[str, Any]]) -> Operation:
    parameters = [_parameter(outliner, p, child(pointer, "parameters", i))
                  for i, p in enumerate([*shared, *operation.get("parameters", [])])]
    body, body_pointer = outliner.resolve(operation.get("requestBody", {}), child(pointer, "requestBody"))
    return Operation(
        id=str(operation.get("operationId", f"{method}-{path}")), method=method.upper(), path=path,
        summary=str(operation.get("summary", "")), description=str(operation.get("description", "")).strip(),
        behaviours=_under(marks, child(pointer, "x-pushfake-behaviours") + "/"),
        parameters=parameters, body_required=bool(body.get("required")),
        bodies=_bodies(outliner, body.get("content", {}), child(body_pointer, "content")),
        answers=[_answer(outliner, str(status), answer, child(pointer, "responses", status))
                 for status, answer in operation.get("responses", {}).items()],
    )


def _parameter(outliner: Outliner, raw: dict[str, Any], pointer: str) -> Parameter:
    parameter, where = outliner.resolve(raw, pointer)
    schema = parameter.get("schema", {})
    return Parameter(str(parameter.get("name", "")), str(parameter.get("in", "")), bool(parameter.get("required")),
                     where, str(parameter.get("description", "")).strip(),
                     outliner.outline(schema, child(where, "schema")))


def _bodies(outliner: Outliner, content: dict[str, Any], pointer: str) -> list[Body]:
    """One body per distinct schema, with every media type that carries it."""
    groups: dict[str, tuple[list[str], Any, str]] = {}
    for media, entry in content.items():
        schema = entry.get("schema", {}) if isinstance(entry, dict) else {}
        key = ref_name(schema) or media
        groups.setdefault(key, ([], schema, child(pointer, media, "schema")))[0].append(media)
    return [Body(tuple(media), outliner.outline(schema, where)) for media, schema, where in groups.values()]


def _answer(outliner: Outliner, status: str, raw: Any, pointer: str) -> Answer:
    answer, where = outliner.resolve(raw, pointer)
    content = tuple((media, outliner.type_text(entry.get("schema", {}), expand=False), ref_name(entry.get("schema")))
                    for media, entry in answer.get("content", {}).items() if isinstance(entry, dict))
    return Answer(status, where, str(answer.get("description", "")).strip(), content)


def _under(marks: dict[str, FidelityMark], prefix: str) -> list[FidelityMark]:
    return [m for pointer, m in marks.items() if pointer.startswith(prefix)]


def _shown(page: DocsPage) -> set[str]:
    """The pointers whose marks the page shows beside what they mark."""
    shown = {m.pointer for m in page.general}
    shown.update(child("#/x-pushfake-errors", e.key) for e in page.catalogue)
    for item in page.paths:
        shown.update(m.pointer for m in item.behaviours)
        for op in item.operations:
            shown.update(m.pointer for m in op.behaviours)
            shown.update(a.pointer for a in op.answers)
            for parameter in op.parameters:
                shown.add(parameter.pointer)
                shown.update(f.pointer for f in parameter.outline.fields)
            shown.update(f.pointer for body in op.bodies for f in body.outline.fields)
    for schema in page.schemas:
        shown.add(schema.pointer)
        shown.update(f.pointer for f in schema.outline.fields)
    return shown
