"""What became of each coupon code a customer entered, and rules refused a use.

A code gives a discount through the rules whose conditions test it
(``order has coupon "SPRING10"``). When it gives none, the customer is owed
a reason, and the backend a stable code to act on (see
:class:`~rulec.engine.core.decision.CouponOutcome`). The reasons are read off
the decision itself, never worked out a second way: the rule that applied,
the loss the policy recorded, the window the matcher judged, the refusal the
database shell made for a usage limit, or else the tests of the rule's
condition that were false, from the tracing interpreter.

A rule the database shell refuses (its usage limit or budget is spent) is
taken out of the matching rules before the policy runs, and recorded as lost
with that reason: :func:`refuse`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import frozen

from rulec.dsl import trace
from rulec.dsl.lower import REFUSALS, Limits
from rulec.dsl.lowered import AllOf, AnyOf, Condition, CouponIn, Exists, HasLabel, Negation
from rulec.engine.core.decision import CouponOutcome, Decision, LostRule
from rulec.engine.core.rules import Rule_
from rulec.engine.core.wording import instant, value_words, words

__all__ = [
    "REFUSALS",
    "Codes",
    "Refusal",
    "budget_spent",
    "code_limit_reached",
    "codes_of",
    "coupon_outcomes",
    "customer_limit_reached",
    "limit_reached",
    "refusal",
    "refuse",
    "unlocking",
]

COUPONS = "order.coupons"


@frozen
class Refusal:
    """Why the database shell refused a rule a use: ``limit_reached``,
    ``customer_limit_reached``, ``code_limit_reached`` or ``budget_spent``, and the
    reason in words."""

    reason_code: str
    reason: str


def limit_reached(uses: int) -> Refusal:
    """The rule's uses in total are all taken."""
    return Refusal("limit_reached", f"the code was used its {_times(uses)}: none is left")


def customer_limit_reached(uses: int, *, no_customer: bool = False) -> Refusal:
    """The customer has used the rule ``uses`` times (or the order has no customer)."""
    if no_customer:
        why = f"the code is limited to {_times(uses)} per customer, and the order has no customer"
        return Refusal("customer_limit_reached", why)
    return Refusal(
        "customer_limit_reached", f"the customer has used the code {_times(uses)} already"
    )


def code_limit_reached(uses: int, code: str | None = None) -> Refusal:
    """The code entered was used ``uses`` times (``limit 1 use per code``)."""
    which = f"the code {code}" if code is not None else "the code"
    return Refusal("code_limit_reached", f"{which} was used its {_times(uses)}: none is left")


def budget_spent(budget: Decimal, currency: str) -> Refusal:
    """The rule's budget in ``currency`` would be exceeded."""
    return Refusal("budget_spent", f"the promotion's budget of {budget} {currency} is spent")


def refusal(reason_code: str, limits: Limits | None, currency: str) -> Refusal | None:
    """The refusal the database shell makes for ``reason_code`` (one of
    :data:`REFUSALS`) of a rule with ``limits``, in an order in ``currency``;
    None when the rule has no such limit (it is never refused so). A test
    states one (``given rule "Spring" limit_reached``) to decide an order as
    the database would once the limit is reached."""
    if limits is None:
        return None
    if reason_code == "limit_reached" and limits.uses is not None:
        return limit_reached(limits.uses)
    if reason_code == "customer_limit_reached" and limits.per_customer is not None:
        return customer_limit_reached(limits.per_customer)
    if reason_code == "code_limit_reached" and limits.per_code is not None:
        return code_limit_reached(limits.per_code)
    budget = limits.budget(currency)
    if reason_code == "budget_spent" and budget is not None:
        return budget_spent(budget, currency)
    return None


def _times(n: int) -> str:
    return "1 time" if n == 1 else f"{n} times"


@frozen
class Codes:
    """The codes a rule's condition requires: exact codes, and the families it tests
    (``order has coupon in Partner``). ``code in codes`` for an upper-case code."""

    exact: frozenset[str] = frozenset()
    families: tuple[CouponIn, ...] = ()

    def __contains__(self, code: object) -> bool:
        return code in self.exact or any(f.accepts(str(code)) for f in self.families)

    def __bool__(self) -> bool:
        return bool(self.exact or self.families)


