"""API fault injection: rules that make the vendor routes misbehave on purpose.

`kinds` holds what a fault does, `rules` which requests a rule picks and when it fires,
`book` the fake's list of rules, and `asgi` how a fault reaches the wire.
"""

from pushfake.faults.book import FaultBook
from pushfake.faults.kinds import Fault, fault_from
from pushfake.faults.rules import Match, RequestFacts, Rule, rule_from

__all__ = ["Fault", "FaultBook", "Match", "RequestFacts", "Rule", "fault_from", "rule_from"]
