"""The one candidate loop: which rules of an event hold for some facts.

Every policy finds its rules here. An event's rules are laid out once in a
:class:`Plan`, in the policy's rank order:

- ``scan``: the rules without a label requirement, tried on every event;
- ``labels``: per labelled entity (``"customer.labels"``), a dict from a
  label to the rules that can only hold when it is present (a Rete alpha
  network: a rule whose label is absent costs nothing);
- ``every``: all of them, for ``all_rules=True`` (an explanation of why a
  rule did *not* apply needs the rules the index skips).

:func:`match` tries the candidates in rank order and returns the rules that
held and the failures of those that raised. A :class:`Tracer` hears about
every rule considered and, when the rules carry a lowered condition, every
atom of its condition with its value.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import frozen

from rulec.dsl import trace
from rulec.dsl.diagnostics import RuleRuntimeError
from rulec.dsl.nodes import Span
from rulec.engine.core.decision import RuleFailure
from rulec.engine.core.rules import Rule_

__all__ = ["Candidate", "Outcome", "Plan", "Tracer", "candidates", "make_plan", "match"]


class Outcome(enum.Enum):
    """What became of one rule :func:`match` considered."""

    HELD = "held"
    NOT_HELD = "did not hold"
    OUTSIDE_WINDOW = "outside its validity window"
    FAILED = "failed"


class Tracer:
    """Told what :func:`match` does; every method does nothing unless overridden.

    ``rule`` is called once per rule considered, after its condition was
    evaluated (or skipped for its window), with ``found`` False for a rule
    the label index would have skipped (only with ``all_rules=True``).
    ``atom`` is called for each atom of the rule's condition as it is
    evaluated, with the fact's value and the atom's result.
    """

    def rule(self, rule: Rule_, outcome: Outcome, found: bool, message: str = "") -> None:
        """``rule`` was considered: it held, did not, was outside its window, or failed."""

    def atom(self, rule: Rule_, atom: Any, value: Any, result: bool) -> None:
        """An atom of ``rule``'s condition was evaluated."""


@frozen
class Candidate:
    """A rule as the loop tries it, prepared once per plan."""

    #: Its place in the policy's order (lower first).
    rank: int
    rule: Rule_
    #: Its condition, or None when the label it is found by is its whole condition.
    test: Callable[[Mapping[str, Any]], bool] | None
    #: Whether it has a validity window to check.
    windowed: bool
    #: Whether it counts as holding when it raises (a ``hide`` rule: deny on error).
    fails_closed: bool = False


@frozen
class Plan:
    """The rules of one event for one policy, in rank order (see the module docstring)."""

    scan: tuple[Candidate, ...]
    labels: tuple[tuple[str, dict[str, tuple[Candidate, ...]]], ...]
    every: tuple[Candidate, ...]
    #: Whether one rule is listed under two labels (``has any label of A, B``).
    repeats: bool


def make_plan(
    rules: Sequence[Rule_],
    rank: Callable[[Rule_], Any],
    fails_closed: Callable[[Rule_], bool] | None = None,
) -> Plan:
    """The plan of ``rules`` (enabled, of one event), ranked by the key ``rank``."""
    ordered = sorted(rules, key=rank)
    every = tuple(
        Candidate(
            n,
            r,
            r.test,
            r.valid_from is not None or r.valid_until is not None,
            fails_closed(r) if fails_closed is not None else False,
        )
        for n, r in enumerate(ordered)
    )
    scan = tuple(c for c in every if c.rule.labels is None)
    index: dict[str, dict[str, list[Candidate]]] = {}
    repeats = False
    for c in every:
        if c.rule.labels is None:
            continue
        pairs = dict.fromkeys(c.rule.labels)
        repeats = repeats or len(pairs) > 1
        for entity, label in pairs:
            index.setdefault(f"{entity}.labels", {}).setdefault(label, []).append(c)
    labels = tuple(
        (key, {name: tuple(found) for name, found in by_name.items()})
        for key, by_name in index.items()
    )
    return Plan(scan, labels, every, repeats)


