"""The list of assumptions and the error catalogue are complete, once each, in words.

`pushfake spec --assumptions` and `--errors` are what users read before they trust the fake.
These tests walk what the fake does (the texts its code builds, the limits its request schemas
enforce, the settings its vendors read) and fail when something has no entry.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import pathlib
import re
from typing import Any

import pytest

from pushfake import cli
from pushfake.core.catalogue import CATALOGUE_KEY, ErrorCatalogue
from pushfake.core.resources import VENDORS
from pushfake.core.spec import FIDELITY_LEVELS, ApiSpec
from pushfake.dengage.world import DengageSettings
from pushfake.leanplum.world import LeanplumSettings

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "pushfake"
SETTINGS = {"leanplum": LeanplumSettings, "dengage": DengageSettings}
# Constraints a request schema can enforce that a vendor may not: each must sit under a mark.
CONSTRAINTS = ("maxLength", "maxItems", "maxProperties", "pattern", "maximum", "minimum")


def spec(vendor: str) -> ApiSpec:
    return ApiSpec.of(vendor)


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_mark_has_a_one_line_summary_and_each_assumption_is_listed_once(vendor: str) -> None:
    marks = spec(vendor).fidelity_marks()
    for mark in marks:
        assert mark.fidelity in FIDELITY_LEVELS, mark
        assert mark.summary and "\n" not in mark.summary and not mark.summary.startswith("#/"), mark.pointer
        if mark.fidelity == "assumed":
            assert mark.basis, f"{mark.pointer}: an assumption says what it is inferred from"
    summaries = [m.summary for m in marks if m.fidelity == "assumed"]
    twice = sorted({s for s in summaries if summaries.count(s) > 1})
    assert not twice, f"listed more than once: {twice}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_assumptions_listing_shows_summaries_not_pointers(vendor: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["spec", "--vendor", vendor, "--assumptions"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("- ")]
    assert lines and all(len(line) > 10 and not line.startswith("- #") for line in lines)


@pytest.mark.parametrize("vendor", VENDORS)
def test_spec_errors_prints_the_whole_catalogue(vendor: str, capsys: pytest.CaptureFixture[str]) -> None:
    catalogue = ErrorCatalogue(spec(vendor))
    assert cli.main(["spec", "--vendor", vendor, "--errors", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [(e["status"], e["text"], e["fidelity"]) for e in printed] == [
        (e.status, e.text, e.fidelity) for e in catalogue.entries()]
    assert cli.main(["spec", "--vendor", vendor, "--errors"]) == 0
    out = capsys.readouterr().out
    for entry in catalogue.entries():
        assert entry.text in out


def _catalogue_keys_used() -> dict[str, set[str]]:
    """Catalogue keys the source names, by module: `text("k")`, `errors.text("k")`,
    `DecodeError(status, "k")`, `JsonProblem("k")`, `CATALOGUE.text("k")`, `*.entry("k")`."""
    used: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if name in ("text", "entry", "JsonProblem") and args:
                used.setdefault(str(path.relative_to(SRC)), set()).add(args[0])
            elif name == "DecodeError" and args:
                used.setdefault(str(path.relative_to(SRC)), set()).add(args[0])
    return used


def test_every_text_the_code_builds_has_an_entry_and_every_entry_is_used() -> None:
    catalogues = {vendor: {e.key for e in ErrorCatalogue(spec(vendor)).entries()} for vendor in VENDORS}
    used = _catalogue_keys_used()
    shared = set().union(*(keys for module, keys in used.items() if module.startswith("core/")))
    assert shared, "the decoding layer names its texts by catalogue key"
    for vendor, keys in catalogues.items():
        own = set().union(*(k for module, k in used.items() if module.startswith(f"{vendor}/")))
        missing = (own | shared) - keys
        assert not missing, f"{vendor}: texts built in code but missing from the catalogue: {sorted(missing)}"
        dynamic = {k for k in keys if k.startswith("fault-")}  # picked by status in fault_message
        unused = keys - own - shared - dynamic
        assert not unused, f"{vendor}: catalogue entries no code answers with: {sorted(unused)}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_catalogue_entries_are_well_formed(vendor: str) -> None:
    raw = spec(vendor).document[CATALOGUE_KEY]
    for key, entry in raw.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key), key
        assert entry["x-pushfake-fidelity"] in FIDELITY_LEVELS, key
        assert entry["when"] and "\n" not in entry["when"], key
    catalogue = ErrorCatalogue(spec(vendor))
    for entry in catalogue.entries():
        filled = entry.text.format(**{name: "X" for name in entry.fields})
        assert catalogue.match(filled) is not None


def _unmarked_constraints(node: Any, pointer: str, marked: bool, out: list[str]) -> None:
    if isinstance(node, dict):
        marked = marked or "x-pushfake-fidelity" in node
        for name in CONSTRAINTS:
            if name in node and not marked and not isinstance(node[name], dict):
                out.append(f"{pointer}/{name}")
        for key, value in node.items():
            if key not in ("properties",) or not isinstance(value, dict):
                _unmarked_constraints(value, f"{pointer}/{key}", marked, out)
            else:
                for prop, schema in value.items():
                    _unmarked_constraints(schema, f"{pointer}/properties/{prop}", marked, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _unmarked_constraints(value, f"{pointer}/{index}", marked, out)


# Schemas that describe the vendor's answers, not rules the fake enforces on requests.
RESPONSE_SCHEMAS = re.compile(r"(Response|Envelope|Element|Report|ReportItem|Message|Error|FieldError)$")


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_request_limit_the_fake_enforces_is_marked(vendor: str) -> None:
    """Length caps, item caps, patterns and ranges on requests: each is documented or recorded,
    or listed as an assumption (a mark on the schema or one of its ancestors)."""
    document = spec(vendor).document
    found: list[str] = []
    for name, schema in document["components"]["schemas"].items():
        if not RESPONSE_SCHEMAS.search(name):
            _unmarked_constraints(schema, f"#/components/schemas/{name}", False, found)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters", []):
                    _unmarked_constraints(parameter, f"#/paths/{path}/{method}/parameters", False, found)
    assert not found, f"request limits with no fidelity mark: {found}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_setting_is_named_by_the_assumption_it_configures(vendor: str) -> None:
    """A setting exists because the real behaviour has alternatives or an unknown number: the
    mark that lists the behaviour names the setting, so users find the knob from the list."""
    marks = spec(vendor).fidelity_marks()
    words = " ".join(f"{m.summary} {m.basis}" for m in marks) + " " + json.dumps(spec(vendor).document)
    listed = " ".join(f"{m.summary} {m.basis}" for m in marks)
    for f in dataclasses.fields(SETTINGS[vendor]):
        camel = f.name.split("_")[0] + "".join(p.title() for p in f.name.split("_")[1:])
        assert camel in words, f"{vendor}.settings.{camel} is not named in the spec"
        assert camel in listed, f"{vendor}.settings.{camel}: no fidelity mark names it"
