"""D·engage state machines: the access token's life (Bearer and bare, unknown, expired, without
Push.Manage), probed with requests that cannot push; and sends held to the validation rules, the
tracking ids and the report's counts.

Safe mode: every send names the run's table (or segment), and with neither named no send runs.
The clock is moved (token expiry, schedule dates) and the report's counts are checked only on a
fake, after its deliveries have settled.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from pushfake.contract import spec
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, Dengage

# The catalogue keys of the 401 texts: a send's 401 is SendInstantPush's own, a report's its own.
NOT_AUTHENTICATED = {"send": "not-authenticated", "report": "report-not-authenticated"}
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
REPORT_STATUSES = ("Scheduled", "Sending", "Completed")
SCHEMES = st.sampled_from(["Bearer", ""])  # "": the bare token
INLINE = {"title": "pushfake contract", "message": "A contract test message."}
MULTI_LANG = {"defaultLanguage": "EN", "contents": [{"language": "EN", **INLINE}]}
SEND_CASES = ("valid",) * 5 + ("content and multiLangContent", "no content", "templateId and inline fields",
                               "segmentId and tableId", "trackingId not a UUID", "reused trackingId", "past date")

tokens = Bundle("dengage_tokens")
sends = Bundle("dengage_sends")


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # on the target's clock
    permitted: bool = True  # the API user has Push.Manage


@dataclass(frozen=True)
class Sent:
    tracking_id: str
    audience: tuple[tuple[str, str], ...]  # the body's tableId / segmentId, if any
    applications: tuple[str, ...] | None  # the body's applicationIds, if given
    schedule_at: float | None


def text(key: str) -> str:
    """The spec's text for `key`, from its error catalogue (`pushfake spec --vendor dengage --errors`)."""
    return spec.text("dengage", key)


def expect(condition: bool, expected: str, answer: Answer) -> None:
    if not condition:
        raise AssertionError(f"expected {expected}; got {answer.describe()}")


def _code(answer: Answer) -> Any:
    return answer.body.get("code") if isinstance(answer.body, dict) else None


def expect_error(answer: Answer, status: int, message: str | None = None) -> None:
    """The error envelope: `code` is the HTTP status; the message exactly, when the spec states it."""
    body = answer.body if isinstance(answer.body, dict) else {}
    expect(answer.status == status and body.get("code") == status and isinstance(body.get("message"), str)
           and (message is None or body["message"] == message),
           f"{status}" + (f" {message!r}" if message else " with code and message"), answer)


