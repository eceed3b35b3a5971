"""The vendor specs as the contract kit reads them (the documents shipped in the package)."""

from __future__ import annotations

import functools
from typing import Any

from pushfake.core.catalogue import CATALOGUE_KEY, ErrorCatalogue
from pushfake.core.spec import ApiSpec, FidelityMark


def api_spec(vendor: str) -> ApiSpec:
    return ApiSpec.of(vendor)


def document(vendor: str) -> dict[str, Any]:
    return api_spec(vendor).document


@functools.cache
@functools.cache
def catalogue(vendor: str) -> ErrorCatalogue:
    """The vendor's error catalogue (its spec's `x-pushfake-errors`): every text byte for byte."""
    return ErrorCatalogue(api_spec(vendor))


def text(vendor: str, key: str, **fields: Any) -> str:
    """The spec's text for `key`, byte for byte (`pushfake spec --vendor VENDOR --errors` lists them)."""
    return catalogue(vendor).text(key, **fields)


@functools.cache
def leanplum_actions() -> frozenset[str]:
    """Every action the Leanplum spec declares: its operations and the batch item actions."""
    doc = document("leanplum")
    paths = {p["x-pushfake-action"] for p in doc["paths"].values() if "x-pushfake-action" in p}
    items = set(doc["components"]["schemas"]["MultiItem"]["x-pushfake-item-actions"])
    return frozenset(paths | items)


def assumed(vendor: str) -> list[FidelityMark]:
    """Every behaviour of `vendor`'s spec marked `x-pushfake-fidelity: assumed`, in document order.

    Entries of the error catalogue (`#/x-pushfake-errors`) are texts, not behaviours: the checks of
    the behaviours that answer them hold their texts."""
    return [mark for mark in api_spec(vendor).fidelity_marks()
            if mark.fidelity == "assumed" and not mark.pointer.startswith(f"#/{CATALOGUE_KEY}/")]
