"""The resolution policy: which of the matching rules' discounts apply.

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

Label actions are not discounts: every matching rule's label changes apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from attrs import frozen

from rulec.engine.money import percent_of, quantize
from rulec.engine.runtime import FixedDiscount_, LabelChange_, PercentDiscount_, Rule_

__all__ = ["AppliedDiscount", "Decision", "LostRule", "RuleFailure", "order_rules", "resolve"]

ZERO = Decimal(0)


@frozen
class AppliedDiscount:
    """A discount that applied: which rule, what kind, how much."""

    rule: str
    file: str
    line: int
    kind: str  # "percentage" | "fixed"
    percentage: Decimal | None
    amount: Decimal
    description: str
    capped: bool = False


@frozen
class LostRule:
    """A rule that matched but whose discount did not apply, and why."""

    rule: str
    file: str
    line: int
    reason: str


@frozen
class RuleFailure:
    """A rule that raised while it was evaluated (recorded as R401)."""

    rule: str
    file: str
    line: int
    message: str


@frozen
class Decision:
    """What the engine decided for one order and event."""

    event: str
    version: str
    currency: str
    subtotal: Decimal
    applied: tuple[AppliedDiscount, ...]
    lost: tuple[LostRule, ...]
    label_changes: tuple[LabelChange_, ...]
    errors: tuple[RuleFailure, ...]
    matched: tuple[str, ...]

    @property
    def discount_amount(self) -> Decimal:
        return quantize(sum((a.amount for a in self.applied), ZERO), self.currency)

    @property
    def discount_percentage(self) -> Decimal | None:
        """The percentage shown to the customer.

        The applied percentages added up when every applied discount is an
        uncapped percentage (12.5% stays 12.5%); otherwise None.
        """
        if not self.applied:
            return None
        if all(a.kind == "percentage" and not a.capped for a in self.applied):
            return sum((a.percentage or ZERO for a in self.applied), ZERO)
        return None

    @property
    def discount_description(self) -> str | None:
        if not self.applied:
            return None
        return " + ".join(a.description for a in self.applied)

    @property
    def total_amount(self) -> Decimal:
        return max(self.subtotal - self.discount_amount, ZERO)


def order_rules(rules: Sequence[Rule_], position: dict[int, int]) -> list[Rule_]:
    """Priority first (higher first), then source order."""
    return sorted(rules, key=lambda r: (-r.priority, position[id(r)]))


def _discount(rule: Rule_, subtotal: Decimal, currency: str) -> tuple[list[AppliedDiscount], str]:
    """The discounts of one rule for this order, or a reason why there are none."""
    out: list[AppliedDiscount] = []
    reason = ""
    for a in rule.actions:
        if isinstance(a, PercentDiscount_):
            amount = percent_of(subtotal, a.percent, currency)
            capped = False
            if a.cap is not None:
                if a.cap_currency != currency:
                    reason = f"its cap is in {a.cap_currency}, the order in {currency}"
                    continue
                if amount > a.cap:
                    amount, capped = quantize(a.cap, currency), True
            out.append(
                AppliedDiscount(
                    rule.name,
                    rule.file,
                    rule.line,
                    "percentage",
                    a.percent,
                    amount,
                    a.title,
                    capped,
                )
            )
        elif isinstance(a, FixedDiscount_):
            if a.currency != currency:
                reason = f"its amount is in {a.currency}, the order in {currency}"
                continue
            out.append(
                AppliedDiscount(
                    rule.name,
                    rule.file,
                    rule.line,
                    "fixed",
                    None,
                    quantize(a.amount, currency),
                    a.title,
                )
            )
    return out, reason


def resolve(
    event: str,
    version: str,
    matched: Sequence[Rule_],
    subtotal: Decimal,
    currency: str,
    errors: Sequence[RuleFailure] = (),
) -> Decision:
    """Apply the policy to ``matched`` rules, already in priority order."""
    labels = tuple(a for r in matched for a in r.actions if isinstance(a, LabelChange_))
    lost: list[LostRule] = []
    offers: list[tuple[Rule_, list[AppliedDiscount]]] = []
    for r in matched:
        if not any(isinstance(a, PercentDiscount_ | FixedDiscount_) for a in r.actions):
            continue
        ds, reason = _discount(r, subtotal, currency)
        if ds:
            offers.append((r, ds))
        else:
            lost.append(LostRule(r.name, r.file, r.line, f"no discount applies: {reason}"))

    chosen: list[tuple[Rule_, list[AppliedDiscount]]] = []
    exclusive = next((o for o in offers if o[0].exclusive), None)
    if exclusive is not None:
        chosen = [exclusive]
        for r, _ in offers:
            if r is not exclusive[0]:
                lost.append(
                    LostRule(
                        r.name, r.file, r.line, f"exclusive rule '{exclusive[0].name}' applied"
                    )
                )
    else:
        singles = [o for o in offers if not o[0].combinable]
        best = None
        for o in singles:  # the first of the largest wins ties
            if best is None or sum(d.amount for d in o[1]) > sum(d.amount for d in best[1]):
                best = o
        if best is not None:
            chosen.append(best)
        for o in singles:
            if o is not best and best is not None:
                lost.append(
                    LostRule(
                        o[0].name,
                        o[0].file,
                        o[0].line,
                        f"a better discount applied: '{best[0].name}'",
                    )
                )
        chosen.extend(o for o in offers if o[0].combinable)

    applied: list[AppliedDiscount] = []
    left = subtotal
    for _rule, ds in chosen:
        for d in ds:
            if left <= ZERO:
                lost.append(LostRule(d.rule, d.file, d.line, "the order is already free"))
                continue
            if d.amount > left:
                d = AppliedDiscount(
                    d.rule, d.file, d.line, d.kind, d.percentage, left, d.description, True
                )
            applied.append(d)
            left -= d.amount
    return Decision(
        event,
        version,
        currency,
        subtotal,
        tuple(applied),
        tuple(lost),
        labels,
        tuple(errors),
        tuple(r.name for r in matched),
    )