def _date(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _DengageMachine(RuleBasedStateMachine):
    target: Target  # set by the factory

    def __init__(self) -> None:
        super().__init__()
        self.target.reset()
        self.api = Dengage(self.target)
        self.control = self.target.endpoints["dengage"].control
        self.lifetime = 0  # the longest expires_in a login gave

    def now(self) -> float:
        return self.target.now("dengage")

    def expired(self, token: Token) -> bool:
        return self.now() >= token.expires_at

    def made_up_uuid(self) -> str:
        """A UUID no send has: derived from a fresh own id (deterministic, never repeated)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, self.target.ids.absent()))

    def audiences(self) -> list[dict[str, str]]:
        """What a send may go to: in safe mode only the named table or segment."""
        settings, world = self.target.settings, self.target.world.dengage
        found = [{"tableId": settings.dengage_table}] if settings.dengage_table else []
        found += [{"segmentId": settings.dengage_segment}] if settings.dengage_segment else []
        if not self.target.safe:
            found += [{}, *({"tableId": t} for t in world.tables), *({"segmentId": s} for s in world.segments)]
        return [dict(a) for a in dict.fromkeys(tuple(sorted(a.items())) for a in found)]

    def log_in(self, userkey: str | None = None, password: str | None = None, *, permitted: bool = True) -> Token:
        before = self.now()
        answer = self.api.login(userkey, password)
        body = answer.body if isinstance(answer.body, dict) else {}
        lifetime = body.get("expires_in")
        expect(answer.status == 200 and isinstance(body.get("access_token"), str) and bool(body["access_token"])
               and body.get("token_type") == "Bearer" and isinstance(lifetime, int) and not isinstance(lifetime, bool)
               and lifetime >= 1, "200 with access_token, token_type Bearer and expires_in", answer)
        self.lifetime = max(self.lifetime, lifetime)
        return Token(body["access_token"], before + lifetime, permitted)


class _Tokens(_DengageMachine):
    """Logins and token use. The probes cannot push: a report of an unknown send (404) and a send
    without content (400), so the answer shows only whether the token was taken."""

    def readonly(self) -> tuple[str, str] | None:
        return self.target.world.dengage.readonly_user  # an API user without Push.Manage (fakes only)

    @initialize(target=tokens)
    def first_logins(self) -> Any:
        readonly = self.readonly()
        return multiple(self.log_in(), *([self.log_in(*readonly, permitted=False)] if readonly else []))

    @rule(target=tokens, how=st.sampled_from(["with Push.Manage", "without Push.Manage", "unknown userkey",
                                               "wrong password"]))
    def log_in_again(self, how: str) -> Any:
        readonly = self.readonly()
        if how == "without Push.Manage" and readonly is not None:
            return self.log_in(*readonly, permitted=False)
        if how in ("with Push.Manage", "without Push.Manage"):
            return self.log_in()
        if how == "wrong password" and self.target.is_fake("dengage"):
            answer = self.api.login(password="pushfake-contract-wrong-password")
        else:  # an unknown userkey: no real API user's failed logins grow
            answer = self.api.login(userkey=self.target.ids.user())
        expect_error(answer, 401, text("wrong-login"))
        return multiple()

    def probe(self, kind: str, scheme: str | None, token: str) -> tuple[str, Answer]:
        """(the operation asked, its answer): a send when one may go somewhere, else a report."""
        named = [a for a in self.audiences() if a] or self.audiences()  # a table or segment rather than everyone
        if kind == "send" and named:
            # no content: refused whatever it names
            return "send", self.api.send(dict(named[0]), scheme=scheme, token=token)
        return "report", self.api.report(self.made_up_uuid(), scheme=scheme, token=token)

    @rule(token=tokens, whose=st.sampled_from(["this token"] * 3 + ["a made-up token", "no token"]),
          scheme=SCHEMES, kind=st.sampled_from(["report", "send"]))
    def use_a_token(self, token: Token, whose: str, scheme: str, kind: str) -> None:
        if whose != "this token":  # unknown, or no Authorization header at all
            asked, answer = self.probe(kind, scheme if whose == "a made-up token" else None, self.target.ids.user())
            expect_error(answer, 401, text(NOT_AUTHENTICATED[asked]))
            return
        sends = kind == "send" and bool(self.audiences())
        if not token.permitted and not sends:
            return  # the spec does not say whether a report needs Push.Manage
        expired = self.expired(token)
        asked, answer = self.probe(kind, scheme, token.value)
        if expired:
            expect_error(answer, 401, text(NOT_AUTHENTICATED[asked]))
        elif not token.permitted:
            expect_error(answer, 403, text("forbidden"))
        elif sends:
            expect_error(answer, 400)
        else:
            expect_error(answer, 404)

    @precondition(lambda self: self.control is not None)
    @rule(how_long=st.sampled_from(["a while"] * 3 + ["past expires_in"]))
    def let_time_pass(self, how_long: str) -> None:
        self.target.advance(600 if how_long == "a while" else self.lifetime + 1)


class _Sends(_DengageMachine):
    """SendInstantPush held to its validation rules; accepted sends, their tracking ids and reports."""

    def __init__(self) -> None:
        super().__init__()
        self.token: Token | None = None
        self.accepted: dict[str, Sent] = {}  # lower-case tracking id -> the send
        self._world: tuple[Any, ...] | None = None

    def bearer(self) -> str:
        if self.token is None or self.now() >= self.token.expires_at - 30:
            self.token = self.log_in()
        return self.token.value

    def content(self, case: str, data: st.DataObject) -> dict[str, Any]:
        templates = self.target.world.dengage.templates
        if case == "content and multiLangContent":
            return {"content": dict(INLINE), "multiLangContent": MULTI_LANG}
        if case == "no content":
            return {}
        if case == "templateId and inline fields":
            return {"content": {"templateId": templates[0] if templates else self.made_up_uuid(), **INLINE}}
        kinds = ["inline", "multiLangContent", *(["template"] if templates else [])]
        kind = data.draw(st.sampled_from(kinds), label="content")
        if kind == "template":
            return {"content": {"templateId": data.draw(st.sampled_from(templates), label="templateId")}}
        return {"content": dict(INLINE)} if kind == "inline" else {"multiLangContent": MULTI_LANG}

    def both_audiences(self) -> dict[str, str] | None:
        tables = [a["tableId"] for a in self.audiences() if "tableId" in a]
        segments = [a["segmentId"] for a in self.audiences() if "segmentId" in a]
        return {"segmentId": segments[0], "tableId": tables[0]} if tables and segments else None

    @precondition(lambda self: bool(self.audiences()))
    @rule(target=sends, case=st.sampled_from(SEND_CASES), scheme=SCHEMES, data=st.data())
    def send(self, case: str, scheme: str, data: st.DataObject) -> Any:
        token = self.bearer()
        audience = data.draw(st.sampled_from(self.audiences()), label="audience")
        if case == "segmentId and tableId":
            audience = self.both_audiences() or audience
            case = case if "tableId" in audience and "segmentId" in audience else "valid"
        if case == "reused trackingId" and not self.accepted:
            case = "valid"
        body: dict[str, Any] = {**audience, **self.content(case, data)}
        ids = self.api.application_ids
        applications = data.draw(st.none() | st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids),
                                                      unique=True), label="applicationIds") if ids else None
        if applications:
            body["applicationIds"] = applications
        tracking_id: str | None = None
        if case == "trackingId not a UUID":
            body["trackingId"] = "pushfake-contract-not-a-uuid"
        elif case == "reused trackingId":
            tracking_id = data.draw(st.sampled_from(sorted(s.tracking_id for s in self.accepted.values())))
        elif data.draw(st.booleans(), label="trackingId given"):
            tracking_id = self.made_up_uuid()
        if tracking_id is not None:
            body["trackingId"] = tracking_id
        schedule_at = None
        when = "past" if case == "past date" else data.draw(st.sampled_from(["none", "null", "future"]), label="when")
        if when == "past":
            body["scheduleDate"] = _date(math.floor(self.now()) - 3600)
        elif when == "null":
            body["scheduleDate"] = None  # sends now
        elif when == "future":
            schedule_at = math.floor(self.now()) + data.draw(st.sampled_from([120, 600, 1800]), label="in seconds")
            body["scheduleDate"] = _date(schedule_at)
        answer = self.api.send(body, scheme=scheme, token=token)
        if case != "valid":
            expect_error(answer, 400)  # the texts of these 400s are the fake's own, not the spec's
            return multiple()
        data_ = answer.data if isinstance(answer.data, dict) else {}
        got = data_.get("trackingId")
        expect(answer.status == 200 and _code(answer) == 0 and isinstance(got, str) and bool(UUID.match(got)),
               "200 with code 0 and a trackingId UUID", answer)
        if tracking_id is not None:
            expect(got == tracking_id, f"the trackingId given ({tracking_id}) echoed", answer)
        else:
            expect(got.lower() not in self.accepted, "a new trackingId, not one of an earlier send", answer)
        sent = Sent(got, tuple(sorted(audience.items())), tuple(applications) if applications else None, schedule_at)
        self.accepted[got.lower()] = sent
        return sent

    def world(self) -> tuple[list[dict[str, Any]], dict[str, list[str]], dict[str, list[dict[str, Any]]], list[str]]:
        """The fake's contacts, tables, segments and applications (its control plane says)."""
        if self._world is None:
            assert self.control is not None
            userkey = self.target.credentials.dengage_userkey
            account = next(a for a in self.control.dengage_accounts() if userkey in a["apiUsers"])
            tables = {t["id"].lower(): t["contactKeys"] for t in self.control.dengage_records(account["id"], "tables")}
            segments = {s["id"].lower(): s["rule"] for s in self.control.dengage_records(account["id"], "segments")}
            contacts = self.control.dengage_records(account["id"], "contacts")
            self._world = (contacts, tables, segments, [a["id"].lower() for a in account["applications"]])
        return self._world

    def reach(self, sent: Sent) -> dict[str, str] | None:
        """{device: application} the send reaches: the audience's contacts' devices in its
        applications (every application when none was given); None if a segment rule is not
        one the model reads."""
        contacts, tables, segments, applications = self.world()
        audience = dict(sent.audience)
        if "tableId" in audience:
            keys = set(tables.get(audience["tableId"].lower(), ()))
        elif "segmentId" in audience:
            conditions = segments.get(audience["segmentId"].lower(), [])
            if any(c.get("op", "equals") != "equals" for c in conditions):
                return None
            keys = {c["key"] for c in contacts
                    if all(k["field"] in c["fields"] and c["fields"][k["field"]] == k["value"] for k in conditions)}
        else:
            keys = {c["key"] for c in contacts}
        apps = {a.lower() for a in sent.applications} if sent.applications else set(applications)
        return {d["id"]: d["applicationId"].lower() for c in contacts if c["key"] in keys
                for d in c.get("devices", ()) if d["applicationId"].lower() in apps}

    @rule(sent=sends, which=st.sampled_from(["this send"] * 4 + ["no send"]),
          wait=st.sampled_from([0, 0, 60, 600, 3600]), narrow=st.booleans(), scheme=SCHEMES, data=st.data())
    def read_the_report(self, sent: Sent, which: str, wait: int, narrow: bool, scheme: str,
                        data: st.DataObject) -> None:
        if which == "no send":
            expect_error(self.api.report(self.made_up_uuid(), scheme=scheme, token=self.bearer()), 404)
            return
        apps = sent.applications or self.api.application_ids
        application = data.draw(st.sampled_from(sorted(apps)), label="applicationId") if narrow and apps else None
        if self.control is not None:  # a fake: its clock moves on (schedule dates, token expiry), then settles
            self.target.advance(wait)
            self.target.settle()
        answer = self.api.report(sent.tracking_id, application, scheme=scheme, token=self.bearer())
        report = answer.data if isinstance(answer.data, dict) else {}
        expect(answer.status == 200 and _code(answer) == 0
               and str(report.get("trackingId", "")).lower() == sent.tracking_id.lower()
               and report.get("status") in REPORT_STATUSES, f"200 with the report of {sent.tracking_id}", answer)
        if self.control is None:
            return
        if sent.schedule_at is not None and self.now() < sent.schedule_at:
            expect(report["status"] == "Scheduled" and report.get("totalCount") == 0,
                   "status Scheduled and nothing counted before the scheduleDate", answer)
            return
        reach = self.reach(sent)
        if reach is None:
            return
        count = sum(1 for app in reach.values() if application is None or app == application.lower())
        expect(report["status"] == "Completed" and report.get("totalCount") == count
               and report.get("totalDeliveredCount") == count and report.get("totalBounceCount") == 0
               and report.get("totalErrorCount") == 0,
               f"Completed, {count} delivered of {count} (the audience's reachable devices"
               + (f" in {application})" if application else ")"), answer)

    @precondition(lambda self: self.control is not None)
    @invariant()
    def deliveries_are_the_accepted_sends(self) -> None:
        """Every accepted send whose time has come queued one delivery per reachable device; a
        refused one queued nothing."""
        now, expected = self.now(), 0
        for sent in self.accepted.values():
            if sent.schedule_at is None or now >= sent.schedule_at:
                reach = self.reach(sent)
                if reach is None:
                    return
                expected += len(reach)
        queued = len(self.control.deliveries(vendor="dengage")) if self.control is not None else 0
        assert queued == expected, f"the fake queued {queued} D·engage deliveries; the accepted sends reach {expected}"


def _factory(base: type[_DengageMachine]) -> Callable[[Target], type[RuleBasedStateMachine]]:
    def factory(target: Target) -> type[RuleBasedStateMachine]:
        return type(base.__name__.lstrip("_"), (base,), {"target": target})

    return factory


def _sends(target: Target) -> type[RuleBasedStateMachine]:
    settings = target.settings
    if target.safe and not (settings.dengage_table or settings.dengage_segment):
        raise NotCheckable("safe mode: a send needs the table or segment named for the run "
                           "(dengage_table / dengage_segment)")
    return _factory(_Sends)(target)


MACHINES = {"dengage-tokens": _factory(_Tokens), "dengage-sends": _sends}
