"""An order's lines, and what each discount on lines takes off each of them.

The facts carry an order's lines as ``item.all``: one member per line, with
its labels (its own and its catalog item's), quantity, unit price and line
total. :func:`order_lines` reads them once per decision; the functions
below work out, for one discount action, the amount it takes off each line
(by the line's place in ``item.all``), before the policy
(:mod:`rulec.engine.core.discount`) decides which discounts apply:

* a percentage on items: that percentage of each matching line's total,
  rounded half-up, capped per line (``up to 5.00 EUR per line``) or on the
  rule's whole discount (``up to 30.00 EUR``: the cap is split over the
  lines in proportion to what each would get, exactly);
* an amount per item: that amount times the line's quantity, never more
  than the line's total;
* buy X get Y free: of every X + Y matching units, Y are free, as often as
  the basket allows; the free units are the cheapest ones (by unit price,
  the earlier line first among equal prices), and a line's free units cost
  what its unit price says, rounded half-up, never more than its total.

Rounding happens here only through :mod:`rulec.engine.core.money`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from rulec.engine.core.money import allocate, line_total, percent_of, quantize, zero
from rulec.engine.core.rules import BuyGet_, ItemsPercent_, PerItem_

__all__ = ["Line", "line_parts", "order_lines"]

ZERO = Decimal(0)


class Line(NamedTuple):
    """One line of an order as the policy reads it."""

    labels: frozenset[str]
    quantity: int
    unit_price: Decimal
    #: What the line costs: its quantity times its unit price, rounded half-up.
    total: Decimal


def order_lines(
    members: Sequence[Mapping[str, Any]], currency: str, subtotal: Decimal
) -> tuple[tuple[Line, ...], str]:
    """The order's lines from ``item.all``, and why they cannot be discounted ("" if
    they can): a line without a price, or lines that do not add up to the subtotal.

    A line's total is ``item.line_total`` when given, else its quantity (1 when
    not given) times its unit price; a line with neither has no price.
    """
    lines: list[Line] = []
    for n, m in enumerate(members, 1):
        quantity = m.get("item.quantity")
        price = m.get("item.unit_price")
        total = m.get("item.line_total")
        if quantity is None:
            quantity = 1
        if total is None:
            if price is None:
                return (), f"line {n} of the order has no price"
            total = line_total(quantity, price, currency)
        elif price is None:
            price = total / quantity if quantity else total
        labels = m.get("item.labels") or frozenset()
        lines.append(Line(labels, quantity, price, total))
    summed = sum((line.total for line in lines), ZERO)
    if lines and summed != subtotal:
        return tuple(lines), (
            f"the order's lines cost {summed} {currency} and its subtotal is "
            f"{subtotal} {currency}: they must agree"
        )
    return tuple(lines), ""


def _matches(line: Line, label: str | None) -> bool:
    return label is None or label in line.labels


def _none(label: str | None) -> str:
    if label is None:
        return "the order has no lines"
    return f"no item of the order has label {label}"


def line_parts(
    action: ItemsPercent_ | PerItem_ | BuyGet_, lines: Sequence[Line], currency: str
) -> tuple[list[Decimal], str, bool, str]:
    """What ``action`` takes off each line, why it takes nothing (a reason in business
    words), whether a cap reduced it, and a detail for the explanation."""
    label = action.label
    if not any(_matches(line, label) for line in lines):
        return [], _none(label), False, ""
    if type(action) is ItemsPercent_:
        return _percent(action, lines, currency)
    if type(action) is PerItem_:
        if action.currency != currency:
            return [], f"its amount is in {action.currency}, the order in {currency}", False, ""
        amount = quantize(action.amount, currency)
        parts = [
            min(amount * line.quantity, line.total) if _matches(line, label) else zero(currency)
            for line in lines
        ]
        return parts, "", False, ""
    return _buy_get(action, lines, currency)


def _percent(
    a: ItemsPercent_, lines: Sequence[Line], currency: str
) -> tuple[list[Decimal], str, bool, str]:
    if a.cap is not None and a.cap_currency != currency:
        return [], f"its cap is in {a.cap_currency}, the order in {currency}", False, ""
    nothing = zero(currency)
    parts = [
        percent_of(line.total, a.percent, currency) if _matches(line, a.label) else nothing
        for line in lines
    ]
    capped = False
    if a.cap is not None:
        cap = quantize(a.cap, currency)
        if a.per_line:
            capped = any(p > cap for p in parts)
            parts = [min(p, cap) for p in parts]
        elif sum(parts, ZERO) > cap:
            parts, capped = allocate(cap, parts, currency), True
    return parts, "", capped, ""


def _buy_get(
    a: BuyGet_, lines: Sequence[Line], currency: str
) -> tuple[list[Decimal], str, bool, str]:
    group = a.paid + a.free
    units = sum(line.quantity for line in lines if _matches(line, a.label))
    free = units // group * a.free
    which = "items" if a.label is None else f"items with label {a.label}"
    if not free:
        return [], f"{group} {which} are needed, the order has {units}", False, ""
    parts = [zero(currency)] * len(lines)
    left = free
    cheapest = sorted(
        (n for n, line in enumerate(lines) if _matches(line, a.label)),
        key=lambda n: (lines[n].unit_price, n),
    )
    for n in cheapest:
        if left <= 0:
            break
        take = min(left, lines[n].quantity)
        parts[n] = min(quantize(lines[n].unit_price * take, currency), lines[n].total)
        left -= take
    times = units // group
    often = "once" if times == 1 else f"{times} times"
    detail = f"{free} of {units} {which} free (buy {a.paid} get {a.free}, {often}), the cheapest"
    return parts, "", False, detail
