"""D·engage's error vocabulary and the one function that renders its error body.

Body: `{"code": <HTTP status>, "message": "<text>", "errors": [{"field", "message"}]}`, with
`errors` on 400 only.
"""

from __future__ import annotations

from typing import Any

NOT_AUTHENTICATED = "Not authenticated. The request lacks valid authentication credentials."
FORBIDDEN = ("Forbidden. The API user is not authorized to use this endpoint or lacks the "
             "required Push.Manage permission.")
TOO_MANY_REQUESTS = "Too many requests. The concurrent request limit has been exceeded."
RATE_LIMITED = "Too many requests. The request rate limit has been exceeded."  # assumed
# What an injected error fault says when its rule gives no text of its own (assumed, but for 429).
FAULT_MESSAGES = {
    429: TOO_MANY_REQUESTS,
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service unavailable.",
    504: "Gateway timeout.",
}
WRONG_LOGIN = "Invalid userkey or password."
VALIDATION_FAILED = "Validation failed."


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
    return DengageError(400, f"{VALIDATION_FAILED} {field}: {message}", [{"field": field, "message": message}])


def not_found(kind: str, ident: str) -> DengageError:
    return DengageError(404, f"{kind} '{ident}' not found.")
