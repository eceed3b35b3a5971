"""Matching deliveries and journaled requests against what a test expected, and the failure
messages that show what did happen instead.

Everything here works on the control plane's JSON (dicts), so an in-process fake and a live
server fail with the same text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()
SHOWN = 10  # how many near misses a message lists

# what `assert_pushed(...)` accepts, and where each is read in a delivery
PUSH_FIELDS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "vendor": lambda d: d["vendor"],
    "app": lambda d: d["app"],
    "send": lambda d: d["send"],
    "user": lambda d: d["user"],
    "device": lambda d: d["device"],
    "platform": lambda d: d["platform"],
    "state": lambda d: d["state"],
    "title": lambda d: d["payload"].get("title", _MISSING),
    # the text under the title: Leanplum calls it `body`, D·engage `message`
    "body": lambda d: d["payload"].get("body", d["payload"].get("message", _MISSING)),
}
PUSH_SUBSETS = ("payload",)  # a dict: these keys (nested) must be there with these values

REQUEST_FIELDS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "vendor": lambda e: e["vendor"],
    "action": lambda e: e["operation"],
    "app": lambda e: e["app"],
    "user": lambda e: e["user"],
    "status": lambda e: e["status"],
    "method": lambda e: e["method"],
    "path": lambda e: e["path"],
}
REQUEST_SUBSETS = ("params",)


def check_expected(what: str, expected: Mapping[str, Any], fields: Mapping[str, Any],
                   subsets: tuple[str, ...], options: tuple[str, ...] = ()) -> None:
    """A clear TypeError for a misspelt keyword, before anything is compared."""
    __tracebackhide__ = True
    unknown = sorted(set(expected) - set(fields) - set(subsets))
    if unknown:
        known = ", ".join([*fields, *subsets, *options])
        raise TypeError(f"{what}() got unknown keyword(s) {', '.join(unknown)}; it takes {known}")
    for name in subsets:
        if name in expected and not isinstance(expected[name], Mapping):
            raise TypeError(f"{what}(): {name}= takes a dict of the values that must be there")


def differences(row: Mapping[str, Any], expected: Mapping[str, Any],
                fields: Mapping[str, Callable[[Mapping[str, Any]], Any]], action_items: bool = False) -> list[str]:
    """How `row` differs from `expected`, one phrase a field; empty when it matches."""
    out: list[str] = []
    for name, want in expected.items():
        if name in fields:
            got = fields[name](row)
            if name == "action" and action_items and want in row.get("items", ()):
                continue  # an action inside a Leanplum `multi`
            if got != want:
                out.append(f"{name} {_show(got)} (expected {want!r})")
        else:
            out.extend(_subset_differences(name, row.get(name) or {}, want))
    return out


def _subset_differences(prefix: str, got: Mapping[str, Any], want: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in want.items():
        place = f"{prefix}.{key}"
        if key not in got:
            out.append(f"{place} missing (expected {value!r})")
        elif isinstance(value, Mapping) and isinstance(got[key], Mapping):
            out.extend(_subset_differences(place, got[key], value))
        elif got[key] != value:
            out.append(f"{place} {got[key]!r} (expected {value!r})")
    return out


def _show(value: Any) -> str:
    return "missing" if value is _MISSING else repr(value)


def call_text(what: str, expected: Mapping[str, Any]) -> str:
    return f"{what}({', '.join(f'{k}={v!r}' for k, v in expected.items())})"


def describe_push(d: Mapping[str, Any]) -> str:
    title = d["payload"].get("title")
    reason = f" ({d['reason']})" if d.get("reason") else ""
    return (f"{d['vendor']} push to device {d['device']!r} (user {d['user']!r}, {d['platform']}): "
            f"{d['state']}{reason}, title {title!r}")


def describe_request(e: Mapping[str, Any]) -> str:
    items = f" [{', '.join(e['items'])}]" if e.get("items") else ""
    status = "no answer" if not e["status"] else str(e["status"])
    user = f", user {e['user']!r}" if e.get("user") else ""
    fault = f", fault {e['fault']}" if e.get("fault") else ""
    return f"#{e['seq']} {e['method']} {e['path']} {e['vendor']} {e['operation']}{items}{user} -> {status}{fault}"


def no_match(headline: str, rows: list[Mapping[str, Any]], expected: Mapping[str, Any],
             fields: Mapping[str, Callable[[Mapping[str, Any]], Any]], describe: Callable[[Mapping[str, Any]], str],
             noun: str, action_items: bool = False) -> str:
    """`headline`, then what did arrive, the closest first, each with how it differs."""
    if not rows:
        return f"{headline}\nno {plural(noun)} at all reached the fake"
    ranked = sorted(rows, key=lambda r: len(differences(r, expected, fields, action_items)))
    lines = [headline, f"{len(rows)} {noun if len(rows) == 1 else plural(noun)} arrived, closest first:"]
    for row in ranked[:SHOWN]:
        lines.append(f"  - {describe(row)}")
        diff = differences(row, expected, fields, action_items)
        if diff:
            lines.append(f"      differs: {'; '.join(diff)}")
    if len(rows) > SHOWN:
        lines.append(f"  ... and {len(rows) - SHOWN} more")
    return "\n".join(lines)


def plural(noun: str) -> str:
    return f"{noun}es" if noun.endswith("sh") else f"{noun}s"


def listing(headline: str, rows: list[Mapping[str, Any]], describe: Callable[[Mapping[str, Any]], str]) -> str:
    lines = [headline, *(f"  - {describe(r)}" for r in rows[:SHOWN])]
    if len(rows) > SHOWN:
        lines.append(f"  ... and {len(rows) - SHOWN} more")
    return "\n".join(lines)
