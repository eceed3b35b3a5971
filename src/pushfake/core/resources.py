"""Data the installed package needs at run time: the OpenAPI documents and default fixtures.

They ship inside the wheel (`pushfake/openapi`, `pushfake/fixtures`); in a checkout those two
folders are links to the top-level `openapi/` and `fixtures/`.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


VENDORS = ("leanplum", "dengage")
SPEC_FILES = {"leanplum": "leanplum.yaml", "dengage": "dengage.yaml", "control": "control.yaml"}


def openapi_document(name: str) -> Traversable:
    """The OpenAPI document `name` (``leanplum``, ``dengage`` or ``control``)."""
    return resources.files("pushfake") / "openapi" / SPEC_FILES[name]


def default_fixtures() -> Traversable:
    return resources.files("pushfake") / "fixtures" / "default.yaml"
