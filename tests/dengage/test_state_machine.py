"""A Hypothesis state machine over the D·engage HTTP API, checked against a small model of its rules.

The machine drives the real ASGI app in-process (login, SendInstantPush, the send report), moves
the fake's `ManualClock` (past token expiry at 3600 s, past pending schedule dates) and opens
deliveries as a person would (`fake.dengage.engage`). A model written here, from the spec and
DECISIONS.md rather than from the fake's code, predicts:

- the status of every request. For a send the checks run in this order (the first that fails
  decides): authentication (401) → Push.Manage permission (403) → the body's schemas (400) →
  cross-field rules the schemas leave open (400: a multiLangContent default language without
  content) → unknown application, segment, table or template (404) → scheduleDate that is not a
  real date or is in the past (400) → a trackingId the account already used (400);
- for an accepted send, exactly which (contact, device) pairs it queues, now or when the clock
  reaches its scheduleDate (the audience is resolved then), with `useOnlyEngagedTokens` keeping
  devices engaged in the fixtures or opened since; and the title each device gets (inline text
  with `{{contact.<field>}}` filled, a stored template, or the contact's language of a
  multi-language content or template, else its default language);
- the report's totalCount and totalOpenCount.

Invariants: the deliveries of every accepted send are exactly the model's; a rejected send queues
nothing (the total only grows by accepted sends, and no delivery names an unknown send); a send
waiting for its date has queued nothing yet; the fake's clock is the model's.

The model follows the rules as documented and decided, not as the fake happens to implement them:
where the two disagree the test fails, and the failing step is the finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)
from starlette.testclient import TestClient

from pushfake import Fake, ManualClock, create_app
from tests.dengage.helpers import documented_date

# --- the default world (fixtures/default.yaml, section `dengage`), as facts ---------------------------

PASSWORD = "pushfake-secret"
USERS = {"pushfake": True, "pushfake-readonly": False}  # userkey -> has Push.Manage
MOBILE = "8d1f4c2a-6b3e-4f5a-9c7d-1e2f3a4b5c6d"
WEB = "2b7e9a41-3c5d-4e6f-8a9b-0c1d2e3f4a5b"
APPS = (MOBILE, WEB)
CONTACTS = {  # key -> (language, name)
    "ayse": ("TR", "Ayşe"),
    "john": ("EN", "John"),
    "elif": ("DE", "Elif"),
}
DEVICES = {  # device id -> (contact, application)
    "ayse-iphone": ("ayse", MOBILE),
    "john-android": ("john", MOBILE),
    "john-firefox": ("john", WEB),
    "elif-chrome": ("elif", WEB),
}
ENGAGED_IN_FIXTURES = frozenset({"elif-chrome"})
SEGMENT = "5f0c6a1e-2d3b-4c4d-8e5f-6a7b8c9d0e1f"  # tier == gold
SEGMENT_MEMBERS = frozenset({"ayse", "elif"})
TABLE = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"
TABLE_MEMBERS = frozenset({"john", "elif"})
SINGLE_TEMPLATE = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
SINGLE_TEMPLATE_TITLE = "Your order is on its way"
MULTI_TEMPLATE = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"
MULTI_TEMPLATE_TITLES = {"EN": "Weekend sale", "TR": "Hafta sonu indirimi"}
MULTI_TEMPLATE_DEFAULT = "EN"

TOKEN_LIFETIME = 3600
START = 1_767_225_600.0  # ManualClock's default start, 2026-01-01T00:00:00Z
SEND = "/rest/push/sendInstant"

# --- scheduleDate as the spec describes it -----------------------------------------------------------

def parse_schedule_date(text: str) -> float | None:
    """The UTC time of a documented-format date, or None if it is not a real date."""
    documented, when = documented_date(text)
    assert documented, f"the test only sends documented dates here: {text!r}"
    return when


def format_date(when: float, style: str) -> str:
    moment = datetime.fromtimestamp(when, UTC)
    if style == "date":
        return moment.strftime("%Y-%m-%d")
    if style in ("space-minutes", "T-minutes"):
        return moment.strftime("%Y-%m-%d{}%H:%M".format(" " if style[0] == "s" else "T"))
    if style in ("space-seconds", "T-seconds"):
        return moment.strftime("%Y-%m-%d{}%H:%M:%S".format(" " if style[0] == "s" else "T"))
    if style in ("space-f", "T-ff", "T-fff"):
        digits = {"space-f": 1, "T-ff": 2, "T-fff": 3}[style]
        sep = " " if style.startswith("space") else "T"
        return moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S.") + f"{moment.microsecond:06d}"[:digits]
    if style == "Z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "fffZ":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}"[:3] + "Z"
    raise AssertionError(style)


DATE_STYLES = ("date", "space-minutes", "T-minutes", "space-seconds", "T-seconds", "space-f", "T-ff",
               "T-fff", "Z", "fffZ")

# --- what a send request is, in the model's terms ----------------------------------------------------


@dataclass
class SendRequest:
    """A generated body (without trackingId and scheduleDate) and what it means."""

    body: dict[str, Any]
    schema_errors: list[str] = field(default_factory=list)  # breaks a schema of the spec
    cross_field_errors: list[str] = field(default_factory=list)  # schema-valid, breaks a stated rule
    unknown: list[str] = field(default_factory=list)  # references that do not exist (404)
    applications: frozenset[str] = frozenset(APPS)
    audience: str = "all"  # all, segment, table
    engaged_only: bool = False
    content: tuple[Any, ...] = ()  # how a contact's title is made, see `title_for`


def title_for(content: tuple[Any, ...], contact: str) -> str:
    language, name = CONTACTS[contact]
    kind = content[0]
    if kind == "inline":
        return content[1].replace("{{contact.name}}", name).replace("{{ contact.nope }}", "")
    if kind == "single-template":
        return SINGLE_TEMPLATE_TITLE
    if kind == "multi-template":
        return MULTI_TEMPLATE_TITLES.get(language, MULTI_TEMPLATE_TITLES[MULTI_TEMPLATE_DEFAULT])
    if kind == "multi":
        titles, default = content[1], content[2]
        return titles.get(language, titles.get(default, ""))
    raise AssertionError(kind)


uuids = st.uuids(version=4).map(str)
LANGUAGES = ("EN", "TR", "DE", "FR")


def any_case(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from([text.upper(), text.lower(), text[0].upper() + text[1:].lower()])


# What can be wrong with a send body, by the check that should catch it. `send_requests` draws how
# many faults (`counts`), then that many checks to fail, then one fault for each, so two faults are
# always caught by different checks and the model's order decides the answer. Every other choice
# is drawn among valid ones.
FAULTS_BY_CHECK = {
    "schema": ("both-audiences", "malformed-segment", "malformed-applications", "template-and-inline",
               "inline-without-message", "content-and-multi", "no-content", "malformed-engaged-flag",
               "malformed-tracking-id", "malformed-date"),
    "cross-field": ("default-language-without-content",),
    "lookup": ("unknown-segment", "unknown-table", "unknown-application", "unknown-template"),
    "date": ("impossible-date", "past-date"),
    "tracking-id": ("reused-tracking-id",),
}


@st.composite
def send_requests(draw: st.DrawFn, counts: tuple[int, ...] = (0, 1, 1, 2, 2),
                  ) -> tuple[SendRequest, str, tuple[Any, ...]]:
    """(request, trackingId choice, scheduleDate choice); the last two are resolved by the rule."""
    count = draw(st.sampled_from(counts), label="fault count")
    checks = draw(st.lists(st.sampled_from(sorted(FAULTS_BY_CHECK)), min_size=count, max_size=count, unique=True),
                  label="failing checks")
    faults = {draw(st.sampled_from(FAULTS_BY_CHECK[check]), label=f"{check} fault") for check in checks}
    request = SendRequest(body={})
    body = request.body

    audience = draw(st.sampled_from(["all", "segment", "table"]), label="audience")
    request.audience = audience
    if audience == "segment" or "both-audiences" in faults:
        body["segmentId"] = SEGMENT
    if audience == "table" or "both-audiences" in faults:
        body["tableId"] = TABLE
    if "both-audiences" in faults:
        request.schema_errors.append("segmentId and tableId together")
    if "malformed-segment" in faults:
        body["segmentId"] = "gold-tier"
        request.schema_errors.append("segmentId is not a UUID")
    elif "unknown-segment" in faults:
        body["segmentId"] = draw(uuids)
        request.unknown.append("segment")
    if "unknown-table" in faults and "segmentId" not in body:
        body["tableId"] = draw(uuids)
        request.unknown.append("table")
    if "segmentId" in body and "tableId" in body and "both-audiences" not in faults:
        request.schema_errors.append("segmentId and tableId together")

    if draw(st.booleans(), label="applicationIds given"):
        chosen = draw(st.lists(st.sampled_from(APPS), min_size=1, max_size=3), label="applicationIds")
        body["applicationIds"] = chosen
        request.applications = frozenset(chosen)
    if "unknown-application" in faults:
        chosen = list(body.get("applicationIds", []))
        position = draw(st.integers(0, len(chosen)))
        body["applicationIds"] = [*chosen[:position], draw(uuids), *chosen[position:]]
        request.unknown.append("application")
    elif "malformed-applications" in faults:
        body["applicationIds"] = draw(st.sampled_from([MOBILE, ["mobile"], [MOBILE.replace("-", "")]]))
        request.schema_errors.append("applicationIds is not a list of UUIDs")

    content = draw(st.sampled_from(["inline", "inline", "single-template", "multi-template", "multi", "multi"]),
                   label="content")
    if "unknown-template" in faults:
        content = "unknown-template"
    elif "default-language-without-content" in faults:
        content = "multi"
    if content == "inline" or "content-and-multi" in faults:
        title = draw(st.sampled_from(["Hello", "Hi {{contact.name}}", "x{{ contact.nope }}y"]))
        body["content"] = {"title": title, "message": "A message"}
        if draw(st.booleans()):
            body["content"]["targetUrl"] = "https://example.com/x"
        request.content = ("inline", title)
    if content in ("single-template", "multi-template"):
        body["content"] = {"templateId": SINGLE_TEMPLATE if content == "single-template" else MULTI_TEMPLATE}
        request.content = (content,)
    elif content == "unknown-template":
        body["content"] = {"templateId": draw(uuids)}
        request.unknown.append("template")
    if content == "multi" or "content-and-multi" in faults:
        languages = draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=4, unique=True))
        contents = [{"language": draw(any_case(lang)), "title": f"title in {lang}", "message": "m"}
                    for lang in languages]
        default = "ES" if "default-language-without-content" in faults else draw(st.sampled_from(languages))
        body["multiLangContent"] = {"defaultLanguage": draw(any_case(default)), "contents": contents}
        if "default-language-without-content" in faults:
            request.cross_field_errors.append("defaultLanguage has no content")
        if content == "multi":
            request.content = ("multi", {lang: f"title in {lang}" for lang in languages}, default)
    if "content-and-multi" in faults:
        request.schema_errors.append("content and multiLangContent together")
    if "template-and-inline" in faults:
        body.pop("multiLangContent", None)
        body["content"] = {"templateId": SINGLE_TEMPLATE, "title": "Hello", "message": "A message"}
        request.schema_errors.append("templateId with inline content")
    if "inline-without-message" in faults:
        body.pop("multiLangContent", None)
        body["content"] = {"title": "Hello"}
        request.schema_errors.append("content without message")
    if "no-content" in faults:
        body.pop("content", None)
        body.pop("multiLangContent", None)
        request.schema_errors.append("neither content nor multiLangContent")

    engaged = draw(st.sampled_from(["absent", True, True, True, False]), label="useOnlyEngagedTokens")
    if "malformed-engaged-flag" in faults:
        body["useOnlyEngagedTokens"] = "yes"
        request.schema_errors.append("useOnlyEngagedTokens is not a boolean")
    elif engaged != "absent":
        body["useOnlyEngagedTokens"] = engaged
        request.engaged_only = engaged

    if "malformed-tracking-id" in faults:
        tracking = "malformed"
    elif "reused-tracking-id" in faults:
        tracking = "reused"
    else:
        tracking = draw(st.sampled_from(["absent", "fresh"]), label="trackingId")

    if "malformed-date" in faults:
        schedule: tuple[Any, ...] = ("malformed", draw(st.sampled_from(
            ["tomorrow", "2026/06/01", "2026-06-01T10", 1767225600, "2026-6-1", "01-06-2026 10:00"])))
    elif "impossible-date" in faults:
        schedule = ("impossible", draw(st.sampled_from(
            ["2026-02-31", "2026-13-01 10:00", "2027-04-31T08:00:00", "2026-06-01 24:00:00", "2026-06-01T10:61"])))
    elif "past-date" in faults:
        schedule = ("past", draw(st.sampled_from([1, 61, 3600, 86_400 * 40])), draw(st.sampled_from(DATE_STYLES)))
    else:
        kind = draw(st.sampled_from(["future", "absent", "future", "null", "future", "now"]), label="scheduleDate")
        if kind == "future":
            schedule = (kind, draw(st.sampled_from([1, 59, 60, 61, 600, 3599, 3600, 5400, 7200])),
                        draw(st.sampled_from(DATE_STYLES)))
        elif kind == "now":
            schedule = (kind, draw(st.sampled_from(["space-seconds", "T-seconds", "Z", "T-fff"])))
        else:
            schedule = (kind,)
    return request, tracking, schedule


AUTH_STYLES = ("Bearer", "Bearer", "Bearer", "Bearer", "bare", "bare", "bearer", "garbage", "missing")


def authorization(style: str, token: str) -> dict[str, str]:
    if style == "missing":
        return {}
    value = {"Bearer": f"Bearer {token}", "bearer": f"bearer {token}", "bare": token,
             "garbage": "Bearer not-a-token"}[style]
    return {"Authorization": value}


def send_opens(machine: DengageMachine, tracking_id: str) -> bool:
    return any(d.id in machine.opened for d in machine.fake.deliveries.find(send_id=tracking_id))


# --- the model's records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    value: str
    user: str
    expires_at: float


@dataclass
class ModelSend:
    tracking_id: str
    request: SendRequest
    schedule_at: float | None  # None: sent when accepted
    sent: bool = False
    # device id -> (contact, application, title), set when the send goes out
    deliveries: dict[str, tuple[str, str, str]] = field(default_factory=dict)


class DengageMachine(RuleBasedStateMachine):
    tokens = Bundle("tokens")  # of the user with Push.Manage
    readonly_tokens = Bundle("readonly_tokens")  # of the user without it
    tracking_ids = Bundle("tracking_ids")

    def __init__(self) -> None:
        super().__init__()
        self.fake = Fake(seed=3, clock=ManualClock(START))
        self.client = TestClient(create_app(self.fake))
        self.client.__enter__()  # one event loop thread for the whole run, not one per request
        self.now = START
        self.engaged: set[str] = set(ENGAGED_IN_FIXTURES)
        self.sends: dict[str, ModelSend] = {}  # accepted sends, by tracking id in lower case
        self.pending: list[ModelSend] = []  # accepted, waiting for their date, in acceptance order
        self.opened: set[str] = set()  # delivery ids opened
        self.token_expiries: list[float] = []

    def teardown(self) -> None:
        self.client.__exit__(None, None, None)

    # --- the model's rules ---------------------------------------------------------------------------

    def authenticated(self, style: str, token: Token) -> bool:
        return style not in ("garbage", "missing") and self.now < token.expires_at

    def audience(self, send: ModelSend) -> dict[str, tuple[str, str, str]]:
        request = send.request
        members = {"all": set(CONTACTS), "segment": SEGMENT_MEMBERS, "table": TABLE_MEMBERS}[request.audience]
        return {
            device: (contact, app, title_for(request.content, contact))
            for device, (contact, app) in DEVICES.items()
            if contact in members and app in request.applications
            and (device in self.engaged or not request.engaged_only)
        }

    def go_out(self, send: ModelSend) -> None:
        send.deliveries = self.audience(send)
        send.sent = True
        if send.request.engaged_only:
            opened_since = set(send.deliveries) - ENGAGED_IN_FIXTURES
            event("engaged-only send reached " + ("a device opened in the run" if opened_since
                                                  else "only fixture-engaged devices"))
        if send.schedule_at is not None:
            event("a scheduled send went out")

    def expected_total(self) -> int:
        return sum(len(s.deliveries) for s in self.sends.values())

    # --- rules -----------------------------------------------------------------------------------------

    def _login(self, userkey: str, password: str) -> Any:
        response = self.client.post("/rest/login", json={"userkey": userkey, "password": password})
        if userkey in USERS and password == PASSWORD:
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["token_type"] == "Bearer" and body["expires_in"] == TOKEN_LIFETIME, body
            self.token_expiries.append(self.now + TOKEN_LIFETIME)
            return Token(body["access_token"], userkey, self.now + TOKEN_LIFETIME)
        assert response.status_code == 401, response.text
        return multiple()

    @initialize(target=tokens)
    def first_login(self) -> Any:
        return self._login("pushfake", PASSWORD)

    @initialize(target=tracking_ids)
    def first_sends(self) -> Any:
        """A send to every device now, so that there is something to open from the first step, and a
        send to engaged devices in 10 minutes, which devices opened before then join."""
        token = self._login("pushfake", PASSWORD)
        now = SendRequest(body={"content": {"title": "Hi {{contact.name}}", "message": "m"}},
                          content=("inline", "Hi {{contact.name}}"))
        later = SendRequest(body={"content": {"templateId": MULTI_TEMPLATE}, "useOnlyEngagedTokens": True},
                            content=("multi-template",), engaged_only=True)
        return multiple(self._send(token, "Bearer", (now, "absent", ("absent",)), None),
                        self._send(token, "bare", (later, "absent", ("future", 600, "T-seconds")), None))

    @rule(target=tokens, userkey=st.sampled_from(["pushfake", "pushfake", "pushfake", "nobody", "bad body"]),
          right_password=st.sampled_from([True, True, True, False]))
    def login(self, userkey: str, right_password: bool) -> Any:
        if userkey == "bad body":
            body = {"userkey": "pushfake"} if right_password else {"userkey": "", "password": PASSWORD}
            response = self.client.post("/rest/login", json=body)
            assert response.status_code == 400, response.text
            return multiple()
        return self._login(userkey, PASSWORD if right_password else "wrong-secret")

    @rule(target=readonly_tokens, right_password=st.sampled_from([True, True, True, False]))
    def login_without_push_permission(self, right_password: bool) -> Any:
        return self._login("pushfake-readonly", PASSWORD if right_password else "wrong-secret")

    @rule(data=st.data(),
          how=st.sampled_from(["seconds", "seconds", "round", "next-schedule", "next-schedule", "token-expiry"]))
    def advance(self, data: st.DataObject, how: str) -> None:
        if how == "seconds":
            seconds = float(data.draw(st.integers(1, 900), label="seconds"))
        elif how == "round":
            seconds = float(data.draw(st.sampled_from([3599, 3600, 3601, 7200]), label="seconds"))
        else:
            targets = [s.schedule_at for s in self.pending] if how == "next-schedule" else self.token_expiries
            future = sorted(t for t in targets if t is not None and t > self.now)
            if not future:
                seconds = 1.0
            else:
                target = data.draw(st.sampled_from(future[:3]), label="target")
                seconds = max(0.0, target - self.now + data.draw(st.sampled_from([-1.0, 0.0, 0.0, 1.0]), label="delta"))
        self.fake.advance(seconds)
        self.now += seconds
        due = [s for s in self.pending if s.schedule_at is not None and s.schedule_at <= self.now]
        due.sort(key=lambda s: s.schedule_at)
        for send in due:
            self.go_out(send)
            self.pending.remove(send)

    @rule(target=tracking_ids, token=tokens, style=st.sampled_from(AUTH_STYLES), drawn=send_requests(),
          data=st.data())
    def send(self, token: Token, style: str, drawn: tuple[SendRequest, str, tuple[Any, ...]],
             data: st.DataObject) -> Any:
        return self._send(token, style, drawn, data)

    @rule(target=tracking_ids, token=tokens, style=st.sampled_from(["Bearer", "bare"]),
          drawn=send_requests(counts=(0,)), data=st.data())
    def send_a_valid_body(self, token: Token, style: str, drawn: tuple[SendRequest, str, tuple[Any, ...]],
                          data: st.DataObject) -> Any:
        return self._send(token, style, drawn, data)

    @rule(target=tracking_ids, token=tokens, style=st.sampled_from(["Bearer", "bare"]),
          drawn=send_requests(counts=(2,)), data=st.data())
    def send_a_body_with_two_faults(self, token: Token, style: str, drawn: tuple[SendRequest, str, tuple[Any, ...]],
                                    data: st.DataObject) -> Any:
        """Two faults that different checks catch: the first check in the model's order decides."""
        return self._send(token, style, drawn, data)

    @rule(target=tracking_ids, token=readonly_tokens, style=st.sampled_from(AUTH_STYLES), drawn=send_requests(),
          data=st.data())
    def send_without_push_permission(self, token: Token, style: str,
                                     drawn: tuple[SendRequest, str, tuple[Any, ...]], data: st.DataObject) -> Any:
        return self._send(token, style, drawn, data)

    def _send(self, token: Token, style: str, drawn: tuple[SendRequest, str, tuple[Any, ...]],
              data: st.DataObject | None) -> Any:
        request, tracking, schedule = drawn
        body = dict(request.body)
        schema_errors = list(request.schema_errors)
        date_error = None
        schedule_at: float | None = None

        tracking_id = None
        if tracking == "fresh" or (tracking == "reused" and not self.sends):
            tracking_id = data.draw(uuids, label="trackingId")
        elif tracking == "reused":
            tracking_id = data.draw(st.sampled_from(sorted(self.sends)), label="trackingId")
            if data.draw(st.booleans(), label="in upper case"):
                tracking_id = tracking_id.upper()  # UUIDs compare without regard to case
        elif tracking == "malformed":
            body["trackingId"] = data.draw(st.sampled_from(["not-a-uuid", "0123456789abcdef0123456789abcdef", ""]))
            schema_errors.append("trackingId is not a UUID")
        if tracking_id is not None:
            body["trackingId"] = tracking_id

        kind = schedule[0]
        if kind == "null":
            body["scheduleDate"] = None
        elif kind in ("future", "past", "now"):
            offset = {"future": 1, "past": -1, "now": 0}[kind] * (schedule[1] if kind != "now" else 0)
            style_ = schedule[2] if kind != "now" else schedule[1]
            body["scheduleDate"] = format_date(self.now + offset, style_)
        elif kind == "impossible":
            body["scheduleDate"] = schedule[1]
        elif kind == "malformed":
            body["scheduleDate"] = schedule[1]
            schema_errors.append("scheduleDate does not match the pattern")
        if isinstance(body.get("scheduleDate"), str) and kind != "malformed":
            when = parse_schedule_date(body["scheduleDate"])
            if when is None:
                date_error = "not a real date"
            elif when < self.now:
                date_error = "in the past"
            elif when > self.now:
                schedule_at = when

        # The model's verdict, first failing check first.
        if not self.authenticated(style, token):
            expected = 401
        elif not USERS[token.user]:
            expected = 403
        elif schema_errors or request.cross_field_errors:
            expected = 400
        elif request.unknown:
            expected = 404
        elif date_error is not None:
            expected = 400
        elif tracking_id is not None and tracking_id.lower() in self.sends:
            expected = 400
        else:
            expected = 200

        event(f"send answered {expected}")
        total_before = len(self.fake.deliveries.find(vendor="dengage"))
        response = self.client.post(SEND, json=body, headers=authorization(style, token.value))
        assert response.status_code == expected, (
            f"expected {expected}, got {response.status_code} {response.text}\nbody: {body}\n"
            f"schema errors: {schema_errors}; cross-field: {request.cross_field_errors}; "
            f"unknown: {request.unknown}; date: {date_error}"
        )
        answer = response.json()
        if expected != 200:
            assert answer["code"] == expected and answer["message"], answer
            assert ("errors" in answer) == (expected == 400), answer
            assert len(self.fake.deliveries.find(vendor="dengage")) == total_before
            if tracking_id is not None and tracking_id.lower() not in self.sends:
                assert self.fake.deliveries.find(send_id=tracking_id) == []
            return multiple()

        assert answer["code"] == 0 and answer["message"] == "Success", answer
        accepted = answer["data"]["trackingId"]
        if tracking_id is not None:
            assert accepted == tracking_id, answer
        assert accepted.lower() not in self.sends, f"the fake handed out a used tracking id: {accepted}"
        sent = ModelSend(accepted, request, schedule_at)
        self.sends[accepted.lower()] = sent
        if schedule_at is None:
            self.go_out(sent)
        else:
            self.pending.append(sent)
        return accepted

    @rule(tracking_id=tracking_ids, data=st.data())
    def open_a_delivery(self, tracking_id: str, data: st.DataObject) -> None:
        deliveries = sorted(self.fake.deliveries.find(vendor="dengage", send_id=tracking_id, state="delivered"),
                            key=lambda d: d.device_id)
        if not deliveries:
            return
        delivery = data.draw(st.sampled_from(deliveries), label="delivery")
        self.fake.dengage.engage(delivery.id, "open")
        self.opened.add(delivery.id)
        self.engaged.add(delivery.device_id)

    @rule(token=tokens, style=st.sampled_from(AUTH_STYLES), tracking_id=tracking_ids,
          application=st.sampled_from([None, None, MOBILE, WEB]),
          which=st.sampled_from(["as returned"] * 3 + ["in upper case", "unknown"]), data=st.data())
    def read_report(self, token: Token, style: str, tracking_id: str, application: str | None, which: str,
                    data: st.DataObject) -> None:
        asked = tracking_id.upper() if which == "in upper case" else tracking_id
        if which == "unknown":
            asked = tracking_id = data.draw(uuids, label="unknown trackingId")
        query = {"trackingId": asked, **({"applicationId": application} if application else {})}
        response = self.client.get(SEND, params=query, headers=authorization(style, token.value))
        if not self.authenticated(style, token):
            assert response.status_code == 401, response.text
            return
        if tracking_id.lower() not in self.sends:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 200, response.text
        event("report read" + (" (with opens)" if send_opens(self, tracking_id) else ""))
        report = response.json()["data"]
        send = self.sends[tracking_id.lower()]
        delivered_ids = {d.device_id: d.id for d in self.fake.deliveries.find(vendor="dengage", send_id=tracking_id)}
        counted = [device for device, (_, app, _) in send.deliveries.items() if application in (None, app)]
        opens = sum(delivered_ids.get(device) in self.opened for device in counted)
        assert report["trackingId"].lower() == tracking_id.lower(), report
        assert report["totalCount"] == len(counted), (report, send.deliveries)
        assert report["totalOpenCount"] == opens, (report, send.deliveries)
        assert sum(item["openCount"] for item in report["deviceTypes"]) == opens, report
        assert (report["status"] == "Scheduled") == (not send.sent), report
        assert (report["scheduleDate"] is not None) == (send.schedule_at is not None), report

    # --- invariants --------------------------------------------------------------------------------------

    @invariant()
    def clocks_agree(self) -> None:
        assert self.fake.clock.now() == self.now

    @invariant()
    def deliveries_are_the_models(self) -> None:
        by_send: dict[str, dict[str, tuple[str, str, str]]] = {}
        for d in self.fake.deliveries.find(vendor="dengage"):
            assert d.send_id.lower() in self.sends, f"a delivery of a send the model did not accept: {d.send_id}"
            devices = by_send.setdefault(d.send_id.lower(), {})
            assert d.device_id not in devices, f"device {d.device_id} got send {d.send_id} twice"
            devices[d.device_id] = (d.user_id, d.app_id, d.payload.get("title"))
        for tracking_id, send in self.sends.items():
            actual = by_send.get(tracking_id, {})
            if not send.sent:
                assert actual == {}, f"send {tracking_id} waits for its date but queued {sorted(actual)}"
            else:
                assert actual == send.deliveries, (
                    f"send {tracking_id} ({send.request.body}): queued {actual}, the model expected {send.deliveries}"
                )
        assert sum(map(len, by_send.values())) == self.expected_total()


DengageMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    # No explain phase: it traces every line of the fake and makes a failing run take minutes.
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDengageStateMachine = DengageMachine.TestCase
