"""Discount actions (R301 to R303): percentages in (0, 100], amounts and
caps above zero, in a known currency and within its decimal places.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from rulec.dsl.check.context import Context
from rulec.dsl.check.types import known_currency
from rulec.dsl.currencies import MINOR_UNITS
from rulec.dsl.nodes import FixedDiscount, Name, PercentDiscount, Span

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
            elif isinstance(a, FixedDiscount):
                if known_currency(ctx, a.currency, a.amount):
                    precision(ctx, a.amount, a.currency, a.span)
                if a.amount <= 0:
                    ctx.report(
                        "R302", f"a discount amount must be above zero, not {a.amount}", a.span
                    )


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
