"""Checks of the behaviours openapi/dengage.yaml marks `assumed`, one per behaviour.

Each asks the target through D·engage's REST API and holds the answer to the spec's words. A
send goes to the table or segment the run names (safe mode allows nothing else, and a real
account without one is not sent to at all; a fake in full mode uses its default world's table).
What only a pushfake can show (what each device got, a gateway refusing a token, when deliveries
are queued) is read from its control plane; on a real deployment such a check is not checkable.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pushfake.client import Client
from pushfake.contract.assumptions import support
from pushfake.contract.assumptions.support import Checks, default_fixtures_of, expect
from pushfake.contract import spec
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, Dengage
from pushfake.dengage.world import DengageSettings

VENDOR = "dengage"

LOGIN = "#/paths/~1rest~1login/post/x-pushfake-behaviours"
POST = "#/paths/~1rest~1push~1sendInstant/post"
GET = "#/paths/~1rest~1push~1sendInstant/get/x-pushfake-behaviours"
CONTENT = {"title": "pushfake contract check", "message": "A check of the send API; please ignore."}
PAST = "2000-01-01"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
UNREGISTERED = {"apns": "Unregistered", "fcm": "UNREGISTERED", "webpush": "410"}  # a gateway's "token gone"
UNAVAILABLE = {"apns": "ServiceUnavailable", "fcm": "UNAVAILABLE", "webpush": "503"}  # transient


CHECKS = Checks(VENDOR)  # this module's checks; `assumptions.checks` gathers every module's
check = CHECKS.check


# --- helpers -------------------------------------------------------------------------------------
def text(key: str) -> str:
    """The spec's text for `key`, byte for byte, from its error catalogue
    (`pushfake spec --vendor dengage --errors`)."""
    return spec.text(VENDOR, key)


def new_id(target: Target) -> str:
    """A UUID of this run's own (repeatable on a fake, new on a real account)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, target.ids.absent()))


def audience(target: Target) -> dict[str, str]:
    """Where a send may go: the run's named table or segment, or (fake, full mode) the world's table."""
    if target.settings.dengage_table:
        return {"tableId": target.settings.dengage_table}
    if target.settings.dengage_segment:
        return {"segmentId": target.settings.dengage_segment}
    if target.safe or not target.is_fake(VENDOR):
        raise NotCheckable("a send needs the table or segment named for the run (dengage_table / dengage_segment)")
    return {"tableId": target.world.dengage.tables[0]} if target.world.dengage.tables else {}


def not_in_safe_mode(target: Target, why: str) -> None:
    if target.safe:
        raise NotCheckable(f"safe mode: {why}")


def control_of(target: Target, what: str) -> Client:
    return support.control_of(target, VENDOR, what)


def settings_of(target: Target, what: str) -> DengageSettings:
    return DengageSettings.from_fixtures(default_fixtures_of(target, VENDOR, what).get("settings") or {})


def body_of(answer: Answer) -> dict[str, Any]:
    return answer.body if isinstance(answer.body, dict) else {}


def accepted(answer: Answer) -> str:
    """The tracking id of a send the target accepted."""
    tracking = (answer.data if isinstance(answer.data, dict) else {}).get("trackingId")
    expect(answer.status == 200 and body_of(answer).get("code") == 0 and isinstance(answer.message, str)
           and isinstance(tracking, str) and bool(UUID.match(tracking)),
           '200 {"code":0,"message":...,"data":{"trackingId":<UUID>}}', answer)
    return str(tracking)


def failed(answer: Answer, status: int, *fields: str, first: bool = False) -> None:
    """An error answer: `code` is the status, a message, and on 400 `errors` naming one of
    `fields` (the first entry, with `first`)."""
    named = [e.get("field") for e in body_of(answer).get("errors") or [] if isinstance(e, dict)]
    ok = answer.status == status and body_of(answer).get("code") == status and isinstance(answer.message, str)
    if fields:
        ok = ok and bool(set(named[:1] if first else named) & set(fields))
    expect(ok, f"{status}" + (f" with errors naming {' or '.join(fields)}" if fields else ""), answer)


def readonly_token(target: Target, d: Dengage) -> str | None:
    """A token of an API user without Push.Manage, when the run knows one (a fake's world)."""
    if target.world.dengage.readonly_user is None:
        return None
    login = d.login(*target.world.dengage.readonly_user)
    expect(login.status == 200, "a login of the API user without Push.Manage", login)
    return str(body_of(login).get("access_token"))


def report_of(d: Dengage, tracking: str, application: str | None = None) -> dict[str, Any]:
    answer = d.report(tracking, application)
    expect(answer.status == 200 and isinstance(answer.data, dict), "200 with a report", answer)
    return answer.data


