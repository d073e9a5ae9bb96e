"""The basket view of an order, as data: what every page shows, one consistent set of numbers.

The engine writes an order's discount (``discount_percentage``,
``discount_amount``, ``discount_description``, ``total_amount``), each
line's share of it (``OrderItem.discount_amount``) and one audit row per
applied discount when it decides the order. :func:`basket` reads exactly
those stored values and computes nothing the engine decides, so the basket
page, the order-detail page and an e-mail built from the same order show the
same numbers. (The old system's order-detail page showed the undiscounted
total under a discount alert.)

A basket is never a mix of old and new numbers. An order changed in its
session and not flushed yet (a new subtotal, a line added) shows its
**stored** decision with the values it was decided from, and says that a
change awaits a decision (``pending``); with an ``engine``, it shows a
**fresh** decision of its current state instead, made now and not written.
``Basket.source`` says which.

Amounts are shown in the currency's minor unit (``12.00`` EUR, ``1999``
JPY) when that is exact, as it is for everything the engine computes; a
stored amount with more places is kept as it is, never rounded. The
percentage is the stored one: 12.5 stays 12.5 and reads ``12.5%``.
"""

from __future__ import annotations

from contextlib import nullcontext
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import inspect
from sqlalchemy.orm import object_session

from rulec.engine.core.decision import SHIPPING_KINDS
from rulec.engine.core.money import minor_unit
from rulec.engine.db.attach import awaits_decision
from rulec.engine.db.facts.binding import REFERENCE, Binding, Entity
from rulec.engine.db.facts.catalog import line_cost
from rulec.engine.db.facts.row import lines_of
from rulec.engine.db.records import applied

if TYPE_CHECKING:
    from rulec.engine.db.attach import Engine

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

    #: The order's key (an integer or a UUID); None for an order not stored yet.
    order_id: Any
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
    #: Where the numbers come from: ``"stored"`` (the decision the engine wrote),
    #: ``"fresh"`` (a decision of the order as it is now, made for this basket and
    #: not written) or ``"undecided"`` (no rule set has decided the order).
    source: str = "stored"
    #: Whether the order changed since the numbers shown were decided: the next
    #: flush decides it again (only a ``"stored"`` or ``"undecided"`` basket).
    pending: bool = False
    #: The order's shipping charge (0: none, or a binding that maps none), and the
    #: shipping discounts the engine applied to it, added up; the total counts both.
    shipping_amount: Decimal = _ZERO
    shipping_discount: Decimal = _ZERO

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


def basket(order: Any, engine: Engine | None = None, binding: Binding | None = None) -> Basket:
    """The basket of ``order``: one consistent set of numbers; writes nothing.

    Without ``engine``: the decision the engine stored on the order, with
    the subtotal and lines it was decided from (an order changed since in
    its session shows its stored values, not the changed ones, and
    ``pending`` says a change awaits a decision). An order no rule set has
    decided yet (``rule_set_version`` empty) shows ``subtotal -
    discount_amount`` as its total, as ``Order.calculate_total`` does.

    With ``engine`` (an :class:`~rulec.engine.db.attach.Engine`), an order
    that awaits a decision (new, or changed since it was decided) is decided
    now, from its current state, as the next flush would decide it, and the
    basket shows that decision (``source == "fresh"``); nothing is written.

    Reads the order's fields, its lines and its audit rows (loading them if
    needed, without flushing the session), through ``binding`` (the engine's,
    else the reference models).
    """
    b = binding if binding is not None else engine.binding if engine is not None else REFERENCE
    session = object_session(order)
    with session.no_autoflush if session is not None else nullcontext():
        pending = awaits_decision(order, b)
        if engine is not None and pending and session is not None:
            event = "order_updated" if inspect(order).persistent else "order_created"
            return _fresh(order, engine.evaluate(event, order, session), b)
        return _stored(order, pending, b)


def _was(entity: Entity, obj: Any, name: str) -> Any:
    """``obj``'s field ``name`` as it was loaded, before a change not flushed yet
    (None when the binding maps no attribute to it)."""
    key = entity.attr(name)
    if key is None:
        return None
    history = inspect(obj).attrs[key].history
    return history.deleted[0] if history.deleted else getattr(obj, key)


def _stored_lines(order: Any, b: Binding) -> list[Any]:
    """The order's lines as stored: without those added since, with those removed since."""
    state = inspect(order)
    items = b.o.attr("items")
    assert items is not None
    if not state.persistent:
        return list(getattr(order, items))
    lines = [line for line in getattr(order, items) if inspect(line).persistent]
    lines += [line for line in state.attrs[items].history.deleted or () if line not in lines]
    return lines


