"""Bad input never gives a 5xx, always D·engage's error body, and never queues or stores a send."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from pushfake.core.fixtures import FixtureError
from tests.dengage.helpers import (
    BETA_TABLE, CONTENT, GOLD_SEGMENT, MOBILE_APP, PASSWORD, SALE_TEMPLATE, SEND_PATH, SHIPPED_TEMPLATE,
    UNKNOWN_ID, USERKEY, UUID, WEB_APP, bearer, error, field_error, login, send, sends, tracking_id, world,
)

JSON = {"content-type": "application/json"}


def _post_raw(client, path, content, headers, token=None):
    return client.post(path, content=content, headers={**headers, **(bearer(token) if token else {})})


@pytest.mark.parametrize("path", [SEND_PATH, "/rest/login"])
@pytest.mark.parametrize("raw", [b'{"content": ', b"{'content': 1}", b"\xff\xfe", b"{} {}"])
def test_malformed_json_is_400(client, fake, path, raw):
    response = _post_raw(client, path, raw, JSON, login(client))
    assert error(response, 400)["message"].startswith("Request body is not valid JSON")
    assert fake.deliveries.find() == [] and sends(fake) == 0


@pytest.mark.parametrize("path", [SEND_PATH, "/rest/login"])
@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"5", b"null", b"true"])
def test_json_that_is_not_an_object_is_400(client, fake, path, raw):
    response = _post_raw(client, path, raw, JSON, login(client))
    assert error(response, 400)["message"] == "Request body must be a JSON object."
    assert fake.deliveries.find() == [] and sends(fake) == 0


def test_empty_body_is_400_naming_what_is_missing(client, fake):
    response = _post_raw(client, SEND_PATH, b"", JSON, login(client))
    assert field_error(response) == "content"
    assert error(_post_raw(client, "/rest/login", b"", JSON), 400)["errors"][0]["field"] in ("userkey", "password")


@pytest.mark.parametrize("path", [SEND_PATH, "/rest/login"])
@pytest.mark.parametrize("content_type", ["application/xml", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "image/png"])
def test_non_json_content_type_is_415(client, fake, path, content_type):
    body = json.dumps({"content": CONTENT, "userkey": USERKEY, "password": PASSWORD}).encode()
    response = _post_raw(client, path, body, {"content-type": content_type}, login(client))
    assert "application/json" in error(response, 415)["message"]
    assert fake.deliveries.find() == [] and sends(fake) == 0


def test_body_over_the_limit_is_413(tmp_path):
    fake = Fake(fixtures=world(tmp_path, maxBodyBytes=1024), clock=ManualClock())
    with TestClient(create_app(fake)) as client:
        token = login(client)
        big = send(client, token, {"content": {"title": "t", "message": "x" * 2000}})
        assert error(big, 413)["message"] == "Request body too large: over 1024 bytes."
        assert fake.deliveries.find() == [] and sends(fake) == 0
        big_login = client.post("/rest/login", json={"userkey": USERKEY, "password": "p" * 2000})
        error(big_login, 413)
        small = send(client, token, {"content": {"title": "t", "message": "x" * 500}})
        assert len(fake.deliveries.find(send_id=tracking_id(small))) == 4


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"applicationIds": MOBILE_APP}, "applicationIds"),
        ({"applicationIds": {"id": MOBILE_APP}}, "applicationIds"),
        ({"applicationIds": [MOBILE_APP, 5]}, "applicationIds[1]"),
        ({"applicationIds": ["mobile"]}, "applicationIds[0]"),
        ({"segmentId": "gold"}, "segmentId"),
        ({"segmentId": 5}, "segmentId"),
        ({"tableId": [BETA_TABLE]}, "tableId"),
        ({"trackingId": 12345}, "trackingId"),
        ({"useOnlyEngagedTokens": "true"}, "useOnlyEngagedTokens"),
        ({"useOnlyEngagedTokens": 1}, "useOnlyEngagedTokens"),
        ({"scheduleDate": 1767312000}, "scheduleDate"),
        ({"scheduleDate": "2026-01-02T10:00:00+03:00"}, "scheduleDate"),
    ],
)
def test_wrong_type_is_400_naming_the_field(client, fake, extra, field):
    response = send(client, login(client), {"content": CONTENT, **extra})
    assert field_error(response) == field
    assert fake.deliveries.find() == [] and sends(fake) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "hello"}, "content"),
        ({"content": {"title": "only a title"}}, "content"),
        ({"content": {"templateId": "not-a-uuid"}}, "content"),
        ({"multiLangContent": {"contents": []}}, "multiLangContent"),
        ({"multiLangContent": {"defaultLanguage": "English", "contents": [
            {"language": "EN", "title": "t", "message": "m"}]}}, "multiLangContent"),
        ({"multiLangContent": {"defaultLanguage": "EN", "contents": [{"language": "EN", "title": "t"}]}},
         "multiLangContent"),
    ],
)
def test_malformed_content_is_400_naming_the_field(client, fake, body, field):
    assert field_error(send(client, login(client), body)).startswith(field)
    assert fake.deliveries.find() == [] and sends(fake) == 0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"trackingId": UNKNOWN_ID + "\n"}, "trackingId"),
        ({"segmentId": GOLD_SEGMENT + "\n"}, "segmentId"),
        ({"tableId": BETA_TABLE + "\n"}, "tableId"),
        ({"applicationIds": [WEB_APP + "\n"]}, "applicationIds[0]"),
    ],
    ids=["trackingId", "segmentId", "tableId", "applicationIds"],
)
def test_an_id_with_a_trailing_newline_is_not_a_uuid(client, fake, extra, field):
    """The spec's uuid pattern ends in `$`; Python's `re` lets `$` match before a final newline."""
    response = send(client, login(client), {"content": CONTENT, **extra})
    assert field_error(response) == field
    assert fake.deliveries.find() == [] and sends(fake) == 0


def test_report_tracking_id_with_a_trailing_newline_is_400(client):
    token = login(client)
    given = tracking_id(send(client, token, {"content": CONTENT}))
    response = client.get(SEND_PATH, params={"trackingId": given + "\n"}, headers=bearer(token))
    assert field_error(response) == "trackingId"


@pytest.mark.parametrize("path", ["/rest/nope", "/rest/push/sendLater", "/rest/push/sendInstant/extra", "/rest"])
def test_unknown_rest_path_is_404_in_dengage_body(client, path):
    response = client.post(path, json={"content": CONTENT}, headers=bearer(login(client)))
    assert error(response, 404)["message"] == f"Not found: {path}"


@pytest.mark.parametrize(("method", "path"), [("PUT", SEND_PATH), ("DELETE", SEND_PATH), ("PATCH", SEND_PATH),
                                              ("GET", "/rest/login"), ("PUT", "/rest/login")])
def test_wrong_method_is_405_in_dengage_body(client, method, path):
    response = client.request(method, path, headers=bearer(login(client)))
    assert error(response, 405)["message"] == f"Method {method} not allowed."


@pytest.mark.parametrize(("path", "allowed"), [(SEND_PATH, {"GET", "HEAD", "POST"}), ("/rest/login", {"POST"})])
def test_405_allow_header_lists_every_method_of_the_path(client, path, allowed):
    """RFC 9110 §15.5.6: a 405 lists the target resource's supported methods in `Allow`."""
    response = client.put(path)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def _without_default_language_content(document):
    sale = document["dengage"]["accounts"][0]["templates"][1]
    assert sale["id"] == SALE_TEMPLATE
    sale["defaultLanguage"] = "FR"  # contents are EN and TR only


