"""Example facts: a concrete order under which a lowered condition holds.

``example(condition)`` looks for flat facts (``{"customer.labels":
frozenset({"VIP"}), "order.subtotal": Decimal("50.01")}``) that make a
condition true; deep lint uses it to show a concrete order for what it
reports. The search is sound by construction: every candidate is checked
by the tracing interpreter (:mod:`rulec.dsl.trace`), the oracle the
compiled tests are held equal to, and an example is returned only when the
whole condition holds for it. It is not complete: it tries the values the
condition itself names and their neighbours (a day before, a cent more…)
and gives up (None) when none of them will do, or when the condition has
more than :data:`MAX_TERMS` alternatives.

How: the condition is put in disjunctive normal form (``not`` pushed down
to the tests); for each alternative, the tests are grouped by the fact they
read, and each fact gets the first candidate value that passes all its
tests (facts are independent of each other, so this is a search per fact,
not over their product); ``any ENTITY …`` is solved for one member.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any

from rulec.dsl import trace
from rulec.dsl.lowered import (
    AllOf,
    AnyOf,
    Atom,
    Between,
    Compare,
    Condition,
    CouponIn,
    Exists,
    HasAnyLabel,
    HasLabel,
    In,
    InDays,
    Negation,
    OnDay,
    Present,
)

__all__ = ["MAX_TERMS", "example"]

#: Alternatives of a condition's normal form tried at the most.
MAX_TERMS = 64
#: Label sets tried per fact at the most (choices among ``has any label of``).
_MAX_LABEL_SETS = 64

#: A test and whether it must hold (True) or fail (False).
Literal = tuple[Condition, bool]


class _TooBig(Exception):
    pass


def example(condition: Condition | None) -> dict[str, Any] | None:
    """Flat facts under which ``condition`` holds, or None when none was found."""
    if condition is None:
        return {}
    try:
        terms = _dnf(condition, True)
    except _TooBig:
        return None
    for term in terms:
        facts = _solve(term)
        if facts is not None and _holds(condition, facts):
            return facts
    return None


def _holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    try:
        return trace.evaluate(condition, _Defaults(facts))
    except Exception:  # a candidate of the wrong kind for a test: not an example
        return False


class _Defaults(dict[str, Any]):
    """Facts an example does not name read as the engine reads a fact nobody gave."""

    def __missing__(self, key: str) -> Any:
        if key.endswith(".labels"):
            return frozenset()
        return () if key.endswith(".all") else None


# --------------------------------------------------------------- normal form --


def _dnf(c: Condition, positive: bool) -> list[list[Literal]]:
    """``c`` (or its negation) as alternatives, each a list of literals."""
    if isinstance(c, Negation):
        return _dnf(c.operand, not positive)
    if isinstance(c, AllOf | AnyOf):
        conjunction = isinstance(c, AllOf) == positive
        parts = [_dnf(o, positive) for o in c.operands]
        if not conjunction:
            out = [t for p in parts for t in p]
        else:
            out = [[]]
            for p in parts:
                out = [a + b for a in out for b in p]
                if len(out) > MAX_TERMS:
                    raise _TooBig
        if len(out) > MAX_TERMS:
            raise _TooBig
        return out
    return [[(c, positive)]]


# ------------------------------------------------------------------- solving --


def _solve(term: list[Literal]) -> dict[str, Any] | None:
    """Facts satisfying every literal of ``term``, or None."""
    by_key: dict[str, list[Literal]] = {}
    for node, positive in term:
        key = node.key if isinstance(node, Atom | Exists) else ""
        by_key.setdefault(key, []).append((node, positive))
    facts: dict[str, Any] = {}
    for key, literals in by_key.items():
        value = _value_for(key, literals)
        if value is _NONE_FOUND:
            return None
        facts[key] = value
    return facts


_NONE_FOUND = object()


def _value_for(key: str, literals: list[Literal]) -> Any:
    """The first candidate for fact ``key`` that passes all its ``literals``."""
    for candidate in _candidates(key, literals):
        facts = _Defaults({key: candidate})
        if all(_passes(node, positive, facts) for node, positive in literals):
            return candidate
    return _NONE_FOUND


def _passes(node: Condition, positive: bool, facts: Mapping[str, Any]) -> bool:
    try:
        return trace.evaluate(node, facts) == positive
    except Exception:
        return False


def _candidates(key: str, literals: list[Literal]) -> Iterator[Any]:
    nodes = [n for n, _ in literals]
    if any(isinstance(n, Exists) for n in nodes):
        yield from _members(literals)
        return
    if key.endswith((".labels", ".coupons")):  # codes entered are a set like labels
        yield from _label_sets(literals)
        return
    if any(isinstance(n, Present) for n in nodes) and key.endswith(".absent"):
        yield from (False, True, None)
        return
    points: list[Any] = []
    for n in nodes:
        points.extend(_constants(n))
    seen: set[tuple[type, Any]] = set()
    for value in _around(points):
        marker = (type(value), value)
        if marker not in seen:
            seen.add(marker)
            yield value
    yield None


def _constants(n: Condition) -> list[Any]:
    if isinstance(n, Compare):
        return [n.value]
    if isinstance(n, OnDay):
        return [n.start, n.end]
    if isinstance(n, Between):
        return [n.low, n.high]
    if isinstance(n, In):
        return sorted(n.values, key=repr) if isinstance(n.values, frozenset) else []
    if isinstance(n, InDays):
        return list(n.bounds)
    return []


def _around(points: Iterable[Any]) -> Iterator[Any]:
    """Each value named, then its neighbours: just above and below, further out."""
    points = list(points)
    yield from points
    for v in points:
        if isinstance(v, bool):
            yield not v
        elif isinstance(v, Decimal):
            places = v.as_tuple().exponent
            unit = Decimal(1).scaleb(min(places, -2) if isinstance(places, int) else -2)
            yield from (v + unit, v - unit, v + 1, v - 1, v * 2 + 1)
        elif isinstance(v, int):
            yield from (v + 1, v - 1, v + 10, max(v - 10, 0))
        elif isinstance(v, datetime):
            for step in (timedelta(hours=12), timedelta(seconds=1), timedelta(days=2)):
                yield from (v + step, v - step)
        elif isinstance(v, str):
            yield f"{v}_other"
    yield from (Decimal("100.00"), 1, True, False, "other")


def _label_sets(literals: list[Literal]) -> Iterator[frozenset[str]]:
    """Label sets: the labels required, plus one of each ``has any label of``."""
    required: set[str] = set()
    forbidden: set[str] = set()
    choices: list[list[str]] = []
    for n, positive in literals:
        if isinstance(n, HasLabel):
            (required if positive != n.negated else forbidden).add(str(n.label))
        elif isinstance(n, HasAnyLabel):
            labels = [str(x) for x in n.labels]
            if positive != n.negated:
                choices.append(labels)
            else:
                forbidden.update(labels)
        elif isinstance(n, CouponIn):  # a code of the family: one of its codes, or a prefix's
            codes = sorted(n.codes) if isinstance(n.codes, frozenset) else []
            prefixes = sorted(n.prefixes) if isinstance(n.prefixes, frozenset) else []
            if positive != n.negated:
                choices.append(codes + [f"{p}1" for p in prefixes])
            else:
                forbidden.update(codes)
    if required & forbidden:
        return
    allowed = [[x for x in c if x not in forbidden] for c in choices]
    for n, combo in enumerate(product(*allowed)):
        if n >= _MAX_LABEL_SETS:
            return
        yield frozenset(required | set(combo))


def _members(literals: list[Literal]) -> Iterator[tuple[Mapping[str, Any], ...]]:
    """Members of a list fact: one that satisfies each ``any`` that must hold, none when
    every ``any`` on it must fail."""
    must = [n.condition for n, positive in literals if isinstance(n, Exists) and positive]
    must_not = [n.condition for n, positive in literals if isinstance(n, Exists) and not positive]
    if not must:
        yield ()
        return
    members = []
    for inner in must:
        member = example(inner)
        if member is None:
            return
        members.append(_Defaults(member))
    if all(not _holds(c, m) for c in must_not for m in members):
        yield tuple(members)
