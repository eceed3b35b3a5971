"""Conformance of a target to openapi/dengage.yaml: how its requests are steered and judged.

Each operation runs once per generation mode (positive, negative; see `conformance.run`) through
`case.call_and_validate()` with every default check (no server errors, status code, content type,
response headers and response schema conformance, positive data acceptance, negative data
rejection, ignored auth, ...), plus one added check (below). No default check is disabled.

Authentication: a schema-level `auth` provider logs in through `POST /rest/login` (the run's API
user, and on a fake sometimes the world's `pushfake-readonly`, which lacks Push.Manage) and
attaches the token to both operations of `/rest/push/sendInstant`, as `Bearer <token>` or bare,
as the spec's two security schemes allow. Cases where Schemathesis negates security keep their
missing or broken credentials.

Steering: `Steering.steer` (a `map_case` hook, so it applies to every phase) swaps generated values
that are valid in their place for real ids of the world (applications, segment, table, templates,
tracking ids of earlier accepted sends, the login), sometimes for a future
`scheduleDate` the spec's pattern admits (see `_FUTURE_DATES`), and often makes a
multiLangContent's defaultLanguage one of its languages, so that requests get past "not found"
and reach the fake's semantics. It keeps the generated case whenever the swap would change whether the body or query
satisfies the spec, so a negative case keeps its violation. The choices are a digest of the case,
so the run is as deterministic as the generation. The spec file itself is loaded unchanged. In
safe mode every valid audience becomes the table or segment the run was given.

Narrowed check: positive data acceptance for `POST /rest/push/sendInstant` also expects 400 (see
`_config`). The spec declares rules JSON Schema cannot express: a `scheduleDate` must not be in
the past (its pattern admits only real dates), a `trackingId` may not repeat one the account
already used, and `multiLangContent.defaultLanguage` must be one of the languages of `contents`.
A request valid by schema that breaks one of them is rightly answered 400.
To keep that narrowing from hiding a wrong 400, the added check
`Steering.positive_400_breaks_a_rule_beyond_the_schema` asserts that every 400 to a schema-valid send
breaks one of those rules, judged here from the spec's own text, not from the fake's code.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jsonschema
from schemathesis.specs.openapi.checks import ignored_auth

from pushfake.contract.conformance.digest import case_digest
from pushfake.contract.spec import document
from pushfake.contract.target import Target
from pushfake.contract.vendors import Dengage

SEND_PATH = "/rest/push/sendInstant"


@dataclass(frozen=True)
class DengageSchemas:
    """Validators of the request schemas of openapi/dengage.yaml, read from the document itself."""

    send_body: jsonschema.Draft202012Validator
    send_properties: dict[str, jsonschema.Draft202012Validator]
    login_body: jsonschema.Draft202012Validator
    report_query: jsonschema.Draft202012Validator
    uuid: jsonschema.Draft202012Validator


@functools.cache
def schemas() -> DengageSchemas:
    """The shipped document's validators, built when first asked for."""
    doc = document("dengage")

    def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})

    report_parameters = doc["paths"][SEND_PATH]["get"]["parameters"]
    send = doc["components"]["schemas"]["SendInstantPushRequest"]
    return DengageSchemas(
        send_body=validator({"$ref": "#/components/schemas/SendInstantPushRequest"}),
        send_properties={name: validator(prop) for name, prop in send["properties"].items()},
        login_body=validator({"$ref": "#/components/schemas/LoginRequest"}),
        report_query=validator({
            "type": "object",
            "required": [p["name"] for p in report_parameters if p.get("required")],
            "properties": {p["name"]: p["schema"] for p in report_parameters},
        }),
        uuid=validator({"$ref": "#/components/schemas/Uuid"}),
    )

