"""The OpenAPI document itself: valid, shipped unchanged, every behaviour marked, and driving the routing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import openapi_spec_validator
import pytest
import yaml

from pushfake.cli import main
from pushfake.core.resources import openapi_document
from pushfake.core.spec import FIDELITY_LEVELS, ApiSpec
from pushfake.leanplum.actions import HANDLERS
from pushfake.leanplum.dispatch import ActionTable

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "leanplum.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    openapi_spec_validator.validate(document)


def test_the_package_ships_the_same_document(document: dict[str, Any]) -> None:
    shipped = yaml.safe_load(openapi_document("leanplum").read_text(encoding="utf-8"))
    assert shipped == document
    assert ApiSpec.of("leanplum").document == document


def test_every_operation_has_an_operation_id(document: dict[str, Any]) -> None:
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert operations
    missing = [f"{method.upper()} {path}" for path, method, operation in operations if not operation.get("operationId")]
    assert not missing, f"operations without an operationId: {missing}"
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids)), f"duplicate operationIds: {sorted(ids)}"


def test_every_action_path_lists_its_behaviours_with_a_fidelity(document: dict[str, Any]) -> None:
    action_paths = {path: item for path, item in document["paths"].items() if "x-pushfake-action" in item}
    assert action_paths
    for path, item in action_paths.items():
        behaviours = item.get("x-pushfake-behaviours")
        assert behaviours, f"{path} has no x-pushfake-behaviours"
        for index, behaviour in enumerate(behaviours):
            assert behaviour.get("summary"), f"{path} behaviour {index} has no summary"
            assert behaviour.get("x-pushfake-fidelity") in FIDELITY_LEVELS, (
                f"{path} behaviour {index} ({behaviour.get('summary')!r}) has fidelity "
                f"{behaviour.get('x-pushfake-fidelity')!r}, not one of {FIDELITY_LEVELS}"
            )
    assert set(FIDELITY_LEVELS) == {"documented", "recorded", "assumed"}


def test_every_mark_is_a_known_level_and_every_assumption_says_why(document: dict[str, Any]) -> None:
    marks = ApiSpec(document, "leanplum.yaml").fidelity_marks()
    assert marks
    unknown = [(m.pointer, m.fidelity) for m in marks if m.fidelity not in FIDELITY_LEVELS]
    assert not unknown, f"marks with an unknown fidelity: {unknown}"
    assumed = [m for m in marks if m.fidelity == "assumed"]
    assert assumed
    unexplained = [m.pointer for m in assumed if not m.basis.strip()]
    assert not unexplained, f"assumed without x-pushfake-basis: {unexplained}"


def test_cli_lists_the_assumptions_as_json(capsys: pytest.CaptureFixture[str], document: dict[str, Any]) -> None:
    assert main(["spec", "--assumptions", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed, "no assumptions listed"
    assert {entry["fidelity"] for entry in listed} == {"assumed"}
    assert all(entry["basis"].strip() for entry in listed)
    assert any("Device not found" in entry["summary"] for entry in listed)
    expected = [m.pointer for m in ApiSpec(document, "leanplum.yaml").fidelity_marks() if m.fidelity == "assumed"]
    assert [entry["pointer"] for entry in listed] == expected


def test_cli_lists_the_assumptions_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "--assumptions", "--json"]) == 0
    count = len(json.loads(capsys.readouterr().out))
    assert main(["spec", "--assumptions"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith(f"{count} assumed behaviours"), text.splitlines()[0]
    assert "Device not found" in text


def test_the_routing_comes_from_the_spec(document: dict[str, Any]) -> None:
    table = ActionTable(ApiSpec(document, "leanplum.yaml"))
    assert table.names() == sorted({*HANDLERS, "multi"})

    # sendMessage is both an endpoint and a batch item: the spec must lose both before the
    # handler has no action to serve.
    without_path = copy.deepcopy(document)
    del without_path["paths"]["/api?action=sendMessage"]
    assert "sendMessage" in ActionTable(ApiSpec(without_path, "without-path")).names()

    without_both = copy.deepcopy(without_path)
    del without_both["components"]["schemas"]["MultiItem"]["x-pushfake-item-actions"]["sendMessage"]
    with pytest.raises(RuntimeError, match="sendMessage"):
        ActionTable(ApiSpec(without_both, "without-sendMessage"))


def test_an_action_the_code_cannot_serve_is_refused(document: dict[str, Any]) -> None:
    extended = copy.deepcopy(document)
    extended["components"]["schemas"]["MultiItem"]["x-pushfake-item-actions"]["uploadFile"] = (
        "#/components/schemas/LogParams"
    )
    with pytest.raises(RuntimeError, match="uploadFile"):
        ActionTable(ApiSpec(extended, "with-uploadFile"))
