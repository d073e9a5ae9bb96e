"""The one discount policy: which of the matching rules' discounts apply.

1. Matching rules are ordered by priority (higher first), then source order.
2. Each rule's discount is computed from the *undiscounted* subtotal:
   a percentage (capped per rule) or a fixed amount in the order's currency
   (a fixed amount, or a cap, in another currency makes the rule not apply).
3. If an ``exclusive`` rule has a discount, the first such rule applies
   alone; every other discount loses.
4. Otherwise the best non-combinable discount applies (the largest amount;
   ties go to the earlier rule in the order of 1), plus every
   ``combinable`` discount stacked on it.
5. The total discount never exceeds the subtotal: the discounts applied
   last are reduced, so the total is never negative.

Label actions are not discounts: every matching rule of the event's own
label changes apply. Field settings: per field, the first matching rule of
the event's own in the order of 1 sets it; the others lose to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rulec.engine.core.decision import (
    AppliedDiscount,
    Decision,
    FieldChange,
    LostRule,
    RuleFailure,
)
from rulec.engine.core.money import minor_unit, percent_of, quantize
from rulec.engine.core.rules import FixedDiscount_, LabelChange_, PercentDiscount_, Rule_, SetField_

__all__ = ["order_rules", "rank", "resolve"]

ZERO = Decimal(0)

_BETTER = "a better discount applied: '{}'"
_EXCLUSIVE = "exclusive rule '{}' applied"
_FREE = "the order is already free"
_NONE = "no discount applies: {}"


def rank(rule: Rule_, position: int) -> tuple[int, int]:
    """The policy's order: priority (higher first), then source order."""
    return (-rule.priority, position)


def order_rules(rules: Sequence[Rule_], position: dict[int, int]) -> list[Rule_]:
    """``rules`` in the policy's order (``position``: id(rule) -> its place in the source)."""
    return sorted(rules, key=lambda r: rank(r, position[id(r)]))


def _applied(
    rule: Rule_, kind: str, pct: Decimal | None, amount: Decimal, text: str, capped: bool
) -> AppliedDiscount:
    return AppliedDiscount(rule.name, rule.file, rule.line, kind, pct, amount, text, capped)


def _lost(rule: Rule_, reason: str, line: int | None = None) -> LostRule:
    return LostRule(rule.name, rule.file, rule.line if line is None else line, reason)


def _line_of(rule: Rule_, n: int) -> int:
    """The line of ``rule``'s action ``n`` (a block rule's actions have lines of their own)."""
    lines = rule.action_lines
    return lines[n] if n < len(lines) else rule.line


#: One discount a rule offers: (rule, kind, percentage, amount, description, capped).
_Row = tuple[Rule_, str, Decimal | None, Decimal, str, bool]


def _offer(rule: Rule_, subtotal: Decimal, currency: str) -> tuple[list[_Row], str, int]:
    """The discounts of one rule for this order, or the reason why there are none and
    the line of the action it is about (no rows and no reason: the rule has no
    discount action)."""
    out: list[_Row] = []
    reason = ""
    line = rule.line
    for n, a in enumerate(rule.actions):
        if type(a) is PercentDiscount_:
            amount = percent_of(subtotal, a.percent, currency)
            capped = False
            if a.cap is not None:
                if a.cap_currency != currency:
                    reason = f"its cap is in {a.cap_currency}, the order in {currency}"
                    line = _line_of(rule, n)
                    continue
                if amount > a.cap:
                    amount, capped = quantize(a.cap, currency), True
            out.append((rule, "percentage", a.percent, amount, a.title, capped))
        elif type(a) is FixedDiscount_:
            if a.currency != currency:
                reason = f"its amount is in {a.currency}, the order in {currency}"
                line = _line_of(rule, n)
                continue
            out.append((rule, "fixed", None, quantize(a.amount, currency), a.title, False))
    return out, reason, line


