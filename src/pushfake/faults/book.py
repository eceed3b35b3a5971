"""The fake's fault rules, in the order they were added; the first rule that fires wins.

Rules from the fixtures file are configuration: a full reset restores exactly them; a
data-only reset keeps the rules in force (with fresh counters). Rules added at run time go on
a full reset, or with `remove` / `clear()`; `added(...)` scopes one to a block, so a test's
faults end with the test.
Every probability draw comes from the book's own generator, seeded from the fake's seed, so
adding a fault never shifts the ids the fake hands out.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.rng import SeededRandom
from pushfake.faults.kinds import Fault
from pushfake.faults.rules import RequestFacts, Rule, rule_from


class FaultBook:
    def __init__(self, clock: Clock, seed: int) -> None:
        self._clock = clock
        self._rng = SeededRandom(_derived(seed))
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        # (vendor, operation, multi items) -> the rules that can match such a request, in order;
        # emptied whenever the rules change, so a request checks only rules about it
        self._candidates: dict[tuple[str, str | None, tuple[str, ...]], list[Rule]] = {}
        self._configured: list[Any] = []  # the fixtures' rules as written; parsed anew at each reset
        self._ids = itertools.count(1)

    # --- configuration -----------------------------------------------------------------------
    def parse_all(self, raw_rules: list[Any], where: str = "faults") -> list[Rule]:
        """Rules from their JSON forms, as configuration; ValueError naming the place."""
        rules = [self._parse(raw, f"{where}[{i}]", scope="fixtures") for i, raw in enumerate(raw_rules)]
        _unique(rules)
        return rules

    def configure(self, raw_rules: list[Any]) -> None:
        """The fixtures' rules (as written; `parse_all` has checked them), in force now; run-time
        ones are dropped. A reset parses them again, so '+30s' windows count from the reset."""
        self._configured = list(raw_rules)
        self.reset(seed=None)

    def reset(self, seed: int | None, keep_current: bool = False) -> None:
        """Back to the fixtures' rules, or (`keep_current`) keep the rules in force; either way
        with fresh counters, and the generator reseeded when `seed` is given."""
        with self._lock:
            if seed is not None:
                self._rng.reseed(_derived(seed))
            if keep_current:
                self._set_rules([r.fresh() for r in self._rules])
            else:
                self._ids = itertools.count(1)  # the same test after a reset gets the same rule ids
                self._set_rules(self.parse_all(self._configured))

    def add(self, raw: Any) -> Rule:
        """Add a rule from its JSON form (or a `Rule`); an `id` already in use replaces that rule."""
        rule = raw if isinstance(raw, Rule) else self._parse(raw, "")
        with self._lock:
            self._set_rules([r for r in self._rules if r.id != rule.id] + [rule])
        return rule

    @contextmanager
    def added(self, raw: Any) -> Iterator[Rule]:
        """A rule that applies inside the block only."""
        rule = self.add(raw)
        try:
            yield rule
        finally:
            self.remove(rule.id)

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            kept = [r for r in self._rules if r.id != rule_id]
            found = len(kept) != len(self._rules)
            self._set_rules(kept)
        return found

    def clear(self) -> None:
        with self._lock:
            self._set_rules([])

    def rules(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)

    def get(self, rule_id: str) -> Rule | None:
        with self._lock:
            return next((r for r in self._rules if r.id == rule_id), None)

    # --- requests ----------------------------------------------------------------------------
    def pick(self, facts: RequestFacts) -> tuple[Rule, Fault] | None:
        """The fault for this request, if a rule fires; counts the request on every rule it matches."""
        if not self._rules:
            return None
        key = (facts.vendor, facts.operation, facts.items)
        rules = self._candidates.get(key)
        if rules is None:
            rules = self._candidates_for(key)
            if not rules:
                return None
        now = self._clock.now()
        chosen: tuple[Rule, Fault] | None = None
        with self._lock:
            for rule in rules:
                if rule.spent or not rule.match.matches(facts) or not rule.in_window(now):
                    continue
                rule.seen += 1
                if chosen is not None:
                    continue
                if rule.nth is not None and rule.seen != rule.nth:
                    continue
                if rule.probability < 1.0 and not self._rng.random() < rule.probability:
                    continue
                chosen = (rule, rule.next_fault())
        return chosen

    def _set_rules(self, rules: list[Rule]) -> None:
        self._rules = rules
        self._candidates = {}

    def _candidates_for(self, key: tuple[str, str | None, tuple[str, ...]]) -> list[Rule]:
        vendor, operation, items = key
        with self._lock:
            found = [r for r in self._rules if r.match.vendor in (None, vendor)
                     and (r.match.operation is None or r.match.operation == operation or r.match.operation in items)]
            if len(self._candidates) >= 4096:  # many distinct multi batches: start the cache over
                self._candidates = {}
            self._candidates[key] = found
        return found

    def draw(self, fault: Fault) -> float:
        """Seconds of `delay` for one application of `fault`."""
        return fault.delay.draw(self._rng)

    def _parse(self, raw: Any, where: str, scope: str = "runtime") -> Rule:
        try:
            return rule_from(raw, rule_id=f"fault-{next(self._ids)}", now=self._clock.now(), scope=scope)
        except ValueError as exc:
            text = str(exc)
            if not where:
                raise ValueError(text.removeprefix(": ")) from None
            raise ValueError(f"{where}{text}" if text.startswith(":") else f"{where}.{text}") from None


def _unique(rules: list[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ValueError(f"faults: rule id {rule.id!r} is used twice")
        seen.add(rule.id)


def _derived(seed: int) -> int:
    """The fault generator's seed: fixed by the fake's seed, apart from the fake's own draws."""
    return seed * 1_000_003 + 0xFA17
