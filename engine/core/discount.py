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

Rules in a stacking group (``in group X``) compete within their group
instead, each group on its own base, and the groups' winners stack after
the default group's (rules in no group, decided as in 4): see
:mod:`rulec.engine.core.stacking`.

Shipping discounts (``free shipping``, ``… on shipping``) come off the
shipping charge, not the subtotal: they are decided apart, by the same steps
(:mod:`rulec.engine.core.shipping`), and applied after the order's.

Label actions are not discounts: every matching rule of the event's own
label changes apply. Field settings: per field, the first matching rule of
the event's own in the order of 1 sets it; the others lose to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import Any

from rulec.dsl.currencies import MINOR_UNITS
from rulec.engine.core.decision import (
    AppliedDiscount,
    Decision,
    FieldChange,
    LostRule,
    RuleFailure,
)
from rulec.engine.core.lines import Line, line_parts, order_lines
from rulec.engine.core.money import (
    allocate,
    minor_unit,
    payable,
    percent_of,
    quantize,
    zero,
)
from rulec.engine.core.rules import (
    BuyGet_,
    FixedDiscount_,
    ItemsPercent_,
    LabelChange_,
    PercentDiscount_,
    PerItem_,
    Rule_,
    SetField_,
    ShippingDiscount_,
    Tiered_,
)
from rulec.engine.core.shipping import Offer, resolve_shipping
from rulec.engine.core.stacking import best_of, in_groups, stacked

__all__ = ["order_rules", "rank", "resolve"]

ZERO = Decimal(0)
_NAME = attrgetter("name")

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


def _applied(row: _Row, amount: Decimal, capped: bool, parts: Sequence[Decimal]) -> AppliedDiscount:
    rule, kind, pct, _amount, text, _capped, _parts, detail = row
    return AppliedDiscount(
        rule.name, rule.file, rule.line, kind, pct, amount, text, capped, parts, detail
    )


def _lost(rule: Rule_, reason: str, line: int | None = None) -> LostRule:
    return LostRule(rule.name, rule.file, rule.line if line is None else line, reason)


def _line_of(rule: Rule_, n: int) -> int:
    """The line of ``rule``'s action ``n`` (a block rule's actions have lines of their own)."""
    lines = rule.action_lines
    return lines[n] if n < len(lines) else rule.line


#: One discount a rule offers: (rule, kind, percentage, amount, description, capped,
#: its amount on each line for a discount on lines (None: on the whole order), detail).
_Row = tuple[Rule_, str, Decimal | None, Decimal, str, bool, list[Decimal] | None, str | None]
#: A rule's offer: the rule, its discounts' rows, their total.
_Offer = tuple[Rule_, list[_Row], Decimal]


def _offer(
    rule: Rule_,
    subtotal: Decimal,
    currency: str,
    lines: Sequence[Line],
    unusable: str,
    ships: list[Offer],
) -> tuple[list[_Row], str, int]:
    """The discounts of one rule for this order, or the reason why there are none and
    the line of the action it is about (no rows and no reason: the rule has no
    discount action). ``unusable``: why the order's lines cannot be discounted.
    Its shipping discounts go to ``ships``, for the shipping policy."""
    out: list[_Row] = []
    reason = ""
    line = rule.line
    for n, a in enumerate(rule.actions):
        kind = type(a)
        if kind is PercentDiscount_:
            amount = percent_of(subtotal, a.percent, currency)
            capped = False
            if a.cap is not None:
                if a.cap_currency != currency:
                    reason = f"its cap is in {a.cap_currency}, the order in {currency}"
                    line = _line_of(rule, n)
                    continue
                if amount > a.cap:
                    amount, capped = quantize(a.cap, currency), True
            out.append((rule, "percentage", a.percent, amount, a.title, capped, None, None))
        elif kind is FixedDiscount_:
            if a.currency != currency:
                reason = f"its amount is in {a.currency}, the order in {currency}"
                line = _line_of(rule, n)
                continue
            out.append(
                (rule, "fixed", None, quantize(a.amount, currency), a.title, False, None, None)
            )
        elif kind is ItemsPercent_ or kind is PerItem_ or kind is BuyGet_:
            why = unusable
            if not why:
                parts, why, capped, detail = line_parts(a, lines, currency)
                amount = sum(parts, zero(currency))
                if not why and not amount:
                    why = "the items it is on cost nothing"
            if why:
                reason, line = why, _line_of(rule, n)
                continue
            pct = a.percent if kind is ItemsPercent_ else None
            out.append((rule, a.kind, pct, amount, a.title, capped, parts, detail or None))
        elif kind is Tiered_:
            row, why = _tier(rule, a, subtotal, currency)
            if row is None:
                reason, line = why, _line_of(rule, n)
                continue
            out.append(row)
        elif kind is ShippingDiscount_:
            ships.append((rule, a, _line_of(rule, n)))
    return out, reason, line


