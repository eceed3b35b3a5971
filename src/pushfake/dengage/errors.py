"""D·engage's error vocabulary and the one function that renders its error body.

Body: `{"code": <HTTP status>, "message": "<text>", "errors": [{"field", "message"}]}`, with
`errors` on 400 only. Every text comes from the error catalogue in openapi/dengage.yaml
(`x-pushfake-errors`, printed by `pushfake spec --errors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushfake.core.catalogue import ErrorCatalogue
from pushfake.core.spec import ApiSpec

CATALOGUE = ErrorCatalogue(ApiSpec.of("dengage"))
text = CATALOGUE.text

NOT_AUTHENTICATED = text("not-authenticated")
REPORT_NOT_AUTHENTICATED = text("report-not-authenticated")
FORBIDDEN = text("forbidden")
TOO_MANY_REQUESTS = text("too-many-requests")
REPORT_TOO_MANY_REQUESTS = text("report-too-many-requests")
TEMPLATE_NOT_FOUND = text("template-not-found")
WRONG_LOGIN = text("wrong-login")


@dataclass(frozen=True)
class Refusals:
    """How one operation words the refusals every operation shares: SendInstantPush has its own
    documented texts (seed 001), the report keeps the sibling endpoint's (assumed)."""

    not_authenticated: str
    too_many_requests: str


SEND = Refusals(NOT_AUTHENTICATED, TOO_MANY_REQUESTS)
REPORT = Refusals(REPORT_NOT_AUTHENTICATED, REPORT_TOO_MANY_REQUESTS)


def fault_message(status: int) -> str:
    """What an injected error fault says when its rule gives no text of its own."""
    return TOO_MANY_REQUESTS if status == 429 else CATALOGUE.fault_text(status)



def parser_refusal(status: int, limit: int) -> str:
    """What a request the HTTP parser cannot take is told (`pushfake.app.parser_refusal`): its
    target is longer than `limit` bytes (414), or it is malformed (400)."""
    return text("request-target-too-long", limit=limit) if status == 414 else text("malformed-request")

class DengageError(Exception):
    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None, *,
                 retry_after: float | None = None, limit: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.retry_after = retry_after
        self.limit = limit  # the id of the rate limit that refused the request

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.status, "message": self.message}
        if self.status == 400:
            out["errors"] = self.errors or []
        return out


def invalid(field: str, message: str) -> DengageError:
    """A 400 naming the field at fault."""
    return DengageError(400, text("validation-failed", field=field, problem=message), [{"field": field, "message": message}])


def not_found(kind: str, ident: str) -> DengageError:
    return DengageError(404, text("not-found", kind=kind, id=ident))
