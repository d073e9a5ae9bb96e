"""The shipping policy: which of the matching rules' shipping discounts apply.

A shipping discount (``free shipping "title"``, ``discount 50% on shipping
"title"``, ``discount 4.95 EUR on shipping "title"``) comes off the order's
shipping charge (``order.shipping``), never off its subtotal. Shipping
discounts are decided apart from the discounts on the order
(:mod:`rulec.engine.core.discount`), by the same steps:

1. They are taken in the discount policy's order (priority, higher first,
   then source order).
2. Each is worked out from the whole shipping charge: all of it (``free
   shipping``), a percentage of it (rounded half-up to the minor unit), or
   a fixed amount in the order's currency, never more than the charge (in
   another currency the rule does not apply). ``discount 4.95 EUR on
   shipping`` on a charge of 3.90 EUR is 3.90 EUR, as much as free shipping.
3. If an ``exclusive`` rule has a shipping discount, the first such rule's
   applies alone among the shipping discounts; every other one loses.
4. Otherwise the best non-combinable shipping discount applies (the largest
   amount; ties go to the earlier rule in the order of 1), plus every
   ``combinable`` one stacked on it.
5. The shipping discounts never exceed the shipping charge: those applied
   last are reduced (and one with nothing left to take loses).

An order without a shipping charge (none given, or zero) has nothing to
take off: every shipping discount is lost, with the reason "the order has
no shipping charge".

Exclusivity and stacking hold within each kind of discount: an exclusive
discount on the order does not take free shipping away, nor does an
exclusive shipping discount take the order's discounts away. That is what
a Shopify or commercetools user expects: Shopify's shipping discounts are a
class of their own that combines with order discounts, and commercetools
targets the shipping with cart discounts of their own. A rule whose
discount on the order lost may still give its shipping discount, and the
other way round; each part that loses is recorded as lost with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rulec.engine.core.decision import SHIPPING_KINDS, AppliedDiscount, LostRule
from rulec.engine.core.money import percent_of, quantize
from rulec.engine.core.rules import Rule_, ShippingDiscount_

__all__ = ["NO_CHARGE", "SHIPPING_KINDS", "Offer", "resolve_shipping"]

ZERO = Decimal(0)

#: Why a shipping discount does not apply to an order without a shipping charge.
NO_CHARGE = "the order has no shipping charge"
_BETTER = "a better shipping discount applied: '{}'"
_EXCLUSIVE = "exclusive rule '{}' applied to the shipping"
_FREE = "the shipping is already free"
_CURRENCY = "no discount applies: its amount is in {}, the order in {}"

#: One shipping discount a matching rule offers: the rule, the action, its line.
Offer = tuple[Rule_, ShippingDiscount_, int]
#: One worked out: the rule, the action, its line, its amount.
_Row = tuple[Rule_, ShippingDiscount_, int, Decimal]


def _lost(rule: Rule_, line: int, reason: str) -> LostRule:
    return LostRule(rule.name, rule.file, line, reason)


def _amount(a: ShippingDiscount_, shipping: Decimal, currency: str) -> Decimal:
    if a.percent is not None:
        return percent_of(shipping, a.percent, currency)
    if a.amount is None:  # free shipping: the whole charge
        return shipping
    return quantize(a.amount, currency)


def resolve_shipping(
    offers: Sequence[Offer], shipping: Decimal, currency: str
) -> tuple[list[AppliedDiscount], list[LostRule]]:
    """The shipping discounts that apply to a ``shipping`` charge (in ``currency``,
    payable) of the ``offers`` (in the policy's order), and those that lose, why."""
    if shipping <= ZERO:
        return [], [_lost(r, line, NO_CHARGE) for r, _a, line in offers]
    lost: list[LostRule] = []
    # each rule's shipping discounts, their amounts added up, in the policy's order
    by_rule: dict[int, tuple[Rule_, list[_Row], Decimal]] = {}
    for rule, a, line in offers:
        if a.amount is not None and a.percent is None and a.currency != currency:
            lost.append(_lost(rule, line, _CURRENCY.format(a.currency, currency)))
            continue
        amount = _amount(a, shipping, currency)
        if amount > shipping:  # never more than the charge: ties free shipping then
            amount = shipping
        found = by_rule.get(id(rule))
        if found is None:
            by_rule[id(rule)] = (rule, [(rule, a, line, amount)], amount)
        else:
            found[1].append((rule, a, line, amount))
            by_rule[id(rule)] = (rule, found[1], found[2] + amount)
    grouped = list(by_rule.values())
    chosen: list[tuple[Rule_, list[_Row], Decimal]] = []
    exclusive = next((g for g in grouped if g[0].exclusive), None)
    if exclusive is not None:
        chosen.append(exclusive)
        why = _EXCLUSIVE.format(exclusive[0].name)
        lost += [_lost(g[0], g[0].line, why) for g in grouped if g is not exclusive]
    else:
        best = None
        for g in grouped:  # the first of the largest wins ties
            if not g[0].combinable and (best is None or g[2] > best[2]):
                best = g
        if best is not None:
            chosen.append(best)
            why = _BETTER.format(best[0].name)
            lost += [
                _lost(g[0], g[0].line, why)
                for g in grouped
                if g is not best and not g[0].combinable
            ]
        chosen += [g for g in grouped if g[0].combinable]
    applied: list[AppliedDiscount] = []
    left = shipping
    for _rule, rows, _total in chosen:
        for rule, a, _line, amount in rows:
            if left <= ZERO:
                lost.append(_lost(rule, rule.line, _FREE))
                continue
            capped = amount > left  # what the ones before it left of the charge
            if capped:
                amount = left
            elif a.amount is not None and amount < a.amount:
                capped = True  # reduced to the charge
            applied.append(
                AppliedDiscount(
                    rule.name, rule.file, rule.line, a.kind, a.percent, amount, a.title, capped
                )
            )
            left -= amount
    return applied, lost