def test_template_whose_default_language_has_no_content_is_refused_at_load_or_sent_cleanly(tmp_path):
    """Either the world file is refused, or a send with the template is a clean answer: no 5xx,
    no send stored half-done with deliveries that are never handed off."""
    try:
        fake = Fake(fixtures=world(tmp_path, _without_default_language_content), clock=ManualClock())
    except FixtureError as exc:
        assert "defaultLanguage" in str(exc)
        return
    handed: list[list[str]] = []
    fake.deliveries.attach(handed.append)
    with TestClient(create_app(fake), raise_server_exceptions=False) as client:
        response = send(client, login(client), {"content": {"templateId": SALE_TEMPLATE}})
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        recorded = fake.deliveries.find(send_id=tracking_id(response))
        assert sorted(i for batch in handed for i in batch) == sorted(d.id for d in recorded)
    else:
        assert fake.deliveries.find() == [] and sends(fake) == 0


# --- fuzzing -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
real_ids = st.sampled_from([MOBILE_APP, WEB_APP, GOLD_SEGMENT, BETA_TABLE, SHIPPED_TEMPLATE, SALE_TEMPLATE,
                            UNKNOWN_ID, "6f1d2c3b-4a59-4e8d-b7c6-a5b4c3d2e1f0"])
texts = st.text(max_size=30) | st.sampled_from(["Hi {{contact.name}}", "{{contact.}}", "{{ contact.tier }}", ""])
languages = st.sampled_from(["EN", "TR", "de", "xx", "ENG", "en-US", ""])


