"""What the tests of a rule set exercised: each rule, and each part of each condition.

Coverage is counted in *outcomes*, each one seen or not by some test of the
rule's event:

- each enabled rule's condition seen **true** (the rule held: it applied or
  lost) and seen **false** (decision coverage); a rule without a condition
  only true;
- each operand of each ``and`` / ``or`` (at any depth, and the condition of an
  ``any item …``) seen true and seen false (condition coverage, as MC/DC
  counts its conditions).

An operand's value is what the tracing interpreter (:mod:`rulec.dsl.trace`,
the compiled code's oracle) gives for it on the test's facts, evaluated on
its own, so an operand that ``and`` short-circuited still counts. A part
that raises on a test's facts counts neither way. Disabled rules are left
out. The figure is seen outcomes over all outcomes; the report lists every
outcome no test saw, with its position.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from attrs import frozen

from rulec.dsl.lowered import AllOf, AnyOf, Condition, Exists, Negation
from rulec.dsl.trace import evaluate
from rulec.engine.core.explain import words
from rulec.engine.core.rules import Rule_
from rulec.engine.core.ruleset import RuleSet
from rulec.tools.ruletest import TestRun

__all__ = ["Coverage", "Gap", "coverage"]


@frozen
class Gap:
    """An outcome no test saw: a rule or a part of a condition never true (or never false)."""

    file: str
    line: int
    column: int
    rule: str
    #: What it is, in the rule's words (``customer has label 'Customer_VIP'``), or ``rule``.
    part: str
    #: The value no test gave it.
    never: bool

    def text(self) -> str:
        if self.part == "rule":
            what = "never held" if self.never else "never failed to hold"
            return f"{self.file}:{self.line}:{self.column}: rule '{self.rule}' {what} in a test"
        value = "true" if self.never else "false"
        return (
            f"{self.file}:{self.line}:{self.column}: in rule '{self.rule}', "
            f"{self.part} was never {value} in a test"
        )


@frozen
class Coverage:
    """Seen outcomes, all outcomes, and those not seen."""

    seen: int
    total: int
    gaps: tuple[Gap, ...]
    #: Per rule name: (seen, total).
    rules: dict[str, tuple[int, int]]

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.seen / self.total


def coverage(rules: RuleSet, runs: Sequence[TestRun]) -> Coverage:
    """The coverage of ``rules`` by the tests ``runs`` (their facts as they ran)."""
    by_event: dict[str, list[TestRun]] = {}
    for run in runs:
        if run.facts is not None:
            by_event.setdefault(run.event, []).append(run)
    seen = total = 0
    gaps: list[Gap] = []
    per_rule: dict[str, tuple[int, int]] = {}
    for event in sorted(rules.events):
        tests = by_event.get(event, [])
        for rule in rules.rules_of(event):
            rule_seen = rule_total = 0
            for part, node, within in _parts(rule):
                values = {v for run in tests for v in _values(node, within, run)}
                for value in (True, False):
                    if node is None and not value:
                        continue  # a rule without a condition is never false
                    rule_total += 1
                    if value in values:
                        rule_seen += 1
                    else:
                        gaps.append(_gap(rule, part, node, value))
            per_rule[rule.name] = (rule_seen, rule_total)
            seen += rule_seen
            total += rule_total
    return Coverage(seen, total, tuple(gaps), per_rule)


#: A part of a condition: its words, the node, and the ``any`` it is inside (if any).
_Part = tuple[str, Condition | None, tuple[Exists, ...]]


def _parts(rule: Rule_) -> Iterator[_Part]:
    """The rule's outcomes to see: the whole condition, then each operand of and/or."""
    cond = rule.condition
    yield "rule", cond, ()
    stack: list[tuple[Condition, tuple[Exists, ...]]] = [(cond, ())] if cond is not None else []
    while stack:
        c, within = stack.pop()
        children: tuple[Condition, ...] = ()
        if isinstance(c, AllOf | AnyOf):
            children = c.operands
            for op in children:
                yield words(op.describe()), op, within
        elif isinstance(c, Negation):
            children = (c.operand,)
        elif isinstance(c, Exists):
            children = (c.condition,)
            within = (*within, c)
        stack.extend((child, within) for child in reversed(children))


def _values(node: Condition | None, within: tuple[Exists, ...], run: TestRun) -> set[bool]:
    """The part's values on the test's facts: for a part inside ``any item …``, its
    value for each line; none where it raises."""
    assert run.facts is not None
    scopes: list[Mapping[str, Any]] = [run.facts]
    for exists in within:
        scopes = [m for s in scopes for m in _members(s, exists.key)]
    out = set()
    for scope in scopes:
        try:
            out.add(evaluate(node, scope))
        except Exception:  # a part that raises counts neither way
            continue
    return out


def _members(scope: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    try:
        return tuple(scope[key] or ())
    except Exception:
        return ()


def _gap(rule: Rule_, part: str, node: Condition | None, value: bool) -> Gap:
    span = node.span if node is not None and part != "rule" else None
    line, column = (span.line, span.column) if span is not None else (rule.line, rule.column)
    return Gap(rule.file, line, column, rule.name, part, value)
