"""Discount actions (R301 to R303, R350 to R353): percentages in (0, 100], amounts
and caps above zero (on the shipping too), in a known currency and within its decimal places; a cap
per line only on items; whole counts for buy X get Y; tiers that go up.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from rulec.dsl.check.context import Context
from rulec.dsl.check.types import known_currency
from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.nodes import (
    BuyGet,
    FixedDiscount,
    Name,
    PercentDiscount,
    ShippingDiscount,
    Span,
    Tier,
    TieredDiscount,
)

__all__ = ["precision", "stage_actions"]


def stage_actions(ctx: Context) -> None:
    """Percentages in (0, 100]; amounts and caps above zero; known currencies."""
    for rule in ctx.rules:
        for a in rule.actions:
            if isinstance(a, PercentDiscount):
                if not Decimal(0) < a.percent <= Decimal(100):
                    ctx.report(
                        "R301",
                        f"a percentage discount must be above 0% and at most 100%, "
                        f"not {a.percent}%",
                        a.span,
                    )
                if a.cap is not None:
                    if known_currency(ctx, a.cap.currency):
                        precision(ctx, a.cap.amount, a.cap.currency, a.cap.span)
                    if a.cap.amount <= 0:
                        ctx.report(
                            "R303", f"a cap must be above zero, not {a.cap.amount}", a.cap.span
                        )
                    if a.cap.per_line and a.items is None:
                        ctx.report(
                            "R352",
                            "a cap per line is for a discount on items",
                            a.cap.span,
                            f"write 'discount {a.percent}% on items up to "
                            f"{a.cap.amount} {a.cap.currency.text} per line', or leave out "
                            "'per line' to cap the order's discount",
                        )
            elif isinstance(a, FixedDiscount):
                if known_currency(ctx, a.currency, a.amount):
                    precision(ctx, a.amount, a.currency, a.span)
                if a.amount <= 0:
                    ctx.report(
                        "R302", f"a discount amount must be above zero, not {a.amount}", a.span
                    )
            elif isinstance(a, ShippingDiscount):
                _shipping(ctx, a)
            elif isinstance(a, BuyGet):
                _buy_get(ctx, a)
            elif isinstance(a, TieredDiscount):
                _tiers(ctx, a)


def _shipping(ctx: Context, a: ShippingDiscount) -> None:
    """A percentage of the shipping in (0, 100] (R301); an amount off it above zero
    (R302), in a known currency (R209) and within its decimal places (R206)."""
    if a.percent is not None and not Decimal(0) < a.percent <= Decimal(100):
        ctx.report(
            "R301",
            f"a percentage discount must be above 0% and at most 100%, not {a.percent}%",
            a.span,
            "write 'free shipping \"…\"' for the whole shipping charge"
            if a.percent > 100
            else None,
        )
    if a.amount is not None and a.currency is not None:
        if known_currency(ctx, a.currency, a.amount):
            precision(ctx, a.amount, a.currency, a.span)
        if a.amount <= 0:
            ctx.report("R302", f"a discount amount must be above zero, not {a.amount}", a.span)


def _whole(value: Decimal) -> bool:
    return value == value.to_integral_value() and value > 0


def _buy_get(ctx: Context, a: BuyGet) -> None:
    """R351: counts that are whole numbers above zero; ``buy N for M`` with M below N."""
    first, second = a.first, a.second
    if not (_whole(first) and _whole(second)):
        ctx.report(
            "R351",
            f"the counts of 'buy {first} {a.form} {second}' must be whole numbers above zero",
            a.span,
            "write e.g. 'buy 2 get 1 free' or 'buy 3 for 2'",
        )
    elif a.form == "for" and second >= first:
        ctx.report(
            "R351",
            f"'buy {first} for {second}' gives nothing free: the second count must be "
            "below the first",
            a.span,
            f"write e.g. 'buy {first} for {first - 1}'"
            if first > 1
            else "write e.g. 'buy 3 for 2'",
        )


def _tiers(ctx: Context, a: TieredDiscount) -> None:
    """Each tier's figure as a discount's (R301, R302, R206, R209); thresholds above
    zero (R302) and increasing (R350)."""
    previous = None
    for t in a.tiers:
        if t.percent is not None:
            if not Decimal(0) < t.percent <= Decimal(100):
                ctx.report(
                    "R301",
                    f"a percentage discount must be above 0% and at most 100%, not {t.percent}%",
                    t.span,
                )
        elif t.amount is not None and t.currency is not None:
            if known_currency(ctx, t.currency, t.amount):
                precision(ctx, t.amount, t.currency, t.span)
            if t.amount <= 0:
                ctx.report("R302", f"a discount amount must be above zero, not {t.amount}", t.span)
        if known_currency(ctx, t.threshold_currency):
            precision(ctx, t.threshold, t.threshold_currency, t.span)
        if t.threshold < 0:
            ctx.report("R302", f"a tier's threshold cannot be negative, not {t.threshold}", t.span)
        if previous is not None and t.threshold <= previous.threshold:
            ctx.report(
                "R350",
                f"tiers must go up: 'from {t.threshold} {t.threshold_currency.text}' comes "
                f"after 'from {previous.threshold} {previous.threshold_currency.text}'",
                t.span,
                "list the tiers from the lowest threshold to the highest",
            )
        elif previous is not None and _gives_less(previous, t):
            ctx.report(
                "R353",
                f"the tier from {t.threshold} {t.threshold_currency.text} gives less than "
                f"the tier below it",
                t.span,
                "a higher tier gives at least what a lower one does",
            )
        previous = t


def _gives_less(low: Tier, high: Tier) -> bool:
    """Whether ``high`` gives less than ``low`` (comparable: both percentages, or
    both amounts in one currency)."""
    if low.percent is not None and high.percent is not None:
        return high.percent < low.percent
    if (
        low.amount is not None
        and high.amount is not None
        and low.currency is not None
        and high.currency is not None
        and low.currency.text == high.currency.text
    ):
        return high.amount < low.amount
    return False


def precision(ctx: Context, amount: Decimal, currency: Name, span: Span | None) -> None:
    """R206: more decimal places than the currency has; the message carries the
    amount rounded to them (half-up, as the engine rounds money)."""
    places = MINOR_UNITS[currency.text]
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        ctx.report(
            "R206",
            f"{currency.text} amounts have at most {places} decimal place"
            f"{'' if places == 1 else 's'}, not {amount}",
            span,
            f"write {rounded} {currency.text}"
            if rounded > 0
            else f"the smallest {currency.text} amount is {Decimal(1).scaleb(-places)}",
        )
