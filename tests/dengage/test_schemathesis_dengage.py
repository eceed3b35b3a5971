"""Schemathesis against the in-process app: every operation of openapi/dengage.yaml, positive and negative.

Each operation runs once per generation mode (`test_positive_data`, `test_negative_data`) through
`case.call_and_validate()` with every default check (no server errors, status code, content type,
response headers and response schema conformance, positive data acceptance, negative data
rejection, ignored auth, ...), plus one added check (below). No default check is disabled.

Authentication: a schema-level `auth` provider logs in through `POST /rest/login` (the fixture
user `pushfake` / `pushfake-secret`, and sometimes `pushfake-readonly`, which lacks Push.Manage)
and attaches the token to both operations of `/rest/push/sendInstant`, as `Bearer <token>` or bare,
as the spec's two security schemes allow. Cases where Schemathesis negates security keep their
missing or broken credentials.

Steering: `_steer` (a `map_case` hook, so it applies to every phase) swaps generated values that
are valid in their place for real ids of the default world (applications, segment, table,
templates, tracking ids of earlier accepted sends, the login), sometimes for a future
`scheduleDate` the spec's pattern admits (see `_FUTURE_DATES`), and often makes a
multiLangContent's defaultLanguage one of its languages, so that requests get past "not found"
and reach the fake's semantics. It keeps the generated case whenever the swap would change whether the body or query
satisfies the spec, so a negative case keeps its violation. The choices are a digest of the case,
so the run is as deterministic as the generation. The spec file itself is loaded unchanged.

Narrowed check: positive data acceptance for `POST /rest/push/sendInstant` also expects 400 (see
`_config`). The spec declares rules JSON Schema cannot express: a `scheduleDate` must be a real
date (the pattern admits 2026-02-31 and 9999-99-99) and not in the past, a `trackingId` may not
repeat one the account already used, and `multiLangContent.defaultLanguage` must be one of the
languages of `contents`. A request valid by schema that breaks one of them is rightly answered 400.
To keep that narrowing from hiding a wrong 400, the added check
`positive_400_breaks_a_rule_beyond_the_schema` asserts that every 400 to a schema-valid send
breaks one of those rules, judged here from the spec's own text, not from the fake's code.
"""

from __future__ import annotations

import copy
import json
import time
import zlib
from pathlib import Path
from typing import Any

import jsonschema
import schemathesis
import yaml
from hypothesis import HealthCheck
from starlette.testclient import TestClient

from pushfake import Fake, create_app
from tests.dengage.helpers import documented_date
from tests.support import deterministic

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "dengage.yaml"
DOCUMENT: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMAS = DOCUMENT["components"]["schemas"]

# The default world (fixtures/default.yaml, section `dengage`).
USER, READONLY_USER, PASSWORD = "pushfake", "pushfake-readonly", "pushfake-secret"
MOBILE_APP = "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"
WEB_APP = "2b7e9a41-3c5d-4e6f-8a9b-0c1d2e3f4a5b"
SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"
TABLE = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"
TEMPLATES = ("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b")

SEND_PATH = "/rest/push/sendInstant"
MAX_EXAMPLES = 60
SEED = 20260101

fake = Fake(seed=1)
app = create_app(fake)
_client = TestClient(app)
# Tracking ids of sends the fake accepted, in the order they were accepted (for reports and reuse).
ACCEPTED_TRACKING_IDS: list[str] = []


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]})


SEND_BODY = _validator({"$ref": "#/components/schemas/SendInstantPushRequest"})
LOGIN_BODY = _validator({"$ref": "#/components/schemas/LoginRequest"})
SEND_PROPERTIES = {name: _validator(prop) for name, prop in SCHEMAS["SendInstantPushRequest"]["properties"].items()}
UUID = _validator({"$ref": "#/components/schemas/Uuid"})
_report_parameters = DOCUMENT["paths"][SEND_PATH]["get"]["parameters"]
REPORT_QUERY = _validator({
    "type": "object",
    "required": [p["name"] for p in _report_parameters if p.get("required")],
    "properties": {p["name"]: p["schema"] for p in _report_parameters},
})


# --- rules beyond JSON Schema, as the spec states them ---------------------------------------------

