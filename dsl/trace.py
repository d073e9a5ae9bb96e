"""The tracing interpreter: a lowered condition evaluated atom by atom.

:func:`evaluate` means what the compiled test of the same condition means
(:mod:`rulec.dsl.compiler`), step for step: it reads the same facts in the
same order, short-circuits where the compiled code does, and so raises where
and as it raises. Property tests hold the two equal (tests/dsl/test_trace.py),
which makes it the oracle of the compiled form, and the way explain,
coverage and a rule failure's report see inside a condition:

- ``on_atom(atom, value, result)`` is called for every atom evaluated, with
  the fact value it read and its result (an atom that raises is not
  reported: :func:`raising` names it);
- ``on_member(exists, index, member)`` is called before the atoms of each
  member of an ``any ENTITY …`` are evaluated, so a tracer knows which
  member the following atoms are about (their values are that member's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rulec.dsl.lowered import (
    INLINE_LABELS,
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

__all__ = ["OnAtom", "OnMember", "evaluate", "raising"]

#: ``on_atom(atom, value, result)``: an atom was evaluated.
OnAtom = Callable[[Atom, Any, bool], object]
#: ``on_member(exists, index, member)``: the atoms of member ``index`` come next.
OnMember = Callable[[Exists, int, Mapping[str, Any]], object]


def evaluate(
    condition: Condition | None,
    facts: Mapping[str, Any],
    on_atom: OnAtom | None = None,
    on_member: OnMember | None = None,
) -> bool:
    """Whether ``condition`` holds for the flat ``facts`` (None: no condition, it holds)."""
    if condition is None:
        return True
    return bool(_Run(on_atom, on_member).run(condition, facts))


def raising(condition: Condition | None, facts: Mapping[str, Any]) -> Condition | None:
    """The atom (or the ``any``, reading its list) that raises on ``facts``; None if none does.

    What a rule failure is reported with: the part of the condition that
    raised, with its span (its line), found by evaluating the condition again.
    """
    if condition is None:
        return None
    run = _Run(None, None)
    try:
        run.run(condition, facts)
    except Exception:
        return run.current
    return None


class _Run:
    """One evaluation: the callbacks and the atom being evaluated."""

    def __init__(self, on_atom: OnAtom | None, on_member: OnMember | None) -> None:
        self.on_atom = on_atom
        self.on_member = on_member
        #: The atom, or the ``any``, being evaluated.
        self.current: Condition | None = None

    def run(self, node: Condition, facts: Mapping[str, Any]) -> Any:
        kind = type(node)
        if kind is AllOf:
            assert isinstance(node, AllOf)
            return all(self.run(operand, facts) for operand in node.operands)
        if kind is AnyOf:
            assert isinstance(node, AnyOf)
            return any(self.run(operand, facts) for operand in node.operands)
        if kind is Negation:
            assert isinstance(node, Negation)
            return not self.run(node.operand, facts)
        if kind is Exists:
            assert isinstance(node, Exists)
            return self.exists(node, facts)
        assert isinstance(node, Atom)
        self.current = node
        value, result = _ATOMS[kind](node, facts)
        if self.on_atom is not None:
            self.on_atom(node, value, result)
        return result

    def exists(self, node: Exists, facts: Mapping[str, Any]) -> bool:
        """``SOME_(facts[key], test)``: ``any(test(m) for m in members)``."""
        self.current = node
        for index, member in enumerate(facts[node.key]):
            if self.on_member is not None:
                self.on_member(node, index, member)
            if self.run(node.condition, member):
                return True
        return False


# Each atom: (the value read, the result), computed as the compiled code does.


def _present(atom: Present, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    absent = facts.get(atom.key)  # GET_(facts, key)
    return absent, not absent


def _has_label(atom: HasLabel, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    labels = facts[atom.key]
    if atom.negated:
        return labels, atom.label not in labels
    return labels, atom.label in labels


def _has_any_label(atom: HasAnyLabel, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    labels = facts[atom.key]
    if len(atom.labels) <= INLINE_LABELS:  # c0 in labels or c1 in labels …
        found = False
        for name in atom.labels:
            if name in labels:
                found = True
                break
    else:  # ANY_(FS(labels), present)
        found = not frozenset(atom.labels).isdisjoint(labels)
    return labels, found != atom.negated


def _coupon_in(atom: CouponIn, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    codes = facts[atom.key]  # CODE_IN_(codes, c0, c1)
    found = not atom.codes.isdisjoint(codes) or any(  # type: ignore[union-attr]
        c.startswith(tuple(atom.prefixes))  # type: ignore[arg-type]
        for c in codes
    )
    return codes, found != atom.negated


def _compare(atom: Compare, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    x = facts[atom.key]
    if atom.guarded and x is None:
        return x, False
    v = atom.value
    op = atom.op
    if op == "=":
        result = x == v
    elif op == "!=":
        result = x != v
    elif op == "<":
        result = x < v
    elif op == "<=":
        result = x <= v
    elif op == ">":
        result = x > v
    else:
        result = x >= v
    return x, result


def _on_day(atom: OnDay, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    x = facts[atom.key]
    if x is None:
        return x, False
    start, end = atom.start, atom.end
    op = atom.op
    if op == "=":
        result = start <= x < end
    elif op == "!=":
        result = not start <= x < end
    elif op == "<":
        result = x < start
    elif op == "<=":
        result = x < end
    elif op == ">":
        result = x >= end
    else:
        result = x >= start
    return x, result


def _between(atom: Between, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    x = facts[atom.key]
    if x is None:
        return x, False
    low, high = atom.low, atom.high
    inside = low <= x < high if atom.open_high else low <= x <= high
    return x, (not inside) if atom.negated else inside


def _in(atom: In, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    x = facts[atom.key]
    if atom.negated:
        return x, x not in atom.values
    return x, x in atom.values


def _in_days(atom: InDays, facts: Mapping[str, Any]) -> tuple[Any, bool]:
    x = facts[atom.key]
    if x is None:
        return x, False
    found = False
    for start, end in atom.members():
        if (x == start) if end is None else (start <= x < end):
            found = True
            break
    return x, found != atom.negated


_ATOMS: dict[type, Callable[[Any, Mapping[str, Any]], tuple[Any, bool]]] = {
    Present: _present,
    HasLabel: _has_label,
    HasAnyLabel: _has_any_label,
    CouponIn: _coupon_in,
    Compare: _compare,
    OnDay: _on_day,
    Between: _between,
    In: _in,
    InDays: _in_days,
}
