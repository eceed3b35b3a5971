"""Whatever a client puts in a site path or an `Accept` header, the answer is a page, a document
or a 404 in the control plane's shape: never a 5xx, never a Python word."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from tests.support import deterministic

pytestmark = pytest.mark.fuzz

NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
ACCEPTS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=80)


@pytest.fixture(scope="module")
def site() -> Iterator[TestClient]:
    """One app for every example: these routes only read, so no example changes what the next sees."""
    with TestClient(create_app(Fake(clock=ManualClock()))) as client:
        yield client


@deterministic(100)
@given(name=NAMES, fmt=st.sampled_from(["yaml", "json", "", "xml", "YAML"]))
def test_any_spec_name_gets_a_document_or_a_clean_404(site, name, fmt):
    response = site.get(f"/_pushfake/openapi/{quote(name, safe='')}.{fmt}")
    assert response.status_code in (200, 404)
    if response.status_code == 404:
        body = response.json()
        assert body["error"]["status"] == 404 and body["error"]["message"].startswith(("no spec", "no format", "Not found"))
        assert "Traceback" not in response.text and "KeyError" not in response.text


@deterministic(100)
@given(name=NAMES)
def test_any_docs_name_gets_a_page_or_a_clean_404(site, name):
    response = site.get(f"/_pushfake/docs/{quote(name, safe='')}")
    assert response.status_code in (200, 404)
    if response.status_code == 404:
        assert response.json()["error"]["status"] == 404


@deterministic(100)
@given(accept=ACCEPTS)
def test_any_accept_header_gets_the_index_or_the_root_answer(site, accept):
    index = site.get("/_pushfake/", headers={"Accept": accept})
    assert index.status_code == 200
    assert index.headers["content-type"].startswith(("application/json", "text/html"))
    root = site.get("/", headers={"Accept": accept}, follow_redirects=False)
    assert root.status_code in (307, 404)
