"""Checks of D·engage's assumed behaviours that concern deliveries: what each device was sent,
when deliveries are queued, refused tokens, and the send report's counts. Most of them read a
pushfake's control plane; against a real deployment those are not checkable."""

from __future__ import annotations

from typing import Any

from pushfake.client import Client
from pushfake.contract.assumptions.dengage import (
    CONTENT,
    GET,
    PAST,
    POST,
    UNAVAILABLE,
    UNREGISTERED,
    VENDOR,
    accepted,
    account_of,
    audience,
    control_of,
    expect,
    failed,
    gateway_rules,
    new_id,
    reached,
    report_of,
)
from pushfake.contract.assumptions.support import Checks
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Dengage

CHECKS = Checks(VENDOR)  # this module's checks; `assumptions.checks` gathers every module's
check = CHECKS.check


@check("send-contact-placeholders", f"{POST}/x-pushfake-behaviours/12")
def send_contact_placeholders(target: Target) -> str:
    control = control_of(target, "what each device was sent")
    content = {"title": "{{contact.name}}", "message": "{{contact.city}}|{{contact.pushfakeContractNoSuchField}}|"}
    rows = control.deliveries(send=accepted(Dengage(target).send({"content": content, **audience(target)})))
    if not rows:
        raise NotCheckable("the named audience has no reachable device")
    account = account_of(control, target)
    for row in rows:
        fields = control.dengage_contact(account, row["user"])["fields"]
        wanted = (str(fields.get("name", "")), f"{fields.get('city', '')}||")
        got = (row["payload"].get("title"), row["payload"].get("message"))
        expect(got == wanted, f"{row['device']} to get {wanted}", f"{got}")
    return f"{len(rows)} devices got their contact's name and city; the unknown field rendered empty"


@check("send-queues-after-answer", f"{POST}/x-pushfake-behaviours/13")
def send_queues_after_answer(target: Target) -> str:
    control = control_of(target, "when deliveries are queued")
    d, to = Dengage(target), audience(target)
    rows = control.deliveries(send=accepted(d.send({"content": CONTENT, **to})))
    expect(bool(rows) and all(r["timeline"][0]["state"] == "queued" for r in rows), "queued deliveries", f"{rows}")
    unfinished = control.clock()["kind"] == "manual"  # a live fake's gateway may be done already
    if unfinished:
        expect(all(r["state"] not in ("delivered", "failed") for r in rows), "no delivery finished by the answer",
               f"{[r['state'] for r in rows]}")
    before, refused = len(control.deliveries()), new_id(target)
    failed(d.send({"content": CONTENT, "trackingId": refused, "scheduleDate": PAST, **to}), 400)
    expect(len(control.deliveries()) == before, "a rejected send to queue nothing", f"{len(control.deliveries())}")
    failed(d.report(refused), 404)
    return f"{len(rows)} deliveries queued{', unfinished at the answer' if unfinished else ''}; a rejected send " \
           "queued nothing"


def probe(target: Target, control: Client) -> list[dict[str, Any]]:
    """The deliveries of one finished send to the audience: which devices it reaches."""
    rows = control.deliveries(send=accepted(Dengage(target).send({"content": CONTENT, **audience(target)})))
    target.settle()  # so that gateway rules added next apply to later sends only
    return rows


@check("send-skips-unregistered-tokens", f"{POST}/x-pushfake-behaviours/14")
def send_skips_unregistered(target: Target) -> str:
    control = control_of(target, "a gateway refusing a token")
    rows = probe(target, control)
    if not rows:
        raise NotCheckable("the named audience has no reachable device")
    victim, d = rows[0], Dengage(target)
    before = gateway_rules(control, {"token": victim["token"], "failNext": 1,
                                     "outcome": UNREGISTERED[victim["platform"]]})
    try:
        refused = control.deliveries(send=accepted(d.send({"content": CONTENT, **audience(target)})),
                                     device=victim["device"])
        target.settle()
        rejected = [control.delivery(r["id"])["tokenRejected"] for r in refused]
        expect(rejected == [True], f"the gateway to refuse {victim['device']}'s token", f"{rejected}")
        later = reached(control, accepted(d.send({"content": CONTENT, **audience(target)})))
    finally:
        control.set_gateway(before)
    wanted = {r["device"] for r in rows} - {victim["device"]}
    expect(later == wanted, f"a later send to reach {sorted(wanted)}", f"{sorted(later)}")
    return f"after the gateway refused {victim['device']}'s token, a later send left it out"


