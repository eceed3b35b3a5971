"""The contract run's report: a terminal summary and a JSON document (pytest's own
`--junitxml` gives the JUnit-XML one). Both pass through `Contract.scrub`, so a secret read from
the environment never appears in them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pytest_pushfake.contract import Contract

OUTCOMES = ("passed", "failed", "skipped", "error")
KINDS = {"test_conformance": "conformance", "test_semantics": "semantics", "test_assumption": "assumption"}


def _results(stats: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """One entry per contract test: its kind, name, outcome and failure text."""
    found: dict[str, dict[str, Any]] = {}
    for outcome, reports in stats.items():
        if outcome not in OUTCOMES:  # "" (set-up and tear-down that passed), "warnings", ...
            continue
        for report in reports:
            nodeid = getattr(report, "nodeid", "")
            function, _, param = nodeid.rpartition("::")[2].partition("[")
            if function not in KINDS or getattr(report, "when", "call") == "teardown" and outcome == "passed":
                continue
            entry = found.setdefault(nodeid, {"kind": KINDS[function], "name": param.rstrip("]"),
                                              "outcome": outcome, "properties": {}})
            if outcome in ("failed", "skipped", "error") or entry["outcome"] == "passed":
                entry["outcome"] = outcome
            entry["properties"].update(dict(getattr(report, "user_properties", ())))
            if getattr(report, "longrepr", None) is not None and outcome != "passed":
                entry["message"] = _message(report)
    return list(found.values())


def _message(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _operation(method: str, url: str) -> str:
    parts = urlsplit(url)
    action = dict(parse_qsl(parts.query)).get("action")
    return f"{method} {parts.path}" + (f"?action={action}" if action else "")


def answers(contract: Contract) -> list[dict[str, Any]]:
    """How often each operation got each answer (status and messages): what the target says."""
    counts: Counter[tuple[str, int, tuple[str, ...]]] = Counter()
    for exchange in contract.target.gate.log:
        if exchange.outcome == "answered" and exchange.status is not None:
            counts[(_operation(exchange.method, exchange.url), exchange.status, exchange.messages[:3])] += 1
    return [{"operation": op, "status": status, "messages": list(messages), "count": n}
            for (op, status, messages), n in sorted(counts.items(), key=lambda item: (item[0][0], item[0][1]))]


def document(contract: Contract, stats: dict[str, list[Any]]) -> dict[str, Any]:
    from pushfake.contract import assumptions

    target, settings = contract.target, contract.target.settings
    results = _results(stats)
    by_name = {r["name"]: r for r in results if r["kind"] == "assumption"}
    table = []
    for check in assumptions.checks(settings.vendors):
        outcome = contract.assumptions.get(check.name)
        table.append({"check": check.name, "vendor": check.vendor, "pointers": list(check.pointers),
                      "behaviour": check.summary, "basis": check.basis,
                      "outcome": outcome.status if outcome else "not run",
                      "detail": outcome.detail if outcome else by_name.get(check.name, {}).get("message", "")})
    return {
        "target": {vendor: {"url": e.url, "kind": e.kind} for vendor, e in target.endpoints.items()},
        "safe": target.safe,
        "dryRun": settings.dry_run,
        "seed": settings.seed,
        "examplesPerOperation": settings.examples,
        "budget": target.gate.budget,
        "ratePerSecond": target.gate.rate,
        "requests": {"sent": target.gate.sent, **target.gate.counts()},
        "testIds": sorted(target.ids.seen),
        "operations": [{"vendor": r.vendor, "operation": r.label, "mode": r.mode, "cases": r.cases, "sent": r.sent,
                        "withheld": len(r.withheld), "notRun": r.not_run,
                        "outcome": next((x["outcome"] for x in results if x["kind"] == "conformance"
                                         and x["name"] == f"{r.vendor}:{r.mode}:{r.label}"), "unknown")}
                       for r in contract.operations],
        "failures": [{"kind": r["kind"], "name": r["name"], "message": r.get("message", "")}
                     for r in results if r["outcome"] in ("failed", "error")],
        "semantics": contract.machines,
        "assumptions": table,
        "answers": answers(contract),
        "log": [{"seq": e.seq, "method": e.method, "url": e.url, "outcome": e.outcome, "status": e.status,
                 "reason": e.reason, "retries": e.retries, "curl": e.curl} for e in target.gate.log],
    }


def _scrubbed(contract: Contract, node: Any) -> Any:
    """Every string of the document scrubbed before it is encoded (an encoded secret could hide)."""
    if isinstance(node, str):
        return contract.scrub(node)
    if isinstance(node, dict):
        return {contract.scrub(str(key)): _scrubbed(contract, value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_scrubbed(contract, value) for value in node]
    return node


def write_json(contract: Contract, stats: dict[str, list[Any]], path: Path) -> None:
    text = json.dumps(_scrubbed(contract, document(contract, stats)), indent=2, default=str)
    path.write_text(text + "\n", encoding="utf-8")


def summary_lines(contract: Contract, stats: dict[str, list[Any]]) -> list[str]:
    doc = document(contract, stats)
    lines = ["", "pushfake contract: " + ", ".join(f"{v} {t['kind']} {t['url']}" for v, t in doc["target"].items())
             + f"; safe mode {'on' if doc['safe'] else 'off'}; seed {doc['seed']}"]
    cases = sum(o["cases"] for o in doc["operations"])
    lines.append(f"  conformance: {len(doc['operations'])} operation runs, {cases} cases; "
                 f"requests: {json.dumps(doc['requests'])}")
    if doc["testIds"]:
        lines.append(f"  own test ids: {len(doc['testIds'])} (e.g. {doc['testIds'][0]})")
    tally = Counter(row["outcome"] for row in doc["assumptions"])
    lines.append("  assumptions: " + ", ".join(f"{n} {status}" for status, n in sorted(tally.items())))
    for row in doc["assumptions"]:
        if row["outcome"] != "held" and row["detail"]:  # a check deselected by -k has no detail
            lines.append(f"    {row['outcome']:<22} {row['check']}: {row['detail'][:150]}")
    if doc["dryRun"]:
        lines.append(f"  dry run: {len(doc['log'])} requests listed, none sent:")
        lines += [f"    {e['curl']}" for e in doc["log"]]
    return [contract.scrub(line) for line in lines]
