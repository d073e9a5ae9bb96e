"""What the engine decided for one event: a plain frozen record, and the records in it.

A :class:`Decision` is the one result of :func:`rulec.engine.core.decide.decide`,
the same for the engine that writes it on an order, for the tools that
explain or test rules, and for the tests. Its four figures (what is written
on an order: ``discount_percentage``, ``discount_amount``,
``discount_description``, ``total_amount``) are worked out from the discounts
that applied when it is made, so they can never disagree with its records.
An order with a shipping charge has two more, ``shipping_amount`` (the
charge) and ``shipping_discount`` (the shipping discounts that applied,
:mod:`rulec.engine.core.shipping`); its total is then its subtotal less its
discount, plus its shipping less its shipping discount. An order without
one keeps the four figures exactly as they are without shipping.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from attrs import field, frozen

from rulec.engine.core.money import quantize, zero
from rulec.engine.core.rules import LabelChange_

__all__ = [
    "SHIPPING_KINDS",
    "AppliedDiscount",
    "CouponOutcome",
    "Decision",
    "FieldChange",
    "Figures",
    "LostRule",
    "RuleFailure",
    "Verdict",
    "figures",
    "shipped_figures",
]

ZERO = Decimal(0)

#: The kinds of :class:`AppliedDiscount` that come off the shipping charge, not the
#: subtotal (:mod:`rulec.engine.core.shipping`).
SHIPPING_KINDS = frozenset({"free_shipping", "shipping_percentage", "shipping_fixed"})


@frozen
class AppliedDiscount:
    """A discount that applied: which rule, what kind, how much."""

    rule: str
    file: str
    line: int
    #: "percentage" | "fixed" (the whole order, a tier's too), "line_percentage",
    #: "line_fixed" (on items), "buy_get"; off the shipping charge (SHIPPING_KINDS):
    #: "free_shipping", "shipping_percentage", "shipping_fixed".
    kind: str
    percentage: Decimal | None
    amount: Decimal
    description: str
    #: Reduced by its cap, or by what was left of the subtotal (or of a line).
    capped: bool = False
    #: Its amount on each line of the order, by the line's place in ``item.all``
    #: (they add up to ``amount``); empty when the decision has no lines.
    lines: tuple[Decimal, ...] = field(default=(), converter=tuple)
    #: How it was worked out, for the explanation: the tier reached, the free units.
    detail: str | None = None
    #: Its stacking group (``in group Loyalty``); None: the default group.
    group: str | None = None
    #: What its percentage (or tier) was taken of when not the undiscounted
    #: subtotal: the subtotal less the discounts of the groups its group comes after.
    base: Decimal | None = None


@frozen
class LostRule:
    """A rule that matched but whose discount (or setting) did not apply, and why."""

    rule: str
    file: str
    line: int
    reason: str


@frozen
class FieldChange:
    """A field a rule sets (``set order status to confirmed``), and which rule."""

    entity: str
    field: str
    value: str
    rule: str
    file: str
    line: int


@frozen
class CouponOutcome:
    """What became of one coupon code the customer entered: applied, or why not.

    ``reason_code`` is stable, for a backend to act on or translate:
    ``applied``; ``unknown`` (no rule of the event takes the code);
    ``not_yet_valid`` / ``expired`` (its rules' windows); ``limit_reached``,
    ``customer_limit_reached``, ``code_limit_reached``, ``budget_spent`` (usage limits, see
    :mod:`rulec.engine.db.limits`); ``conditions_not_met`` (the rest of its
    rule's condition, named in ``reason``); ``lost`` (to a better or an
    exclusive discount, named in ``reason``). ``reason`` says it in business
    words; ``rule`` is the rule the outcome is about, if any.
    """

    code: str
    reason_code: str
    reason: str
    rule: str | None = None

    @property
    def applied(self) -> bool:
        return self.reason_code == "applied"


@frozen
class RuleFailure:
    """A rule that raised while it was evaluated (recorded as R401).

    ``rule`` is empty when the event itself could not be decided (an order in
    a currency rulec does not know).
    """

    rule: str
    file: str
    line: int
    message: str


@frozen
class Verdict:
    """Whether one listed candidate is shown, and which rule decided (None: no rule did)."""

    shown: bool
    rule: str | None = None
    file: str | None = None
    line: int | None = None
    #: The rules that raised while this candidate was decided.
    errors: tuple[RuleFailure, ...] = ()

    @property
    def reason(self) -> str:
        """``hidden by rule 'Agent only' (rules/prices.rules:4)``, or why it is shown."""
        if self.rule is None:
            return "shown: no rule decides"
        verb = "shown" if self.shown else "hidden"
        failed = " (the rule failed)" if any(e.rule == self.rule for e in self.errors) else ""
        where = f"{self.file}:{self.line}"
        if where.endswith(self.rule):  # an unnamed rule is named after its place
            return f"{verb} by the rule at {where}{failed}"
        return f"{verb} by rule '{self.rule}' ({where}){failed}"


#: The four figures written on an order: percentage, amount, description, total.
Figures = tuple[Decimal | None, Decimal, str | None, Decimal]


def figures(applied: Sequence[AppliedDiscount], currency: str, subtotal: Decimal) -> Figures:
    """The four figures written on an order, from the discounts that applied.

    The amount is the applied amounts added up, in the currency's minor unit;
    the percentage is the applied percentages added up when every applied
    discount is an uncapped percentage of the undiscounted subtotal (12.5%
    stays 12.5%), else None; the
    description joins the applied ones' with " + "; the total is the subtotal
    less the amount, never below zero. An unknown currency has no minor unit:
    its amount is zero (no rule applies in it).
    """
    if not applied:
        try:
            amount = zero(currency)
        except ValueError:  # an unknown currency: nothing applied
            amount = ZERO
        total = subtotal - amount
        return None, amount, None, amount if total < ZERO else total
    summed = percentage = ZERO
    plain = True  # every applied discount an uncapped percentage
    texts = []
    for a in applied:
        summed += a.amount
        if a.kind == "percentage" and not a.capped and a.percentage is not None and a.base is None:
            percentage += a.percentage
        else:
            plain = False
        texts.append(a.description)
    amount = quantize(summed, currency)
    total = subtotal - amount
    return (
        percentage if plain else None,
        amount,
        " + ".join(texts),
        zero(currency) if total < ZERO else total,
    )


def shipped_figures(
    applied: Sequence[AppliedDiscount], currency: str, subtotal: Decimal, shipping: Decimal
) -> tuple[Figures, Decimal]:
    """The four figures of an order with a ``shipping`` charge, and its shipping discount.

    The percentage and the amount are the order's discounts' (as :func:`figures`
    works them out, the shipping discounts left out); the description joins every
    applied discount's, the shipping ones last; the shipping discount is the
    shipping discounts' amounts added up, in the currency's minor unit; the total
    is the subtotal less the discount, plus the shipping less the shipping
    discount, never below zero.
    """
    on_order = [a for a in applied if a.kind not in SHIPPING_KINDS]
    on_shipping = [a for a in applied if a.kind in SHIPPING_KINDS]
    percentage, amount, description, total = figures(on_order, currency, subtotal)
    off = quantize(sum([a.amount for a in on_shipping], ZERO), currency)
    if on_shipping:
        texts = [description] if description is not None else []
        description = " + ".join(texts + [a.description for a in on_shipping])
    total = total + shipping - off
    if total < ZERO:
        total = zero(currency)
    return (percentage, amount, description, total), off


class _DecisionFields(NamedTuple):
    # The fields of a Decision, in order; documented on Decision.
    event: str
    version: str
    currency: str
    subtotal: Decimal
    applied: tuple[AppliedDiscount, ...]
    lost: tuple[LostRule, ...]
    label_changes: tuple[LabelChange_, ...]
    errors: tuple[RuleFailure, ...]
    matched: tuple[str, ...]
    field_changes: tuple[FieldChange, ...]
    verdict: Verdict | None
    coupons: tuple[CouponOutcome, ...]
    line_totals: tuple[Decimal, ...]
    shipping_amount: Decimal
    discount_percentage: Decimal | None
    discount_amount: Decimal
    discount_description: str | None
    total_amount: Decimal
    line_discounts: tuple[Decimal, ...]
    shipping_discount: Decimal


class Decision(_DecisionFields):
    """What the engine decided for one event; immutable.

    ``Decision(event, version, currency, subtotal, applied, lost, ...)`` makes
    one from its records, as :func:`~rulec.engine.core.decide.decide` does;
    the figures are worked out from ``applied``, and cannot be given.

    Its fields:

    - ``event``: the event decided (``order_created``); ``version``: the
      version of the rule set that decided; ``currency``: the order's
      currency; ``subtotal``: the order's subtotal, before any discount.
    - ``applied``: the discounts that applied, in the order they were applied.
    - ``lost``: the matching rules whose discount (or setting) did not apply,
      each with its reason.
    - ``label_changes``: the label changes of the matching rules of the event
      itself (not of the events it includes: deciding an order again does not
      redo them), in priority order.
    - ``errors``: the rules that raised while they were evaluated, skipped (R401).
    - ``matched``: the names of the rules whose conditions held, in priority order.
    - ``field_changes``: the fields the matching rules set: per field, the first
      rule in priority order.
    - ``verdict``: on a listing event, whether the candidate is shown and which
      rule decided.
    - ``coupons``: what became of each coupon code entered on the order, by code.
    - ``line_totals``: what each line of the order costs, by its place in
      ``item.all``; empty when the facts have no lines, or lines that do not
      add up to the subtotal.
    - ``shipping_amount``: the order's shipping charge, before any shipping
      discount (0: none).
    - ``discount_percentage``: the percentage shown to the customer, or None
      when there is no single one; ``discount_amount``: the total discount off
      the subtotal, in the currency's minor unit; ``discount_description``:
      the applied discounts' descriptions, joined by " + " (the shipping ones
      last), None when none applied; ``total_amount``: the subtotal less the
      discount, plus the shipping less the shipping discount, never below zero
      (:func:`shipped_figures`).
    - ``line_discounts``: the order's discount on each line (the applied
      discounts' shares added up), by the line's place in ``item.all``: they
      add up to ``discount_amount`` to the cent, and none is more than its
      line costs. Empty without ``line_totals``.
    - ``shipping_discount``: the shipping discounts that applied, added up, in
      the currency's minor unit (never more than ``shipping_amount``; 0 without
      a shipping charge).

    It is a named tuple, not an attrs class, for speed on the path every
    caller takes: a frozen attrs record sets each of its 18 fields through
    ``object.__setattr__``, and making one was a quarter of
    ``RuleSet.evaluate`` for a VIP order (25,700 of 99,600 instructions,
    ``bench/instructions.py``'s count); a tuple is made in one call. Like any
    tuple it compares equal to a tuple of the same fields, and iterates over
    them. ``replace(...)`` makes a copy with other records, its figures worked
    out again.
    """

    __slots__ = ()

    def __new__(
        cls,
        event: str,
        version: str,
        currency: str,
        subtotal: Decimal,
        applied: Iterable[AppliedDiscount] = (),
        lost: Iterable[LostRule] = (),
        label_changes: Iterable[LabelChange_] = (),
        errors: Iterable[RuleFailure] = (),
        matched: Iterable[str] = (),
        field_changes: Iterable[FieldChange] = (),
        verdict: Verdict | None = None,
        coupons: Iterable[CouponOutcome] = (),
        line_totals: Iterable[Decimal] = (),
        shipping_amount: Decimal = ZERO,
    ) -> Decision:
        applied = tuple(applied)
        line_totals = tuple(line_totals)
        if shipping_amount:  # rare: the figures count the charge and its discounts
            (percentage, amount, description, total), off = shipped_figures(
                applied, currency, subtotal, shipping_amount
            )
        else:
            percentage, amount, description, total = figures(applied, currency, subtotal)
            off = amount - amount  # nothing, in the currency's minor unit as the amount is
        return tuple.__new__(
            cls,
            (
                event,
                version,
                currency,
                subtotal,
                applied,
                tuple(lost),
                tuple(label_changes),
                tuple(errors),
                tuple(matched),
                tuple(field_changes),
                verdict,
                tuple(coupons),
                line_totals,
                shipping_amount,
                percentage,
                amount,
                description,
                total,
                _line_discounts(applied, currency, line_totals) if line_totals else (),
                off,
            ),
        )

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle: the records, not the figures
        return tuple(self)[:_GIVEN]

    def replace(self, **changes: Any) -> Decision:
        """A copy with other records (``coupons=...``); its figures worked out again."""
        given: dict[str, Any] = dict(zip(self._fields[:_GIVEN], self[:_GIVEN], strict=True))
        given.update(changes)
        return Decision(**given)

    def _replace(self, **changes: Any) -> Decision:  # the named tuple's own, made safe
        return self.replace(**changes)

    def __copy__(self) -> Decision:
        return self  # immutable

    def __deepcopy__(self, _memo: dict[int, Any]) -> Decision:
        return self  # immutable, and so is everything it holds


#: How many of a Decision's fields are given; the rest are its figures.
_GIVEN = 14


def _line_discounts(
    applied: Sequence[AppliedDiscount], currency: str, line_totals: Sequence[Decimal]
) -> tuple[Decimal, ...]:
    shares = [zero(currency)] * len(line_totals)
    for a in applied:
        for n, part in enumerate(a.lines):
            shares[n] += part
    return tuple(shares)