def _effects(
    rules: Sequence[Rule_], event: str
) -> tuple[list[LabelChange_], list[FieldChange], list[LostRule]]:
    """The label changes and field settings of the event's own ``rules``, and the
    rules whose setting another overrules.

    Every label change applies; per field, the first setting in priority
    order does. Only the event's own rules have effects: deciding an order
    again (``order_updated`` runs the ``order_created`` rules too)
    recomputes its discounts but does not redo creation's label changes, or
    set its status back to what creation set over what the back office did
    since.
    """
    labels: list[LabelChange_] = []
    chosen: dict[tuple[str, str], FieldChange] = {}
    overruled: list[LostRule] = []
    for r in rules:
        if r.event != event:
            continue
        for n, a in enumerate(r.actions):
            if type(a) is LabelChange_:
                labels.append(a)
            elif type(a) is SetField_:
                first = chosen.get((a.entity, a.field))
                if first is None:
                    chosen[a.entity, a.field] = FieldChange(
                        a.entity, a.field, a.value, r.name, r.file, _line_of(r, n)
                    )
                elif first.value != a.value:
                    what = f"{a.entity} {a.field.replace('_', ' ')}"
                    reason = f"{what} is set by rule '{first.rule}'"
                    overruled.append(_lost(r, reason, _line_of(r, n)))
    return labels, list(chosen.values()), overruled


def resolve(
    event: str,
    version: str,
    matched: Sequence[Rule_],
    subtotal: Decimal,
    currency: str,
    errors: Sequence[RuleFailure] = (),
    refused: Sequence[LostRule] = (),
) -> Decision:
    """The decision the policy makes from the ``matched`` rules, already in its order;
    ``refused``: the records of matching rules the database shell refused a use."""
    minor_unit(currency)  # an unknown currency is an error, match or not
    if not matched:
        return Decision(event, version, currency, subtotal, lost=refused, errors=errors)
    losses: list[LostRule] = [*refused] if refused else []
    offers: list[tuple[Rule_, list[_Row], Decimal]] = []
    for r in matched:
        rows, reason, line = _offer(r, subtotal, currency)
        if len(rows) == 1:
            offers.append((r, rows, rows[0][3]))
        elif rows:
            offers.append((r, rows, sum([row[3] for row in rows], ZERO)))
        elif reason:
            losses.append(_lost(r, _NONE.format(reason), line))

    if offers and subtotal <= ZERO:
        # nothing to take off: every discount says so, and none won over another
        losses += [_lost(o[0], _FREE) for o in offers]
        offers = []

    chosen: list[tuple[Rule_, list[_Row], Decimal]] = []
    exclusive = None
    for o in offers:
        if o[0].exclusive:
            exclusive = o
            break
    if exclusive is not None:
        chosen.append(exclusive)
        name = exclusive[0].name
        losses += [_lost(o[0], _EXCLUSIVE.format(name)) for o in offers if o is not exclusive]
    else:
        best = None
        stacked = []
        for o in offers:  # the first of the largest wins ties
            if o[0].combinable:
                stacked.append(o)
            elif best is None or o[2] > best[2]:
                best = o
        if best is not None:
            chosen.append(best)
            if len(offers) > 1:
                name = best[0].name
                losses += [
                    _lost(o[0], _BETTER.format(name))
                    for o in offers
                    if o is not best and not o[0].combinable
                ]
        chosen += stacked

    applied: list[AppliedDiscount] = []
    left = subtotal
    for _rule, rows, _total in chosen:
        for rule, kind, pct, amount, text, capped in rows:
            if left <= ZERO:
                losses.append(_lost(rule, _FREE))
                continue
            if amount > left:  # never more than what is left: the total stays >= 0
                amount, capped = left, True
            applied.append(_applied(rule, kind, pct, amount, text, capped))
            left -= amount
    labels, settings, overruled = _effects(matched, event)
    return Decision(
        event,
        version,
        currency,
        subtotal,
        applied,
        losses + overruled,
        labels,
        errors,
        [r.name for r in matched],
        settings,
    )
