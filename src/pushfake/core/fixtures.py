"""Reading and checking a fixtures file before anything is built from it.

A bad file is refused with one message naming the file, the place inside it and the problem:
`fixtures.yaml: leanplum.apps[0].messages[1].id: 'x' is not of type 'integer'`.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from pushfake.core.resources import default_fixtures


class FixtureError(ValueError):
    """The fixtures file is unreadable or describes an impossible world."""


def location_text(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    text = (resources.files("pushfake") / "fixtures_schema.yaml").read_text(encoding="utf-8")
    return jsonschema.Draft202012Validator(yaml.safe_load(text))


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
    return label, parse_fixtures(label, text)


def parse_fixtures(label: str, text: str) -> dict[str, Any]:
    """The fixtures document in `text` (JSON when `label` ends in .json, else YAML), checked."""
    try:
        document = json.loads(text) if label.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise FixtureError(f"{label}: not valid {'JSON' if label.endswith('.json') else 'YAML'}: {exc}") from None
    if document is None:
        document = {}
    return check_fixtures(label, document)


def check_fixtures(label: str, document: Any) -> dict[str, Any]:
    """`document` if it fits the fixtures schema; FixtureError naming the first problem."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = jsonschema.exceptions.best_match(errors) or errors[0]
        raise FixtureError(f"{label}: {location_text(first.absolute_path)}: {first.message}")
    return document


@functools.lru_cache(maxsize=None)
def _part_validator(name: str) -> jsonschema.Draft202012Validator:
    schema = _validator().schema
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})


def check_part(name: str, raw: Any) -> None:
    """Check one record in its fixtures form (`$defs/<name>`: user, device, message,
    dengageContact...), as the control plane creates them; ValueError naming the place."""
    errors = sorted(_part_validator(name).iter_errors(raw), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = jsonschema.exceptions.best_match(errors) or errors[0]
        where = location_text(first.absolute_path)
        raise ValueError(f"{where if where != '(top level)' else 'body'}: {first.message}")