def reached(control: Client, tracking: str) -> set[str]:
    return {row["device"] for row in control.deliveries(send=tracking)}


def account_of(control: Client, target: Target) -> str:
    userkey = target.credentials.dengage_userkey
    return next(a["id"] for a in control.dengage_accounts() if userkey in a["apiUsers"])


def gateway_rules(control: Client, *rules: dict[str, Any]) -> dict[str, Any]:
    """Add rules to the fake's gateway; returns the settings to put back."""
    before = control.gateway()
    control.set_gateway({**before, "rules": [*(before.get("rules") or []), *rules]})
    return before


# --- login ---------------------------------------------------------------------------------------
@check("login-token-expires", f"{LOGIN}/0")
def login_token_expires(target: Target) -> str:
    d = Dengage(target)
    answer = d.login()
    token, lifetime = body_of(answer).get("access_token"), body_of(answer).get("expires_in")
    expect(answer.status == 200 and isinstance(token, str) and token != "" and isinstance(lifetime, int)
           and lifetime >= 1, "200 with access_token and expires_in", answer)
    unknown = new_id(target)
    for wait in (0, lifetime - 1) if target.is_fake(VENDOR) else (0,):
        target.advance(wait)
        valid = d.report(unknown, token=token)
        expect(valid.status == 404, f"the token accepted {wait} s after login (unknown send: 404)", valid)
    if not target.is_fake(VENDOR):
        return f"a token for {lifetime} s was accepted (its expiry is not waited for on a real account)"
    target.advance(2)
    failed(expired := d.report(unknown, token=token), 401)
    return f"the token worked {lifetime - 1} s after login and was refused at {lifetime + 1} s: {expired.message}"


@check("login-wrong-credentials-401", f"{LOGIN}/1")
def login_wrong_credentials(target: Target) -> str:
    d, c = Dengage(target), target.credentials
    attempts = [(f"{target.ids.stem}nobody", "pushfake-contract-wrong")]
    if target.is_fake(VENDOR):  # a real account may lock its user after wrong passwords
        attempts.append((c.dengage_userkey or "", f"{c.dengage_password}-wrong"))
    for userkey, password in attempts:
        answer = d.login(userkey, password)
        failed(answer, 401)
        expect(answer.message == text("wrong-login") and "access_token" not in body_of(answer), f'401 "{text("wrong-login")}"', answer)
    return f'401 "{text("wrong-login")}" for {len(attempts)} wrong logins'


@check("login-token-type-bearer", "#/components/schemas/LoginResponse/properties/token_type")
def login_token_type(target: Target) -> str:
    answer = Dengage(target).login()
    expect(answer.status == 200 and body_of(answer).get("token_type") == "Bearer", 'token_type "Bearer"', answer)
    return 'token_type "Bearer"'


@check("bare-token-accepted", "#/components/securitySchemes/bareToken")
def bare_token_accepted(target: Target) -> str:
    d, unknown = Dengage(target), new_id(target)
    bare = d.report(unknown, scheme="")
    expect(bare.status == 404, "the bare token accepted (a report of an unknown send: 404, not 401)", bare)
    failed(d.report(unknown, scheme="", token=f"{target.ids.stem}not-a-token"), 401)
    return "a bare valid token reached the report (404); a bare unknown one got 401"


# --- sendInstant: the request's rules ------------------------------------------------------------
@check("send-accepted-answer", f"{POST}/responses/200")
def send_accepted_answer(target: Target) -> str:
    tracking = accepted(Dengage(target).send({"content": CONTENT, **audience(target)}))
    return f'200 {{"code":0,...,"data":{{"trackingId":"{tracking}"}}}}'


