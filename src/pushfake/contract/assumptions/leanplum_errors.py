"""Checks of the error answers openapi/leanplum.yaml marks `assumed`: their statuses and texts
(a request naming neither user nor device, the 400 texts, an unknown app, a body too large, a
media type it does not read, the development-mode rate limit).
"""

from __future__ import annotations

from pushfake.contract.assumptions.leanplum import VENDOR, refused, settings_of, started, text
from pushfake.contract.assumptions.support import Checks, expect
from pushfake.contract.outcome import NotCheckable
from pushfake.contract.target import Target
from pushfake.contract.vendors import Answer, Leanplum

RESPONSES = "#/components/responses"
MADE_UP_ACTION = "pushfakeContractUnknownAction"

CHECKS = Checks(VENDOR)  # this module's checks; `assumptions.checks` gathers every module's
check = CHECKS.check


# --- error answers -------------------------------------------------------------------------------
@check("user-or-device-must-be-provided", "#/components/schemas/UserSelector")
def user_or_device_required(target: Target) -> str:
    lp = Leanplum(target)
    answers = [lp.call("start", {}), lp.call("start", {"userId": "", "deviceId": ""})]
    if not target.safe:  # safe mode sends sendMessage only to absent ids
        answers.append(lp.call("sendMessage", {"messageId": 1}, key="production"))
    for answer in answers:
        refused(answer, 400, text("user-or-device-required"))
    return f'400 "{text("user-or-device-required")}" ({len(answers)} requests)'


@check("bad-request-texts", f"{RESPONSES}/BadRequest")
def bad_request_texts(target: Target) -> str:
    lp, c, ids = Leanplum(target), target.credentials, target.ids
    refused(lp.call("start", {"clientKey": c.leanplum_development_key, "devMode": True, "userId": ids.user()}, key=None),
            400, text("missing-parameter", name="appId"))
    invalid = lp.call("start", {"userId": ids.user(), "userAttributes": "{not json"})
    expect(invalid.status == 400 and (invalid.error() or "").startswith("Invalid value for 'userAttributes': "),
           "400 \"Invalid value for 'userAttributes': ...\"", invalid)
    refused(lp.call(MADE_UP_ACTION, {"userId": ids.user()}), 400, text("unknown-action", name=MADE_UP_ACTION))
    return "400 with 'appId' must be provided, Invalid value for 'userAttributes': ..., Unknown action '...'."


@check("unknown-app-not-found", f"{RESPONSES}/NotFound")
def unknown_app_not_found(target: Target) -> str:
    refused(Leanplum(target).call("start", {"appId": f"{target.ids.stem}app", "userId": target.ids.user()}),
            404, text("app-not-found"))
    return f'404 "{text("app-not-found")}"'


@check("body-too-large-413", f"{RESPONSES}/PayloadTooLarge")
def body_too_large(target: Target) -> str:
    limit = settings_of(target, "the body limit (a setting of the fake; Leanplum documents none)").max_body_bytes
    lp = Leanplum(target)
    body = {**lp.credentials_for("development"), "userId": target.ids.user(), "pushfakeContractPadding": "x" * limit}
    refused(Answer.of(target.session.post(lp.url, params={"action": "start"}, json=body)), 413)
    return f"413 for a body above {limit} bytes"


@check("unsupported-media-type-415", f"{RESPONSES}/UnsupportedMediaType")
def unsupported_media_type(target: Target) -> str:
    lp = Leanplum(target)
    query = {"action": "start", **lp.credentials_for("development"), "devMode": "true", "userId": target.ids.user()}
    answer = Answer.of(target.session.post(lp.url, params=query, data=b"<start/>",
                                           headers={"Content-Type": "application/xml"}))
    refused(answer, 415)
    return f'415 for an application/xml body: "{answer.error()}"'


@check("too-many-requests-texts", f"{RESPONSES}/TooManyRequests")
def too_many_requests(target: Target) -> str:
    if target.gate.backoff_on_429:
        raise NotCheckable("the run backs off and retries on every 429 from a real deployment, so its text is not seen")
    lp, user = Leanplum(target), target.ids.user()
    started(lp.call("start", {"userId": user}))
    refused(limited := lp.call("start", {"userId": user}), 429, text("dev-mode-rate-limit"))
    expect("Retry-After" not in limited.headers, "no Retry-After header", f"{limited.headers}")
    return (f'429 "{text("dev-mode-rate-limit")}" for a second request within a second, without Retry-After (strict device '
            "locking and the fake's own token bucket are not checked)")
