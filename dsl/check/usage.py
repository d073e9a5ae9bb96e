"""Usage limits and budgets (R332 to R338).

``limit 100 uses``, ``limit 1 use per customer``, ``limit 1 use per code``,
``budget 1000.00 EUR`` and
``uses given back when cancelled`` on a block rule: a limit is a whole number
above zero; a budget an amount above zero in a known currency (R209) and
within its decimal places (R206); a limit per customer needs an event whose
rules see a customer; a limit per code needs a rule that tests a code or a
family (R338); a limit or a budget belongs on a rule that gives a
discount, which is what uses and money are counted on. The same limit twice
(or two budgets in one currency) is R309, as any setting given twice.
"""

from __future__ import annotations

from decimal import Decimal

from rulec.dsl.check.actions import precision
from rulec.dsl.check.context import Context, walk
from rulec.dsl.check.types import known_currency
from rulec.dsl.nodes import (
    Budget,
    BuyGet,
    FixedDiscount,
    GiveBack,
    HasCoupon,
    HasCouponIn,
    Not,
    PercentDiscount,
    Rule,
    ShippingDiscount,
    TieredDiscount,
    UsageLimit,
)

__all__ = ["gives_discount", "stage_usage"]

#: The entity a limit may be counted per.
PER = "customer"
#: A limit counted per code entered (``limit 1 use per code``).
PER_CODE = "code"


def gives_discount(rule: Rule) -> bool:
    """Whether one of ``rule``'s actions takes money off (a use is counted on those)."""
    return any(
        isinstance(a, PercentDiscount | FixedDiscount | BuyGet | TieredDiscount | ShippingDiscount)
        or a.verb.text == "discount"
        for a in rule.actions
    )


def stage_usage(ctx: Context) -> None:
    """Limits whole and above zero, budgets in a currency, per customer where one is."""
    for rule in ctx.rules:
        settings = rule.usage_limits
        if not settings:
            continue
        seen: dict[object, object] = {}
        limits = [m for m in settings if isinstance(m, UsageLimit | Budget)]
        for m in settings:
            if isinstance(m, UsageLimit):
                _limit(ctx, rule, m)
                key: object = ("per", m.per.text if m.per is not None else None)
                what = f"limit per {m.per.text}" if m.per is not None else "total usage limit"
            elif isinstance(m, Budget):
                _budget(ctx, m)
                key = ("budget", m.currency.text)
                what = f"budget in {m.currency.text}"
            else:
                key, what = "give back", "give-back setting"
            if key in seen:
                ctx.report("R309", f"the rule sets its {what} twice", m.span, "keep one")
            seen[key] = m
        if limits and not gives_discount(rule):
            ctx.report(
                "R335",
                "a usage limit or budget on a rule that gives no discount",
                limits[0].span,
                "uses and money are counted on discounts: remove the limit, "
                "or give the rule a discount",
            )
        give_back = next((m for m in settings if isinstance(m, GiveBack)), None)
        if give_back is not None and not limits:
            ctx.report(
                "R336",
                "uses are given back, but the rule has no usage limit or budget",
                give_back.span,
                "add 'limit N uses' or 'budget AMOUNT CURRENCY', or remove this line",
            )
        total = next((m for m in limits if isinstance(m, UsageLimit) and m.per is None), None)
        each = next(
            (
                m
                for m in limits
                if isinstance(m, UsageLimit) and m.per is not None and m.per.text == PER
            ),
            None,
        )
        if (
            total is not None
            and each is not None
            and _whole(total.count.value)
            and _whole(each.count.value)
            and each.count.value >= total.count.value
        ):
            ctx.report(
                "R337",
                f"the limit of {each.count.value} per customer never binds: "
                f"the rule has {total.count.value} uses in total",
                each.span,
                "lower the limit per customer, or remove it",
            )


def _whole(value: Decimal) -> bool:
    return value > 0 and value == value.to_integral_value()


def _limit(ctx: Context, rule: Rule, m: UsageLimit) -> None:
    value = m.count.value
    if not _whole(value):
        ctx.report(
            "R332",
            f"a usage limit is a whole number of uses above zero, not {value}",
            m.count.span,
            "write limit 1 use, limit 100 uses"
            if value > 0
            else "to stop a rule, write 'disabled'",
        )
    if m.per is None:
        return
    if m.per.text == PER_CODE:
        if not tests_a_code(rule):
            ctx.report(
                "R338",
                "a limit per code on a rule that tests no coupon code",
                m.span,
                "test a code in the condition (when order has coupon in Partner), "
                "or limit the uses in total or per customer",
            )
        return
    if m.per.text != PER:
        ctx.report(
            "R334",
            f"a usage limit is counted in total, per customer or per code, not per {m.per.text}",
            m.per.span,
            "write 'per customer' or 'per code', or leave it out for a limit in total",
        )
        return
    event = ctx.events.get(id(rule))
    if event is not None and PER not in event.entities:
        ctx.report(
            "R334",
            f"a limit per customer on '{event.name}', whose rules see no customer",
            m.span,
            "limit the uses in total (limit N uses), or put the rule on an order event",
        )


def tests_a_code(rule: Rule) -> bool:
    """Whether ``rule``'s condition requires a code or a family's (not under a ``not``)."""
    negated = {
        id(inner) for c in walk(rule.condition) if isinstance(c, Not) for inner in walk(c.operand)
    }
    return any(
        isinstance(c, HasCoupon | HasCouponIn) and not c.negated and id(c) not in negated
        for c in walk(rule.condition)
    )


def _budget(ctx: Context, m: Budget) -> None:
    amount = m.amount.value
    if known_currency(ctx, m.currency):
        precision(ctx, amount, m.currency, m.amount.span)
    if amount <= 0:
        ctx.report(
            "R333",
            f"a budget is an amount above zero, not {amount} {m.currency.text}",
            m.amount.span,
            "to stop a rule, write 'disabled'",
        )
