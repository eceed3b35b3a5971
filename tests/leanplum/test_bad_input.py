"""Bad input never gives a 500 or a traceback, always Leanplum's envelope, and changes nothing."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.leanplum.helpers import APP, CREDS, error_message, world_with


def _users(fake) -> int:
    return len(fake.leanplum.state.users(APP))


def test_malformed_json_is_400(client, fake):
    before = _users(fake)
    response = client.post("/api?action=start", content=b'{"appId": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_message(response).startswith("Request body is not valid JSON")
    assert _users(fake) == before


def test_json_that_is_not_an_object_is_400(client):
    response = client.post("/api?action=start", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_message(response) == "Request body must be a JSON object."


def test_unsupported_content_type_is_415(client):
    response = client.post("/api?action=start", content=b"<xml/>", headers={"content-type": "application/xml"})
    assert response.status_code == 415
    assert "application/xml" in error_message(response)


def test_body_over_the_limit_is_413(tmp_path):
    from starlette.testclient import TestClient

    from pushfake import Fake, create_app

    fake = Fake(fixtures=world_with(tmp_path, maxBodyBytes=2048))
    with TestClient(create_app(fake)) as c:
        response = c.post("/api?action=start", json={**CREDS, "userId": "big", "info": "x" * 4096})
    assert response.status_code == 413
    assert error_message(response) == "Request body too large: over 2048 bytes."
    assert fake.leanplum.user(APP, "big") is None


def test_wrong_type_is_400_naming_the_parameter(client):
    response = client.post("/api?action=sendMessage", json={**CREDS, "userId": "alice", "messageId": "abc"})
    assert response.status_code == 400
    assert error_message(response).startswith("Invalid value for 'messageId'")


def test_missing_action_is_400(client):
    response = client.post("/api", json={**CREDS, "userId": "u"})
    assert response.status_code == 400 and error_message(response) == "'action' must be provided"


def test_malformed_batch_is_refused_whole(client, fake):
    response = client.post("/api?action=multi", json={**CREDS, "data": [{"action": "start", "userId": "early"}, 5]})
    assert response.status_code == 400
    assert len(response.json()["response"]) == 1
    assert error_message(response).startswith("Invalid value for 'data[1]'")
    assert fake.leanplum.user(APP, "early") is None, "nothing of a malformed batch runs"


def test_batch_item_without_action_is_refused_whole(client):
    response = client.post("/api?action=multi", json={**CREDS, "data": [{"userId": "a"}]})
    assert response.status_code == 400 and error_message(response) == "'data[0].action' must be provided"


def test_multi_inside_multi_is_refused(client):
    response = client.post("/api?action=multi", json={**CREDS, "data": [{"action": "multi", "data": []}]})
    assert response.status_code == 400 and error_message(response) == "Unknown action 'multi'."


def test_unknown_path_and_method_use_the_envelope(client):
    assert client.get("/nope").status_code == 404
    assert error_message(client.get("/nope")) == "Not found: /nope"
    response = client.put("/api")
    assert response.status_code == 405 and error_message(response) == "Method PUT not allowed."


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(["appId", "clientKey", "userId", "deviceId", "messageId", "userAttributes", "values",
                        "devMode", "time", "createDisposition", "force", "data", "event", "webPushSubscription",
                        "timezoneOffsetSeconds", "background"])


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    action=st.sampled_from(["start", "sendMessage", "multi", "track", "setDeviceAttributes", "bogus"]),
    params=st.dictionaries(keys, json_values, max_size=8),
    real_credentials=st.booleans(),
    encoding=st.sampled_from(["json", "form", "query"]),
)
def test_no_input_gives_a_server_error(client, action, params, real_credentials, encoding):
    if real_credentials:
        params = {**params, **CREDS}
    if encoding == "json":
        response = client.post(f"/api?action={action}", json=params)
    else:
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        response = (client.post(f"/api?action={action}", data=flat) if encoding == "form"
                    else client.get("/api", params={"action": action, **flat}))
    assert response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body["response"], list)
    assert body["response"] or (action == "multi" and response.status_code == 200), "only an empty batch has no element"
    for item in body["response"]:
        assert isinstance(item["success"], bool)
        if not item["success"]:
            assert isinstance(item["error"]["message"], str) and item["error"]["message"]


def test_batch_sent_as_json_text_is_checked_like_an_array(client):
    response = client.post("/api?action=multi", json={**CREDS, "data": "[null]"})
    assert response.status_code == 400
    assert error_message(response).startswith("Invalid value for 'data[0]'")
    form = client.post("/api", data={"action": "multi", **CREDS, "data": "[1]"})
    assert form.status_code == 400 and error_message(form).startswith("Invalid value for 'data[0]'")


def test_blank_user_and_device_ids_count_as_missing(client):
    for body in ({"userId": ""}, {"userId": None, "deviceId": ""}, {"deviceId": None}):
        response = client.post("/api?action=start", json={**CREDS, **body})
        assert response.status_code == 400
        assert error_message(response) == "'userId' or 'deviceId' must be provided"
