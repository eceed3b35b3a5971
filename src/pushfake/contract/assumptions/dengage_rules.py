"""Checks of D·engage's assumed request rules beyond the basic ones: null and empty values, the
fields a send refuses (contactKey), what inline content needs, the length and item caps, the
languages, and the concurrency limit's answer."""

from __future__ import annotations

from pushfake.contract.assumptions.dengage import (
    CONTENT,
    POST,
    VENDOR,
    accepted,
    audience,
    control_of,
    expect,
    failed,
    new_id,
    reached,
    settings_of,
    text,
)
from pushfake.contract.assumptions.support import Checks
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Dengage

SCHEMAS = "#/components/schemas"

CHECKS = Checks(VENDOR)  # this module's checks; `assumptions.checks` gathers every module's
check = CHECKS.check


@check("send-null-is-left-out", f"{POST}/x-pushfake-behaviours/19")
def send_null_is_left_out(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    nulls = {"trackingId": None, "scheduleDate": None, "useOnlyEngagedTokens": None, "applicationIds": None,
             "multiLangContent": None, **{key: None for key in ("segmentId", "tableId") if key not in to}}
    sent = [accepted(d.send({"content": {"templateId": empty, **CONTENT, "mediaUrl": None}, **nulls, **to}))
            for empty in ("", None)]
    control = target.endpoints[VENDOR].control
    if control is None:
        return 'accepted with templateId "" and null, and every other optional field null'
    plain = reached(control, accepted(d.send({"content": CONTENT, **to})))
    for tracking in sent:
        rows = control.deliveries(send=tracking)
        expect({r["device"] for r in rows} == plain, f"the devices of a plain send {sorted(plain)}",
               f"{sorted(r['device'] for r in rows)}")
        titles = {r["payload"].get("title") for r in rows}
        expect(titles <= {CONTENT["title"]}, f"the inline title {CONTENT['title']!r}", f"{titles}")
    return f'templateId "" and null sent the inline content to the same {len(plain)} devices as a plain send'


@check("send-contact-key-refused", f"{POST}/x-pushfake-behaviours/20")
def send_contact_key_refused(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    contact = (target.world.dengage.contacts or (f"{target.ids.stem}contact",))[0]
    failed(d.send({"content": CONTENT, "contactKey": contact, **to}), 400, "contactKey")
    if target.endpoints[VENDOR].control is not None:
        control = control_of(target, "what was queued")
        before = len(control.deliveries())
        failed(d.send({"content": CONTENT, "contactKey": contact, **to}), 400, "contactKey")
        expect(len(control.deliveries()) == before, "nothing queued", f"{len(control.deliveries()) - before} queued")
    return f"contactKey {contact!r}: 400 naming contactKey, nothing sent"


@check("send-inline-title-and-message", f"{POST}/x-pushfake-behaviours/21")
def send_inline_title_and_message(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    failed(d.send({"content": {"title": CONTENT["title"]}, **to}), 400, "content.message")
    failed(d.send({"content": {"message": CONTENT["message"], "targetUrl": "https://example.com/"}, **to}), 400,
           "content.title")
    accepted(d.send({"content": CONTENT, **to}))
    return "400 naming content.message, then content.title; title and message alone are enough"


@check("request-length-and-item-caps", f"{SCHEMAS}/InlineContent", f"{SCHEMAS}/LoginRequest",
       f"{SCHEMAS}/MultiLangContent")
def request_caps(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    for field, cap in (("title", 500), ("message", 4000), ("targetUrl", 2000), ("mediaUrl", 2000)):
        failed(d.send({"content": {**CONTENT, field: "x" * (cap + 1)}, **to}), 400, f"content.{field}")
    accepted(d.send({"content": {"title": "t" * 500, "message": "m" * 4000}, **to}))
    failed(d.login(userkey="u" * 201, password="p"), 400, "userkey")
    entry = {"title": CONTENT["title"], "message": CONTENT["message"]}
    many = [{"language": f"{a}{b}", **entry} for a in "ABC" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"][:51]
    failed(d.send({"multiLangContent": {"defaultLanguage": "AA", "contents": many}, **to}), 400,
           "multiLangContent.contents")
    failed(d.send({"multiLangContent": {"defaultLanguage": "EN", "contents": [{"language": "TR", **entry}]}, **to}),
           400, "multiLangContent.defaultLanguage")
    return ("title 501, message 4001, URLs 2001 characters, a 201-character userkey, 51 languages and a "
            "defaultLanguage without content: 400; at the caps: accepted")


@check("languages-two-letters", f"{SCHEMAS}/Language")
def languages_two_letters(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    entry = {"title": CONTENT["title"], "message": CONTENT["message"]}
    failed(d.send({"multiLangContent": {"defaultLanguage": "ENG", "contents": [{"language": "EN", **entry}]}, **to}),
           400, "multiLangContent.defaultLanguage")
    failed(d.send({"multiLangContent": {"defaultLanguage": "EN", "contents": [{"language": "en-GB", **entry}]}, **to}),
           400, "multiLangContent.contents[0].language")
    accepted(d.send({"multiLangContent": {"defaultLanguage": "en", "contents": [{"language": "EN", **entry}]}, **to}))
    return "ENG and en-GB: 400; en matched EN"


@check("concurrency-limit", f"{POST}/x-pushfake-behaviours/17")
def concurrency_limit(target: Target) -> str:
    """Holding requests in flight is not something a check can do from one thread: the number in
    force is read from the control plane, and a refusal's words are shown with a token bucket."""
    if not target.is_fake(VENDOR):
        raise NotCheckable("it takes more concurrent sends than the limit, which a real account is not sent")
    control = control_of(target, "the limits in force")
    number = settings_of(target, "the concurrency limit (a setting of the fake)").concurrency_limit
    in_force = control.limit("dengage-concurrency")
    expect(in_force.get("limit") == number == 5, "the concurrency limit 5 in force", f"{in_force}")
    d, to = Dengage(target), audience(target)
    bucket = control.add_limit({"kind": "token-bucket", "vendor": "dengage", "rate": 0.001, "burst": 1})
    try:
        accepted(d.send({"content": CONTENT, **to}))
        failed(refused := d.send({"content": CONTENT, **to}), 429)
        expect(refused.message == text("too-many-requests"), f'429 "{text("too-many-requests")}"', refused)
        failed(report := d.report(new_id(target)), 429)
        expect(report.message == text("report-too-many-requests"), f'429 "{text("report-too-many-requests")}"', report)
    finally:
        control.remove_limit(bucket["id"])
    return f'{number} requests in flight per account; a refused send: 429 "{text("too-many-requests")}", a refused report ' \
           f'its own 429 text'


@check("body-numbers-64-bit", f"{SCHEMAS}/JsonValue")
def body_numbers_64_bit(target: Target) -> str:
    d, to = Dengage(target), audience(target)
    failed(d.send({"content": CONTENT, "pushfakeContractNumber": 2**64, **to}), 400)
    failed(d.send({"content": {**CONTENT, "pushfakeContract": [{"n": -(2**63) - 1}]}, **to}), 400)
    accepted(d.send({"content": CONTENT, "pushfakeContractNumber": 2**63 - 1, **to}))
    return "2^64 and -2^63-1 in unlisted fields: 400; 2^63-1: accepted"