# `ScheduleDate.description`: yyyy-MM-dd, yyyy-MM-dd HH:mm, yyyy-MM-ddTHH:mm, yyyy-MM-dd HH:mm:ss,
# yyyy-MM-ddTHH:mm:ss, either of the last two with .f/.ff/.fff, yyyy-MM-ddTHH:mm:ssZ and
# yyyy-MM-ddTHH:mm:ss.fffZ (read as .f to .fff, like the unzoned forms); all UTC. Written from the
# spec, independently of the fake, so the suite can model it.
_DOCUMENTED_DATE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:(?P<sep>[ T])(?P<hm>\d{2}:\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,3}))?)?(?P<z>Z)?)?$"
)


def documented_date(text: str) -> tuple[bool, float | None]:
    """(whether `text` has a documented shape, its UTC time if it is a real date, whatever its shape)."""
    match = _DOCUMENTED_DATE.match(text)
    if match is None:
        return False, None
    documented = not match["z"] or (match["sep"] == "T" and match["s"] is not None)  # Z only after T and seconds
    fmt, value = "%Y-%m-%d", match["date"]
    if match["hm"]:
        fmt, value = fmt + " %H:%M", f"{value} {match['hm']}"
        if match["s"]:
            fmt, value = fmt + ":%S", f"{value}:{match['s']}"
            if match["f"]:
                fmt, value = fmt + ".%f", f"{value}.{match['f']}"
    try:
        return documented, datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return documented, None


# --- rules beyond JSON Schema, as the spec states them ---------------------------------------------

def rules_broken_beyond_the_schema(body: Any, now: float, used: list[str]) -> list[str]:
    """The rules of the spec that JSON Schema cannot express and that `body` breaks, judged at
    `now` (the target's time) with the tracking ids `used` by earlier accepted sends."""
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
        elif when < now + 1:  # a second of slack around "now"
            broken.append(f"scheduleDate {date!r} is in the past")
        elif not documented:
            broken.append(f"scheduleDate {date!r} is not in a documented format (the spec's pattern admits it)")
    tracking_id = body.get("trackingId")
    if isinstance(tracking_id, str) and tracking_id.lower() in {t.lower() for t in used}:
        broken.append("trackingId is already used")  # UUIDs compare without regard to case
    return broken


def _pick(digest: int, salt: int, options: tuple[Any, ...]) -> Any:
    return options[(digest >> (salt * 3)) % len(options)]


def _valid_property(body: dict[str, Any], name: str) -> bool:
    return name in body and schemas().send_properties[name].is_valid(body[name])


# Future dates in every documented format (the spec's pattern admits exactly these shapes).
_FUTURE_DATES = ("2099-06-01", "2099-06-01 12:30", "2099-06-01T12:30", "2099-06-01T12:30:45",
                 "2099-06-01 12:30:45.5", "2099-06-01T12:30:45.12", "2099-06-01T12:30:45Z",
                 "2099-06-01T12:30:45.123Z", "2096-02-29 23:59:59", "9999-12-31T23:59:59.999Z")




# positive_data_acceptance's default expected statuses, plus 400 for sends (see the module doc).
SEND_POSITIVE_STATUSES = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
CONFIG: dict[str, Any] = {
    "operations": [{
        "include-operation-id": "sendInstantPush",
        # Schema-valid sends can break rules JSON Schema cannot express (a past or impossible
        # scheduleDate, a reused trackingId, a defaultLanguage without content): a 400 there is
        # right. Steering.positive_400_breaks_a_rule_beyond_the_schema keeps every such 400 honest.
        "checks": {"positive_data_acceptance": {"expected-statuses": SEND_POSITIVE_STATUSES}},
    }],
}