def _stored(order: Any, pending: bool, b: Binding) -> Basket:
    o, ln = b.o, b.ln
    currency = _was(o, order, "currency") or "EUR"
    lines = []
    for line in _stored_lines(order, b):
        stored_total = _was(ln, line, "line_total")
        line_total = stored_total if stored_total is not None else line_cost(line, currency, b)
        lines.append(
            _line(
                _was(ln, line, "description"),
                _was(ln, line, "quantity"),
                _was(ln, line, "unit_price"),
                line_total,
                _was(ln, line, "discount_amount") or _ZERO,
                currency,
            )
        )
    session = object_session(order)
    rows = applied(session, b, order) if session is not None else []
    audit = tuple(
        _discount(
            a["rule_name"], a["description"], a["amount"], a["percentage"], a["kind"], currency
        )
        for a in rows
    )
    decided = o.get(order, "rule_set_version") is not None
    subtotal, discount = _was(o, order, "subtotal"), _was(o, order, "discount_amount")
    shipping = _was(o, order, "shipping_amount") or _ZERO
    shipping_off = _was(o, order, "shipping_discount") or _ZERO
    # an order no rule set decided: subtotal less discount (plus its shipping less
    # its shipping discount), as Order.calculate_total
    total = (
        _was(o, order, "total_amount")
        if decided
        else (subtotal or _ZERO) - (discount or _ZERO) + shipping - shipping_off
    )
    return Basket(
        order_id=o.get(order, "id"),
        status=o.get(order, "status") or "new",
        currency=currency,
        lines=tuple(lines),
        subtotal=_amount(subtotal, currency),
        discount_description=_was(o, order, "discount_description"),
        discount_percentage=_percent(_was(o, order, "discount_percentage")),
        discount_amount=_amount(discount, currency),
        total_amount=_amount(total, currency),
        applied=audit,
        source="stored" if decided else "undecided",
        pending=pending,
        shipping_amount=_amount(shipping, currency),
        shipping_discount=_amount(shipping_off, currency),
    )


def _fresh(order: Any, d: Any, b: Binding) -> Basket:
    """The basket of decision ``d``, made now for ``order`` as it is."""
    currency = d.currency
    current = lines_of(order, b)
    totals = [line_cost(line, currency, b) for line in current]
    shares = d.line_discounts  # each line's share, as the decision worked it out
    if len(shares) != len(current):
        raise RuntimeError(
            f"the decision has shares for {len(shares)} lines and the order {len(current)}"
        )
    ln = b.ln
    return Basket(
        order_id=b.o.get(order, "id"),
        status=b.o.get(order, "status") or "new",
        currency=currency,
        lines=tuple(
            _line(
                ln.get(line, "description"),
                ln.get(line, "quantity"),
                ln.get(line, "unit_price"),
                total,
                share,
                currency,
            )
            for line, total, share in zip(current, totals, shares, strict=True)
        ),
        subtotal=_amount(d.subtotal, currency),
        discount_description=d.discount_description,
        discount_percentage=_percent(d.discount_percentage),
        discount_amount=_amount(d.discount_amount, currency),
        total_amount=_amount(d.total_amount, currency),
        applied=tuple(
            _discount(a.rule, a.description, a.amount, a.percentage, a.kind, currency)
            for a in d.applied
        ),
        source="fresh",
        shipping_amount=_amount(d.shipping_amount, currency),
        shipping_discount=_amount(d.shipping_discount, currency),
    )


def _line(
    description: str,
    quantity: int,
    unit_price: Decimal,
    line_total: Decimal,
    share: Decimal,
    currency: str,
) -> BasketLine:
    return BasketLine(
        description=description,
        quantity=quantity,
        unit_price=_amount(unit_price, currency),
        line_total=_amount(line_total, currency),
        discount_amount=_amount(share, currency),
        total=_amount(max(line_total - share, _ZERO), currency),
    )


def _discount(
    rule: str,
    description: str,
    amount: Decimal,
    percentage: Decimal | None,
    kind: str,
    currency: str,
) -> BasketDiscount:
    return BasketDiscount(
        rule=rule,
        description=description,
        amount=_amount(amount, currency),
        percentage=_percent(percentage),
        kind=kind,
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
    each applied discount with its percentage; the shipping charge and each
    shipping discount, when the order has a charge or a shipping discount; the
    total. Amounts are in one right-aligned column, followed by the currency;
    docs/discounts.md shows a basket with lines.
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
    on_order = [d for d in b.applied if d.kind not in SHIPPING_KINDS]
    on_shipping = [d for d in b.applied if d.kind in SHIPPING_KINDS]
    if on_order:
        for d in on_order:
            pct = f" ({d.percentage_text})" if d.percentage is not None else ""
            out.append(_row(d.description + pct, -d.amount, cur))
    elif b.has_discount:  # stored without audit rows: the order's own description
        pct = f" ({b.percentage_text})" if b.discount_percentage is not None else ""
        out.append(_row((b.discount_description or "Discount") + pct, -b.discount_amount, cur))
    if b.shipping_amount or on_shipping:
        out.append(_row("Shipping", b.shipping_amount, cur))
        for d in on_shipping:
            pct = f" ({d.percentage_text})" if d.percentage is not None else ""
            out.append(_row(d.description + pct, -d.amount, cur))
        if b.shipping_discount and not on_shipping:  # stored without audit rows
            out.append(_row("Shipping discount", -b.shipping_discount, cur))
    out.append(_row("Total", b.total_amount, cur))
    return "\n".join(out)
