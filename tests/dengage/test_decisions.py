"""One test (or a small group) per row of the D·engage table in shared/reference/DECISIONS.md.

Each asserts what a client sees: HTTP status, body shape and, where DECISIONS gives one,
the exact text.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from tests.dengage.helpers import (
    AYSE_IPHONE, BETA_TABLE, CONTENT, ELIF_CHROME, EVERYONE, FORBIDDEN, GOLD_SEGMENT, JOHN_ANDROID,
    JOHN_FIREFOX, MOBILE_APP, NOT_AUTHENTICATED, PASSWORD, READONLY, REPORT_NOT_AUTHENTICATED, SALE_TEMPLATE,
    SEND_PATH, SHIPPED_TEMPLATE, TEMPLATE_NOT_FOUND, TOO_MANY_REQUESTS, UNKNOWN_ID, USERKEY, WEB_APP, bearer, error,
    field_error, login, reached, report, send, sends, tracking_id, world,
)

# --- login -------------------------------------------------------------------------------------


def test_login_answers_an_access_token_of_type_bearer_for_3600_seconds(client):
    response = client.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32


@pytest.mark.parametrize(
    ("userkey", "password"),
    [(USERKEY, "wrong"), ("nobody", PASSWORD), (USERKEY, PASSWORD.upper())],
    ids=["wrong-password", "unknown-user", "password-case"],
)
def test_wrong_login_is_401(client, userkey, password):
    response = client.post("/rest/login", json={"userkey": userkey, "password": password})
    assert error(response, 401)["message"] == "Invalid userkey or password."  # the spec's text
    assert "access_token" not in response.json()


# --- the Authorization header ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer {}", "{}"], ids=["bearer", "bare"])
def test_bearer_and_bare_tokens_are_both_accepted(client, fake, scheme):
    token = login(client)
    response = client.post(SEND_PATH, json={"content": CONTENT}, headers={"Authorization": scheme.format(token)})
    assert reached(fake, tracking_id(response)) == EVERYONE


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": "Bearer not-a-token"},
     {"Authorization": "not-a-token"}],
    ids=["missing", "empty", "bearer-nothing", "unknown-bearer", "unknown-bare"],
)
def test_missing_or_unknown_token_is_401(client, fake, headers):
    login(client)  # a valid token exists, but it is not the one sent
    response = client.post(SEND_PATH, json={"content": CONTENT}, headers=headers)
    assert error(response, 401)["message"] == NOT_AUTHENTICATED
    assert fake.deliveries.find() == [] and sends(fake) == 0


def test_expired_token_is_401(client, fake):
    token = login(client)
    fake.advance(3599)
    tracking_id(send(client, token, {"content": CONTENT}))
    fake.advance(2)  # 3601 s after login
    response = send(client, token, {"content": CONTENT})
    assert error(response, 401)["message"] == NOT_AUTHENTICATED
    report_response = client.get(SEND_PATH, params={"trackingId": UNKNOWN_ID}, headers=bearer(token))
    assert error(report_response, 401)["message"] == REPORT_NOT_AUTHENTICATED
    assert sends(fake) == 1


def test_api_user_without_push_permission_is_403(client, fake):
    token = login(client, READONLY)
    response = send(client, token, {"content": CONTENT})
    assert error(response, 403)["message"] == FORBIDDEN
    assert fake.deliveries.find() == [] and sends(fake) == 0


# --- envelopes ---------------------------------------------------------------------------------


def test_error_envelope_has_errors_on_400_only(client):
    token = login(client)
    bad = send(client, token, {"content": CONTENT, "segmentId": "nope"})
    body = error(bad, 400)
    assert body["errors"] == [{"field": "segmentId", "message": body["errors"][0]["message"]}]
    missing = send(client, token, {"content": CONTENT, "segmentId": UNKNOWN_ID})
    assert "errors" not in error(missing, 404)
    unauthenticated = client.post(SEND_PATH, json={"content": CONTENT})
    assert "errors" not in error(unauthenticated, 401)


def test_success_is_code_0_success_with_the_tracking_id(client):
    response = send(client, login(client), {"content": CONTENT})
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body == {"code": 0, "message": "Success", "data": {"trackingId": tracking_id(response)}}


# --- content -----------------------------------------------------------------------------------

MULTI = {"defaultLanguage": "EN", "contents": [{"language": "EN", "title": "Hi", "message": "Hello"}]}


@pytest.mark.parametrize(
    "body",
    [{"content": CONTENT, "multiLangContent": MULTI}, {}, {"applicationIds": [MOBILE_APP]}],
    ids=["both", "neither", "neither-with-other-fields"],
)
def test_content_and_multilang_content_together_or_neither_is_400(client, fake, body):
    response = send(client, login(client), body)
    assert field_error(response) in ("content", "multiLangContent")
    assert fake.deliveries.find() == [] and sends(fake) == 0


@pytest.mark.parametrize("inline", [{"title": "T"}, {"message": "M"}, {"title": "T", "message": "M"},
                                    {"mediaUrl": "https://x/i.png"}, {"targetUrl": "https://x/"}])
def test_template_id_with_inline_fields_is_400(client, fake, inline):
    response = send(client, login(client), {"content": {"templateId": SHIPPED_TEMPLATE, **inline}})
    assert field_error(response) == "content"
    assert fake.deliveries.find() == []


def test_template_id_alone_is_accepted(client, fake):
    response = send(client, login(client), {"content": {"templateId": SHIPPED_TEMPLATE}})
    assert reached(fake, tracking_id(response)) == EVERYONE


# --- audience ----------------------------------------------------------------------------------


def test_segment_and_table_together_is_400(client, fake):
    response = send(client, login(client), {"content": CONTENT, "segmentId": GOLD_SEGMENT, "tableId": BETA_TABLE})
    assert field_error(response) in ("segmentId", "tableId")
    assert fake.deliveries.find() == [] and sends(fake) == 0


def test_neither_segment_nor_table_reaches_every_reachable_token_of_the_applications(client, fake):
    token = login(client)
    everyone = tracking_id(send(client, token, {"content": CONTENT}))
    web_only = tracking_id(send(client, token, {"content": CONTENT, "applicationIds": [WEB_APP]}))
    assert reached(fake, everyone) == EVERYONE
    assert reached(fake, web_only) == {JOHN_FIREFOX, ELIF_CHROME}


def test_fields_the_spec_does_not_list_are_ignored_not_refused(client, fake):
    """Assumed (spec): a field the spec does not list changes nothing (contactKey is the exception,
    see test_fidelity)."""
    response = send(client, login(client), {"content": CONTENT, "sound": "default", "badge": 3})
    assert reached(fake, tracking_id(response)) == EVERYONE


def test_missing_application_ids_means_all_applications(client, fake):
    token = login(client)
    implicit = tracking_id(send(client, token, {"content": CONTENT}))
    explicit = tracking_id(send(client, token, {"content": CONTENT, "applicationIds": [MOBILE_APP, WEB_APP]}))
    assert reached(fake, implicit) == reached(fake, explicit) == EVERYONE
    assert {d.app_id for d in fake.deliveries.find(send_id=implicit)} == {MOBILE_APP, WEB_APP}


def test_require_application_ids_setting_makes_a_missing_list_a_400(tmp_path):
    fake = Fake(fixtures=world(tmp_path, requireApplicationIds=True), clock=ManualClock())
    with TestClient(create_app(fake)) as client:
        token = login(client)
        assert field_error(send(client, token, {"content": CONTENT})) == "applicationIds"
        assert fake.deliveries.find() == [] and sends(fake) == 0
        given = send(client, token, {"content": CONTENT, "applicationIds": [MOBILE_APP]})
        assert reached(fake, tracking_id(given)) == {AYSE_IPHONE, JOHN_ANDROID}


def test_unknown_template_is_404(client, fake):
    response = send(client, login(client), {"content": {"templateId": UNKNOWN_ID}})
    assert error(response, 404)["message"] == TEMPLATE_NOT_FOUND  # seed 001's text
    assert fake.deliveries.find() == [] and sends(fake) == 0


@pytest.mark.parametrize(
    "extra",
    [{"applicationIds": [UNKNOWN_ID]}, {"applicationIds": [MOBILE_APP, UNKNOWN_ID]},
     {"segmentId": UNKNOWN_ID}, {"tableId": UNKNOWN_ID},
     {"segmentId": BETA_TABLE}, {"tableId": GOLD_SEGMENT}],
    ids=["application", "one-of-two-applications", "segment", "table", "table-id-as-segment",
         "segment-id-as-table"],
)
def test_unknown_application_segment_or_table_is_404(client, fake, extra):
    response = send(client, login(client), {"content": CONTENT, **extra})
    wrong = next(iter(v[-1] if isinstance(v, list) else v for v in extra.values()))
    assert wrong in error(response, 404)["message"]
    assert fake.deliveries.find() == [] and sends(fake) == 0


# --- trackingId --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "", "12345678-1234-1234-1234-1234567890", "{" + UNKNOWN_ID + "}",
                                   UNKNOWN_ID.replace("-", "")])
def test_tracking_id_not_a_uuid_is_400(client, fake, value):
    response = send(client, login(client), {"content": CONTENT, "trackingId": value})
    assert field_error(response) == "trackingId"
    assert fake.deliveries.find() == [] and sends(fake) == 0


def test_tracking_id_already_used_is_400(client, fake):
    token = login(client)
    given = "7d444840-9dc0-11d1-b245-5ffdce74fad2"
    assert tracking_id(send(client, token, {"content": CONTENT, "trackingId": given})) == given
    before = len(fake.deliveries.find())
    again = send(client, token, {"content": {"templateId": SHIPPED_TEMPLATE}, "trackingId": given})
    assert field_error(again) == "trackingId"
    assert len(fake.deliveries.find()) == before == 4
    assert {d.payload["message"] for d in fake.deliveries.find(send_id=given)} == {CONTENT["message"]}


# --- engaged tokens ----------------------------------------------------------------------------


def test_use_only_engaged_tokens_keeps_only_engaged_devices(client, fake):
    token = login(client)
    first = tracking_id(send(client, token, {"content": CONTENT, "useOnlyEngagedTokens": True}))
    assert reached(fake, first) == {ELIF_CHROME}
    everyone = tracking_id(send(client, token, {"content": CONTENT, "useOnlyEngagedTokens": False}))
    [john_android] = fake.deliveries.find(send_id=everyone, device_id="john-android")
    fake.run_until_idle()  # a notification is opened once it has arrived
    fake.dengage.engage(john_android.id, "open")
    after = tracking_id(send(client, token, {"content": CONTENT, "useOnlyEngagedTokens": True}))
    assert reached(fake, after) == {ELIF_CHROME, JOHN_ANDROID}


def test_a_click_also_engages_a_device(client, fake):
    token = login(client)
    everyone = tracking_id(send(client, token, {"content": CONTENT}))
    [ayse] = fake.deliveries.find(send_id=everyone, device_id="ayse-iphone")
    fake.run_until_idle()  # a notification is opened once it has arrived
    fake.dengage.engage(ayse.id, "click")
    after = tracking_id(send(client, token, {"content": CONTENT, "useOnlyEngagedTokens": True}))
    assert reached(fake, after) == {ELIF_CHROME, AYSE_IPHONE}


# --- scheduleDate ------------------------------------------------------------------------------
# The ManualClock starts at 2026-01-01T00:00:00Z.

DOCUMENTED_FORMATS = [
    ("2026-01-02", "2026-01-02T00:00:00.000Z"),
    ("2026-01-02 10:30", "2026-01-02T10:30:00.000Z"),
    ("2026-01-02T10:30", "2026-01-02T10:30:00.000Z"),
    ("2026-01-02 10:30:15", "2026-01-02T10:30:15.000Z"),
    ("2026-01-02T10:30:15", "2026-01-02T10:30:15.000Z"),
    ("2026-01-02 10:30:15.5", "2026-01-02T10:30:15.500Z"),
    ("2026-01-02 10:30:15.25", "2026-01-02T10:30:15.250Z"),
    ("2026-01-02 10:30:15.125", "2026-01-02T10:30:15.125Z"),
    ("2026-01-02T10:30:15.5", "2026-01-02T10:30:15.500Z"),
    ("2026-01-02T10:30:15.25", "2026-01-02T10:30:15.250Z"),
    ("2026-01-02T10:30:15.125", "2026-01-02T10:30:15.125Z"),
    ("2026-01-02T10:30:15Z", "2026-01-02T10:30:15.000Z"),
    ("2026-01-02T10:30:15.125Z", "2026-01-02T10:30:15.125Z"),
]


@pytest.mark.parametrize(("text", "utc"), DOCUMENTED_FORMATS, ids=[t for t, _ in DOCUMENTED_FORMATS])
def test_schedule_date_accepts_each_documented_format_as_utc(client, fake, text, utc):
    token = login(client)
    tracking = tracking_id(send(client, token, {"content": CONTENT, "scheduleDate": text}))
    data = report(client, token, tracking)
    assert (data["status"], data["scheduleDate"], data["totalCount"]) == ("Scheduled", utc, 0)
    assert fake.deliveries.find() == []


@pytest.mark.parametrize("body", [{"scheduleDate": None}, {}], ids=["null", "missing"])
def test_schedule_date_null_or_missing_sends_now(client, fake, body):
    token = login(client)
    tracking = tracking_id(send(client, token, {"content": CONTENT, **body}))
    assert reached(fake, tracking) == EVERYONE
    data = report(client, token, tracking)
    assert (data["status"], data["scheduleDate"], data["totalCount"]) == ("Sending", None, 4)


def test_future_schedule_date_waits_for_the_clock(client, fake):
    token = login(client)
    tracking = tracking_id(send(client, token, {"content": CONTENT, "segmentId": GOLD_SEGMENT,
                                                "scheduleDate": "2026-01-01T00:30:00Z"}))
    assert fake.deliveries.find() == []
    assert report(client, token, tracking)["status"] == "Scheduled"
    fake.advance(1799)
    assert fake.deliveries.find() == []
    fake.advance(1)
    assert reached(fake, tracking) == {AYSE_IPHONE, ELIF_CHROME}
    data = report(client, token, tracking)
    assert (data["status"], data["totalCount"]) == ("Sending", 2)
    assert {d.changes[0].at for d in fake.deliveries.find(send_id=tracking)} == {fake.clock.now()}


@pytest.mark.parametrize("text", ["2025-12-31T23:59:59Z", "2025-12-31", "2000-01-01 00:00"])
def test_past_schedule_date_is_400(client, fake, text):
    response = send(client, login(client), {"content": CONTENT, "scheduleDate": text})
    assert field_error(response) == "scheduleDate"
    fake.advance(10**6)
    assert fake.deliveries.find() == [] and sends(fake) == 0


@pytest.mark.parametrize("text", ["2026-02-31", "2026-13-01", "2026-04-31T10:00", "2026-01-02T24:00:00",
                                  "2026-01-02T10:60", "02/01/2026", "tomorrow", "2026-01-02T10:30:15.1234"])
def test_invalid_schedule_date_is_400(client, fake, text):
    response = send(client, login(client), {"content": CONTENT, "scheduleDate": text})
    assert field_error(response) == "scheduleDate"
    assert fake.deliveries.find() == [] and sends(fake) == 0


# --- personalisation and languages ---------------------------------------------------------------


def test_contact_field_placeholders_are_filled(client, fake):
    response = send(client, login(client), {"content": {
        "title": "{{contact.name}} {{ contact.surname }}", "message": "Weather in {{contact.city}}: {{contact.nope}}!",
        "targetUrl": "https://example.com/{{contact.contactKey}}"}, "segmentId": GOLD_SEGMENT})
    tracking = tracking_id(response)
    got = {d.device_id: (d.payload["title"], d.payload["message"], d.payload["targetUrl"])
           for d in fake.deliveries.find(send_id=tracking)}
    assert got == {
        "ayse-iphone": ("Ayşe Yılmaz", "Weather in Istanbul: !", "https://example.com/ayse"),
        "elif-chrome": ("Elif Demir", "Weather in Berlin: !", "https://example.com/elif"),
    }


def test_template_placeholders_are_filled(client, fake):
    tracking = tracking_id(send(client, login(client), {"content": {"templateId": SHIPPED_TEMPLATE}}))
    messages = {d.device_id: d.payload["message"] for d in fake.deliveries.find(send_id=tracking)}
    assert messages == {
        "ayse-iphone": "Hi Ayşe, your parcel ships today.",
        "john-android": "Hi John, your parcel ships today.",
        "john-firefox": "Hi John, your parcel ships today.",
        "elif-chrome": "Hi Elif, your parcel ships today.",
    }


def test_multi_language_template_picks_the_contacts_language_else_the_default(client, fake):
    tracking = tracking_id(send(client, login(client), {"content": {"templateId": SALE_TEMPLATE}}))
    got = {d.device_id: (d.payload["language"], d.payload["title"]) for d in fake.deliveries.find(send_id=tracking)}
    assert got == {
        "ayse-iphone": ("TR", "Hafta sonu indirimi"),
        "john-android": ("EN", "Weekend sale"),
        "john-firefox": ("EN", "Weekend sale"),
        "elif-chrome": ("EN", "Weekend sale"),  # elif is DE: no DE content, so the default
    }


def test_multi_lang_content_picks_the_contacts_language_else_the_default(client, fake):
    multi = {"defaultLanguage": "TR", "contents": [
        {"language": "DE", "title": "Hallo {{contact.name}}", "message": "de"},
        {"language": "TR", "title": "Merhaba {{contact.name}}", "message": "tr"},
    ]}
    tracking = tracking_id(send(client, login(client), {"multiLangContent": multi}))
    got = {d.device_id: (d.payload["language"], d.payload["title"], d.payload["message"])
           for d in fake.deliveries.find(send_id=tracking)}
    assert got == {
        "ayse-iphone": ("TR", "Merhaba Ayşe", "tr"),
        "john-android": ("TR", "Merhaba John", "tr"),  # john is EN: no EN content, so the default
        "john-firefox": ("TR", "Merhaba John", "tr"),
        "elif-chrome": ("DE", "Hallo Elif", "de"),
    }


def test_multi_lang_default_language_without_content_is_400(client, fake):
    multi = {"defaultLanguage": "FR", "contents": [{"language": "EN", "title": "t", "message": "m"}]}
    response = send(client, login(client), {"multiLangContent": multi})
    assert field_error(response).startswith("multiLangContent")
    assert fake.deliveries.find() == [] and sends(fake) == 0


# --- concurrency limit -------------------------------------------------------------------------


def test_concurrency_limit_answers_429(tmp_path):
    fake = Fake(fixtures=world(tmp_path, concurrencyLimit=1, processingDelaySeconds=0.2))
    transport = httpx.ASGITransport(app=create_app(fake))

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://f") as c:
            login_response = await c.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD})
            headers = bearer(login_response.json()["access_token"])
            calls = [c.post(SEND_PATH, json={"content": CONTENT}, headers=headers) for _ in range(2)]
            answers = list(await asyncio.gather(*calls))
            answers.append(await c.post(SEND_PATH, json={"content": CONTENT}, headers=headers))
            return answers

    first, second, later = asyncio.run(run())
    assert sorted([first.status_code, second.status_code]) == [200, 429]
    loser, winner = (first, second) if first.status_code == 429 else (second, first)
    assert error(loser, 429)["message"] == TOO_MANY_REQUESTS
    assert reached(fake, tracking_id(winner)) == EVERYONE
    assert sends(fake) == 2, "the refused request stored nothing; the one after the first ended was admitted"
    tracking_id(later)


def test_a_reset_while_a_send_is_processed_neither_breaks_it_nor_leaks_its_place(tmp_path):
    """A reset (or a `--watch` reload) lands while a send waits out its processing delay: the send
    still answers 200, and once it has, the account's one place is free again."""
    fake = Fake(fixtures=world(tmp_path, concurrencyLimit=1, processingDelaySeconds=0.3))
    transport = httpx.ASGITransport(app=create_app(fake))

    async def run() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://f") as c:
            async def login_and_send() -> httpx.Response:
                login_response = await c.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD})
                return await c.post(SEND_PATH, json={"content": CONTENT},
                                    headers=bearer(login_response.json()["access_token"]))

            during = asyncio.create_task(login_and_send())
            await asyncio.sleep(0.1)
            reset = await c.post("/_pushfake/reset")
            return await during, reset, await login_and_send()

    during, reset, after = asyncio.run(run())
    assert reset.status_code == 200
    assert during.status_code == 200, during.text
    assert after.status_code == 200, after.text
    assert fake.failures.list() == []