def _tier(rule: Rule_, a: Tiered_, subtotal: Decimal, currency: str) -> tuple[_Row | None, str]:
    """The row of the highest tier ``subtotal`` reaches, or why none applies."""
    mine = [t for t in a.tiers if t.currency == currency]
    if not mine:
        return None, f"its tiers are in {a.tiers[0].currency}, the order in {currency}"
    reached = None
    for t in mine:
        if subtotal >= t.threshold:
            reached = t
    if reached is None:
        low = quantize(mine[0].threshold, currency)
        return None, f"the subtotal {subtotal} {currency} is below its lowest tier, from {low}"
    detail = f"tier from {quantize(reached.threshold, currency)} {currency}"
    if reached.percent is not None:
        amount = percent_of(subtotal, reached.percent, currency)
        return (rule, "percentage", reached.percent, amount, a.title, False, None, detail), ""
    assert reached.amount is not None
    if reached.amount_currency != currency:
        return None, f"its {detail} is in {reached.amount_currency}, the order in {currency}"
    amount = quantize(reached.amount, currency)
    return (rule, "fixed", None, amount, a.title, False, None, detail), ""


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
    items: Sequence[Mapping[str, Any]] = (),
    shipping: Any = None,
) -> Decision:
    """The decision the policy makes from the ``matched`` rules, already in its order;
    ``refused``: the records of matching rules the database shell refused a use;
    ``items``: the order's lines (``item.all``), for the discounts on lines and
    for each line's share of the order's discount; ``shipping``: the order's
    shipping charge as given (None or 0: none), checked as the subtotal is
    (:func:`~rulec.engine.core.money.payable`, MoneyError), for the shipping
    discounts and the figures.
    """
    if currency not in MINOR_UNITS:
        minor_unit(currency)  # an unknown currency is an error, match or not
    lines: tuple[Line, ...] = ()
    unusable = "the order has no lines"
    if items:
        lines, unusable = order_lines(items, currency, subtotal)
    totals = [line.total for line in lines] if not unusable else []
    if not matched:
        charge = payable(shipping, currency, "order.shipping") if shipping else ZERO
        return Decision(
            event,
            version,
            currency,
            subtotal,
            lost=refused,
            errors=errors,
            line_totals=totals,
            shipping_amount=charge,
        )
    losses: list[LostRule] = [*refused] if refused else []
    offers: list[_Offer] = []
    ships: list[Offer] = []
    for r in matched:
        rows, reason, line = _offer(r, subtotal, currency, lines, unusable, ships)
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

    chosen: list[_Offer] = []
    bases = None
    exclusive = None
    for o in offers:
        if o[0].exclusive:
            exclusive = o
            break
    if exclusive is not None:
        chosen.append(exclusive)
        name = exclusive[0].name
        losses += [_lost(o[0], _EXCLUSIVE.format(name)) for o in offers if o is not exclusive]
    elif not any([o[0].group is not None for o in offers]):
        chosen = best_of(offers, losses, _BETTER)
    else:  # stacking groups: the best of each, on its base (rulec.engine.core.stacking)

        def offer_on(rule: Rule_, base: Decimal) -> _Offer | None:
            # its shipping discounts were taken once, above: not again on this base
            rows, reason, line = _offer(rule, base, currency, lines, unusable, [])
            if rows:
                return (rule, rows, sum([row[3] for row in rows], ZERO))
            if reason.startswith("the subtotal "):  # a tier: judged on the group's base
                reason = "its group's base " + reason[len("the subtotal ") :]
            losses.append(_lost(rule, _NONE.format(reason), line))
            return None

        chosen, bases = stacked(offers, losses, subtotal, offer_on, _BETTER)

    applied, freed = _apply(chosen, subtotal, currency, totals)
    losses += freed
    if bases is not None:
        applied = in_groups(applied, bases)
    if shipping or ships:  # rare: the shipping charge, and the discounts off it
        shipping = payable(shipping, currency, "order.shipping") if shipping else ZERO
        if ships:  # apart from the order's discounts
            shipped, unshipped = resolve_shipping(ships, shipping, currency)
            applied += shipped
            losses += unshipped
    labels: list[LabelChange_] = []
    settings: list[FieldChange] = []
    overruled: list[LostRule] = []
    for r in matched:
        if r.effects:  # label changes and settings: rare beside discounts
            labels, settings, overruled = _effects(matched, event)
            break
    return Decision(
        event,
        version,
        currency,
        subtotal,
        applied,
        losses + overruled,
        labels,
        errors,
        list(map(_NAME, matched)),
        settings,
        line_totals=totals,
        shipping_amount=shipping or ZERO,  # with a charge, the figures count it
    )


