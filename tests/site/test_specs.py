"""`/_pushfake/openapi/{name}.{yaml,json}`: the shipped documents, the YAML byte for byte and the
JSON the same document, with their media types and an ETag a client revalidates against; any
other name is a clean 404 in the control plane's error shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pushfake.core.resources import SPEC_FILES
from pushfake.core.spec import ApiSpec

OPENAPI = Path(__file__).resolve().parents[2] / "openapi"


@pytest.mark.parametrize("name", sorted(SPEC_FILES))
def test_each_spec_is_served_as_shipped_and_as_the_same_json(client, name):
    as_yaml = client.get(f"/_pushfake/openapi/{name}.yaml")
    as_json = client.get(f"/_pushfake/openapi/{name}.json")
    assert (as_yaml.status_code, as_json.status_code) == (200, 200)
    assert as_yaml.headers["content-type"] == "application/yaml"
    assert as_json.headers["content-type"] == "application/json"
    assert as_yaml.content == (OPENAPI / SPEC_FILES[name]).read_bytes()
    document = yaml.safe_load(as_yaml.text)
    assert json.loads(as_json.text) == document == ApiSpec.of(name).document
    assert document["openapi"].startswith("3.1")


@pytest.mark.parametrize("file", ["leanplum.yaml", "dengage.json"])
def test_a_spec_is_cacheable_and_revalidates_with_its_etag(client, file):
    first = client.get(f"/_pushfake/openapi/{file}")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert first.headers["cache-control"] == "no-cache"
    assert client.get(f"/_pushfake/openapi/{file}").headers["etag"] == etag, "the same body, the same tag"
    for given in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(f"/_pushfake/openapi/{file}", headers={"If-None-Match": given})
        assert again.status_code == 304, given
        assert again.content == b"" and again.headers["etag"] == etag
    for given in ('"other"', etag.strip('"'), ""):
        assert client.get(f"/_pushfake/openapi/{file}", headers={"If-None-Match": given}).status_code == 200, given


def test_the_yaml_and_json_of_one_spec_have_different_tags(client):
    tags = {client.get(f"/_pushfake/openapi/{name}.{fmt}").headers["etag"] for name in SPEC_FILES
            for fmt in ("yaml", "json")}
    assert len(tags) == 2 * len(SPEC_FILES)


def test_head_answers_the_headers_alone(client):
    response = client.head("/_pushfake/openapi/control.yaml")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["etag"] == client.get("/_pushfake/openapi/control.yaml").headers["etag"]


@pytest.mark.parametrize(("path", "message"), [
    ("/_pushfake/openapi/nope.yaml", "no spec 'nope': the specs are leanplum, dengage, control"),
    ("/_pushfake/openapi/leanplum.xml", "no format 'xml': each spec is served as yaml or json"),
    ("/_pushfake/openapi/leanplum", "no spec 'leanplum': ask for <name>.yaml or <name>.json, e.g. leanplum.yaml"),
    ("/_pushfake/openapi/leanplum.yaml.json", "no spec 'leanplum.yaml': the specs are leanplum, dengage, control"),
    ("/_pushfake/openapi/LEANPLUM.yaml", "no spec 'LEANPLUM': the specs are leanplum, dengage, control"),
    ("/_pushfake/openapi/.yaml", "no spec '': the specs are leanplum, dengage, control"),
    ("/_pushfake/openapi/leanplum.", "no format '': each spec is served as yaml or json"),
    ("/_pushfake/openapi/%00.yaml", 'no spec "\\u0000": the specs are leanplum, dengage, control'),
    ("/_pushfake/docs/nope", "no spec 'nope': the specs are leanplum, dengage, control"),
    ("/_pushfake/docs/%F0%9F%92%A5", "no spec '💥': the specs are leanplum, dengage, control"),
])
def test_an_unknown_spec_or_format_is_a_404_in_the_control_planes_shape(client, path, message):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"status": 404, "message": message}}


def test_a_very_long_name_is_cut_short_in_the_answer(client):
    response = client.get(f"/_pushfake/openapi/{'x' * 5000}.yaml")
    assert response.status_code == 404
    assert len(response.json()["error"]["message"]) < 200


def test_nothing_else_is_served_under_the_specs(client):
    for path in ("/_pushfake/openapi", "/_pushfake/openapi/", "/_pushfake/openapi/a/b.yaml",
                 "/_pushfake/openapi/..%2F..%2Fpyproject.toml"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert response.json()["error"]["status"] == 404
    assert client.post("/_pushfake/openapi/leanplum.yaml").status_code == 405