class Steering:
    """The `map_case` hook and the login for one target. `accepted` holds the tracking ids of the
    sends the target accepted, in order (steering reuses some, to reach the reuse rule)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.world = target.world.dengage
        self.api = Dengage(target)
        self.apps = target.credentials.dengage_application_ids
        self.accepted: list[str] = []
        self._tokens: tuple[int, dict[str, str]] | None = None

    # --- steering ----------------------------------------------------------------------------------
    def _audience(self, body: dict[str, Any], digest: int) -> None:
        settings = self.target.settings
        if self.target.safe:  # only the table or segment the run was given
            named = {"tableId": settings.dengage_table, "segmentId": settings.dengage_segment}
            for key, value in named.items():
                if _valid_property(body, key) and value:
                    body[key] = value
            if not any(key in body for key in named):  # a send to everyone becomes one to the named audience
                key = "tableId" if settings.dengage_table else "segmentId"
                if named[key]:
                    body[key] = named[key]
            return
        if _valid_property(body, "segmentId") and self.world.segments and _pick(digest, 1, (False, True, True)):
            body["segmentId"] = self.world.segments[0]
        if _valid_property(body, "tableId") and self.world.tables and _pick(digest, 2, (False, True, True)):
            body["tableId"] = self.world.tables[0]

    def _steer_send(self, body: dict[str, Any], digest: int) -> dict[str, Any]:
        body = copy.deepcopy(body)
        if _valid_property(body, "applicationIds") and self.apps:
            apps = _pick(digest, 0, (None, [self.apps[0]], [self.apps[-1]], list(self.apps), list(reversed(self.apps))))
            if apps is not None:
                body["applicationIds"] = apps
        self._audience(body, digest)
        content = body.get("content")
        if isinstance(content, dict) and schemas().uuid.is_valid(content.get("templateId")) and self.world.templates:
            template = _pick(digest, 3, (None, *self.world.templates))
            if template is not None:
                content["templateId"] = template
        multi = body.get("multiLangContent")
        if (
            isinstance(multi, dict) and isinstance(multi.get("contents"), list) and multi["contents"]
            and isinstance(multi["contents"][-1], dict) and "defaultLanguage" in multi
            and _pick(digest, 8, (False, True, True))
        ):
            multi["defaultLanguage"] = multi["contents"][-1].get("language", multi["defaultLanguage"])
        if _valid_property(body, "trackingId") and self.accepted and _pick(digest, 4, (False,) * 5 + (True,)):
            body["trackingId"] = self.accepted[digest % len(self.accepted)]
        if _valid_property(body, "scheduleDate"):
            date = _pick(digest, 5, (False, None, *_FUTURE_DATES))
            if date is not False:
                body["scheduleDate"] = date
        return body

    def _steer_report(self, query: dict[str, Any], digest: int) -> dict[str, Any]:
        query = dict(query)
        if self.accepted and schemas().uuid.is_valid(query.get("trackingId")) and _pick(digest, 0, (False, True, True)):
            query["trackingId"] = self.accepted[(digest >> 8) % len(self.accepted)]
        if schemas().uuid.is_valid(query.get("applicationId")) and self.apps:
            app_id = _pick(digest, 1, (None, *self.apps))
            if app_id is not None:
                query["applicationId"] = app_id
        return query

    def _steer_login(self, body: dict[str, Any], digest: int) -> dict[str, Any]:
        c = self.target.credentials
        users = [(c.dengage_userkey, c.dengage_password)] * 2 + ([self.world.readonly_user] if self.world.readonly_user else [])
        credentials = _pick(digest, 0, (None, *users))
        if credentials is None or not schemas().login_body.is_valid(body):
            return body
        return {**body, "userkey": credentials[0], "password": credentials[1]}

    def steer(self, context: Any, case: Any) -> Any:
        """map_case hook: real ids of the world where a generated value is valid in its place."""
        digest = case_digest(case)
        if case.operation.path == SEND_PATH and case.method.upper() == "POST" and isinstance(case.body, dict):
            after = self._steer_send(case.body, digest)
            if schemas().send_body.is_valid(after) == schemas().send_body.is_valid(case.body):
                case.body = after
        elif case.operation.path == SEND_PATH and case.method.upper() == "GET" and isinstance(case.query, dict):
            after = self._steer_report(case.query, digest)
            if schemas().report_query.is_valid(after) == schemas().report_query.is_valid(case.query):
                case.query = after
        elif case.operation.path == "/rest/login" and isinstance(case.body, dict):
            case.body = self._steer_login(case.body, digest)
        return case

    def before_call(self, case: Any) -> None:
        pass

    def after_call(self, case: Any, response: Any) -> None:
        if case.method.upper() == "POST" and case.operation.path == SEND_PATH and response.status_code == 200:
            tracking_id = (response.json().get("data") or {}).get("trackingId")
            if isinstance(tracking_id, str):
                self.accepted.append(tracking_id)

    # --- login (a schemathesis auth provider) ---------------------------------------------------------
    def get(self, case: Any, context: Any) -> dict[str, str]:
        """The run's user's token, and on a fake the read-only user's; fetched again after a reset."""
        if self._tokens is None or self._tokens[0] != self.target.epoch:
            tokens = {"run": self.api.token()}
            if self.world.readonly_user:
                answer = self.api.login(*self.world.readonly_user)
                if answer.status == 200 and isinstance(answer.body, dict):
                    tokens["readonly"] = answer.body["access_token"]
            self._tokens = (self.target.epoch, tokens)
        return self._tokens[1]

    def set(self, case: Any, data: dict[str, str], context: Any) -> None:
        digest = case_digest(case)
        user = _pick(digest, 6, ("run",) * 5 + ("readonly",))
        prefix = _pick(digest, 7, ("Bearer ", "Bearer ", "bearer ", ""))
        case.headers = {**(case.headers or {}), "Authorization": prefix + data.get(user, data["run"])}

    # --- the narrowed check (see the module doc) -------------------------------------------------------
    def positive_400_breaks_a_rule_beyond_the_schema(self, ctx: Any, response: Any, case: Any) -> bool | None:
        """A 400 to a send that is valid by the spec's schemas must break a rule the schemas cannot hold."""
        meta = case.meta
        if (
            meta is None
            or not meta.generation.mode.is_positive
            or response.status_code != 400
            or case.operation.path != SEND_PATH
            or case.method.upper() != "POST"
            or not schemas().send_body.is_valid(case.body)
        ):
            return None
        broken = rules_broken_beyond_the_schema(case.body, self.target.now("dengage"), self.accepted)
        assert broken, f"A schema-valid send breaking no rule of the spec was rejected: {response.text[:300]}"
        undocumented = [b for b in broken if "not in a documented format" in b]
        assert len(undocumented) < len(broken), (
            f"The spec's ScheduleDate pattern admits a date its description does not list: {undocumented[0]}; "
            f"answered {response.text[:200]}"
        )
        return None

    # --- authentication is enforced (through the gate) ------------------------------------------------
    def auth_is_required(self, ctx: Any, response: Any, case: Any) -> bool | None:
        """Schemathesis's `ignored_auth`, sent through the target's gated session: a request the
        target accepted with a token is sent again without one, and must be answered 401.
        (The built-in check sends its probes around the session, past safe mode and the budget.)"""
        if case.operation.path != SEND_PATH or not 200 <= response.status_code < 300:
            return None
        request = response.request.copy()
        del request.headers["Authorization"]
        again = self.target.session.send(request)
        assert again.status_code == 401, (
            f"The request was accepted without its token too (expected 401): {again.status_code} {again.text[:300]}")
        return None

    def prepare(self) -> None:
        """After a reset, one accepted send (where the run may send), so that report cases can name a
        tracking id the target knows and reach its 200 answer."""
        self.accepted.clear()
        settings = self.target.settings
        audience = ({"tableId": settings.dengage_table} if settings.dengage_table else
                    {"segmentId": settings.dengage_segment} if settings.dengage_segment else
                    {"tableId": self.world.tables[0]} if self.world.tables and not self.target.safe else None)
        if audience is None:
            return
        answer = self.api.send({"content": {"title": "pushfake contract", "message": "a conformance run's send"},
                                **audience})
        tracking_id = (answer.data or {}).get("trackingId") if isinstance(answer.data, dict) else None
        if answer.status == 200 and isinstance(tracking_id, str):
            self.accepted.append(tracking_id)

    def checks(self) -> dict[str, list[Any]]:
        return {"excluded": [ignored_auth],
                "additional": [self.positive_400_breaks_a_rule_beyond_the_schema, self.auth_is_required]}