def rules_broken_beyond_the_schema(body: Any) -> list[str]:
    """The rules of the spec that JSON Schema cannot express and that `body` breaks (judged now)."""
    if not isinstance(body, dict):
        return []
    broken = []
    multi = body.get("multiLangContent")
    if isinstance(multi, dict) and isinstance(multi.get("contents"), list):
        languages = {c.get("language", "").upper() for c in multi["contents"] if isinstance(c, dict)}
        if str(multi.get("defaultLanguage", "")).upper() not in languages:
            broken.append("multiLangContent.defaultLanguage has no content")
    date = body.get("scheduleDate")
    if isinstance(date, str):
        documented, when = documented_date(date)
        if when is None:
            broken.append(f"scheduleDate {date!r} is not a real date")
        elif when < time.time() + 1:  # a second of slack around "now"
            broken.append(f"scheduleDate {date!r} is in the past")
        elif not documented:
            broken.append(f"scheduleDate {date!r} is not in a documented format (the spec's pattern admits it)")
    tracking_id = body.get("trackingId")
    if isinstance(tracking_id, str) and tracking_id.lower() in {t.lower() for t in ACCEPTED_TRACKING_IDS}:
        broken.append("trackingId is already used")  # UUIDs compare without regard to case
    return broken


def positive_400_breaks_a_rule_beyond_the_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 400 to a send that is valid by the spec's schemas must break a rule the schemas cannot hold."""
    meta = case.meta
    if (
        meta is None
        or not meta.generation.mode.is_positive
        or response.status_code != 400
        or case.operation.path != SEND_PATH
        or case.method.upper() != "POST"
        or not SEND_BODY.is_valid(case.body)
    ):
        return None
    broken = rules_broken_beyond_the_schema(case.body)
    assert broken, f"A schema-valid send breaking no rule of the spec was rejected: {response.text[:300]}"
    undocumented = [b for b in broken if "not in a documented format" in b]
    assert len(undocumented) < len(broken), (
        f"The spec's ScheduleDate pattern admits a date its description does not list: {undocumented[0]}; "
        f"answered {response.text[:200]}"
    )
    return None


# --- steering --------------------------------------------------------------------------------------

def _pick(digest: int, salt: int, options: tuple[Any, ...]) -> Any:
    return options[(digest >> (salt * 3)) % len(options)]


def _valid_property(body: dict[str, Any], name: str) -> bool:
    return name in body and SEND_PROPERTIES[name].is_valid(body[name])


# Future dates the spec's pattern admits: every documented format, and two shapes the pattern admits
# though the description does not list them (a Z after a space, a Z after the minutes).
_FUTURE_DATES = ("2099-06-01", "2099-06-01 12:30", "2099-06-01T12:30", "2099-06-01T12:30:45",
                 "2099-06-01 12:30:45.5", "2099-06-01T12:30:45.12", "2099-06-01T12:30:45Z",
                 "2099-06-01T12:30:45.123Z", "2099-06-01 12:30:45Z", "2099-06-01T12:30Z")


def _steer_send(body: dict[str, Any], digest: int) -> dict[str, Any]:
    body = copy.deepcopy(body)
    if _valid_property(body, "applicationIds"):
        apps = _pick(digest, 0, (None, [MOBILE_APP], [WEB_APP], [MOBILE_APP, WEB_APP], [WEB_APP, MOBILE_APP]))
        if apps is not None:
            body["applicationIds"] = apps
    if _valid_property(body, "segmentId") and _pick(digest, 1, (False, True, True)):
        body["segmentId"] = SEGMENT
    if _valid_property(body, "tableId") and _pick(digest, 2, (False, True, True)):
        body["tableId"] = TABLE
    content = body.get("content")
    if isinstance(content, dict) and UUID.is_valid(content.get("templateId")):
        template = _pick(digest, 3, (None, *TEMPLATES))
        if template is not None:
            content["templateId"] = template
    multi = body.get("multiLangContent")
    if (
        isinstance(multi, dict) and isinstance(multi.get("contents"), list) and multi["contents"]
        and isinstance(multi["contents"][-1], dict) and "defaultLanguage" in multi
        and _pick(digest, 8, (False, True, True))
    ):
        multi["defaultLanguage"] = multi["contents"][-1].get("language", multi["defaultLanguage"])
    if _valid_property(body, "trackingId") and ACCEPTED_TRACKING_IDS and _pick(digest, 4, (False,) * 5 + (True,)):
        body["trackingId"] = ACCEPTED_TRACKING_IDS[digest % len(ACCEPTED_TRACKING_IDS)]
    if _valid_property(body, "scheduleDate"):
        date = _pick(digest, 5, (False, None, *_FUTURE_DATES))
        if date is not False:
            body["scheduleDate"] = date
    return body