# --- the send report -----------------------------------------------------------------------------
@check("report-counts-and-narrows", f"{GET}/0")
def report_counts(target: Target) -> str:
    d = Dengage(target)
    tracking = accepted(d.send({"content": CONTENT, **audience(target)}))
    control = target.endpoints[VENDOR].control
    if control is not None:
        target.settle()
    whole = report_of(d, tracking)
    parts = {app: report_of(d, tracking, app) for app in d.application_ids}
    if control is None:
        expect(all(p.get("totalCount", 0) <= whole.get("totalCount", 0) for p in parts.values()),
               f"no application with more than the send's {whole.get('totalCount')} deliveries", f"{parts}")
        return f"{whole.get('totalCount')} deliveries; narrowed per application (outcomes show only on a fake)"
    rows = control.deliveries(send=tracking)
    counted = (whole.get("totalCount"), whole.get("totalDeliveredCount"))
    wanted = (len(rows), sum(r["state"] == "delivered" for r in rows))
    expect(counted == wanted, f"total and delivered {wanted}", f"{counted}")
    for app, part in parts.items():
        mine = sum(r["app"] == app for r in rows)
        expect(part.get("totalCount") == mine, f"{mine} deliveries in application {app}", f"{part}")
    return f"{wanted[0]} deliveries, {wanted[1]} delivered; per application {[p['totalCount'] for p in parts.values()]}"


@check("report-bounces-errors-status", f"{GET}/1")
def report_bounces_errors(target: Target) -> str:
    control = control_of(target, "a gateway refusing or failing deliveries")
    rows = probe(target, control)
    if len(rows) < 2:
        raise NotCheckable("needs an audience with two reachable devices or more")
    bounce, error = rows[0], rows[1]
    retries = int((control.gateway().get("retry") or {}).get("limit", 3))
    before = gateway_rules(
        control, {"token": bounce["token"], "failNext": 1, "outcome": UNREGISTERED[bounce["platform"]]},
        {"token": error["token"], "failNext": retries + 1, "outcome": UNAVAILABLE[error["platform"]]})
    d = Dengage(target)
    try:
        tracking = accepted(d.send({"content": CONTENT, **audience(target)}))
        sending = report_of(d, tracking).get("status")
        target.settle()
    finally:
        control.set_gateway(before)
    data = report_of(d, tracking)
    order = [r["device"] for r in control.deliveries(send=tracking)]
    first = bounce if order.index(bounce["device"]) < order.index(error["device"]) else error
    code = (UNREGISTERED if first is bounce else UNAVAILABLE)[first["platform"]]
    got = tuple(data.get(k) for k in ("totalBounceCount", "totalErrorCount", "totalDeliveredCount", "errorMessage",
                                      "status"))
    wanted = (1, 1, len(rows) - 2, code, "Completed")
    expect(got == wanted and sending != "Completed", f"bounce, error, delivered, errorMessage, status {wanted} "
           "(and not Completed before the deliveries ended)", f"{got}, before: {sending}")
    return f"refused token: bounce; retries exhausted: error; errorMessage {code!r}; {sending}, then Completed"


@check("report-unknown-tracking-id-404", f"{GET}/2")
def report_unknown_tracking_id(target: Target) -> str:
    failed(Dengage(target).report(new_id(target)), 404)
    return "404 for a tracking id never used"


