"""Schemathesis hooks for what openapi/leanplum.yaml declares beyond JSON Schema: the custom
formats `json-object` and `json-array` (a string holding JSON text) and JSON bodies labelled
`text/plain` (the JS SDK's label).

Schemathesis cannot know a custom format: without a strategy it fills such a string with any
text, which the fake rightly refuses, and its positive data acceptance check then fails. The
strategies here produce JSON text valid in every slot of its format: an object for `json-object`
(`userAttributes`, `values`, `params`, ...); for `json-array` a list of batch items, each of which,
merged with any valid top-level parameters, satisfies its action's schema (`data`) and is also a
valid `newsfeedMessages`.

The contract kit imports this module (and gives `json-array` a richer strategy of its own, see
`conformance.leanplum`); a direct Schemathesis run loads it through its hooks variable:

    SCHEMATHESIS_HOOKS=pushfake.contract.conformance.formats \\
        schemathesis run openapi/leanplum.yaml --url http://127.0.0.1:8080 --checks all --mode all
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from hypothesis import strategies as st

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=4)

# Actions whose only required parameters (beyond the inherited credentials) are a user and what is
# listed here: each item below is valid whatever valid top-level parameters it is merged with.
_USER_ACTIONS = ("start", "getVars", "heartbeat", "pauseSession", "resumeSession", "stop",
                 "getNewsfeedMessages", "setUserAttributes")
valid_batch_items = st.one_of(
    st.fixed_dictionaries({"action": st.sampled_from(_USER_ACTIONS), "userId": st.text(min_size=1, max_size=8)},
                          optional={"userAttributes": json_objects}),
    st.fixed_dictionaries({"action": st.just("track"), "userId": st.text(min_size=1, max_size=8),
                           "event": st.text(min_size=1, max_size=20)}),
)

schemathesis.openapi.format("json-object", json_objects.map(json.dumps))
schemathesis.openapi.format("json-array", st.lists(valid_batch_items, max_size=4).map(json.dumps))


@schemathesis.serializer("text/plain")
def _text_plain_as_json(ctx: Any, value: Any) -> bytes:
    """The spec's text/plain bodies are JSON documents (the JS SDK labels its JSON text/plain)."""
    if isinstance(value, bytes):
        return value
    return json.dumps(value).encode("utf-8")
