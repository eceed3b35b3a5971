"""Hostile values: what a real service rejects and a fake in CI is hit with anyway.

`FRAGMENTS` are JSON texts (placed raw into a body, so they can be what `json.dumps` would never
write: nesting 100,000 deep, `NaN`, numbers past a double); `TEXTS` are what a query string, a
form or a multipart part can carry (percent escapes of bytes that are not UTF-8 included), each
short enough for a URL a client library still sends.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 2_000 + "1" + "}" * 2_000
HUGE_INTEGER = "1" + "0" * 400

# JSON texts that no later step of the fake may choke on
FRAGMENTS = [
    '"\\ud800"', '"a\\udfffb"', '{"\\udc00": 1}', '["ok", "\\ud83d"]',  # lone surrogates
    DEEP, DEEP_OBJECT, "[" * 65 + "]" * 65, "[" * 5_000 + "]" * 5_000,  # nesting (the last fits the journal)
    HUGE_INTEGER, "-" + HUGE_INTEGER, "1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity",
    "1e300", "-1e300", "5e-324", "9223372036854775808", "-9223372036854775809", "-0", "0", "-1",
    "253402300800", "1.5",  # numbers
    json.dumps("x" * 100_000), json.dumps("é" * 20_000), '""', '" "',  # strings
    "[]", "{}", "true", "false", "null", '[null]', '{"a": null}',  # wrong types
    '"1e400"', '"NaN"', '"-1"', '"10000-01-01T00:00:00Z"', '"9999-12-31T23:59:59Z"', '"+1e300s"',
    json.dumps(DEEP), json.dumps('{"a": "\\ud800"}'), json.dumps('{"a": ' + HUGE_INTEGER + "}"),  # JSON in text
    json.dumps("[" + HUGE_INTEGER + "]"), json.dumps("{}"), json.dumps("[]"), json.dumps("not json"),
]

TEXTS = [
    "%ED%A0%80", "%FF%FE", "%00", "1e400", "-1e400", "NaN", "Infinity", "1e300", "-1", "0", "5e-324",
    HUGE_INTEGER, "", " ", "x" * 30_000, "[" * 10_000, "[" * 5_000 + "]" * 5_000, '{"a": "\\ud800"}', '{"a": 1e400}',
    '{"a": ' + HUGE_INTEGER + "}", "[" + HUGE_INTEGER + "]", "true", "null", "{}", "[]", "10000-01-01T00:00:00Z",
    "%7B%22a%22%3A%22%5Cud800%22%7D",  # {"a":"\ud800"} percent-encoded
]


def _json_texts() -> st.SearchStrategy[str]:
    """Arbitrary JSON values (surrogates among the characters) as text."""
    scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
               | st.text(st.characters(categories=["Cs", "Ll", "Nd", "Po", "Zs"]), max_size=8))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)
    return values.map(json.dumps)


fragments = st.sampled_from(FRAGMENTS) | _json_texts()
texts = st.sampled_from(TEXTS) | st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")
                                                         .decode("latin-1"))

# Content types and encodings for a body a client labels oddly (JSON text inside unless noted)
CONTENT_TYPES = ["application/json", "text/plain", "", "application/xml", "application/json; charset=utf-16",
                 "text/json", "multipart/form-data", "multipart/form-data; boundary=", "application/x-www-form-urlencoded",
                 "application/json; charset=latin-1", "APPLICATION/JSON", "*/*", "application/octet-stream"]


def in_url(text: str) -> str:
    """`text` for a query string: its own percent escapes kept as they are (bytes that are not
    UTF-8, a lone '%'), everything else escaped, so the client library sends it."""
    return quote(text, safe="%")


def odd_bytes(text: str) -> list[bytes]:
    """`text` in encodings a client might get wrong."""
    return [text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode(), text.encode("utf-8", "surrogatepass"),
            text.encode("latin-1", "replace"), b"\xff\xfe\xfd" + text.encode(), text.encode()[: len(text) // 2]]


def examples(default: int) -> settings:
    """The hostile tests' settings: `default` derandomized examples, or with `PUSHFAKE_FUZZ=N`
    set, N examples each drawn at random (the long run: `PUSHFAKE_FUZZ=5000 pytest -m fuzz`)."""
    fuzz = int(os.environ.get("PUSHFAKE_FUZZ", "0") or 0)
    return settings(max_examples=fuzz or default, derandomize=not fuzz, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
