"""Message targeting and template rendering: the rules a send applies to one user.

Templates use Leanplum's documented forms for a variable: `{{"name"}}`, `{{Value "name"}}`
and `{{value['name']}}` (single or double quotes). A variable takes its value from the send's
`values`, else the message's default, else renders empty.
"""

from __future__ import annotations

import re
from typing import Any

from pushfake.leanplum.models import Condition, Message

_PLACEHOLDER = re.compile(
    r"""\{\{\s*(?:
        "(?P<bare>[^"]*)"                         # {{"name"}}
      | [Vv]alue\s+"(?P<spaced>[^"]*)"            # {{Value "name"}}
      | value\[\s*(?P<q>['"])(?P<indexed>.*?)(?P=q)\s*\]  # {{value['name']}}
    )\s*\}\}""",
    re.VERBOSE,
)


def render(template: str, variables: dict[str, Any]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group("bare") or match.group("spaced") or match.group("indexed") or ""
        value = variables.get(name, "")
        return value if isinstance(value, str) else _text(value)

    return _PLACEHOLDER.sub(substitute, template)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_payload(message: Message, values: dict[str, Any]) -> dict[str, Any]:
    """What a device receives for `message` with the send's `values` applied."""
    variables = {**message.variables, **values}
    payload: dict[str, Any] = {
        "title": render(message.title, variables),
        "body": render(message.body, variables),
        "data": {k: render(v, variables) if isinstance(v, str) else v for k, v in message.data.items()},
    }
    if message.image_url:
        payload["imageUrl"] = render(message.image_url, variables)
    if message.open_url:
        payload["openUrl"] = render(message.open_url, variables)
    return payload


def matches(conditions: tuple[Condition, ...], attributes: dict[str, Any]) -> bool:
    """Whether a user with `attributes` is in a message's audience (every clause holds)."""
    return all(_holds(c, attributes) for c in conditions)


def _holds(condition: Condition, attributes: dict[str, Any]) -> bool:
    present = condition.attribute in attributes
    actual = attributes.get(condition.attribute)
    op, expected = condition.op, condition.value
    if op == "exists":
        return present == bool(expected if expected is not None else True)
    if op == "equals":
        return present and actual == expected
    if op == "notEquals":
        return not present or actual != expected
    if op == "in":
        return present and actual in expected
    if op in ("greaterThan", "lessThan"):
        try:
            a, b = float(actual), float(expected)
        except (TypeError, ValueError):
            return False
        return a > b if op == "greaterThan" else a < b
    raise ValueError(f"unknown targeting operator {op!r}")


def failed_clause(conditions: tuple[Condition, ...], attributes: dict[str, Any]) -> Condition | None:
    for condition in conditions:
        if not _holds(condition, attributes):
            return condition
    return None
