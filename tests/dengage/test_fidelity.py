"""Issue 17 for D·engage: SendInstantPush's own texts, empty and null values, the device's
language, the report's browsers, contactKey, and a spec whose every allowed value is accepted.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from pushfake.core.spec import ApiSpec
from pushfake.dengage import admin, content
from tests.dengage.helpers import (
    ACCOUNT, BETA_TABLE, CONTENT, ELIF_CHROME, EVERYONE, FORBIDDEN, JOHN_ANDROID, JOHN_FIREFOX, NOT_AUTHENTICATED,
    READONLY, REPORT_NOT_AUTHENTICATED, REPORT_TOO_MANY_REQUESTS, SALE_TEMPLATE, SEND_PATH, TEMPLATE_NOT_FOUND,
    TOO_MANY_REQUESTS, UNKNOWN_ID, bearer, error, field_error, login, reached, report, send, sends, tracking_id,
    world,
)

SPEC = ApiSpec.of("dengage")
SCHEMAS = SPEC.document["components"]["schemas"]


def payloads(fake: Fake, tracking: str) -> dict[str, dict[str, Any]]:
    return {d.device_id: d.payload for d in fake.deliveries.find(send_id=tracking)}


# --- 1. SendInstantPush's texts are its own page's; the report keeps its own --------------------


def test_send_instant_push_answers_the_texts_of_its_own_page(client, fake):
    assert error(client.post(SEND_PATH, json={"content": CONTENT}), 401)["message"] == NOT_AUTHENTICATED
    assert error(send(client, login(client, READONLY), {"content": CONTENT}), 403)["message"] == FORBIDDEN
    token = login(client)
    missing = send(client, token, {"content": {"templateId": UNKNOWN_ID}})
    assert error(missing, 404)["message"] == TEMPLATE_NOT_FOUND
    fake.limits.add({"kind": "token-bucket", "vendor": "dengage", "rate": 0.001, "burst": 1})
    tracking_id(send(client, token, {"content": CONTENT}))
    assert error(send(client, token, {"content": CONTENT}), 429)["message"] == TOO_MANY_REQUESTS
    assert sends(fake) == 1


def test_the_report_keeps_its_own_texts(client, fake):
    unknown = {"trackingId": UNKNOWN_ID}
    assert error(client.get(SEND_PATH, params=unknown), 401)["message"] == REPORT_NOT_AUTHENTICATED
    token = login(client)
    fake.limits.add({"kind": "token-bucket", "vendor": "dengage", "rate": 0.001, "burst": 1})
    error(client.get(SEND_PATH, params=unknown, headers=bearer(token)), 404)
    refused = client.get(SEND_PATH, params=unknown, headers=bearer(token))
    assert error(refused, 429)["message"] == REPORT_TOO_MANY_REQUESTS


# --- 2. "leave templateId empty" -------------------------------------------------------------------


@pytest.mark.parametrize("empty", ["", None], ids=["empty-text", "null"])
def test_inline_content_with_an_empty_template_id_is_sent(client, fake, empty):
    response = send(client, login(client), {"content": {"templateId": empty, **CONTENT}})
    tracking = tracking_id(response)
    assert reached(fake, tracking) == EVERYONE
    assert {(p["title"], p["message"]) for p in payloads(fake, tracking).values()} == {
        (CONTENT["title"], CONTENT["message"])}


def test_an_empty_template_id_alone_is_still_a_400_naming_the_missing_title(client, fake):
    assert field_error(send(client, login(client), {"content": {"templateId": ""}})) == "content.title"
    assert sends(fake) == 0


# --- 6. the device's language, then the contact's, then the default ---------------------------------


def _languages(document: dict[str, Any]) -> None:
    john = next(c for c in document["dengage"]["accounts"][0]["contacts"] if c["key"] == "john")
    firefox = next(d for d in john["devices"] if d["id"] == "john-firefox")
    firefox["language"] = "tr"  # john is EN; his Firefox is set to Turkish
    elif_ = next(c for c in document["dengage"]["accounts"][0]["contacts"] if c["key"] == "elif")
    elif_["devices"][0]["language"] = "FR"  # no French content: elif's own DE has none either


def test_a_device_gets_its_own_language_then_its_contacts_then_the_default(tmp_path):
    fake = Fake(fixtures=world(tmp_path, _languages), clock=ManualClock())
    with TestClient(create_app(fake)) as client:
        tracking = tracking_id(send(client, login(client), {"content": {"templateId": SALE_TEMPLATE},
                                                            "tableId": BETA_TABLE}))
    got = {device: p["language"] for device, p in payloads(fake, tracking).items()}
    assert got == {JOHN_FIREFOX[1]: "TR", JOHN_ANDROID[1]: "EN", ELIF_CHROME[1]: "EN"}
    assert payloads(fake, tracking)[JOHN_FIREFOX[1]]["title"] == "Hafta sonu indirimi"


def test_the_contact_language_is_used_when_the_devices_has_no_content(tmp_path):
    def edit(document: dict[str, Any]) -> None:
        ayse = next(c for c in document["dengage"]["accounts"][0]["contacts"] if c["key"] == "ayse")
        ayse["devices"][0]["language"] = "JA"  # no Japanese content; ayse is TR

    fake = Fake(fixtures=world(tmp_path, edit), clock=ManualClock())
    with TestClient(create_app(fake)) as client:
        tracking = tracking_id(send(client, login(client), {"content": {"templateId": SALE_TEMPLATE}}))
    assert payloads(fake, tracking)["ayse-iphone"]["language"] == "TR"


def test_a_device_created_through_the_control_plane_carries_its_language(client, fake):
    device = admin.add_device(fake.dengage.state, ACCOUNT, "john", {
        "id": "john-ipad", "applicationId": "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d", "platform": "ios",
        "token": "ab" * 32, "language": "tr"})
    assert admin.device_view(device)["language"] == "TR"
    tracking = tracking_id(send(client, login(client), {"content": {"templateId": SALE_TEMPLATE},
                                                        "tableId": BETA_TABLE}))
    assert payloads(fake, tracking)["john-ipad"]["language"] == "TR"
    assert payloads(fake, tracking)["john-android"]["language"] == "EN"


# --- 8. null is "left out"; a 400 says which field and what is wrong, in plain words --------------


@pytest.mark.parametrize("extra", [
    {"segmentId": None}, {"tableId": None}, {"trackingId": None}, {"applicationIds": None},
    {"useOnlyEngagedTokens": None}, {"multiLangContent": None}, {"scheduleDate": None}, {"contactKey": None},
    {"content": {**CONTENT, "mediaUrl": None, "targetUrl": None}},
], ids=lambda extra: next(iter(extra)) if "content" not in extra else "content.mediaUrl-targetUrl")
def test_null_for_an_optional_field_is_taken_as_left_out(client, fake, extra):
    tracking = tracking_id(send(client, login(client), {"content": CONTENT, **extra}))
    assert reached(fake, tracking) == EVERYONE


def test_null_content_beside_multilang_content_is_left_out(client, fake):
    multi = {"defaultLanguage": "EN", "contents": [{"language": "EN", "title": "Hi", "message": "Hello",
                                                    "mediaUrl": None}]}
    tracking = tracking_id(send(client, login(client), {"content": None, "multiLangContent": multi}))
    assert {p["title"] for p in payloads(fake, tracking).values()} == {"Hi"}


PLAIN = [
    ({"content": {"title": "t" * 501, "message": "m"}}, "content.title", "is too long (at most 500 characters)."),
    ({"content": {"title": 5, "message": "m"}}, "content.title", "must be text or null."),
    ({"content": {"title": "t"}}, "content.message", "is required."),
    ({"content": CONTENT, "segmentId": "gold"}, "segmentId", "must be a UUID."),
    ({"content": CONTENT, "segmentId": 5}, "segmentId", "must be text or null."),
    ({"content": CONTENT, "useOnlyEngagedTokens": "yes"}, "useOnlyEngagedTokens", "must be true, false or null."),
    ({"content": CONTENT, "applicationIds": []}, "applicationIds", "must not be an empty list."),
    ({"content": CONTENT, "applicationIds": ["a"]}, "applicationIds[0]", "must be a UUID."),
    ({"content": CONTENT, "applicationIds": [None]}, "applicationIds[0]", "must be text."),
    ({"content": {"templateId": "nope"}}, "content.templateId",
     "must be a UUID (or empty, to send the inline content)."),
    ({"multiLangContent": {"defaultLanguage": "ENG", "contents": [{"language": "EN", **CONTENT}]}},
     "multiLangContent.defaultLanguage", "must be a two-letter language code."),
    ({"multiLangContent": {"defaultLanguage": "EN", "contents": [None]}}, "multiLangContent.contents[0]",
     "must be an object."),
    ({"content": CONTENT, "scheduleDate": "tomorrow"}, "scheduleDate",
     "must be a real UTC date in a documented format (e.g. 2030-05-01T09:30:00Z)."),
]


@pytest.mark.parametrize(("body", "field", "problem"), PLAIN, ids=[f"{p[1]}-{i}" for i, p in enumerate(PLAIN)])
def test_every_400_names_the_field_and_says_what_is_wrong_in_plain_words(client, fake, body, field, problem):
    answer = error(send(client, login(client), body), 400)
    assert answer["errors"] == [{"field": field, "message": problem}]
    assert answer["message"] == f"Validation failed. {field}: {problem}"
    assert not re.search(r"None|is not of type|does not match|\[\'|\{\'|non-empty|is too long'", answer["message"])
    assert sends(fake) == 0


def test_login_400s_use_plain_words_too(client):
    answer = error(client.post("/rest/login", json={"userkey": None, "password": "p"}), 400)
    assert answer["message"] == "Validation failed. userkey: must be text."
    answer = error(client.post("/rest/login", json={"userkey": "", "password": "p"}), 400)
    assert answer["message"] == "Validation failed. userkey: must not be empty."


# --- 10. browsers, contactKey ----------------------------------------------------------------------


def test_the_report_counts_web_deliveries_by_browser(client, fake):
    token = login(client)
    tracking = tracking_id(send(client, token, {"content": CONTENT}))
    fake.advance(5)
    [elif_delivery] = fake.deliveries.find(send_id=tracking, device_id=ELIF_CHROME[1])
    fake.dengage.engage(elif_delivery.id, "open")
    data = report(client, token, tracking)
    assert data["browsers"] == [{"itemName": "Chrome", "deliveredCount": 1, "openCount": 1},
                                {"itemName": "Firefox", "deliveredCount": 1, "openCount": 0}]
    assert {i["itemName"]: i["deliveredCount"] for i in data["deviceTypes"]} == {"Android": 1, "Web": 2, "iOS": 1}


def test_a_web_devices_browser_can_be_named_in_the_fixtures(tmp_path):
    def edit(document: dict[str, Any]) -> None:
        elif_ = next(c for c in document["dengage"]["accounts"][0]["contacts"] if c["key"] == "elif")
        elif_["devices"][0]["browser"] = "Opera"

    fake = Fake(fixtures=world(tmp_path, edit), clock=ManualClock())
    with TestClient(create_app(fake)) as client:
        token = login(client)
        tracking = tracking_id(send(client, token, {"content": CONTENT, "tableId": BETA_TABLE}))
        fake.advance(5)
        names = [i["itemName"] for i in report(client, token, tracking)["browsers"]]
    assert names == ["Firefox", "Opera"]


def test_contact_key_is_refused_rather_than_ignored(client, fake):
    response = send(client, login(client), {"content": CONTENT, "contactKey": "ayse"})
    answer = error(response, 400)
    assert answer["errors"][0]["field"] == "contactKey"
    assert "SendTransactionalPush" in answer["message"]
    assert sends(fake) == 0 and fake.deliveries.find() == []


# --- 11. every value the spec allows is accepted; far dates never 500 --------------------------------


SCHEDULE = jsonschema.Draft202012Validator(SCHEMAS["ScheduleDate"])


@pytest.mark.parametrize("date", ["7100-60-93", "2030-02-30", "2031-02-29", "2030-04-31", "2030-01-01T24:00",
                                  "2030-01-01 12:60", "0000-01-01", "10000-01-01"])
def test_a_date_that_is_not_real_is_refused_by_the_spec_and_the_fake(client, fake, date):
    assert not SCHEDULE.is_valid(date)
    assert field_error(send(client, login(client), {"content": CONTENT, "scheduleDate": date})) == "scheduleDate"


@settings(max_examples=300, deadline=None)
@given(st.from_regex(SCHEMAS["ScheduleDate"]["pattern"], fullmatch=True))
def test_every_date_the_spec_pattern_admits_is_a_date_the_fake_reads(date):
    assert content.parse_schedule_date(date) is not None, date


@pytest.mark.parametrize("date", ["9999-12-31", "9999-12-31T23:59:59.999Z", "2032-02-29 10:00"])
def test_a_far_future_date_is_scheduled(client, fake, date):
    token = login(client)
    tracking = tracking_id(send(client, token, {"content": CONTENT, "scheduleDate": date}))
    data = report(client, token, tracking)
    assert data["status"] == "Scheduled" and data["scheduleDate"].startswith(date[:10])


def test_documented_defaults_are_in_the_schema():
    properties = SCHEMAS["SendInstantPushRequest"]["properties"]
    assert properties["useOnlyEngagedTokens"]["default"] is False
    assert SCHEMAS["ScheduleDate"]["default"] is None


def test_the_seeds_unnamed_enum_field_is_listed_as_an_assumption():
    assumed = [m.summary for m in SPEC.fidelity_marks() if m.fidelity == "assumed"]
    assert any("enum field" in s and "scheduleDate" in s for s in assumed), assumed
