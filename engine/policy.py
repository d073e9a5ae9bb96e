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
from typing import Any

from attrs import field, fields, frozen

from rulec.engine.money import percent_of, quantize, zero
from rulec.engine.runtime import FixedDiscount_, LabelChange_, PercentDiscount_, Rule_

__all__ = [
    "AppliedDiscount",
    "Decision",
    "LostRule",
    "RuleFailure",
    "decision",
    "no_discount",
    "order_rules",
    "resolve",
]

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
    #: (percentage, amount, description, total), worked out once, on first use
    #: or by the policy when it builds the decision.
    _figures: tuple[Decimal | None, Decimal, str | None, Decimal] | None = field(
        default=None, init=False, eq=False, repr=False
    )

    def _work_out(self) -> tuple[Decimal | None, Decimal, str | None, Decimal]:
        figures = self._figures
        if figures is None:
            figures = _figures_of(self.applied, self.currency, self.subtotal)
            object.__setattr__(self, "_figures", figures)
        return figures

    @property
    def discount_amount(self) -> Decimal:
        """The total discount, in the currency's minor unit."""
        return (self._figures or self._work_out())[1]

    @property
    def discount_percentage(self) -> Decimal | None:
        """The percentage shown to the customer.

        The applied percentages added up when every applied discount is an
        uncapped percentage (12.5% stays 12.5%); otherwise None.
        """
        return (self._figures or self._work_out())[0]

    @property
    def discount_description(self) -> str | None:
        """The applied discounts' descriptions, joined by " + "; None when none applied."""
        return (self._figures or self._work_out())[2]

    @property
    def total_amount(self) -> Decimal:
        """The subtotal less the discount, never below zero."""
        return (self._figures or self._work_out())[3]


def _figures_of(
    applied: tuple[AppliedDiscount, ...], currency: str, subtotal: Decimal
) -> tuple[Decimal | None, Decimal, str | None, Decimal]:
    """The four figures written on an order, from the applied discounts."""
    if not applied:
        amount = zero(currency)
        total = subtotal - amount
        return None, amount, None, ZERO if total < ZERO else total
    if len(applied) == 1:
        a = applied[0]
        amount = quantize(a.amount, currency)
        percentage = (
            ZERO + (a.percentage or ZERO) if a.kind == "percentage" and not a.capped else None
        )
        description: str | None = a.description
    else:
        amount = quantize(sum((a.amount for a in applied), ZERO), currency)
        percentage = (
            sum((a.percentage or ZERO for a in applied), ZERO)
            if all(a.kind == "percentage" and not a.capped for a in applied)
            else None
        )
        description = " + ".join(a.description for a in applied)
    total = subtotal - amount
    return percentage, amount, description, ZERO if total < ZERO else total


def order_rules(rules: Sequence[Rule_], position: dict[int, int]) -> list[Rule_]:
    """Priority first (higher first), then source order."""
    if len(rules) < 2:
        return list(rules)
    return sorted(rules, key=lambda r: (-r.priority, position[id(r)]))


# Hot-path constructors. attrs' generated ``__init__`` of a frozen class sets
# every field through ``object.__setattr__``; these set the slots directly,
# which builds the very same object (these classes have no defaults,
# converters, validators or post-init) in about two thirds of the time.
# ``_setters`` refuses to start if the fields ever change, and
# tests/engine/test_policy.py compares both ways of building.

_new = object.__new__


def _setters(cls: type, names: str) -> tuple[Any, ...]:
    wanted = names.split()
    got = [a.name for a in fields(cls)]
    if got != wanted:  # pragma: no cover - caught by the import of this module
        raise TypeError(f"{cls.__name__} fields are {got}, the fast constructor sets {wanted}")
    return tuple(cls.__dict__[n].__set__ for n in wanted)


(_a_rule, _a_file, _a_line, _a_kind, _a_percentage, _a_amount, _a_description, _a_capped) = (
    _setters(AppliedDiscount, "rule file line kind percentage amount description capped")
)
(_d_event, _d_version, _d_currency, _d_subtotal, _d_applied, _d_lost, _d_labels, _d_errors,
 _d_matched, _d_figures) = _setters(
    Decision, "event version currency subtotal applied lost label_changes errors matched _figures"
)  # fmt: skip