def codes_of(condition: Condition | None) -> Codes:
    """The codes a condition requires (``has coupon``, ``has coupon in``, not under a
    negation)."""
    out: set[str] = set()
    families: list[CouponIn] = []
    stack: list[tuple[Condition, bool]] = [(condition, False)] if condition is not None else []
    while stack:
        node, negated = stack.pop()
        if isinstance(node, HasLabel):
            if node.key.endswith(".coupons") and node.negated == negated:
                out.add(str(node.label))
        elif isinstance(node, CouponIn):
            if node.negated == negated:
                families.append(node)
        elif isinstance(node, AllOf | AnyOf):
            stack.extend((c, negated) for c in node.operands)
        elif isinstance(node, Negation):
            stack.append((node.operand, not negated))
        elif isinstance(node, Exists):
            stack.append((node.condition, negated))
    return Codes(frozenset(out), tuple(families))


def unlocking(d: Decision, rules: Iterable[Rule_]) -> dict[str, str]:
    """Per rule ``d`` applied, the code entered that unlocked it: one its condition
    accepts (the first in alphabetical order); rules applied without a code are left out."""
    if not d.coupons:
        return {}
    applied = {a.rule for a in d.applied}
    out: dict[str, str] = {}
    for r in rules:
        if r.name in applied and r.name not in out:
            accepted = codes_of(r.condition)
            code = next((c.code for c in d.coupons if c.code in accepted), None)
            if code is not None:
                out[r.name] = code
    return out


def refuse(
    held: Sequence[Rule_], refused: Mapping[str, Refusal]
) -> tuple[list[Rule_], list[LostRule]]:
    """``held`` without the rules the database shell refused, and their records."""
    kept: list[Rule_] = []
    lost: list[LostRule] = []
    for r in held:
        why = refused.get(r.name)
        if why is None:
            kept.append(r)
        else:
            lost.append(LostRule(r.name, r.file, r.line, why.reason))
    return kept, lost


def coupon_outcomes(
    codes: frozenset[str],
    rules: Sequence[Rule_],
    d: Decision,
    facts: Mapping[str, Any],
    moment: datetime | None,
    refused: Mapping[str, Refusal],
) -> tuple[CouponOutcome, ...]:
    """Each entered code's outcome, in code order. ``rules``: the event's rules in
    the policy's order; ``moment``: the instant their windows were judged at."""
    testing = [(r, codes_of(r.condition)) for r in rules]
    return tuple(_one(c, testing, d, facts, moment, refused) for c in sorted(codes))


def _one(
    code: str,
    testing: Sequence[tuple[Rule_, Codes]],
    d: Decision,
    facts: Mapping[str, Any],
    moment: datetime | None,
    refused: Mapping[str, Refusal],
) -> CouponOutcome:
    taking = [r for r, codes in testing if code in codes]
    if not taking:
        return CouponOutcome(code, "unknown", f"the code {code} is not a promotion of this shop")
    matched = set(d.matched)
    for r in taking:
        if r.name in matched and any(a.rule == r.name for a in d.applied):
            return CouponOutcome(code, "applied", f"applied by rule '{r.name}'", r.name)
    for r in taking:
        why = refused.get(r.name)
        if why is not None:
            return CouponOutcome(code, why.reason_code, why.reason, r.name)
    for r in taking:
        lost = [x.reason for x in d.lost if x.rule == r.name]
        if lost:
            return CouponOutcome(code, "lost", "; ".join(lost), r.name)
    for r in taking:
        if r.name in matched:  # held, with nothing to take off (a label, a setting)
            return CouponOutcome(code, "applied", f"taken by rule '{r.name}'", r.name)
    open_ = [r for r in taking if moment is None or r.valid_at(moment)]
    if not open_:
        r = taking[0]
        if moment is not None and r.valid_from is not None and moment < r.valid_from:
            return CouponOutcome(
                code, "not_yet_valid", f"the code is valid from {instant(r.valid_from)}", r.name
            )
        until = instant(r.valid_until) if r.valid_until is not None else "?"
        return CouponOutcome(code, "expired", f"the code expired at {until}", r.name)
    r = open_[0]
    return CouponOutcome(code, "conditions_not_met", _unmet(r, facts), r.name)


def _unmet(r: Rule_, facts: Mapping[str, Any]) -> str:
    """The tests of ``r``'s condition that were false, the code's own left out."""
    false: list[str] = []

    def heard(atom: Any, value: Any, result: bool) -> None:
        if not result and atom.key != COUPONS:
            line = f"{words(atom.describe())} ({words(atom.key)}: {value_words(value)})"
            if line not in false:
                false.append(line)

    try:
        trace.evaluate(r.condition, facts, heard)
    except Exception:
        return f"rule '{r.name}' could not be evaluated"
    if not false:
        return f"the conditions of rule '{r.name}' are not met"
    return "needs " + "; and ".join(false)
