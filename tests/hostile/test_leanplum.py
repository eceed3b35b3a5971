"""Leanplum `/api` under hostile input: never a 5xx, Leanplum's envelope with catalogue texts,
a refused request changes nothing and is journaled, and the fake works afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushfake.leanplum.errors import CATALOGUE
from tests.hostile.rig import CREDS, Rig, dumps, with_fragment
from tests.hostile.values import CONTENT_TYPES, examples, fragments, in_url, odd_bytes, texts

pytestmark = pytest.mark.fuzz

# The requests the hostile values are put into, valid as they stand, and the keys they may replace.
REQUESTS = {
    "start": ({**CREDS, "userId": "hostile", "userAttributes": {"plan": "gold"}, "appVersion": "1.0"},
              ["userId", "deviceId", "userAttributes", "time", "devMode", "appVersion", "timezoneOffsetSeconds",
               "newsfeedMessages", "webPushSubscription", "iosPushToken", "locale", "createDisposition",
               "appId", "clientKey", "background"]),
    "sendMessage": ({**CREDS, "userId": "alice", "messageId": "1001", "values": {"name": "Al"}},
                    ["userId", "messageId", "values", "force", "time", "devMode", "deviceId"]),
    "multi": ({**CREDS, "data": [{"action": "start", "userId": "m1"},
                                 {"action": "track", "userId": "m1", "event": "e", "value": 1, "params": {"a": 1}},
                                 {"action": "setUserAttributes", "userId": "m1", "userAttributes": {"a": 1}}]},
              ["data", "time", "data.0.userId", "data.1.event", "data.1.value", "data.1.params",
               "data.2.userAttributes", "data.0.time", "data.1.action", "data.1"]),
}


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    rig = Rig()
    yield rig
    rig.close()


def _flat(params: dict, slot: str, text: str) -> dict[str, str]:
    """`params` as text values (query, form, multipart) with `slot` set to `text`."""
    flat = {k: v if isinstance(v, str) else dumps(v) for k, v in params.items()}
    if slot.startswith("data."):
        _, index, *key = slot.split(".")
        data = json.loads(flat["data"])
        if key:
            data[int(index)][key[0]] = text
        else:
            data[int(index)] = text
        flat["data"] = dumps(data)
    else:
        flat[slot] = text
    return flat


def _query(flat: dict[str, str]) -> str:
    # hostile texts may hold their own percent escapes (bytes that are not UTF-8): keep them
    return "&".join(f"{quote(k)}={in_url(v)}" for k, v in flat.items())


def _multipart(flat: dict[str, str], raw: bytes | None) -> tuple[bytes, str]:
    boundary = "hostileboundary"
    parts = []
    for key, value in flat.items():
        data = raw if raw is not None and key == "userId" else value.encode("utf-8", "surrogatepass")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@examples(40)
@given(action=st.sampled_from(sorted(REQUESTS)), how=st.sampled_from(["json", "json-dup", "query", "form", "multipart", "odd"]),
       data=st.data())
def test_hostile_leanplum_request_is_answered_in_leanplum_words_and_changes_nothing_when_refused(rig, action, how, data):
    params, slots = REQUESTS[action]
    slot = data.draw(st.sampled_from(slots), label="slot")
    url = f"/api?action={action}"
    if how in ("json", "json-dup"):
        body = with_fragment(params, slot, data.draw(fragments, label="fragment"), how == "json-dup")
        kwargs = {"content": body.encode("utf-8", "surrogatepass"), "headers": {"content-type": "application/json"}}
    elif how == "query":
        kwargs = {}
        url = f"/api?{_query({**_flat(params, slot, data.draw(texts, label='text')), 'action': action})}"
    elif how == "form":
        body = _query(_flat(params, slot, data.draw(texts, label="text")))
        kwargs = {"content": body.encode("latin-1", "replace"),
                  "headers": {"content-type": "application/x-www-form-urlencoded"}}
    elif how == "multipart":
        raw = data.draw(st.sampled_from([None, b"\xed\xa0\x80", b"\xff\xfe", b"\x00"]), label="raw")
        content, kind = _multipart(_flat(params, slot, data.draw(texts, label="text")), raw)
        kwargs = {"content": content, "headers": {"content-type": kind}}
    else:
        body = with_fragment(params, slot, data.draw(fragments, label="fragment"), False)
        content = data.draw(st.sampled_from(odd_bytes(body)), label="bytes")
        kwargs = {"content": content, "headers": {"content-type": data.draw(st.sampled_from(CONTENT_TYPES))}}
    rig.vendor_call("POST", url, CATALOGUE, **kwargs)
    rig.still_works()