def _apply_whole(
    chosen: Sequence[tuple[Rule_, list[_Row], Decimal]], subtotal: Decimal
) -> tuple[list[AppliedDiscount], list[LostRule]]:
    """:func:`_apply` for an order without line shares to work out (no lines given,
    so no discount on lines either): each discount never more than what is left of
    the subtotal. The same as :func:`_apply`'s first loop, without its bookkeeping
    of lines, on the public path of every order given without lines (the README's):
    bench/instructions.py, docs/performance.md."""
    applied: list[AppliedDiscount] = []
    freed: list[LostRule] = []
    left = subtotal
    for _rule, rows, _total in chosen:
        for row in rows:
            amount, capped = row[3], row[5]
            if left <= ZERO:
                freed.append(_lost(row[0], _FREE))
                continue
            if amount > left:  # never more than what is left: the total stays >= 0
                amount, capped = left, True
            applied.append(_applied(row, amount, capped, ()))
            left -= amount
    return applied, freed


def _apply(
    chosen: Sequence[tuple[Rule_, list[_Row], Decimal]],
    subtotal: Decimal,
    currency: str,
    totals: Sequence[Decimal],
) -> tuple[list[AppliedDiscount], list[LostRule]]:
    """The chosen discounts, applied in order, each never more than what is left of
    the subtotal, nor of a line; then each one's share of each line (``totals``:
    the lines' costs; none: no shares).

    A discount on lines takes its own amount off each line. The discounts on
    the whole order are shared over what the discounts on lines leave of each
    line, in proportion (:func:`~rulec.engine.core.money.allocate`, exact to
    the cent): their sum first, so that each line's share of the order's
    discount does not depend on how many discounts make it up, then that
    share split between them in the order they applied.
    """
    if not totals:
        return _apply_whole(chosen, subtotal)
    kept: list[tuple[_Row, Decimal, bool, list[Decimal] | None]] = []
    freed: list[LostRule] = []
    left = subtotal
    remaining = list(totals)  # what the discounts on lines leave of each line
    for _rule, rows, _total in chosen:
        for row in rows:
            rule, _kind, _pct, amount, _text, capped, parts, _detail = row
            if left <= ZERO:
                freed.append(_lost(rule, _FREE))
                continue
            shares = None
            if parts is not None:  # on lines: never more than what is left of each
                shares = [min(p, r) for p, r in zip(parts, remaining, strict=True)]
                taken = sum(shares, zero(currency))
                if taken > left:  # nor than what is left of the order
                    shares = allocate(left, shares, currency)
                    taken = left
                if not taken:
                    freed.append(_lost(rule, _FREE))
                    continue
                if taken < amount:
                    capped = True
                amount = taken
                remaining = [r - p for r, p in zip(remaining, shares, strict=True)]
            elif amount > left:  # never more than what is left: the total stays >= 0
                amount, capped = left, True
            kept.append((row, amount, capped, shares))
            left -= amount
    whole = [k[1] for k in kept if k[3] is None]
    if remaining and whole:
        # the order's discounts over what is left of each line, then between them
        pool = allocate(sum(whole, ZERO), remaining, currency)
        unshared = len(whole)
        for n, (row, amount, capped, shares) in enumerate(kept):
            if shares is None:
                unshared -= 1
                if unshared:  # its part of the pool; the last one takes what is left
                    shares = allocate(amount, pool, currency)
                    pool = [p - s for p, s in zip(pool, shares, strict=True)]
                else:
                    shares = pool
                kept[n] = (row, amount, capped, shares)
    applied = [_applied(row, amount, capped, shares or ()) for row, amount, capped, shares in kept]
    return applied, freed
