"""The fake's fault rules, in the order they were added; the first rule that fires wins.

Rules from the fixtures file are configuration: a full reset restores exactly them; a
data-only reset keeps the rules in force (with fresh counters). Rules added at run time go on
a full reset, or with `remove` / `clear()`; `added(...)` scopes one to a block, so a test's
faults end with the test.
Every probability draw comes from the book's own generator, seeded from the fake's seed, so
adding a fault never shifts the ids the fake hands out.

Everything that changes lives in the store, so every fake on one store applies the same rules
and counts them together. Under the owner `IN_FORCE`, which a data-only reset keeps: the rules in
force (`rules`; None means the fixtures' rules, parsed again the first time they are needed) and
the numbering of rule ids (`ids`). Under `faults`: each rule's counts (`counts`, by rule id) and
the generator (`rng`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pushfake.core.clock import Clock
from pushfake.core.rng import SeededRandom
from pushfake.core.store import Store
from pushfake.faults.kinds import Fault
from pushfake.faults.rules import RequestFacts, Rule, rule_from

IN_FORCE = "faults-in-force"  # the store owner of the rules in force; `Fake.reset(keep_config)` keeps it
Rules = tuple[Rule, ...]
_CandidateKey = tuple[str, str | None, tuple[str, ...]]


class FaultBook:
    def __init__(self, clock: Clock, seed: int, store: Store) -> None:
        self._clock = clock
        self._store = store
        self._rng = SeededRandom(_derived(seed), store=store, name=("faults", "rng"))
        self._ids = store.counter(IN_FORCE, "ids")
        self._in_force = store.cell(IN_FORCE, "rules")  # Rules; None: the fixtures' rules
        self._counts = store.table("faults", "counts")  # rule id -> (seen, fired)
        self._configured: list[Any] = []  # the fixtures' rules as written; parsed anew after each reset
        # The rules in force it was built for, and (vendor, operation, multi items) -> the rules
        # that can match such a request, in order, so a request checks only rules about it. Only
        # a cache: whoever changes the rules (any fake on the store) puts a new tuple in the cell,
        # and a cache built for another tuple is dropped at the next request.
        self._candidates: tuple[Rules | None, dict[_CandidateKey, list[Rule]]] = (None, {})

    # --- configuration -----------------------------------------------------------------------
    def parse_all(self, raw_rules: list[Any], where: str = "faults") -> list[Rule]:
        """Rules from their JSON forms, as configuration; ValueError naming the place. Only a
        check: the ids it gives are its own, the book's numbering is not touched."""
        ids = itertools.count(1)
        rules = [self._parse(raw, f"{where}[{i}]", f"fault-{next(ids)}", "fixtures")
                 for i, raw in enumerate(raw_rules)]
        _unique(rules)
        return rules

    def configure(self, raw_rules: list[Any], *, in_force: bool = True) -> None:
        """The fixtures' rules (as written; `parse_all` has checked them), in force now; run-time
        ones are dropped. They are parsed after every reset, so '+30s' windows count from it.
        Without `in_force`, the rules in force in the store stay (a fake joining a world)."""
        self._configured = list(raw_rules)
        if not in_force:
            return
        with self._store.transaction():
            self._in_force.set(None)

    def reset(self, seed: int | None) -> None:
        """What the store's reset cannot do, after it: the generator reseeded when `seed` is
        given, and, unless the owner `IN_FORCE` was kept (`keep_config`), the fixtures' rules
        parsed now, so their windows count from the reset. Counts are fresh either way."""
        with self._store.transaction():
            if seed is not None:
                self._rng.reseed(_derived(seed))
            self._rules()

    def add(self, raw: Any) -> Rule:
        """Add a rule from its JSON form (or a `Rule`); an `id` already in use replaces that rule.
        A rule refused (ValueError) changes nothing."""
        with self._store.transaction():
            rules = self._rules()
            if isinstance(raw, Rule):
                rule = raw.standing(0, 0)
            else:
                rule = self._parse(raw, "", f"fault-{self._ids.value + 1}")
                self._ids.next()
            self._in_force.set((*(r for r in rules if r.id != rule.id), rule))
            self._counts.delete(rule.id)
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
        with self._store.transaction():
            rules = self._rules()
            kept = tuple(r for r in rules if r.id != rule_id)
            if len(kept) == len(rules):
                return False
            self._in_force.set(kept)
            self._counts.delete(rule_id)
        return True

    def clear(self) -> None:
        """No rules at all, fixtures' included, until the next full reset."""
        with self._store.transaction():
            for rule in self._rules():
                self._counts.delete(rule.id)
            self._in_force.set(())

    def rules(self) -> list[Rule]:
        """The rules in force, in order, each with its counts."""
        with self._store.transaction():
            return [self._standing(r) for r in self._rules()]

    def get(self, rule_id: str) -> Rule | None:
        with self._store.transaction():
            return next((self._standing(r) for r in self._rules() if r.id == rule_id), None)

    # --- requests ----------------------------------------------------------------------------
    def pick(self, facts: RequestFacts) -> tuple[Rule, Fault] | None:
        """The fault for this request, if a rule fires; counts the request on every rule it matches."""
        if not self._rules():
            return None
        now = self._clock.now()
        counts = self._counts
        chosen: tuple[Rule, Fault] | None = None
        with self._store.transaction():  # the rules read again inside: what another fake did meanwhile holds
            for rule in self._candidates_for(self._rules(), (facts.vendor, facts.operation, facts.items)):
                if not rule.match.matches(facts) or not rule.in_window(now):
                    continue
                seen, fired = counts.get(rule.id) or (0, 0)
                if rule.spent_after(seen, fired):
                    continue
                seen += 1
                if (chosen is None and (rule.nth is None or seen == rule.nth)
                        and (rule.probability >= 1.0 or self._rng.random() < rule.probability)):
                    chosen = (rule.standing(seen, fired + 1), rule.step(fired))
                    fired += 1
                counts.put(rule.id, (seen, fired))
        return chosen

    def draw(self, fault: Fault) -> float:
        """Seconds of `delay` for one application of `fault`."""
        return fault.delay.draw(self._rng)

    # --- the rules in force --------------------------------------------------------------------
    def _rules(self) -> Rules:
        """The rules in force; after a reset, the fixtures' rules, parsed now with the next ids."""
        rules: Rules | None = self._in_force.get()
        if rules is not None:
            return rules
        with self._store.transaction():
            rules = self._in_force.get()
            if rules is None:
                rules = tuple(self._parse(raw, f"faults[{i}]", f"fault-{self._ids.next()}", "fixtures")
                              for i, raw in enumerate(self._configured))
                self._in_force.set(rules)
        return rules

    def _standing(self, rule: Rule) -> Rule:
        seen, fired = self._counts.get(rule.id) or (0, 0)
        return rule.standing(seen, fired)

    def _candidates_for(self, rules: Rules, key: _CandidateKey) -> list[Rule]:
        built_for, cache = self._candidates
        if built_for is not rules and built_for != rules:
            cache = {}
            self._candidates = (rules, cache)  # a thread that read other rules fills its own dict
        found = cache.get(key)
        if found is None:
            vendor, operation, items = key
            found = [r for r in rules if r.match.vendor in (None, vendor)
                     and (r.match.operation is None or r.match.operation == operation or r.match.operation in items)]
            if len(cache) >= 4096:  # many distinct multi batches: start the cache over
                cache.clear()
            cache[key] = found
        return found

    def _parse(self, raw: Any, where: str, rule_id: str, scope: str = "runtime") -> Rule:
        try:
            return rule_from(raw, rule_id=rule_id, now=self._clock.now(), scope=scope)
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
