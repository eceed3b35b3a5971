"""The OpenAPI documents as the server hands them out: the YAML byte for byte as shipped, or
the same document converted to JSON, each with its media type and a strong ETag, so a client
or a browser can cache one and ask again with `If-None-Match`.

The documents are the package's own (`core.resources`), read once: they cannot change while the
server runs, so neither can a body or its ETag.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

from pushfake.core.resources import SPEC_FILES, openapi_document
from pushfake.core.spec import ApiSpec

MEDIA_TYPES = {"yaml": "application/yaml", "json": "application/json"}


@dataclass(frozen=True)
class ServedSpec:
    name: str
    format: str
    body: bytes
    media_type: str
    etag: str  # quoted, strong


class UnknownSpec(LookupError):
    """A spec or format the server does not have: `kind` (spec, format) `what` was asked for,
    `expected` says what there is."""

    def __init__(self, kind: str, what: str, expected: str) -> None:
        super().__init__(kind, what, expected)
        self.kind = kind
        self.what = what
        self.expected = expected


def served(name: str, fmt: str) -> ServedSpec:
    """The document `name` (leanplum, dengage, control) in `fmt` (yaml, json); UnknownSpec else."""
    check_name(name)
    if fmt not in MEDIA_TYPES:
        raise UnknownSpec("format", fmt, f"each spec is served as {' or '.join(MEDIA_TYPES)}")
    return _served(name, fmt)


def check_name(name: str) -> None:
    """UnknownSpec unless `name` is one of the shipped documents."""
    if name not in SPEC_FILES:
        raise UnknownSpec("spec", name, f"the specs are {', '.join(SPEC_FILES)}")


@functools.cache
def _served(name: str, fmt: str) -> ServedSpec:
    if fmt == "yaml":
        body = openapi_document(name).read_bytes()
    else:
        body = json.dumps(ApiSpec.of(name).document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    return ServedSpec(name, fmt, body, MEDIA_TYPES[fmt], f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def split_file_name(file: str) -> tuple[str, str]:
    """`leanplum.yaml` -> (`leanplum`, `yaml`); UnknownSpec for a name without a format."""
    name, dot, fmt = file.rpartition(".")
    if not dot:
        raise UnknownSpec("spec", file, "ask for <name>.yaml or <name>.json, e.g. leanplum.yaml")
    return name, fmt


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (weak comparison, as RFC 9110 asks for it)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for given in if_none_match.split(","):
        given = given.strip()
        if given == "*" or given.removeprefix("W/") == wanted:
            return True
    return False
