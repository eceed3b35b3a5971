"""The contract run's report: a terminal summary and a JSON document (pytest's own
`--junitxml` gives the JUnit-XML one). Both are made from a `record` that passed through
`Contract.scrub`, so a secret read from the environment never appears in them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pushfake.contract import assumptions
from pushfake.contract.pytest.run import Contract
from pushfake.contract.settings import placeholder

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


def record(contract: Contract) -> dict[str, Any]:
    """What one session found, as plain data with every secret scrubbed: what the report is made
    of, and what each pytest-xdist worker hands to the controller (`merge` joins them)."""
    target, settings = contract.target, contract.target.settings
    raw = {
        "target": {vendor: {"url": e.url, "kind": e.kind} for vendor, e in target.endpoints.items()},
        "vendors": list(settings.vendors), "safe": target.safe, "dryRun": settings.dry_run, "seed": settings.seed,
        "examplesPerOperation": settings.examples, "phases": list(settings.phases), "budget": target.gate.budget, "ratePerSecond": target.gate.rate,
        "sent": target.gate.sent, "testIds": sorted(target.ids.seen), "placeholders": list(target.placeholders),
        "operations": [{"vendor": r.vendor, "operation": r.label, "mode": r.mode, "cases": r.cases, "sent": r.sent,
                        "withheld": len(r.withheld), "notRun": r.not_run} for r in contract.operations],
        "semantics": dict(contract.machines),
        "assumptions": {name: {"status": o.status, "detail": o.detail} for name, o in contract.assumptions.items()},
        "log": [{"seq": e.seq, "method": e.method, "url": e.url, "outcome": e.outcome, "status": e.status,
                 "reason": e.reason, "retries": e.retries, "curl": e.curl, "messages": list(e.messages)}
                for e in target.gate.log],
    }
    return _scrubbed(contract, raw)


def merge(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from several workers' (each ran a share of the tests against a fake of its own):
    counts added, logs one after the other and numbered again."""
    return {**records[0], "sent": sum(r["sent"] for r in records),
            "testIds": sorted({i for r in records for i in r["testIds"]}),
            "operations": [o for r in records for o in r["operations"]],
            "semantics": {k: v for r in records for k, v in r["semantics"].items()},
            "assumptions": {k: v for r in records for k, v in r["assumptions"].items()},
            "log": [{**e, "seq": n} for n, e in enumerate((e for r in records for e in r["log"]), 1)]}


def answers(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How often each operation got each answer (status and messages): what the target says."""
    counts: Counter[tuple[str, int, tuple[str, ...]]] = Counter()
    for exchange in log:
        if exchange["outcome"] == "answered" and exchange["status"] is not None:
            counts[(_operation(exchange["method"], exchange["url"]), exchange["status"],
                    tuple(exchange["messages"][:3]))] += 1
    return [{"operation": op, "status": status, "messages": list(messages), "count": n}
            for (op, status, messages), n in sorted(counts.items(), key=lambda item: (item[0][0], item[0][1]))]


def document(rec: dict[str, Any], stats: dict[str, list[Any]]) -> dict[str, Any]:
    """The JSON report of a record (`record`, or `merge` of the workers' records)."""
    results = _results(stats)
    by_name = {r["name"]: r for r in results if r["kind"] == "assumption"}
    table = []
    for check in assumptions.checks(tuple(rec["vendors"])):
        outcome = rec["assumptions"].get(check.name)
        table.append({"check": check.name, "vendor": check.vendor, "pointers": list(check.pointers),
                      "behaviour": check.summary, "basis": check.basis,
                      "outcome": outcome["status"] if outcome else "not run",
                      "detail": outcome["detail"] if outcome else by_name.get(check.name, {}).get("message", "")})
    counts = Counter(e["outcome"] for e in rec["log"])
    outcomes = {x["name"]: x["outcome"] for x in results if x["kind"] == "conformance"}
    operations = sorted(rec["operations"], key=lambda o: (o["vendor"], o["mode"], o["operation"]))
    return {
        **{key: rec[key] for key in ("target", "safe", "dryRun", "seed", "examplesPerOperation", "phases", "budget",
                                     "ratePerSecond")},
        "requests": {"sent": rec["sent"], **counts},
        "placeholders": rec["placeholders"],
        "testIds": rec["testIds"],
        "operations": [{**o, "outcome": outcomes.get(f"{o['vendor']}:{o['mode']}:{o['operation']}", "unknown")}
                       for o in operations],
        "failures": [{"kind": r["kind"], "name": r["name"], "message": r.get("message", "")}
                     for r in results if r["outcome"] in ("failed", "error")],
        "semantics": rec["semantics"],
        "assumptions": table,
        "answers": answers(rec["log"]),
        "log": [{k: v for k, v in e.items() if k != "messages"} for e in rec["log"]],
    }


def _scrubbed(contract: Contract, node: Any) -> Any:
    """Every string scrubbed before it is encoded (an encoded secret could hide)."""
    if isinstance(node, str):
        return contract.scrub(node)
    if isinstance(node, dict):
        return {contract.scrub(str(key)): _scrubbed(contract, value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_scrubbed(contract, value) for value in node]
    return node


def write_json(rec: dict[str, Any], stats: dict[str, list[Any]], path: Path) -> None:
    path.write_text(json.dumps(document(rec, stats), indent=2, default=str) + "\n", encoding="utf-8")


def summary_lines(rec: dict[str, Any], stats: dict[str, list[Any]]) -> list[str]:
    doc = document(rec, stats)
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
    if doc["placeholders"]:
        lines.append(f"  placeholders such as {placeholder(doc['placeholders'][0])} stand for credentials that are "
                     f"not set; for a real run, set {', '.join(doc['placeholders'])}")
    return lines
