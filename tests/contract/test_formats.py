"""The hooks module a direct `schemathesis run` loads (`pushfake.contract.conformance.formats`):
with it, every request Schemathesis generates as valid for openapi/leanplum.yaml is accepted by
the fake (no 400), JSON text in `json-object` / `json-array` strings included; and the spec
shows the documented defaults."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pushfake.contract.spec import api_spec

GENERATE_AND_SEND = textwrap.dedent("""
    import json, sys
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.generation import GenerationMode
    from starlette.testclient import TestClient

    import pushfake.contract.conformance.formats  # noqa: F401 - the hooks under test, alone
    from pushfake import Fake, create_app
    from pushfake.contract.spec import document

    client = TestClient(create_app(Fake()))
    schema = schemathesis.openapi.from_dict(document("leanplum"))
    refused = []
    for path in ("/api?action=start", "/api?action=sendMessage", "/api?action=multi"):
        strategy = schema[path]["POST"].as_strategy(generation_mode=GenerationMode.POSITIVE)

        @settings(max_examples=40, database=None, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def send(case):
            if case.media_type != "application/json" or not isinstance(case.body, dict):
                return
            answer = client.post(path, json=case.body)
            if answer.status_code in (400, 500):
                refused.append((path, case.body, answer.text))

        send()
    print(json.dumps(refused[:3], default=str))
    sys.exit(1 if refused else 0)
""")


def test_a_direct_schemathesis_run_with_the_hooks_generates_only_what_the_fake_accepts() -> None:
    result = subprocess.run([sys.executable, "-c", GENERATE_AND_SEND], capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_documented_defaults_are_in_the_schemas() -> None:
    spec = api_spec("leanplum")
    schemas = spec.document["components"]["schemas"]

    def default(schema: str, part: int, name: str) -> object:
        return schemas[schema]["allOf"][part]["properties"][name]["default"]

    assert default("StartParams", 3, "createDisposition") == "CreateIfNeeded"  # seed 002
    assert default("SendMessageParams", 2, "createDisposition") == "CreateNever"  # seed 000
    assert default("SendMessageParams", 2, "force") is False
    assert default("StartParams", 3, "includeDefaults") is True
    assert default("StartParams", 3, "background") is False
    assert spec.resolve("#/components/schemas/Credentials/properties/devMode")["default"] is False
    assert spec.resolve("#/components/schemas/DeviceFields/properties/locationAccuracyType")["default"] == "IP"


def test_the_repository_schemathesis_config_says_what_the_contract_kit_says() -> None:
    """`schemathesis.toml` (read by a direct run from the checkout) loads the same hooks and
    narrows the same check as `pushfake contract`, so the two runs judge alike."""
    import pathlib
    import tomllib

    from pushfake.contract.conformance import dengage, formats

    config = tomllib.loads((pathlib.Path(__file__).resolve().parents[2] / "schemathesis.toml").read_text("utf-8"))
    assert config["hooks"] == formats.__name__
    assert config["operations"] == dengage.CONFIG["operations"]