def _applied(
    rule: str,
    file: str,
    line: int,
    kind: str,
    percentage: Decimal | None,
    amount: Decimal,
    description: str,
    capped: bool,
) -> AppliedDiscount:
    """``AppliedDiscount(...)``, built faster."""
    a = _new(AppliedDiscount)
    _a_rule(a, rule)
    _a_file(a, file)
    _a_line(a, line)
    _a_kind(a, kind)
    _a_percentage(a, percentage)
    _a_amount(a, amount)
    _a_description(a, description)
    _a_capped(a, capped)
    return a  # type: ignore[no-any-return]


def decision(
    event: str,
    version: str,
    currency: str,
    subtotal: Decimal,
    applied: tuple[AppliedDiscount, ...] = (),
    lost: tuple[LostRule, ...] = (),
    label_changes: tuple[LabelChange_, ...] = (),
    errors: tuple[RuleFailure, ...] = (),
    matched: tuple[str, ...] = (),
    figures: tuple[Decimal | None, Decimal, str | None, Decimal] | None = None,
) -> Decision:
    """``Decision(...)``, built faster; the rest default to nothing decided.

    ``figures`` are the four figures when the caller has them at hand
    (they must equal what ``_figures_of`` gives); else they are worked out
    on first use.
    """
    d = _new(Decision)
    _d_event(d, event)
    _d_version(d, version)
    _d_currency(d, currency)
    _d_subtotal(d, subtotal)
    _d_applied(d, applied)
    _d_lost(d, lost)
    _d_labels(d, label_changes)
    _d_errors(d, errors)
    _d_matched(d, matched)
    _d_figures(d, figures)
    return d  # type: ignore[no-any-return]


def no_discount(
    event: str,
    version: str,
    currency: str,
    subtotal: Decimal,
    errors: tuple[RuleFailure, ...] = (),
) -> Decision:
    """The decision when no discount applies, figures included."""
    figures = _figures_of((), currency, subtotal)
    return decision(event, version, currency, subtotal, (), (), (), errors, (), figures)


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
                _applied(
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
                _applied(
                    rule.name,
                    rule.file,
                    rule.line,
                    "fixed",
                    None,
                    quantize(a.amount, currency),
                    a.title,
                    False,
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
    if not matched:
        return no_discount(event, version, currency, subtotal, tuple(errors))
    if len(matched) == 1 and subtotal > ZERO:
        # the usual case: one rule, one uncapped percentage, nothing to arbitrate
        r = matched[0]
        actions = r.actions
        if len(actions) == 1 and type(actions[0]) is PercentDiscount_ and actions[0].cap is None:
            a = actions[0]
            amount = percent_of(subtotal, a.percent, currency)
            if amount <= subtotal:
                applied = _applied(
                    r.name, r.file, r.line, "percentage", a.percent, amount, a.title, False
                )
                # the figures _figures_of gives for this one discount
                figures = (ZERO + a.percent, amount, a.title, subtotal - amount)
                return decision(
                    event,
                    version,
                    currency,
                    subtotal,
                    (applied,),
                    (),
                    (),
                    tuple(errors),
                    (r.name,),
                    figures,
                )
    return _resolve(event, version, matched, subtotal, currency, errors)


def _resolve(
    event: str,
    version: str,
    matched: Sequence[Rule_],
    subtotal: Decimal,
    currency: str,
    errors: Sequence[RuleFailure],
) -> Decision:
    labels = tuple(a for r in matched for a in r.actions if type(a) is LabelChange_)
    lost: list[LostRule] = []
    offers: list[tuple[Rule_, list[AppliedDiscount], Decimal]] = []
    for r in matched:
        for a in r.actions:
            if type(a) is not LabelChange_:
                break
        else:  # label changes only: no discount to weigh
            continue
        ds, reason = _discount(r, subtotal, currency)
        if ds:
            offers.append((r, ds, sum((d.amount for d in ds), ZERO)))
        else:
            lost.append(LostRule(r.name, r.file, r.line, f"no discount applies: {reason}"))

    chosen: list[tuple[Rule_, list[AppliedDiscount], Decimal]] = []
    exclusive = next((o for o in offers if o[0].exclusive), None)
    if exclusive is not None:
        chosen = [exclusive]
        for r, _, _ in offers:
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
            if best is None or o[2] > best[2]:
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
    for _rule, ds, _total in chosen:
        for d in ds:
            if left <= ZERO:
                lost.append(LostRule(d.rule, d.file, d.line, "the order is already free"))
                continue
            if d.amount > left:
                d = _applied(
                    d.rule, d.file, d.line, d.kind, d.percentage, left, d.description, True
                )
            applied.append(d)
            left -= d.amount
    return decision(
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
