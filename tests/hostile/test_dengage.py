"""D·engage `/rest` under hostile input: never a 5xx, D·engage's envelope with catalogue texts,
a refused request changes nothing and is journaled, and the fake works afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushfake.dengage.errors import CATALOGUE
from tests.hostile.rig import PASSWORD, USERKEY, Rig, with_fragment
from tests.hostile.values import CONTENT_TYPES, examples, fragments, in_url, odd_bytes, texts

pytestmark = pytest.mark.fuzz

MOBILE_APP = "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"
BODIES = {
    "login": ({"userkey": USERKEY, "password": PASSWORD}, ["userkey", "password", "extra"]),
    "sendInstant": ({"content": {"title": "Hi", "message": "There"}, "applicationIds": [MOBILE_APP],
                     "trackingId": "0b4c2a9e-1d3f-4e5a-8b6c-7d8e9f0a1b2c"},
                    ["content", "applicationIds", "scheduleDate", "segmentId", "tableId", "trackingId",
                     "useOnlyEngagedTokens", "multiLangContent", "contactKey", "content.title",
                     "content.message", "applicationIds.0"]),
}


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    rig = Rig()
    yield rig
    rig.close()


def _token(rig: Rig) -> str:
    return rig.client.post("/rest/login", json={"userkey": USERKEY, "password": PASSWORD}).json()["access_token"]


@examples(30)
@given(operation=st.sampled_from(["login", "sendInstant", "report"]), how=st.sampled_from(["json", "json-dup", "odd"]),
       data=st.data())
def test_hostile_dengage_request_is_answered_in_dengage_words_and_changes_nothing_when_refused(rig, operation, how, data):
    headers = {"authorization": f"Bearer {_token(rig)}"}
    if operation == "report":
        key = data.draw(st.sampled_from(["trackingId", "applicationId"]), label="parameter")
        text = data.draw(texts, label="text")
        value = in_url(text)
        rig.vendor_call("GET", f"/rest/push/sendInstant?trackingId=0b4c2a9e-1d3f-4e5a-8b6c-7d8e9f0a1b2c&{key}={value}",
                        CATALOGUE, headers=headers)
    else:
        template, slots = BODIES[operation]
        body = with_fragment(template, data.draw(st.sampled_from(slots), label="slot"),
                          data.draw(fragments, label="fragment"), how == "json-dup")
        content, kind = body.encode("utf-8", "surrogatepass"), "application/json"
        if how == "odd":
            content = data.draw(st.sampled_from(odd_bytes(body)), label="bytes")
            kind = data.draw(st.sampled_from(CONTENT_TYPES), label="content type")
        path = "/rest/login" if operation == "login" else "/rest/push/sendInstant"
        rig.vendor_call("POST", path, CATALOGUE, content=content, headers={**headers, "content-type": kind})
    rig.still_works()