@check("report-browsers", f"{GET}/3")
def report_browsers(target: Target) -> str:
    control = control_of(target, "which browser each web device is")
    d = Dengage(target)
    tracking = accepted(d.send({"content": CONTENT, **audience(target)}))
    target.settle()
    account = account_of(control, target)
    browser = {dev["id"]: dev.get("browser") for c in control.dengage_records(account, "contacts")
               for dev in c["devices"]}
    wanted: dict[str, int] = {}
    for row in control.deliveries(send=tracking):
        if row["platform"] == "webpush" and row["state"] == "delivered":
            name = browser.get(row["device"]) or "Other"
            wanted[name] = wanted.get(name, 0) + 1
    if not wanted:
        raise NotCheckable("the audience has no web device")
    got = {item["itemName"]: item["deliveredCount"] for item in report_of(d, tracking).get("browsers") or []}
    expect(got == wanted, f"browsers {wanted}", f"{got}")
    return f"browsers {got}: the web deliveries by their device's browser"


@check("send-engaged-tokens-only", f"{POST}/x-pushfake-behaviours/9")
def send_engaged_tokens_only(target: Target) -> str:
    control = control_of(target, "which devices are engaged")
    d, to = Dengage(target), audience(target)
    everyone = accepted(d.send({"content": CONTENT, "useOnlyEngagedTokens": False, **to}))
    target.settle()
    rows = control.deliveries(send=everyone)
    if not rows:
        raise NotCheckable("the named audience has no reachable device")
    account = account_of(control, target)
    engaged = {dev["id"] for c in control.dengage_records(account, "contacts") for dev in c["devices"]
               if dev["engaged"]}
    first = reached(control, accepted(d.send({"content": CONTENT, "useOnlyEngagedTokens": True, **to})))
    wanted = {r["device"] for r in rows} & engaged
    expect(first == wanted, f"only the engaged devices {sorted(wanted)}", f"{sorted(first)}")
    newcomer = next((r for r in rows if r["device"] not in engaged and r["state"] == "delivered"), None)
    if newcomer is None:
        return f"only the engaged devices {sorted(first)} (every device of the audience was engaged already)"
    control.engage(newcomer["id"], "click")
    later = reached(control, accepted(d.send({"content": CONTENT, "useOnlyEngagedTokens": True, **to})))
    expect(later == first | {newcomer["device"]}, f"{newcomer['device']} too, after a click on an earlier push",
           f"{sorted(later)}")
    return f"engaged only: {sorted(first)}; after a click, {newcomer['device']} as well"


@check("device-language-then-contact", f"{POST}/x-pushfake-behaviours/18")
def device_language_then_contact(target: Target) -> str:
    control = control_of(target, "which language each device got")
    d, to = Dengage(target), audience(target)
    rows = control.deliveries(send=accepted(d.send({"content": CONTENT, **to})))
    if not rows:
        raise NotCheckable("the named audience has no reachable device")
    account = account_of(control, target)
    contacts = {c["key"]: c for c in control.dengage_records(account, "contacts")}
    owner = contacts[rows[0]["user"]]
    model = next(dev for dev in owner["devices"] if dev["id"] == rows[0]["device"])
    added = control.add_dengage_device(account, owner["key"], {
        "id": f"{target.ids.stem}tablet", "applicationId": model["applicationId"], "platform": "ios",
        "token": "0123456789abcdef" * 4, "language": "JA"})
    languages = {c["language"].upper() for c in contacts.values()} | {"JA", "EN"}
    entry = {"title": CONTENT["title"], "message": CONTENT["message"]}
    multi = {"defaultLanguage": "EN", "contents": [{"language": lang, **entry} for lang in sorted(languages)]}
    got = {r["device"]: r["payload"].get("language")
           for r in control.deliveries(send=accepted(d.send({"multiLangContent": multi, **to})))}
    devices = {dev["id"]: (dev.get("language"), key) for key, c in contacts.items() for dev in c["devices"]}
    devices[added["id"]] = ("JA", owner["key"])
    wanted = {device: (devices[device][0] or contacts[devices[device][1]]["language"]).upper() for device in got}
    expect(got == wanted and got.get(added["id"]) == "JA", f"each device its own language, else its contact's "
           f"{wanted}", f"{got}")
    return f"{added['id']} (JA) got JA; devices without a language got their contact's: {got}"
