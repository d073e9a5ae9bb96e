"""Whether one condition implies another, for deep lint (R320).

``implies(b, a)`` holds when every order for which ``b`` holds makes ``a``
hold too: ``b and not a`` is a contradiction. It is decided with the
machinery of R307 (:mod:`.satisfiability`): ``b`` and ``not a`` in
disjunctive normal form, and every conjunction of the product searched for
a label both required and excluded, or a field left with no value. A test
the machinery does not look into (``any item …``, ``order placed by
customer is true``) contradicts only its own negation, written the same way.

The answer is sound, not complete: True only when the implication holds;
False when it does not, when it could not be shown, or when the normal form
would exceed :data:`~.satisfiability.MAX_DNF_TERMS` conjunctions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rulec.dsl.check.context import Context
from rulec.dsl.check.satisfiability import MAX_DNF_TERMS, TooBig, contradictory, normal_form
from rulec.dsl.nodes import (
    Between,
    Compare,
    Condition,
    HasAnyLabel,
    HasCoupon,
    HasCouponIn,
    HasLabel,
    In,
    Is,
    Some,
)
from rulec.dsl.vocabulary import Vocabulary

__all__ = ["Implication", "Mention", "implies", "mentions"]

#: What a condition reads: ``("label", entity, name)`` or ``("field", entity, field)``
#: or ``("test", entity, "")`` for a test the search does not look into.
Mention = tuple[str, str, str]


def mentions(c: Condition | None) -> frozenset[Mention]:
    """The labels and fields ``c`` reads (a quick necessary test of implication:
    ``b`` can be shown to imply ``a`` only when it reads all that ``a`` reads)."""
    return frozenset(_mentions(c)) if c is not None else frozenset()


def _mentions(c: Condition) -> Iterator[Mention]:
    stack = [c]
    while stack:
        node = stack.pop()
        if isinstance(node, HasLabel):
            yield ("label", node.entity.text, node.label.text)
        elif isinstance(node, HasAnyLabel):
            yield from (("label", node.entity.text, n.text) for n in node.labels)
        elif isinstance(node, HasCoupon):
            yield ("coupon", node.entity.text, node.code.text.upper())
        elif isinstance(node, HasCouponIn):
            yield ("coupon family", node.entity.text, node.family.text)
        elif isinstance(node, Compare | Between | In):
            yield ("field", node.field.entity.text, node.field.field.text)
        elif isinstance(node, Some | Is):
            yield ("test", node.entity.text, "")
        else:
            stack.extend(o for o in getattr(node, "operands", ()))
            operand = getattr(node, "operand", None)
            if operand is not None:
                stack.append(operand)


class Implication:
    """``implies(b, a)``, with each condition's normal form worked out once (deep
    lint tests one rule against many)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.ctx = Context(vocabulary, ())
        self.forms: dict[tuple[int, bool], list[list[Any]] | None] = {}
        self.values: dict[Any, Any] = {}

    def form(self, c: Condition, positive: bool) -> list[list[Any]] | None:
        key = (id(c), positive)
        if key not in self.forms:
            try:
                self.forms[key] = normal_form(c, positive)
            except TooBig:
                self.forms[key] = None
        return self.forms[key]

    def __call__(self, b: Condition | None, a: Condition | None) -> bool:
        """Whether ``b`` implies ``a`` (None: no condition, true for every order)."""
        if a is None:
            return True
        if b is None:
            return False
        left, right = self.form(b, True), self.form(a, False)
        if left is None or right is None or len(left) * len(right) > MAX_DNF_TERMS:
            return False
        return all(_contradicts(tb + ta, self.ctx, self.values) for tb in left for ta in right)


def implies(b: Condition | None, a: Condition | None, vocabulary: Vocabulary) -> bool:
    """Whether ``b`` implies ``a`` (None: no condition, true for every order)."""
    return Implication(vocabulary)(b, a)


def _contradicts(term: list[Any], ctx: Context, values: dict[Any, Any]) -> bool:
    seen: dict[Any, bool] = {}
    for kind, what, positive in term:
        if kind == "opaque":
            if seen.get(what, positive) != positive:
                return True
            seen[what] = positive
    return contradictory(term, ctx, values)
