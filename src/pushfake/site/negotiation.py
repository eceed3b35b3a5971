"""Who is asking: a browser (HTML) or a client (JSON), from the request's `Accept` header."""

from __future__ import annotations

HTML_TYPES = ("text/html", "application/xhtml+xml")


def wants_html(accept: str) -> bool:
    """True when `accept` prefers HTML to JSON: a browser's navigation (`text/html,...,*/*;q=0.8`).

    Only an explicit HTML type counts (`*/*` is what curl and HTTP libraries send, and they get
    JSON), and it must rank above an explicit `application/json`; a tie goes to JSON.
    """
    html = json = 0.0
    for item in accept.split(","):
        media, _, parameters = item.partition(";")
        media = media.strip().lower()
        if media in HTML_TYPES:
            html = max(html, _quality(parameters))
        elif media == "application/json":
            json = max(json, _quality(parameters))
    return html > json


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0
