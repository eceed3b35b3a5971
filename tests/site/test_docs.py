"""`/_pushfake/docs`: each spec as a page a person reads, rendered on the server from the shipped
document: every operation, body fields with their types and limits, every fidelity mark, the
error catalogue; escaped, with no script and nothing loaded from elsewhere."""

from __future__ import annotations

import copy
import html
import re

import pytest

from pushfake.core.catalogue import ErrorCatalogue
from pushfake.core.resources import SPEC_FILES
from pushfake.core.spec import ApiSpec
from pushfake.site.docs import build
from pushfake.site.routes import render
from tests.inbox.dom import Element, parse

NAMES = sorted(SPEC_FILES)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    from starlette.testclient import TestClient

    from pushfake import Fake, ManualClock, create_app

    with TestClient(create_app(Fake(clock=ManualClock()))) as client:
        out = {}
        for name in NAMES:
            response = client.get(f"/_pushfake/docs/{name}")
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            out[name] = response.text
        out["index"] = client.get("/_pushfake/docs").text
    return out


def operation_section(page: Element, operation_id: str) -> Element:
    return page.one(id=f"op-{operation_id}")


@pytest.mark.parametrize("name", NAMES)
def test_the_page_lists_every_operation_with_its_method_and_path(pages, name):
    page = parse(pages[name])
    operations = list(ApiSpec.of(name).operations())
    assert operations
    for path, method, operation in operations:
        section = operation_section(page, operation["operationId"])
        heading = section.one("h3").text
        assert heading.startswith(f"{method} {path}"), heading
        if operation.get("summary"):
            assert " ".join(operation["summary"].replace("`", "").split()) in section.text


@pytest.mark.parametrize("name", NAMES)
def test_every_fidelity_mark_is_on_the_page(pages, name):
    text = html.unescape(re.sub(r"<[^>]+>", "", pages[name]))
    text = " ".join(text.split())
    marks = [m for m in ApiSpec.of(name).fidelity_marks()
             if not m.pointer.startswith("#/x-pushfake-errors/")]  # the catalogue's rows: the next test
    missing = [m.pointer for m in marks if " ".join(m.summary.replace("`", "").split()) not in text]
    assert not missing, f"marks not shown: {missing}"


@pytest.mark.parametrize("name", ["leanplum", "dengage"])
def test_the_error_catalogue_is_on_the_page(pages, name):
    page = parse(pages[name])
    entries = ErrorCatalogue(ApiSpec.of(name)).entries()
    assert entries
    for entry in entries:
        row = page.one("tr", id=f"error-{entry.key}")
        cells = [cell.text for cell in row.all("td")]
        assert cells[:3] == [entry.key, str(entry.status), " ".join(entry.text.split())]
        assert cells[4].startswith(entry.fidelity)
    assert "User not found; request skipped." in pages["leanplum"]
    assert "The template id you have set not found." in pages["dengage"]


def test_a_request_body_is_outlined_with_types_limits_and_what_is_required(pages):
    section = operation_section(parse(pages["leanplum"]), "startPost")
    rows = {row.all("td")[0].text: [cell.text for cell in row.all("td")] for row in section.all("tr") if row.all("td")}
    assert rows["appId required"][1:3] == ["text", "1 to 200 characters"]
    assert "An appId longer than 200 characters is answered 400." in rows["appId required"][3]
    assert rows["createDisposition"][1:3] == ['CreateDisposition: one of "CreateIfNeeded", "CreateNever", null',
                                              'default "CreateIfNeeded"']
    assert rows["iosPushToken"][1:3] == ["Text: text or null", "at most 2000 characters"]
    assert "application/json, text/plain" in section.text and "multipart/form-data" in section.text
    assert "needs at least one of: userId; deviceId" in section.text

    report = operation_section(parse(pages["dengage"]), "getSendInstantPushReport")
    names = [row.all("td")[0].text for row in report.all("tr") if row.all("td")]
    assert "trackingId required" in names and "applicationId" in names

    rule = parse(pages["control"]).one(id="schema-FaultRule")
    nested = {row.all("td")[0].text: row.all("td")[0].attrs["class"] for row in rule.all("tr") if row.all("td")}
    assert nested["vendor"] == "depth-1", "an inline object's fields are outlined under it"


def test_every_schema_has_an_entry_and_every_type_link_lands_on_one(pages):
    for name in NAMES:
        page = parse(pages[name])
        ids = {e.attrs["id"] for e in page.all() if "id" in e.attrs}
        schemas = ApiSpec.of(name).document.get("components", {}).get("schemas", {})
        assert {f"schema-{s}" for s in schemas} <= ids
        anchors = {a.attrs["href"][1:] for a in page.all("a") if a.attrs.get("href", "").startswith("#")}
        assert anchors <= ids, f"{name}: links to nowhere: {sorted(anchors - ids)}"


def test_the_docs_index_lists_every_spec_and_operation(pages):
    page = parse(pages["index"])
    hrefs = [a.attrs["href"] for a in page.all("a")]
    for name in NAMES:
        assert f"/_pushfake/docs/{name}" in hrefs
        for _, _, operation in ApiSpec.of(name).operations():
            assert f"/_pushfake/docs/{name}#op-{operation['operationId']}" in hrefs


@pytest.mark.parametrize("name", [*NAMES, "index"])
def test_the_pages_load_nothing_from_elsewhere_and_run_no_script(pages, name):
    page = parse(pages[name])
    assert not page.all("script") and not page.all("link") and not page.all("img") and not page.all("iframe")
    for element in page.all():
        for attribute in ("href", "src", "action"):
            value = element.attrs.get(attribute)
            assert value is None or value.startswith(("/", "#")), (name, element.tag, value)
        assert not [a for a in element.attrs if a.lower().startswith("on")], (name, element.tag, element.attrs)


def test_text_from_a_spec_is_escaped():
    document = copy.deepcopy(ApiSpec.of("leanplum").document)
    document["info"]["summary"] = "<script>alert('summary')</script>"
    document["paths"]["/api?action=start"]["post"]["summary"] = "<b onclick=x>`<i>code</i>`"
    document["x-pushfake-errors"]["invalid-key"]["text"] = "<img src=x>"
    page = render("docs.html", page=build(ApiSpec(document, "leanplum.yaml"), "leanplum"))
    assert "<script>" not in page and "<b onclick" not in page and "<img" not in page and "<i>code" not in page
    assert "&lt;script&gt;alert(&#39;summary&#39;)&lt;/script&gt;" in page
    assert "<code>&lt;i&gt;code&lt;/i&gt;</code>" in page