@check("send-template-with-inline-400", f"{POST}/x-pushfake-behaviours/1")
def send_template_with_inline(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    template = (target.world.dengage.templates or (new_id(target),))[0]
    for inline in ({"title": "t"}, {"title": "t", "message": "m"}, {"targetUrl": "https://example.com/"}):
        failed(d.send({"content": {"templateId": template, **inline}, **to}), 400, "content")
    return "400 naming 'content' for templateId with title, title and message, targetUrl"


@check("send-segment-and-table-400-neither-everyone", f"{POST}/x-pushfake-behaviours/2")
def send_segment_and_table(target: Target) -> str:
    not_in_safe_mode(target, "a send with both a segment and a table, or with neither, is not to the named audience")
    control = control_of(target, "which devices a send reached")
    world = target.world.dengage
    if not (world.segments and world.tables):
        raise NotCheckable("needs a segment and a table of the account")
    d, before = Dengage(target), len(control.deliveries())
    both = d.send({"content": CONTENT, "segmentId": world.segments[0], "tableId": world.tables[0]})
    failed(both, 400, "segmentId", "tableId")
    expect(len(control.deliveries()) == before, "nothing queued", f"{len(control.deliveries()) - before} queued")
    everyone = reached(control, accepted(d.send({"content": CONTENT})))
    account = account_of(control, target)
    devices = {dev["id"] for c in control.dengage_records(account, "contacts") for dev in c["devices"]}
    expect(everyone == devices, f"every device of the account {sorted(devices)}", f"{sorted(everyone)}")
    return f"both: 400; neither: all {len(devices)} devices"


@check("send-unknown-application-segment-table-404", f"{POST}/x-pushfake-behaviours/5")
def send_unknown_ids(target: Target) -> str:
    d, unknown = Dengage(target), new_id(target)
    failed(d.send({"content": CONTENT, "applicationIds": [unknown], **audience(target)}), 404)
    if target.safe:
        return "404 for an unknown application (segment and table: safe mode sends only to the named ones)"
    for field in ("segmentId", "tableId"):
        failed(d.send({"content": CONTENT, field: unknown}), 404)
    return "404 for an unknown application, segment and table"


@check("send-tracking-id-uuid-and-unused", f"{POST}/x-pushfake-behaviours/6")
def send_tracking_id(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    failed(d.send({"content": CONTENT, "trackingId": "pushfake-contract-not-a-uuid", **to}), 400, "trackingId")
    tracking = new_id(target)
    given = accepted(d.send({"content": CONTENT, "trackingId": tracking, **to}))
    expect(given.lower() == tracking, f"the given trackingId {tracking} back", given)
    failed(d.send({"content": CONTENT, "trackingId": tracking, **to}), 400, "trackingId")
    return "400 for a trackingId not a UUID and for one used before"


@check("send-unknown-fields-ignored", f"{POST}/x-pushfake-behaviours/7")
def send_unknown_fields(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    extra = {"pushfakeContractField": "ignored", "sound": "default"}
    accepted(d.send({"content": CONTENT, **extra, **to}))
    if target.endpoints[VENDOR].control is None:
        return "accepted with fields the spec does not list (which devices it reached shows only on a fake)"
    control = control_of(target, "which devices a send reached")
    with_extra = reached(control, accepted(d.send({"content": CONTENT, **extra, **to})))
    plain = reached(control, accepted(d.send({"content": CONTENT, **to})))
    expect(with_extra == plain, f"the devices of a plain send {sorted(plain)}", f"{sorted(with_extra)}")
    return f"unknown fields ignored: the send reached the same {len(plain)} devices as a plain one"


@check("send-schedule-date", f"{POST}/x-pushfake-behaviours/10")
def send_schedule_date(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    now = target.now(VENDOR)
    failed(d.send({"content": CONTENT, "scheduleDate": PAST, **to}), 400, "scheduleDate")
    later = datetime.fromtimestamp(now + 600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = accepted(d.send({"content": CONTENT, "scheduleDate": later, **to}))
    waiting = report_of(d, scheduled)
    expect(waiting.get("status") == "Scheduled" and waiting.get("totalCount") == 0, "Scheduled, 0 deliveries",
           f"{waiting}")
    immediate = report_of(d, accepted(d.send({"content": CONTENT, "scheduleDate": None, **to})))
    expect(immediate.get("status") != "Scheduled", "a null scheduleDate to send now", f"{immediate}")
    if not target.is_fake(VENDOR):
        return f"past: 400; {later}: Scheduled; null: {immediate.get('status')} (the wait is not watched)"
    target.advance(601)
    due = report_of(d, scheduled)
    expect(due.get("status") != "Scheduled" and due.get("totalCount") == immediate.get("totalCount"),
           f"{immediate.get('totalCount')} deliveries once the clock passed {later}", f"{due}")
    return f"past: 400; {later}: waited, then sent to {due.get('totalCount')}; null: sent now"


@check("send-check-order", f"{POST}/x-pushfake-behaviours/15")
def send_check_order(target: Target) -> str:
    d, to, unknown = Dengage(target), audience(target), new_id(target)
    bad_body = {"content": {"templateId": unknown, "title": "t"}, **to}
    failed(unauthenticated := d.send(bad_body, token=f"{target.ids.stem}not-a-token"), 401)
    expect(unauthenticated.message == text("not-authenticated"), f'401 "{text("not-authenticated")}"', unauthenticated)
    order = ["401 before 400"]
    if (readonly := readonly_token(target, d)) is not None:
        failed(d.send(bad_body, token=readonly), 403)
        order.append("403 before 400")
    failed(d.send({**bad_body, "applicationIds": [unknown]}), 400, "content")
    failed(d.send({"content": CONTENT, "applicationIds": [unknown], "scheduleDate": PAST, **to}), 404)
    tracking = accepted(d.send({"content": CONTENT, "trackingId": new_id(target), **to}))
    failed(d.send({"content": CONTENT, "trackingId": tracking, "scheduleDate": PAST, **to}), 400, "scheduleDate",
           first=True)
    return ", ".join([*order, "body 400 before 404", "404 before scheduleDate", "scheduleDate before reused trackingId"])


@check("ids-case-insensitive", f"{POST}/x-pushfake-behaviours/16")
def ids_case_insensitive(target: Target) -> str:
    d = Dengage(target)
    upper = {key: value.upper() for key, value in audience(target).items()}
    apps = {"applicationIds": [a.upper() for a in d.application_ids]} if d.application_ids else {}
    tracking = new_id(target).upper()
    sent = accepted(d.send({"content": CONTENT, **upper, **apps, "trackingId": tracking}))
    expect(sent.lower() == tracking.lower(), f"trackingId {tracking}", sent)
    for shown in (tracking.lower(), tracking):
        expect(str(report_of(d, shown).get("trackingId")).lower() == tracking.lower(), "the same send's report", shown)
    failed(d.send({"content": CONTENT, **upper, "trackingId": tracking.lower()}), 400, "trackingId")
    done = ["audience", "applications" if apps else "", "tracking id (send, report, reuse)"]
    if target.world.dengage.templates:
        accepted(d.send({"content": {"templateId": target.world.dengage.templates[0].upper()}, **upper}))
        done.append("template")
    return "upper-case ids matched: " + ", ".join(x for x in done if x)


@check("application-ids-optional-not-empty", "#/components/schemas/SendInstantPushRequest/properties/applicationIds")
def application_ids(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    failed(d.send({"content": CONTENT, "applicationIds": [], **to}), 400, "applicationIds")
    implicit = accepted(d.send({"content": CONTENT, **to}))
    if not d.application_ids:
        return "an empty list: 400 (the account's applications are not known, so 'every' is not compared)"
    explicit = accepted(d.send({"content": CONTENT, "applicationIds": list(d.application_ids), **to}))
    control = target.endpoints[VENDOR].control
    if control is not None:
        expect(reached(control, implicit) == reached(control, explicit), "the devices of every application",
               f"{sorted(reached(control, implicit))} vs {sorted(reached(control, explicit))}")
        return "an empty list: 400; left out: the same devices as every application listed"
    total, listed = report_of(d, implicit).get("totalCount", 0), report_of(d, explicit).get("totalCount", 0)
    expect(total >= listed, f"at least the {listed} deliveries of the listed applications", f"{total}")
    return f"an empty list: 400; left out: {total} deliveries (listed applications: {listed})"


@check("error-envelope", "#/components/schemas/Error")
def error_envelope(target: Target) -> str:
    d, unknown = Dengage(target), new_id(target)
    failed(d.report("pushfake-contract-not-a-uuid"), 400, "trackingId")
    failed(unauthenticated := d.report(unknown, token=f"{target.ids.stem}not-a-token"), 401)
    expect(unauthenticated.message == text("report-not-authenticated"), f'401 "{text("report-not-authenticated")}"', unauthenticated)
    failed(d.report(unknown), 404)
    return "code equal to the status on 400, 401 and 404; errors naming the field on 400; the report's own 401 text"


@check("forbidden-without-push-permission", f"{POST}/x-pushfake-behaviours/22")
def forbidden(target: Target) -> str:
    d = Dengage(target)
    if (readonly := readonly_token(target, d)) is None:
        raise NotCheckable("needs an API user without Push.Manage; the run knows none (a fake's default world has one)")
    failed(answer := d.send({"content": CONTENT, **audience(target)}, token=readonly), 403)
    expect(answer.message == text("forbidden"), f'403 "{text("forbidden")}"', answer)
    return f'403 "{text("forbidden")}"'


@check("body-too-large-413", "#/components/responses/TooLarge")
def body_too_large(target: Target) -> str:
    limit = settings_of(target, "the body limit (a setting of the fake; D·engage documents none)").max_body_bytes
    answer = Dengage(target).login(password="x" * limit)
    failed(answer, 413)
    return f"413 for a body above {limit} bytes"


# --- sendInstant: what happens after the answer --------------------------------------------------
