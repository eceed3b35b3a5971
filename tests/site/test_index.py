"""`/_pushfake/`: what a running fake is and has loaded, as JSON for a client and as a page for a
browser (chosen by `Accept`), every link on it answering; and `/`, which sends a browser there
and stays the vendors' 404 for everything else."""

from __future__ import annotations

import pytest

from pushfake import __version__
from pushfake.core.spec import ApiSpec, SchemaValidator
from pushfake.site.negotiation import wants_html
from tests.inbox.dom import parse

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_a_client_gets_json_with_the_version_seed_and_the_world(client, fake):
    for accept in (None, "*/*", "application/json"):
        response = client.get("/_pushfake/", headers={"Accept": accept} if accept else {})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["vary"] == "Accept" and response.headers["cache-control"] == "no-store"
        index = response.json()
        assert (index["name"], index["version"], index["seed"]) == ("pushfake", __version__, fake.seed)
        assert index["fixtures"] == fake.fixtures_label
    [world] = index["worlds"]
    assert world["name"] == "default"
    assert world["leanplum"]["apps"] == [{"id": "app_pushfake", "name": "pushfake demo app", "users": 3, "devices": 3}]
    assert world["dengage"]["accounts"] == [
        {"id": "acc_pushfake", "name": "pushfake demo account", "contacts": 3, "devices": 4}]


def test_the_json_is_what_the_control_spec_says(client):
    spec = ApiSpec.of("control")
    assert SchemaValidator(spec.document, "#/components/schemas/Index").problem(client.get("/_pushfake/").json()) is None
    error = client.get("/_pushfake/openapi/nope.yaml").json()
    assert SchemaValidator(spec.document, "#/components/schemas/Error").problem(error) is None


def test_the_counts_follow_the_state_the_control_plane_shows(client):
    users = client.get("/_pushfake/leanplum/apps/app_pushfake/users").json()["users"]
    contacts = client.get("/_pushfake/dengage/accounts/acc_pushfake/contacts").json()["contacts"]
    client.post("/_pushfake/leanplum/apps/app_pushfake/users",
                json={"id": "zed", "devices": [{"id": "zed-pixel", "gcmRegistrationId": "f" * 40}]}).raise_for_status()
    [world] = client.get("/_pushfake/").json()["worlds"]
    assert world["leanplum"]["apps"][0]["users"] == len(users) + 1
    assert world["leanplum"]["apps"][0]["devices"] == sum(len(u["devices"]) for u in users) + 1
    assert world["dengage"]["accounts"][0]["contacts"] == len(contacts)
    client.post("/_pushfake/reset").raise_for_status()
    assert client.get("/_pushfake/").json()["worlds"][0]["leanplum"]["apps"][0]["users"] == len(users)


def test_every_link_of_the_index_answers(client):
    links = client.get("/_pushfake/").json()["links"]
    paths = [links[k] for k in ("inbox", "journal", "deliveries", "stats", "health", "docs")]
    paths += [path for spec in links["specs"].values() for path in spec.values()]
    assert set(links["specs"]) == {"leanplum", "dengage", "control"}
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert links["vendors"] == {"leanplum": "/api", "dengage": "/rest"}


def test_a_browser_gets_the_same_as_a_page(client):
    response = client.get("/_pushfake/", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["vary"] == "Accept"
    page = parse(response.text)
    text = page.text
    assert f"pushfake {__version__}" in text and "seed 7" in text
    rows = [[cell.text for cell in row.all("td")] for row in page.all("tr")]
    assert ["app_pushfake", "pushfake demo app", "3", "3"] in rows
    assert ["acc_pushfake", "pushfake demo account", "3", "4"] in rows
    hrefs = {a.attrs["href"] for a in page.all("a")}
    assert {"/_pushfake/inbox", "/_pushfake/journal", "/_pushfake/stats", "/_pushfake/health", "/_pushfake/docs",
            "/_pushfake/docs/leanplum", "/_pushfake/openapi/dengage.json", "/_pushfake/openapi/control.yaml"} <= hrefs
    assert not page.all("script"), "the page needs no script"


def test_a_name_from_the_world_is_shown_as_text(client):
    client.put("/_pushfake/fixtures", json={"leanplum": {"apps": [
        {"id": "app_x", "name": "<img src=x onerror=alert(1)>", "productionKey": "p", "developmentKey": "d"}]}}
               ).raise_for_status()
    html = client.get("/_pushfake/", headers={"Accept": BROWSER}).text
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(("accept", "html"), [
    (BROWSER, True),
    ("text/html", True),
    ("application/xhtml+xml", True),
    ("", False),
    ("*/*", False),
    ("text/*", False),
    ("application/json", False),
    ("application/json, text/html", False),  # a tie goes to JSON
    ("text/html;q=0.5, application/json;q=0.9", False),
    ("application/json;q=0.5, text/html", True),
    ("text/html;q=0", False),
    ("text/html;q=abc", False),
    ("text/html;q=nan", False),
    ("TEXT/HTML", True),
    (",,;;q=,", False),
])
def test_html_only_when_it_is_asked_for_above_json(accept, html):
    assert wants_html(accept) is html


# --- / ---------------------------------------------------------------------------------------------

def test_no_vendor_spec_has_a_meaning_for_the_root():
    for vendor in ("leanplum", "dengage"):
        paths = ApiSpec.of(vendor).document["paths"]
        assert not [p for p in paths if p.split("?")[0] in ("", "/")], vendor


def test_the_root_sends_a_browser_to_the_index(client):
    for method in ("GET", "HEAD"):
        response = client.request(method, "/", headers={"Accept": BROWSER}, follow_redirects=False)
        assert response.status_code == 307, method
        assert response.headers["location"] == "/_pushfake/" and response.headers["vary"] == "Accept"
    followed = client.get("/", headers={"Accept": BROWSER})
    assert followed.url.path == "/_pushfake/" and followed.headers["content-type"].startswith("text/html")


def test_the_root_is_the_same_404_as_before_for_everything_else(client):
    unknown = {"response": [{"success": False, "error": {"message": "Not found: /"}}]}
    for method, accept in (("GET", None), ("GET", "application/json"), ("GET", "*/*"), ("POST", BROWSER),
                           ("PUT", None), ("DELETE", None), ("PATCH", None), ("OPTIONS", None)):
        response = client.request(method, "/", headers={"Accept": accept} if accept else {}, follow_redirects=False)
        assert response.status_code == 404, (method, accept)
        assert response.json() == unknown, (method, accept)
    other = client.get("/nowhere", follow_redirects=False)
    assert other.status_code == 404 and other.json()["response"][0]["error"]["message"] == "Not found: /nowhere"