inline = st.one_of(
    st.fixed_dictionaries({"title": texts, "message": texts}, optional={"mediaUrl": texts, "targetUrl": texts}),
    st.fixed_dictionaries({"templateId": st.sampled_from([SHIPPED_TEMPLATE, SALE_TEMPLATE, UNKNOWN_ID])}),
    st.fixed_dictionaries({}, optional={"title": texts | json_values, "message": texts,
                                        "templateId": real_ids | json_values, "mediaUrl": json_values}),
)
multi = st.one_of(
    st.fixed_dictionaries({"defaultLanguage": st.sampled_from(["EN", "tr"]), "contents": st.lists(
        st.fixed_dictionaries({"language": st.sampled_from(["EN", "TR", "de", "en"]), "title": texts,
                               "message": texts}, optional={"mediaUrl": texts}), min_size=1, max_size=3)}),
    st.fixed_dictionaries({}, optional={"defaultLanguage": languages | json_values, "contents": st.lists(
        st.fixed_dictionaries({}, optional={"language": languages | json_values, "title": texts,
                                            "message": texts | json_values}), max_size=3) | json_values}),
)
good = {
    "applicationIds": st.lists(st.sampled_from([MOBILE_APP, WEB_APP, UNKNOWN_ID]), max_size=3),
    "scheduleDate": st.sampled_from([None, "2026-01-02", "2026-01-01 00:00", "2025-12-31T23:59:59Z", "2026-02-31",
                                     "2026-01-01T00:00:01.5Z", "9999-99-99", "2026-01-02 10:30:15.125"]),
    "segmentId": st.sampled_from([GOLD_SEGMENT, UNKNOWN_ID, BETA_TABLE]),
    "tableId": st.sampled_from([BETA_TABLE, UNKNOWN_ID, GOLD_SEGMENT]),
    "trackingId": st.sampled_from(["6f1d2c3b-4a59-4e8d-b7c6-a5b4c3d2e1f0", UNKNOWN_ID.upper()]) | st.uuids().map(str),
    "useOnlyEngagedTokens": st.booleans(),
}


@st.composite
def bodies(draw: st.DrawFn) -> dict:
    """Send bodies over the real field names: mostly plausible, each field sometimes any JSON."""
    body: dict = {}
    mode = draw(st.sampled_from(["content", "content", "content", "multi", "multi", "both", "neither", "any"]))
    if mode in ("content", "both"):
        body["content"] = draw(inline)
    if mode in ("multi", "both"):
        body["multiLangContent"] = draw(multi)
    if mode == "any":
        body.update(draw(st.dictionaries(st.sampled_from(["content", "multiLangContent"]), json_values, max_size=2)))
    for name, strategy in good.items():
        how = draw(st.sampled_from(["absent", "absent", "good", "junk"]))
        if how == "good":
            body[name] = draw(strategy)
        elif how == "junk":
            body[name] = draw(json_values)
    body.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=1)))
    return body


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies())
def test_no_send_body_gives_a_server_error_or_a_partial_send(client, fake, body):
    token = login(client)
    deliveries_before, sends_before = len(fake.deliveries.find()), sends(fake)
    response = client.post(SEND_PATH, json=body, headers=bearer(token))
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        answer = response.json()
        assert set(answer) == {"code", "message", "data"} and (answer["code"], answer["message"]) == (0, "Success")
        tracking = answer["data"]["trackingId"]
        assert UUID.fullmatch(tracking.lower()), tracking
        assert tracking == body.get("trackingId", tracking), "a given trackingId is returned as-is"
        assert fake.dengage.send("acc_pushfake", tracking) is not None
        assert sends(fake) == sends_before + 1
    else:
        error(response, response.status_code)
        assert response.status_code in (400, 404), response.text
        assert len(fake.deliveries.find()) == deliveries_before, "a refused send queued deliveries"
        assert sends(fake) == sends_before, "a refused send was stored"