def _steer_report(query: dict[str, Any], digest: int) -> dict[str, Any]:
    query = dict(query)
    if ACCEPTED_TRACKING_IDS and UUID.is_valid(query.get("trackingId")) and _pick(digest, 0, (False, True, True)):
        query["trackingId"] = ACCEPTED_TRACKING_IDS[(digest >> 8) % len(ACCEPTED_TRACKING_IDS)]
    if UUID.is_valid(query.get("applicationId")):
        app_id = _pick(digest, 1, (None, MOBILE_APP, WEB_APP))
        if app_id is not None:
            query["applicationId"] = app_id
    return query


def _steer_login(body: dict[str, Any], digest: int) -> dict[str, Any]:
    credentials = _pick(digest, 0, (None, (USER, PASSWORD), (USER, PASSWORD), (READONLY_USER, PASSWORD)))
    if credentials is None or not LOGIN_BODY.is_valid(body):
        return body
    return {**body, "userkey": credentials[0], "password": credentials[1]}


def _digest(case: Any) -> int:
    return zlib.crc32(repr((case.operation.label, case.query, case.body)).encode())


def _steer(context: Any, case: Any) -> Any:
    """map_case hook: real ids of the default world where a generated value is valid in its place."""
    digest = _digest(case)
    if case.operation.path == SEND_PATH and case.method.upper() == "POST" and isinstance(case.body, dict):
        after = _steer_send(case.body, digest)
        if SEND_BODY.is_valid(after) == SEND_BODY.is_valid(case.body):
            case.body = after
    elif case.operation.path == SEND_PATH and case.method.upper() == "GET" and isinstance(case.query, dict):
        after = _steer_report(case.query, digest)
        if REPORT_QUERY.is_valid(after) == REPORT_QUERY.is_valid(case.query):
            case.query = after
    elif case.operation.path == "/rest/login" and isinstance(case.body, dict):
        case.body = _steer_login(case.body, digest)
    return case


class LoginAuth:
    """Logs in through the API; one token per user, cached by Schemathesis (a token lives 3600 s)."""

    def get(self, case: Any, context: Any) -> dict[str, str]:
        tokens = {}
        for user in (USER, READONLY_USER):
            response = _client.post("/rest/login", json={"userkey": user, "password": PASSWORD})
            assert response.status_code == 200, response.text
            tokens[user] = response.json()["access_token"]
        return tokens

    def set(self, case: Any, data: dict[str, str], context: Any) -> None:
        digest = _digest(case)
        user = _pick(digest, 6, (USER,) * 5 + (READONLY_USER,))
        prefix = _pick(digest, 7, ("Bearer ", "Bearer ", "bearer ", ""))
        case.headers = {**(case.headers or {}), "Authorization": prefix + data[user]}


# --- the tests -------------------------------------------------------------------------------------

# positive_data_acceptance's default expected statuses, plus 400 for sends (see the module doc).
SEND_POSITIVE_STATUSES = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]


def _config(mode: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"mode": mode, "deterministic": True},
        # Reproductions must show the real ids and tokens; these are fixture credentials.
        "output": {"sanitization": {"enabled": False}},
        "operations": [{
            "include-operation-id": "sendInstantPush",
            # Schema-valid sends can break rules JSON Schema cannot express (a past or impossible
            # scheduleDate, a reused trackingId, a defaultLanguage without content): a 400 there is
            # right. positive_400_breaks_a_rule_beyond_the_schema keeps every such 400 honest.
            "checks": {"positive_data_acceptance": {"expected-statuses": SEND_POSITIVE_STATUSES}},
        }],
    })


def _schema(mode: str) -> Any:
    schema = schemathesis.openapi.from_path(SPEC_PATH, config=_config(mode))
    schema.app = app
    schema.hook("map_case")(_steer)
    schema.auth(retry_on=[]).apply_to(path=SEND_PATH)(LoginAuth)
    return schema


positive = _schema("positive")
negative = _schema("negative")

DETERMINISTIC = deterministic(MAX_EXAMPLES, HealthCheck.filter_too_much)


def _call_and_validate(case: Any) -> None:
    response = case.call_and_validate(additional_checks=[positive_400_breaks_a_rule_beyond_the_schema])
    if case.method.upper() == "POST" and case.operation.path == SEND_PATH and response.status_code == 200:
        ACCEPTED_TRACKING_IDS.append(json.loads(response.content)["data"]["trackingId"])


@positive.parametrize()
@DETERMINISTIC
def test_positive_data(case: Any) -> None:
    _call_and_validate(case)


@negative.parametrize()
@DETERMINISTIC
def test_negative_data(case: Any) -> None:
    _call_and_validate(case)
