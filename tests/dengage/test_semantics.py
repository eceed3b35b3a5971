"""SendInstantPush beyond the DECISIONS rows: who is reached, what they get, ids, hand-off."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from pushfake import create_app
from tests.dengage.helpers import (
    ACCOUNT, AYSE_IPHONE, BETA_TABLE, CONTENT, ELIF_CHROME, EVERYONE, GOLD_SEGMENT, JOHN_ANDROID,
    JOHN_FIREFOX, MOBILE_APP, NOT_AUTHENTICATED, PASSWORD, SEND_PATH, USERKEY, WEB_APP, bearer, error,
    login, reached, report, send, sends, tracking_id,
)
from tests.leanplum.helpers import APP as LEANPLUM_APP
from tests.leanplum.helpers import CREDS as LEANPLUM_CREDS
from tests.leanplum.helpers import element


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        ({}, EVERYONE),
        ({"segmentId": GOLD_SEGMENT}, {AYSE_IPHONE, ELIF_CHROME}),
        ({"tableId": BETA_TABLE}, {JOHN_ANDROID, JOHN_FIREFOX, ELIF_CHROME}),
        ({"applicationIds": [MOBILE_APP]}, {AYSE_IPHONE, JOHN_ANDROID}),
        ({"applicationIds": [WEB_APP]}, {JOHN_FIREFOX, ELIF_CHROME}),
        ({"applicationIds": [WEB_APP, MOBILE_APP]}, EVERYONE),
        ({"applicationIds": [WEB_APP, WEB_APP]}, {JOHN_FIREFOX, ELIF_CHROME}),
        ({"segmentId": GOLD_SEGMENT, "applicationIds": [MOBILE_APP]}, {AYSE_IPHONE}),
        ({"segmentId": GOLD_SEGMENT, "applicationIds": [WEB_APP]}, {ELIF_CHROME}),
        ({"tableId": BETA_TABLE, "applicationIds": [MOBILE_APP]}, {JOHN_ANDROID}),
        ({"tableId": BETA_TABLE, "applicationIds": [WEB_APP]}, {JOHN_FIREFOX, ELIF_CHROME}),
        ({"useOnlyEngagedTokens": True}, {ELIF_CHROME}),
        ({"useOnlyEngagedTokens": True, "tableId": BETA_TABLE}, {ELIF_CHROME}),
        ({"useOnlyEngagedTokens": True, "applicationIds": [MOBILE_APP]}, set()),
        ({"useOnlyEngagedTokens": False, "segmentId": GOLD_SEGMENT}, {AYSE_IPHONE, ELIF_CHROME}),
    ],
    ids=["everyone", "segment", "table", "mobile", "web", "both-apps", "duplicate-app",
         "segment-mobile", "segment-web", "table-mobile", "table-web", "engaged", "engaged-table",
         "engaged-mobile", "not-engaged-segment"],
)
def test_audience_resolution(client, fake, audience, expected):
    tracking = tracking_id(send(client, login(client), {"content": CONTENT, **audience}))
    assert reached(fake, tracking) == expected
    assert report(client, login(client), tracking)["totalCount"] == len(expected)


def test_an_empty_application_list_is_refused(client, fake):
    response = send(client, login(client), {"content": CONTENT, "applicationIds": []})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "applicationIds"
    assert fake.deliveries.find() == []


def test_tracking_ids_compare_without_regard_to_case(client):
    token = login(client)
    upper = "ABCDEF12-3456-4789-8ABC-DEF012345678"
    first = send(client, token, {"content": CONTENT, "trackingId": upper})
    assert first.status_code == 200 and first.json()["data"]["trackingId"] == upper
    again = send(client, token, {"content": CONTENT, "trackingId": upper.lower()})
    assert again.status_code == 400
    assert report(client, token, upper.lower())["trackingId"] == upper


def test_deliveries_carry_the_device_token_application_and_content(client, fake):
    content = {"title": "Sale", "message": "Now on", "mediaUrl": "https://cdn.example/a.png",
               "targetUrl": "https://shop.example/sale"}
    tracking = tracking_id(send(client, login(client), {"content": content, "tableId": BETA_TABLE}))
    rows = {d.device_id: d for d in fake.deliveries.find(send_id=tracking)}
    for delivery in rows.values():
        assert {k: delivery.payload.get(k) for k in content} == content
        assert delivery.state == "queued"
        device = fake.dengage.device(ACCOUNT, delivery.device_id)
        assert (delivery.token, delivery.app_id) == (device.token, device.application_id)
    assert rows["john-android"].token.startswith("eKq3Zt7xR0uY:")
    assert rows["john-firefox"].token["endpoint"].startswith("https://updates.push.services.mozilla.com/")
    assert rows["elif-chrome"].app_id == WEB_APP and rows["john-android"].app_id == MOBILE_APP


def test_optional_content_fields_are_left_out_when_not_given(client, fake):
    tracking = tracking_id(send(client, login(client), {"content": CONTENT, "segmentId": GOLD_SEGMENT}))
    for delivery in fake.deliveries.find(send_id=tracking):
        assert (delivery.payload["title"], delivery.payload["message"]) == (CONTENT["title"], CONTENT["message"])
        assert "mediaUrl" not in delivery.payload and "targetUrl" not in delivery.payload


def test_multi_lang_content_languages_match_without_regard_to_case(client, fake):
    multi = {"defaultLanguage": "en", "contents": [
        {"language": "en", "title": "Hello", "message": "m", "mediaUrl": "https://x/en.png"},
        {"language": "tr", "title": "Merhaba", "message": "m", "targetUrl": "https://x/tr"},
    ]}
    tracking = tracking_id(send(client, login(client), {"multiLangContent": multi, "segmentId": GOLD_SEGMENT}))
    rows = {d.device_id: d.payload for d in fake.deliveries.find(send_id=tracking)}
    assert (rows["ayse-iphone"]["title"], rows["ayse-iphone"]["targetUrl"]) == ("Merhaba", "https://x/tr")
    assert (rows["elif-chrome"]["title"], rows["elif-chrome"]["mediaUrl"]) == ("Hello", "https://x/en.png")
    assert rows["ayse-iphone"]["language"].upper() == "TR" and rows["elif-chrome"]["language"].upper() == "EN"


def test_a_given_tracking_id_is_returned_as_is(client, fake):
    given = "6f1d2c3b-4a59-4e8d-b7c6-a5b4c3d2e1f0"
    response = send(client, login(client), {"content": CONTENT, "trackingId": given})
    assert response.json()["data"]["trackingId"] == given
    assert reached(fake, given) == EVERYONE
    assert fake.dengage.send(ACCOUNT, given).tracking_id == given


def test_an_upper_case_tracking_id_is_returned_as_is(client, fake):
    given = "6F1D2C3B-4A59-4E8D-B7C6-A5B4C3D2E1F0"
    response = send(client, login(client), {"content": CONTENT, "trackingId": given})
    assert response.status_code == 200 and response.json()["data"]["trackingId"] == given


def test_generated_tracking_ids_are_distinct_and_reproducible_from_the_seed(client, fake):
    def run() -> list[str]:
        token = login(client)
        return [tracking_id(send(client, token, {"content": CONTENT, "segmentId": GOLD_SEGMENT}))
                for _ in range(3)]

    first = run()
    fake.reset()
    again = run()
    assert first == again and len(set(first)) == 3
    assert sends(fake) == 3


def test_deliveries_are_handed_off_after_the_response(fake):
    handed: list[list[str]] = []

    def consumer(ids: list[str]) -> None:
        # the response has been sent by now: the deliveries exist, are stored and still queued
        assert all(fake.deliveries.get(i).state == "queued" for i in ids)
        handed.append(ids)

    fake.deliveries.attach(consumer)

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(fake)), base_url="http://f") as c:
            logged_in = await c.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD})
            token = logged_in.json()["access_token"]
            assert handed == [], "a login hands off nothing"
            return await c.post(SEND_PATH, json={"content": CONTENT, "tableId": BETA_TABLE}, headers=bearer(token))

    tracking = tracking_id(asyncio.run(run()))
    [ids] = handed
    assert sorted(ids) == sorted(d.id for d in fake.deliveries.find(send_id=tracking))
    assert {fake.deliveries.get(i).device_id for i in ids} == {"john-android", "john-firefox", "elif-chrome"}


def test_a_refused_send_hands_off_nothing(client, fake):
    handed: list[list[str]] = []
    fake.deliveries.attach(handed.append)
    error(send(client, login(client), {"content": CONTENT, "segmentId": BETA_TABLE}), 404)
    assert handed == [] and fake.deliveries.find() == []


def test_a_scheduled_send_is_handed_off_when_it_falls_due(client, fake):
    handed: list[list[str]] = []
    fake.deliveries.attach(handed.append)
    tracking = tracking_id(send(client, login(client), {"content": CONTENT, "scheduleDate": "2026-01-01 01:00"}))
    assert handed == []
    fake.advance(3600)
    [ids] = handed
    assert sorted(ids) == sorted(d.id for d in fake.deliveries.find(send_id=tracking)) and len(ids) == 4


def test_a_scheduled_send_reaches_the_audience_as_it_is_when_due(client, fake):
    token = login(client)
    scheduled = tracking_id(send(client, token, {"content": CONTENT, "useOnlyEngagedTokens": True,
                                                 "scheduleDate": "2026-01-01T00:10:00"}))
    now = tracking_id(send(client, token, {"content": CONTENT}))
    [ayse] = fake.deliveries.find(send_id=now, device_id="ayse-iphone")
    fake.run_until_idle()  # a notification is opened once it has arrived
    fake.dengage.engage(ayse.id)
    fake.advance(600)
    assert reached(fake, scheduled) == {ELIF_CHROME, AYSE_IPHONE}


def test_leanplum_and_dengage_are_served_by_the_same_app(client, fake):
    leanplum = client.post("/api?action=start", json={**LEANPLUM_CREDS, "userId": "both-vendors"})
    assert leanplum.status_code == 200 and element(leanplum)["success"] is True
    tracking = tracking_id(send(client, login(client), {"content": CONTENT, "segmentId": GOLD_SEGMENT}))
    assert fake.leanplum.user(LEANPLUM_APP, "both-vendors") is not None
    assert reached(fake, tracking) == {AYSE_IPHONE, ELIF_CHROME}
    assert client.get("/rest/nope").json()["code"] == 404
    assert "response" in client.get("/nope").json(), "non-/rest paths keep Leanplum's envelope"


def test_a_token_works_across_requests_until_it_expires(client, fake):
    token = login(client)
    ids = []
    for step in (0, 1200, 1200, 1199):  # 3599 s after login at the last step
        fake.advance(step)
        ids.append(tracking_id(send(client, token, {"content": CONTENT, "segmentId": GOLD_SEGMENT})))
        assert report(client, token, ids[-1])["trackingId"] == ids[-1]
    fake.advance(1)
    assert error(send(client, token, {"content": CONTENT}), 401)["message"] == NOT_AUTHENTICATED
    fresh = login(client)
    assert fresh != token
    assert report(client, fresh, ids[0])["totalCount"] == 2, "sends outlive the token that made them"
    assert error(send(client, token, {"content": CONTENT}), 401)["message"] == NOT_AUTHENTICATED


def test_every_login_gets_its_own_token_and_each_works(client, fake):
    first, second = login(client), login(client)
    assert first != second
    tracking_id(send(client, first, {"content": CONTENT}))
    tracking_id(send(client, second, {"content": CONTENT}))
    assert sends(fake) == 2


def test_reset_forgets_tokens_sends_and_engagement(client, fake):
    token = login(client)
    tracking = tracking_id(send(client, token, {"content": CONTENT}))
    [ayse] = fake.deliveries.find(send_id=tracking, device_id="ayse-iphone")
    fake.run_until_idle()  # a notification is opened once it has arrived
    fake.dengage.engage(ayse.id)
    tracking_id(send(client, token, {"content": CONTENT, "scheduleDate": "2026-01-02"}))
    fake.reset()
    assert error(send(client, token, {"content": CONTENT}), 401)["message"] == NOT_AUTHENTICATED
    assert sends(fake) == 0 and fake.deliveries.find() == []
    fake.advance(2 * 86400)
    assert fake.deliveries.find() == [], "scheduled sends are forgotten too"
    again = tracking_id(send(client, login(client), {"content": CONTENT, "useOnlyEngagedTokens": True}))
    assert reached(fake, again) == {ELIF_CHROME}
