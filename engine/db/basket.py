"""The basket view of an order, as data: what every page shows, from what is stored.

The engine writes an order's discount (``discount_percentage``,
``discount_amount``, ``discount_description``, ``total_amount``), each
line's share of it (``OrderItem.discount_amount``) and one audit row per
applied discount when it decides the order. :func:`basket` reads exactly
those stored values and computes nothing the engine decides, so the basket
page, the order-detail page and an e-mail built from the same order show the
same numbers. (The old system's order-detail page showed the undiscounted
total under a discount alert.)

Amounts are shown in the currency's minor unit (``12.00`` EUR, ``1999``
JPY) when that is exact, as it is for everything the engine computes; a
stored amount with more places is kept as it is, never rounded. The
percentage is the stored one: 12.5 stays 12.5 and reads ``12.5%``.
"""

from __future__ import annotations

from decimal import Decimal

from attrs import frozen
from sqlalchemy.orm import object_session

from rulec.engine.core.money import minor_unit
from rulec.storage.models import Order

__all__ = [
    "Basket",
    "BasketDiscount",
    "BasketLine",
    "basket",
    "percentage_text",
    "render_basket",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)


def _amount(value: Decimal | None, currency: str) -> Decimal:
    """``value`` in the currency's minor unit when that loses nothing; else as stored."""
    value = _ZERO if value is None else Decimal(value)
    try:
        unit = minor_unit(currency)
    except ValueError:  # a currency rulec does not know: as stored
        return value
    exact = value.quantize(unit)
    return exact if exact == value else value.normalize()


def _percent(value: Decimal | None) -> Decimal | None:
    """A stored percentage without its storage's trailing zeros: 12.5000 -> 12.5, 10.00 -> 10."""
    if value is None:
        return None
    plain = Decimal(value).normalize()
    return plain.quantize(_ONE) if plain.as_tuple().exponent > 0 else plain  # type: ignore[operator]


def percentage_text(value: Decimal | None) -> str:
    """``"12.5%"``, ``"10%"``; ``""`` when there is no single percentage. Never rounded."""
    plain = _percent(value)
    return "" if plain is None else f"{plain:f}%"


@frozen
class BasketLine:
    """One line: its quantity and prices, and its share of the order's discount."""

    description: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    #: The line's share of the order's discount, as the engine allocated it.
    discount_amount: Decimal
    #: ``line_total - discount_amount``: what the line costs after the discount.
    total: Decimal


@frozen
class BasketDiscount:
    """A discount the engine applied (an ``applied_discounts`` audit row)."""

    rule: str
    description: str
    amount: Decimal
    percentage: Decimal | None = None
    kind: str = "percentage"

    @property
    def percentage_text(self) -> str:
        return percentage_text(self.percentage)


@frozen
class Basket:
    """What the basket page shows for one order; a value, built by :func:`basket`."""

    order_id: int | None
    status: str
    currency: str
    lines: tuple[BasketLine, ...]
    subtotal: Decimal
    discount_description: str | None
    #: The applied percentage as stored (12.5 stays 12.5); None: no single percentage.
    discount_percentage: Decimal | None
    discount_amount: Decimal
    total_amount: Decimal
    #: The discounts applied, in the order they were applied.
    applied: tuple[BasketDiscount, ...]

    @property
    def has_discount(self) -> bool:
        return self.discount_amount > 0

    @property
    def percentage_text(self) -> str:
        """The order's discount percentage as text (``"12.5%"``), or ``""``."""
        return percentage_text(self.discount_percentage)

    @property
    def lines_discount_total(self) -> Decimal:
        """The lines' shares of the discount added up: ``discount_amount`` when there are lines."""
        return sum((line.discount_amount for line in self.lines), _amount(_ZERO, self.currency))


def basket(order: Order) -> Basket:
    """The basket of ``order``, read from what is stored on it; writes nothing.

    Reads the order's fields, its lines and its audit rows (loading them if
    needed, without flushing the session). An order no rule set has decided
    yet (``rule_set_version`` empty) shows ``subtotal - discount_amount`` as
    its total, as ``Order.calculate_total`` does.
    """
    session = object_session(order)
    if session is None:
        return _basket(order)
    with session.no_autoflush:
        return _basket(order)


def _basket(order: Order) -> Basket:
    currency = order.currency or "EUR"
    lines = []
    for line in order.items:
        line_total = line.line_total if line.line_total is not None else line.compute_line_total()
        share = line.discount_amount or _ZERO
        lines.append(
            BasketLine(
                description=line.description,
                quantity=line.quantity,
                unit_price=_amount(line.unit_price, currency),
                line_total=_amount(line_total, currency),
                discount_amount=_amount(share, currency),
                total=_amount(max(line_total - share, _ZERO), currency),
            )
        )
    applied = tuple(
        BasketDiscount(
            rule=a.rule_name,
            description=a.description,
            amount=_amount(a.amount, currency),
            percentage=_percent(a.percentage),
            kind=a.kind,
        )
        for a in order.applied_discounts
    )
    total = order.total_amount if order.rule_set_version is not None else None
    return Basket(
        order_id=order.id,
        status=order.status or "new",
        currency=currency,
        lines=tuple(lines),
        subtotal=_amount(order.subtotal, currency),
        discount_description=order.discount_description,
        discount_percentage=_percent(order.discount_percentage),
        discount_amount=_amount(order.discount_amount, currency),
        total_amount=_amount(order.calculate_total() if total is None else total, currency),
        applied=applied,
    )


_LABEL = 40
_WIDTH = 12


def _row(label: str, amount: Decimal, currency: str) -> str:
    if len(label) > _LABEL - 1:
        label = label[: _LABEL - 2] + "…"
    return f"  {label:<{_LABEL}}{amount:>{_WIDTH}f} {currency}"


def render_basket(b: Basket, who: str | None = None) -> str:
    """``b`` as plain text, as the basket page lays it out.

    A heading (the order number, ``who`` when given, the status); each line
    with its total and, below it, its share of the discount; the subtotal;
    each applied discount with its percentage; the total. Amounts are in one
    right-aligned column, followed by the currency; docs/discounts.md shows
    a basket with lines.
    """
    cur = b.currency
    number = "(new)" if b.order_id is None else f"#{b.order_id}"
    head = f"Basket: order {number}" + (f" for {who}" if who else "") + f", status {b.status}"
    out = [head]
    for line in b.lines:
        each = f" ({line.unit_price:f} each)" if line.quantity != 1 else ""
        out.append(_row(f"{line.quantity} x {line.description}{each}", line.line_total, cur))
        if line.discount_amount:
            out.append(_row("    less discount", -line.discount_amount, cur))
    out.append(_row("Subtotal", b.subtotal, cur))
    if b.applied:
        for d in b.applied:
            pct = f" ({d.percentage_text})" if d.percentage is not None else ""
            out.append(_row(d.description + pct, -d.amount, cur))
    elif b.has_discount:  # stored without audit rows: the order's own description
        pct = f" ({b.percentage_text})" if b.discount_percentage is not None else ""
        out.append(_row((b.discount_description or "Discount") + pct, -b.discount_amount, cur))
    out.append(_row("Total", b.total_amount, cur))
    return "\n".join(out)