def candidates(plan: Plan, facts: Mapping[str, Any]) -> Sequence[Candidate]:
    """The candidates for ``facts``: the scanned rules and those their labels bring in,
    in rank order, each once."""
    found: Sequence[Candidate] = plan.scan
    for key, index in plan.labels:
        for name in facts[key]:
            hit = index.get(name)
            if hit:
                found = hit if not found else [*found, *hit]
    if type(found) is list:  # from several labels, or labels and the scan
        if plan.repeats:
            return sorted({c.rank: c for c in found}.values(), key=_rank)
        found.sort(key=_rank)
    return found


def _rank(c: Candidate) -> int:
    return c.rank


def span_of(rule: Rule_, facts: Mapping[str, Any] | None = None) -> Span:
    """Where ``rule`` is, as a diagnostic names it: with ``facts``, the part of its
    condition that raises on them."""
    part = trace.raising(rule.condition, facts) if facts is not None else None
    span = part.span if part is not None else None
    if span is not None:
        return Span(rule.file, span.line, span.column, span.end_line, span.end_column)
    return Span(rule.file, rule.line, rule.column, rule.line, rule.column)


def match(
    plan: Plan,
    facts: Mapping[str, Any],
    moment: Callable[[], datetime] | None,
    *,
    first: bool = False,
    tracer: Tracer | None = None,
    all_rules: bool = False,
    raise_errors: bool = False,
) -> tuple[list[Rule_], list[RuleFailure]]:
    """The rules that hold for ``facts``, in rank order, and the failures of those that raised.

    ``moment()`` is the instant validity windows are judged at (asked only
    when a candidate has a window); with None, windows are not applied. With
    ``first``, the loop stops at the first rule that holds. A rule that
    raises is skipped and its failure listed, or raised as
    :class:`RuleRuntimeError` with ``raise_errors``; a rule that fails closed
    counts as holding too. With ``all_rules``, every
    rule of the plan is tried, not only those the label index finds.
    """
    if all_rules:
        found: Sequence[Candidate] = plan.every
        by_index = {c.rank for c in candidates(plan, facts)} if tracer is not None else set()
    else:
        found = candidates(plan, facts)
        by_index = set()
    held: list[Rule_] = []
    failures: list[RuleFailure] = []
    when: datetime | None = None
    for c in found:
        rule = c.rule
        if c.windowed and moment is not None:
            if when is None:
                when = moment()
            if not rule.valid_at(when):
                if tracer is not None:
                    tracer.rule(rule, Outcome.OUTSIDE_WINDOW, _found(c, by_index, all_rules))
                continue
        try:
            if tracer is not None:
                ok = _traced(c, facts, tracer)
            else:
                ok = True if c.test is None else c.test(facts)
        except Exception as e:
            message = f"{type(e).__name__}: {e}"
            where = span_of(rule, facts)  # the line that raised
            if raise_errors:
                raise RuleRuntimeError(rule.name, where, message) from e
            failures.append(RuleFailure(rule.name, rule.file, where.line, message))
            if tracer is not None:
                tracer.rule(rule, Outcome.FAILED, _found(c, by_index, all_rules), message)
            if c.fails_closed:
                held.append(rule)
                if first:
                    break
            continue
        if tracer is not None:
            outcome = Outcome.HELD if ok else Outcome.NOT_HELD
            tracer.rule(rule, outcome, _found(c, by_index, all_rules))
        if ok:
            held.append(rule)
            if first:
                break
    return held, failures


def _found(c: Candidate, by_index: set[int], all_rules: bool) -> bool:
    return not all_rules or c.rank in by_index


def _traced(c: Candidate, facts: Mapping[str, Any], tracer: Tracer) -> bool:
    """The candidate's condition, evaluated atom by atom by the tracing interpreter,
    which means what the compiled test means (label-only rules too)."""
    rule = c.rule

    def heard(atom: Any, value: Any, result: bool) -> None:
        tracer.atom(rule, atom, value, result)

    return trace.evaluate(rule.condition, facts, heard)
