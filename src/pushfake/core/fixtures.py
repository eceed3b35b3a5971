"""Reading and checking a fixtures file before anything is built from it.

A bad file is refused with one message naming the file, the place inside it and the problem:
`fixtures.yaml: leanplum.apps[0].messages[1].id: must be a whole number`.

A fixtures document arrives from a file or from the control plane, so it is read as warily as a
request: JSON by `core.decoding.parse_json`; YAML composed first, its aliases counted as the
nodes they expand to (a "billion laughs" file of a few hundred bytes names billions), and
refused past `MAX_NODES`; either way then held to the same nesting, Unicode and number rules.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pushfake.core.decoding import JsonProblem, check_json_value, parse_json
from pushfake.core.resources import default_fixtures
from pushfake.core.spec import SchemaValidator, load_trusted_yaml

MAX_NODES = 2_000_000  # values in the document once aliases are expanded: a large world fits


class FixtureError(ValueError):
    """The fixtures file is unreadable or describes an impossible world."""


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = (resources.files("pushfake") / "fixtures_schema.yaml").read_text(encoding="utf-8")
    schema: dict[str, Any] = load_trusted_yaml(text)
    return schema


def read_fixtures(path: str | Path | None = None) -> tuple[str, dict[str, Any]]:
    """(label, document) for `path`, or for the default world when `path` is None."""
    if path is None:
        source = default_fixtures()
        label = "default fixtures (pushfake/fixtures/default.yaml)"
        text = source.read_text(encoding="utf-8")
    else:
        label = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise FixtureError(f"{label}: cannot read the file: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise FixtureError(f"{label}: {JsonProblem('body-not-utf8').plain}") from None
    return label, parse_fixtures(label, text)


def parse_fixtures(label: str, text: str) -> dict[str, Any]:
    """The fixtures document in `text` (JSON when `label` ends in .json, else YAML), checked."""
    try:
        document = parse_json(text) if label.endswith(".json") else _yaml(label, text)
    except JsonProblem as exc:
        raise FixtureError(f"{label}: {exc.plain}") from None
    if document is None:
        document = {}
    return check_fixtures(label, document)


def _yaml(label: str, text: str) -> Any:
    """The YAML document in `text`, refused (FixtureError) if it is not YAML, nests too deeply
    for the parser, or expands to more than MAX_NODES values."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node)
        if size > MAX_NODES:
            raise FixtureError(f"{label}: the YAML expands to more than {MAX_NODES:,} values "
                               "(aliases repeat what their anchor holds); write the values out")
        document = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise FixtureError(f"{label}: not valid YAML: {exc}") from None
    except RecursionError:
        raise FixtureError(f"{label}: the YAML nests too deeply") from None
    finally:
        loader.dispose()
    check_json_value(document)  # JsonProblem: the caller words it
    return document


def _expanded_size(root: yaml.Node) -> int:
    """How many values `root` stands for with every alias expanded, counted without expanding:
    an alias is the same node object as its anchor, so each node's size is computed once."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value))
        if children_done:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 0) for c in children)
            if sizes[id(node)] > MAX_NODES:
                return sizes[id(node)]
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def check_fixtures(label: str, document: Any) -> dict[str, Any]:
    """`document` if it fits the fixtures schema; FixtureError naming the first problem."""
    try:
        check_json_value(document)
    except JsonProblem as exc:
        raise FixtureError(f"{label}: {exc.plain}") from None
    problem = _document_validator().problem(document)
    if problem is not None:
        raise FixtureError(f"{label}: {problem.location or '(top level)'}: {problem.plain or problem.detail}")
    return document


@functools.lru_cache(maxsize=1)
def _document_validator() -> SchemaValidator:
    return SchemaValidator({}, _schema())


@functools.lru_cache(maxsize=None)
def _part_validator(name: str) -> SchemaValidator:
    schema = _schema()
    return SchemaValidator({}, {"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})


def check_part(name: str, raw: Any) -> None:
    """Check one record in its fixtures form (`$defs/<name>`: user, device, message,
    dengageContact...), as the control plane creates them; ValueError naming the place, in
    plain words (the control plane answers with it)."""
    problem = _part_validator(name).problem(raw)
    if problem is not None:
        raise ValueError(f"{problem.location or 'body'}: {problem.plain or problem.detail}")