# --- the send report ---------------------------------------------------------------------------


def test_send_report_counts_the_sends_deliveries(client, fake):
    token = login(client)
    tracking = tracking_id(send(client, token, {"content": CONTENT}))
    data = report(client, token, tracking)
    assert data["trackingId"] == tracking
    assert (data["totalCount"], data["totalOpenCount"], data["totalDeliveredCount"]) == (4, 0, 0)
    assert (data["totalBounceCount"], data["totalErrorCount"], data["errorMessage"]) == (0, 0, None)
    assert data["createdAt"] == "2026-01-01T00:00:00.000Z"
    assert {i["itemName"]: i["openCount"] for i in data["deviceTypes"]} == {"Android": 0, "Web": 0, "iOS": 0}

    [elif_delivery] = fake.deliveries.find(send_id=tracking, device_id="elif-chrome")
    fake.run_until_idle()  # a notification is opened once it has arrived
    fake.dengage.engage(elif_delivery.id, "open")
    data = report(client, token, tracking)
    assert data["totalOpenCount"] == 1
    assert {i["itemName"]: i["openCount"] for i in data["deviceTypes"]} == {"Android": 0, "Web": 1, "iOS": 0}


def test_send_report_application_id_narrows_to_one_application(client, fake):
    token = login(client)
    tracking = tracking_id(send(client, token, {"content": CONTENT}))
    [elif_delivery] = fake.deliveries.find(send_id=tracking, device_id="elif-chrome")
    fake.run_until_idle()  # a notification is opened once it has arrived
    fake.dengage.engage(elif_delivery.id, "open")
    mobile = report(client, token, tracking, MOBILE_APP)
    web = report(client, token, tracking, WEB_APP)
    assert (mobile["totalCount"], mobile["totalOpenCount"]) == (2, 0)
    assert (web["totalCount"], web["totalOpenCount"]) == (2, 1)
    assert {i["itemName"] for i in mobile["deviceTypes"]} == {"Android", "iOS"}
    assert {i["itemName"] for i in web["deviceTypes"]} == {"Web"}
    assert report(client, token, tracking, WEB_APP.upper())["totalCount"] == 2  # UUIDs ignore case


def test_send_report_of_an_unknown_tracking_id_is_404(client):
    token = login(client)
    tracking_id(send(client, token, {"content": CONTENT}))
    response = client.get(SEND_PATH, params={"trackingId": UNKNOWN_ID}, headers=bearer(token))
    assert UNKNOWN_ID in error(response, 404)["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "trackingId"), ({"trackingId": "nope"}, "trackingId"),
     ({"trackingId": UNKNOWN_ID, "applicationId": "x"}, "applicationId")],
    ids=["missing", "not-uuid", "application-not-uuid"],
)
def test_send_report_with_a_bad_query_is_400(client, params, field):
    response = client.get(SEND_PATH, params=params, headers=bearer(login(client)))
    assert field_error(response) == field
