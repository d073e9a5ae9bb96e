"""The order backend's tables.

Customers, professionals, agents, services, catalog items and price-list
entries; orders with their items (each line keeps the price it was sold
at), their status history and the engine's audit rows; labels on every one
of them; and the bookkeeping of scheduled rule runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship, validates
from sqlalchemy.orm.attributes import flag_modified

from rulec.storage.base import Base, Money, Percent
from rulec.storage.currencies import AmountError, amount, line_total

__all__ = [
    "HOLDER_LABEL_TYPES",
    "LABEL_LINKS",
    "LABEL_TYPES",
    "Agent",
    "AppliedDiscount",
    "Customer",
    "Item",
    "Label",
    "LabelTypeError",
    "Order",
    "OrderCoupon",
    "OrderItem",
    "OrderStatusChange",
    "Price",
    "Professional",
    "RuleErrorRecord",
    "ScheduledRun",
    "Service",
    "UsageClaim",
    "UsageCounter",
    "agent_labels",
    "coupon_code",
    "customer_labels",
    "item_labels",
    "order_item_labels",
    "order_labels",
    "price_labels",
    "professional_labels",
    "service_labels",
]

#: The kinds of entity a label is for (``Label.entity_type``), as in the old system.
LABEL_TYPES = ("customer", "professional", "agent", "service", "item", "price", "order")


def _now() -> datetime:
    return datetime.now(UTC)


def _money(value: Any) -> Decimal:
    """``value`` as a Decimal; a float is refused, as the Money column refuses it."""
    if isinstance(value, float):
        raise TypeError("money must be a Decimal, not a float")
    return value if isinstance(value, Decimal) else Decimal(value)


# ------------------------------------------------------------------- money --
# The money rules of rulec.storage.currencies, kept by the models as values are
# set: a row's currency is set before its amounts (its currency is what they
# are checked against, EUR unless given), and a change of currency checks the
# amounts already set again.


def _currency_first(kw: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments with ``currency`` first (EUR when missing or None)."""
    currency = kw.pop("currency", None) or "EUR"
    return {"currency": currency, **kw}


def _recheck(row: Any, currency: str, keys: dict[str, tuple[str, bool]]) -> None:
    """Check and rewrite ``row``'s amounts ``keys`` (key -> (what, finer)) set so far
    against its new ``currency`` (12.50 EUR becomes 12.5000 CLF; 12.50 EUR is not JPY)."""
    for key, (what, finer) in keys.items():
        old = row.__dict__.get(key)
        new = amount(old, currency, what, finer=finer)
        if new is not None and str(new) != str(old):
            row.__dict__[key] = new  # around the validator, which knows the old currency
            flag_modified(row, key)


def _line_currency(line: OrderItem) -> str | None:
    """A line's currency when it is known without a query: its order's, else its item's."""
    order = line.__dict__.get("order")
    if order is not None:
        return order.currency or "EUR"
    item = line.__dict__.get("item")
    return item.currency if item is not None else None


def _settle_line(
    line: OrderItem, currency: str, item: Item | None = None, item_currency: str | None = None
) -> None:
    """Make ``line`` a line of an order in ``currency``, or refuse it.

    A line sold from a catalog item priced in another currency is refused
    (AmountError). Its total, when it is the one its quantity and unit price
    give, is rounded half-up to the currency's minor unit; one given by hand
    must be in it; its unit price and share take the currency's places.
    """
    if item is None:
        item = line.__dict__.get("item")
    description = line.description
    if description is None and item is not None:
        description = item.name  # what the line is called once it is built
    if item_currency is None and item is not None:
        item_currency = item.currency
    if item_currency is not None and item_currency != currency:
        name = f" (catalog item {item.name!r})" if item is not None else ""
        raise AmountError(
            f"order line {description!r} is priced in {item_currency}{name}, "
            f"but its order is in {currency}: a line is in its order's currency"
        )
    what = f"order line {description!r}"
    price, quantity, total = line.unit_price, line.quantity, line.line_total
    if price is not None:
        line.unit_price = amount(price, currency, f"{what} unit price", finer=True)  # type: ignore[assignment]
    if price is not None and quantity is not None and (total is None or total == price * quantity):
        line.line_total = line_total(quantity, _money(price), currency)
    elif total is not None:
        line.line_total = amount(total, currency, f"{what} total")  # type: ignore[assignment]
    share = line.discount_amount
    if share is None:
        share = Decimal(0)  # 0.00 EUR, 0 JPY: not the column default's bare 0
    line.discount_amount = amount(share, currency, f"{what} discount")  # type: ignore[assignment]


# ------------------------------------------------------------------ labels --


def _label_link(holder: str, table: str) -> Table:
    """``<holder>_labels``: which ``holder`` carries which label, and since when.

    The primary key (holder, label) finds a holder's labels; the index on
    ``label_id`` finds a label's holders.
    """
    return Table(
        f"{holder}_labels",
        Base.metadata,
        Column(f"{holder}_id", ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True),
        Column(
            "label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True
        ),
        Column("assigned_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


#: Which customer carries which label, and since when (revision 0001: no label_id index).
customer_labels = Table(
    "customer_labels",
    Base.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
professional_labels = _label_link("professional", "professionals")
agent_labels = _label_link("agent", "agents")
service_labels = _label_link("service", "services")
item_labels = _label_link("item", "items")
price_labels = _label_link("price", "prices")
order_labels = _label_link("order", "orders")
order_item_labels = _label_link("order_item", "order_items")

#: The link table of each kind of label holder.
LABEL_LINKS: dict[str, Table] = {
    "customer": customer_labels,
    "professional": professional_labels,
    "agent": agent_labels,
    "service": service_labels,
    "item": item_labels,
    "price": price_labels,
    "order": order_labels,
    "order_item": order_item_labels,
}


#: The entity type of the labels each kind of holder carries: its own, except
#: an order line, which carries item labels (to the rules, a line's labels and
#: its catalog item's are one set, ``item.labels``).
HOLDER_LABEL_TYPES: dict[str, str] = {
    holder: "item" if holder == "order_item" else holder for holder in LABEL_LINKS
}

#: How an error names each kind of holder.
_HOLDER_NAMES = {"order_item": "order line"}


class LabelTypeError(ValueError):
    """A label linked to a holder that does not carry labels of its entity type."""


class Label(Base):
    """A named tag for one kind of entity (``entity_type``, one of :data:`LABEL_TYPES`).

    A label is its name *and* its entity type: ``Gold`` for customers and
    ``Gold`` for orders are two labels (revision 0004). Without an
    ``entity_type`` a label is a customer label, from its construction on.
    """

    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("name", "entity_type", name="uq_labels_name_entity_type"),
        CheckConstraint(
            "entity_type IN (" + ", ".join(f"'{t}'" for t in LABEL_TYPES) + ")",
            name="entity_type",  # ck_labels_entity_type (revision 0003)
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(30), default="customer")
    description: Mapped[str | None] = mapped_column(Text, default=None)
    #: How the back office shows the label, e.g. "#d4af37" or "gold" (revision 0002).
    color: Mapped[str | None] = mapped_column(String(30), default=None)
    #: Whether the customer may see the label, e.g. on the basket page (revision 0002).
    visible_to_client: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def __init__(self, **kw: Any) -> None:
        # the column's default is applied at the INSERT: set it now, so that
        # linking the new label is checked against the type it will have
        kw.setdefault("entity_type", "customer")
        super().__init__(**kw)

    def __repr__(self) -> str:
        return f"Label({self.name!r}, {self.entity_type!r})"


class _LabelHolder:
    """A row that carries labels: only labels of its kind's entity type.

    Linking any other label raises :class:`LabelTypeError` at once (append,
    extend, insert, assignment, the constructor's ``labels=``), so the link
    is never written. Links written without the ORM are not checked here;
    the fact readers never count them (``docs/facts.md``).
    """

    #: The holder's name in :data:`LABEL_LINKS` (``"order_item"`` for a line).
    _label_holder: ClassVar[str]

    @validates("labels")
    def _check_label_type(self, _key: str, label: Label) -> Label:
        holder = self._label_holder
        wanted = HOLDER_LABEL_TYPES[holder]
        if label.entity_type != wanted:
            name = _HOLDER_NAMES.get(holder, holder)
            raise LabelTypeError(
                f"cannot link label {label.name!r} of entity type {label.entity_type!r} "
                f"to {name} {self!r}: {name}s carry only labels of entity type {wanted!r}"
            )
        return label


# ------------------------------------------------------------------ people --


class Customer(_LabelHolder, Base):
    __tablename__ = "customers"
    _label_holder = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    labels: Mapped[list[Label]] = relationship(secondary=customer_labels, lazy="select")
    orders: Mapped[list[Order]] = relationship(back_populates="customer")

    def __repr__(self) -> str:
        return f"Customer({self.id!r}, {self.name!r})"


class Professional(_LabelHolder, Base):
    """Someone who provides services (a photographer, a caterer, …)."""

    __tablename__ = "professionals"
    _label_holder = "professional"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    labels: Mapped[list[Label]] = relationship(secondary=professional_labels, lazy="select")
    services: Mapped[list[Service]] = relationship(
        back_populates="professional", passive_deletes=True, order_by="Service.id"
    )

    def __repr__(self) -> str:
        return f"Professional({self.id!r}, {self.name!r})"


class Agent(_LabelHolder, Base):
    """Staff who place orders, with or without a customer."""

    __tablename__ = "agents"
    _label_holder = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    labels: Mapped[list[Label]] = relationship(secondary=agent_labels, lazy="select")
    orders: Mapped[list[Order]] = relationship(back_populates="agent", passive_deletes=True)

    def __repr__(self) -> str:
        return f"Agent({self.id!r}, {self.name!r})"


# ----------------------------------------------------------------- catalog --


class Service(_LabelHolder, Base):
    """A service offered, by a professional or by the house (``professional_id`` NULL)."""

    __tablename__ = "services"
    _label_holder = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    professional_id: Mapped[int | None] = mapped_column(
        ForeignKey("professionals.id", ondelete="SET NULL"), index=True, default=None
    )

    professional: Mapped[Professional | None] = relationship(back_populates="services")
    items: Mapped[list[Item]] = relationship(
        back_populates="service", passive_deletes=True, order_by="Item.id"
    )
    labels: Mapped[list[Label]] = relationship(secondary=service_labels, lazy="select")

    def __repr__(self) -> str:
        return f"Service({self.id!r}, {self.name!r})"


class Item(_LabelHolder, Base):
    """A catalog item and its current unit price. Order lines copy the price when sold."""

    __tablename__ = "items"
    _label_holder = "item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), index=True, default=None
    )
    unit_price: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="EUR")

    service: Mapped[Service | None] = relationship(back_populates="items")
    labels: Mapped[list[Label]] = relationship(secondary=item_labels, lazy="select")

    #: A unit price may be finer than the minor unit (1.479 EUR a litre).
    _AMOUNTS: ClassVar[dict[str, tuple[str, bool]]] = {"unit_price": ("item unit price", True)}

    def __init__(self, **kw: Any) -> None:
        super().__init__(**_currency_first(kw))

    @validates("unit_price")
    def _check_amount(self, key: str, value: Any) -> Decimal | None:
        return amount(value, self.currency or "EUR", f"item {self.name!r} unit price", finer=True)

    @validates("currency")
    def _check_currency(self, key: str, value: str | None) -> str | None:
        _recheck(self, value or "EUR", self._AMOUNTS)
        return value

    def __repr__(self) -> str:
        return f"Item({self.id!r}, {self.name!r}, {self.unit_price!r} {self.currency})"


class Price(_LabelHolder, Base):
    """A price-list entry for an item or a service, optionally for one wedding year."""

    __tablename__ = "prices"
    _label_holder = "price"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), index=True, default=None
    )
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True, default=None
    )
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    #: The wedding year the price is for; NULL: any year.
    year: Mapped[int | None] = mapped_column(Integer, default=None)

    item: Mapped[Item | None] = relationship()
    service: Mapped[Service | None] = relationship()
    labels: Mapped[list[Label]] = relationship(secondary=price_labels, lazy="select")

    #: A price-list amount may be a unit price, finer than the minor unit.
    _AMOUNTS: ClassVar[dict[str, tuple[str, bool]]] = {"amount": ("price amount", True)}

    def __init__(self, **kw: Any) -> None:
        super().__init__(**_currency_first(kw))

    @validates("amount")
    def _check_amount(self, key: str, value: Any) -> Decimal | None:
        return amount(value, self.currency or "EUR", f"price {self.name!r} amount", finer=True)

    @validates("currency")
    def _check_currency(self, key: str, value: str | None) -> str | None:
        _recheck(self, value or "EUR", self._AMOUNTS)
        return value

    def __repr__(self) -> str:
        return f"Price({self.id!r}, {self.name!r}, {self.amount!r} {self.currency})"


# ------------------------------------------------------------------ orders --


class Order(_LabelHolder, Base):
    """An order. The engine writes the discount fields; ``subtotal`` is the input.

    Its amounts are in its currency (EUR unless given), checked as they are
    set (rulec.storage.currencies): a negative one, or one finer than the
    currency's minor unit, is refused with AmountError; each is kept with the
    currency's places (12.5 EUR is stored 12.50). Its lines are in its
    currency too. The database refuses a negative amount as well.
    """

    __tablename__ = "orders"
    _label_holder = "order"
    __table_args__ = (  # revision 0005
        CheckConstraint("subtotal >= 0", name="subtotal_not_negative"),
        CheckConstraint("discount_amount >= 0", name="discount_amount_not_negative"),
        CheckConstraint("total_amount >= 0", name="total_amount_not_negative"),
        # revision 0007_shipping
        CheckConstraint("shipping_amount >= 0", name="shipping_amount_not_negative"),
        CheckConstraint("shipping_discount >= 0", name="shipping_discount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True, default=None
    )
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    subtotal: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    discount_percentage: Mapped[Decimal | None] = mapped_column(Percent(), default=None)
    discount_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    discount_description: Mapped[str | None] = mapped_column(Text, default=None)
    total_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    rule_set_version: Mapped[str | None] = mapped_column(String(64), default=None)
    #: "new", then whatever the back office and the rules set (revision 0003).
    status: Mapped[str] = mapped_column(String(30), default="new", server_default="new")
    #: The agent who placed the order, if any; it may have no customer (revision 0003).
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True, default=None
    )
    wedding_date: Mapped[date | None] = mapped_column(Date, default=None)
    #: The shipping charge, before any shipping discount: an input, as the subtotal
    #: is (revision 0007_shipping); 0, no shipping charge, unless given.
    shipping_amount: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0"), server_default=text("0")
    )
    #: What the shipping discounts took off the shipping charge (the engine writes it).
    shipping_discount: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0"), server_default=text("0")
    )

    customer: Mapped[Customer | None] = relationship(back_populates="orders")
    agent: Mapped[Agent | None] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    labels: Mapped[list[Label]] = relationship(secondary=order_labels, lazy="select")
    status_changes: Mapped[list[OrderStatusChange]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderStatusChange.id"
    )
    applied_discounts: Mapped[list[AppliedDiscount]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="AppliedDiscount.id"
    )
    rule_errors: Mapped[list[RuleErrorRecord]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="RuleErrorRecord.id"
    )
    #: The coupon codes entered on the order (revision 0006); see :attr:`coupon_codes`.
    coupons: Mapped[list[OrderCoupon]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderCoupon.code"
    )

    #: What each amount is called in a refusal, and whether it may be finer than the minor unit.
    _AMOUNTS: ClassVar[dict[str, tuple[str, bool]]] = {
        "subtotal": ("order subtotal", False),
        "discount_amount": ("order discount amount", False),
        "total_amount": ("order total amount", False),
        "shipping_amount": ("order shipping amount", False),
        "shipping_discount": ("order shipping discount", False),
    }

    def __init__(self, **kw: Any) -> None:
        kw = _currency_first(kw)
        zero = amount(Decimal(0), kw["currency"], "zero")
        for key in self._AMOUNTS:  # 0.00 EUR, 0 JPY: not the column default's bare 0
            if kw.get(key) is None:
                kw[key] = zero
        super().__init__(**kw)

    @validates(
        "subtotal", "discount_amount", "total_amount", "shipping_amount", "shipping_discount"
    )
    def _check_amount(self, key: str, value: Any) -> Decimal | None:
        return amount(value, self.currency or "EUR", self._AMOUNTS[key][0])

    @validates("currency")
    def _check_currency(self, key: str, value: str | None) -> str | None:
        currency = value or "EUR"
        _recheck(self, currency, self._AMOUNTS)
        for line in self.__dict__.get("items") or ():
            _settle_line(line, currency)
        return value

    @validates("items")
    def _check_line(self, key: str, line: OrderItem) -> OrderItem:
        _settle_line(line, self.currency or "EUR")
        return line

    def _zero(self) -> Decimal:
        zero = amount(Decimal(0), self.currency or "EUR", "zero")
        assert zero is not None
        return zero

    def calculate_total(self) -> Decimal:
        """The subtotal less the discount, plus the shipping less the shipping discount,
        never below zero (as the old system did, which had no shipping)."""
        total = (self.subtotal or Decimal(0)) - (self.discount_amount or Decimal(0))
        shipping = (self.shipping_amount or Decimal(0)) - (self.shipping_discount or Decimal(0))
        if shipping > 0:
            total = (total if total > 0 else Decimal(0)) + shipping
        return self._zero() if total < 0 else total

    def items_subtotal(self) -> Decimal:
        """The sum of the lines' totals (zero in the currency, 0.00 EUR, without lines)."""
        return sum(
            (
                line.line_total if line.line_total is not None else line.compute_line_total()
                for line in self.items
            ),
            self._zero(),
        )

    @property
    def coupon_codes(self) -> list[str]:
        """The codes entered on the order, upper case (``order.coupon_codes = ["spring10"]``
        enters ``SPRING10``; a code entered twice counts once)."""
        return [c.code for c in self.coupons]

    @coupon_codes.setter
    def coupon_codes(self, codes: Iterable[str]) -> None:
        have = {c.code: c for c in self.coupons}
        wanted = list(dict.fromkeys(coupon_code(c) for c in codes))
        self.coupons = [have.get(c) or OrderCoupon(code=c) for c in wanted]

    def __repr__(self) -> str:
        return f"Order({self.id!r}, {self.subtotal!r} {self.currency})"


class OrderItem(_LabelHolder, Base):
    """One line of an order, with the unit price copied from the catalog when it was sold.

    Built with an ``item`` and no ``unit_price``, the line copies
    ``item.unit_price`` (and ``item.name`` as its description) at
    construction, so a later change to the catalog leaves it alone. Without
    a ``line_total`` it gets ``quantity × unit_price``, rounded half-up to
    the minor unit of its currency (its order's; its item's until it has an
    order); ``quantity`` is 1 unless given. A line is in its order's
    currency: one sold from an item priced in another currency is refused
    (AmountError) when it joins the order, or when it is flushed.
    """

    __tablename__ = "order_items"
    _label_holder = "order_item"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        # revision 0005
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("line_total >= 0", name="line_total_not_negative"),
        CheckConstraint("discount_amount >= 0", name="discount_amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="SET NULL"), index=True, default=None
    )
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    #: The catalog's unit price when the order was placed.
    unit_price: Mapped[Decimal] = mapped_column(Money())
    #: ``quantity × unit_price``, before any discount.
    line_total: Mapped[Decimal] = mapped_column(Money())
    #: This line's share of the order's discount.
    discount_amount: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0"), server_default=text("0")
    )

    order: Mapped[Order] = relationship(back_populates="items")
    item: Mapped[Item | None] = relationship()
    labels: Mapped[list[Label]] = relationship(secondary=order_item_labels, lazy="select")

    def __init__(self, **kw: Any) -> None:
        item = kw.get("item")
        if item is not None:
            if kw.get("unit_price") is None:
                kw["unit_price"] = item.unit_price
            if kw.get("description") is None:
                kw["description"] = item.name
        if kw.get("quantity") is None:
            kw["quantity"] = 1
        if kw.get("unit_price") is not None:
            kw["unit_price"] = _money(kw["unit_price"])
        if kw.get("line_total") is not None:
            kw["line_total"] = _money(kw["line_total"])
        super().__init__(**kw)
        if self.line_total is None and self.unit_price is not None:
            self.line_total = self.compute_line_total()
        order = self.__dict__.get("order")
        if order is not None:  # its item is known now too
            _settle_line(self, order.currency or "EUR")

    @validates("unit_price", "line_total", "discount_amount")
    def _check_amount(self, key: str, value: Any) -> Decimal | None:
        what = f"order line {self.description!r} {key.replace('_', ' ')}"
        return amount(value, _line_currency(self), what, finer=key == "unit_price")

    @validates("item")
    def _check_item(self, key: str, item: Item | None) -> Item | None:
        order = self.__dict__.get("order")
        if item is not None and order is not None and item.currency != (order.currency or "EUR"):
            _settle_line(self, order.currency or "EUR", item)
        return item

    def compute_line_total(self) -> Decimal:
        """``quantity × unit_price``, rounded half-up to the minor unit of the line's
        currency (exact while it is not known); it does not set ``line_total``."""
        if self.quantity is None or self.unit_price is None:
            raise ValueError("a line total needs a quantity and a unit price")
        return line_total(self.quantity, _money(self.unit_price), _line_currency(self))

    def __repr__(self) -> str:
        return (
            f"OrderItem({self.id!r}, {self.description!r}, "
            f"{self.quantity!r} x {self.unit_price!r} = {self.line_total!r})"
        )


class OrderStatusChange(Base):
    """One change of an order's status, and the rule that made it, if one did."""

    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(30), default=None)
    new_status: Mapped[str] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    rule_name: Mapped[str | None] = mapped_column(String(200), default=None)
    rule_file: Mapped[str | None] = mapped_column(String(500), default=None)
    rule_line: Mapped[int | None] = mapped_column(Integer, default=None)
    rule_set_version: Mapped[str | None] = mapped_column(String(64), default=None)

    order: Mapped[Order] = relationship(back_populates="status_changes")

    def __repr__(self) -> str:
        return (
            f"OrderStatusChange({self.id!r}, order={self.order_id!r}, "
            f"{self.old_status!r} -> {self.new_status!r})"
        )


class AppliedDiscount(Base):
    """Audit row: one discount the engine applied to an order, and why."""

    __tablename__ = "applied_discounts"
    #: Not read back after an INSERT: the NULL defaults of ``coupon_code``,
    #: ``stacking_group`` and ``base`` are known, and a database not migrated to 0008
    #: or 0009 yet can still take the rows.
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    rule_name: Mapped[str] = mapped_column(String(200))
    rule_file: Mapped[str] = mapped_column(String(500))
    rule_line: Mapped[int] = mapped_column(Integer)
    rule_set_version: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # "percentage" | "fixed"
    percentage: Mapped[Decimal | None] = mapped_column(Percent(), default=None)
    amount: Mapped[Decimal] = mapped_column(Money())
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    #: The coupon code that unlocked the discount, or None (revision 0008). NULL is the
    #: database's default: a row without a code leaves the column out of its INSERT.
    coupon_code: Mapped[str | None] = mapped_column(String(100), server_default=text("NULL"))
    #: The stacking group of the rule whose discount this is, or None (revision 0009).
    stacking_group: Mapped[str | None] = mapped_column(String(100), server_default=text("NULL"))
    #: What its percentage was taken of when that was not the subtotal (a group after
    #: others: the subtotal less their discounts), or None (revision 0009).
    base: Mapped[Decimal | None] = mapped_column(Money(), server_default=text("NULL"))

    order: Mapped[Order] = relationship(back_populates="applied_discounts")

    @validates("amount")
    def _check_amount(self, key: str, value: Any) -> Decimal | None:
        order = self.__dict__.get("order")
        currency = (order.currency or "EUR") if order is not None else None
        return amount(value, currency, "applied discount amount")


class RuleErrorRecord(Base):
    """A rule that raised while an order was evaluated (R401)."""

    __tablename__ = "rule_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    rule_name: Mapped[str] = mapped_column(String(200))
    rule_file: Mapped[str] = mapped_column(String(500))
    rule_line: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    order: Mapped[Order] = relationship(back_populates="rule_errors")


# ------------------------------------------------------ coupons and limits --

#: The longest coupon code stored.
MAX_COUPON_CODE = 100


def coupon_code(code: Any) -> str:
    """A code as stored: its text without surrounding spaces, upper case (codes are
    compared without regard to case); ValueError for an empty or overlong one."""
    if not isinstance(code, str):
        raise TypeError(f"a coupon code is text, not {code!r}")
    text = code.strip().upper()
    if not text or len(text) > MAX_COUPON_CODE:
        raise ValueError(f"a coupon code has 1 to {MAX_COUPON_CODE} characters, not {code!r}")
    return text


class OrderCoupon(Base):
    """A coupon code the customer entered on an order (revision 0006)."""

    __tablename__ = "order_coupons"

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(MAX_COUPON_CODE), primary_key=True)
    #: What became of the code when the order was last decided (revision 0008): its
    #: stable reason code (``applied``, ``unknown``, …), the reason in words, the rule
    #: it names and the rule set's version; None until the order is decided.
    outcome: Mapped[str | None] = mapped_column(String(40), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    rule: Mapped[str | None] = mapped_column(String(200), default=None)
    rule_set_version: Mapped[str | None] = mapped_column(String(64), default=None)

    order: Mapped[Order] = relationship(back_populates="coupons")

    @validates("code")
    def _check_code(self, key: str, value: Any) -> str:
        return coupon_code(value)

    def __repr__(self) -> str:
        return f"OrderCoupon({self.order_id!r}, {self.code!r})"


class UsageCounter(Base):
    """How much of a rule's usage limit or budget is used (revision 0006).

    One row per rule and scope: ``total`` (uses in all), ``customer:KEY``
    (one customer's uses), ``code:CODE`` (one code's uses, revision 0008),
    ``budget:EUR`` (the money given in a currency, in minor units: exact on
    every database). Claimed atomically by
    :mod:`rulec.engine.db.limits` in the order's transaction.
    """

    __tablename__ = "usage_counters"
    __table_args__ = (UniqueConstraint("rule", "scope", name="uq_usage_counters_rule_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(120))
    used: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    spent_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


class UsageClaim(Base):
    """One use an order holds of a limited rule (revision 0006): what it counted,
    so that deciding the order again claims nothing twice and a cancelled order
    can give it back."""

    __tablename__ = "usage_claims"
    __table_args__ = (UniqueConstraint("order_id", "rule", name="uq_usage_claims_order_rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(200))
    #: Whether the claim counts in the rule's total uses.
    total: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The customer (key as text) whose uses it counts in, or None.
    customer: Mapped[str | None] = mapped_column(String(36), default=None)
    #: The currency of the money it took from a budget, and how much (minor units).
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Whether a cancelled order gives it back (the rule says so).
    give_back: Mapped[bool] = mapped_column(Boolean, default=False)
    rule_set_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    #: The code whose uses it counts in (``limit 1 use per code``), or None (revision 0008).
    code: Mapped[str | None] = mapped_column(String(100), default=None)


# --------------------------------------------------------------- schedules --


class ScheduledRun(Base):
    """One run of the ``daily`` or ``monthly`` rules for one period, resumable.

    ``period`` is the day ("2026-11-26") or the month ("2026-11") the run is
    for; there is one run per (event, subject, period). The subjects are
    done in id order and ``last_id`` is the last one done, so a run that
    crashed resumes after it.
    """

    __tablename__ = "scheduled_runs"
    __table_args__ = (
        UniqueConstraint(
            "event", "subject", "period", name="uq_scheduled_runs_event_subject_period"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(30))
    period: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_id: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    processed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    def __repr__(self) -> str:
        done = "done" if self.finished_at is not None else f"after {self.last_id!r}"
        return f"ScheduledRun({self.event!r}, {self.subject!r}, {self.period!r}, {done})"


# ------------------------------------------------------------ order lines --


@event.listens_for(OrderItem, "before_insert")
def _line_before_insert(mapper: Mapper[OrderItem], connection: Connection, line: OrderItem) -> None:
    """A line added by its order's id alone (not through ``Order.items``) is
    settled as it is written: its order's currency read with the flush's
    connection, its item's too when the item is not in memory."""
    if line.__dict__.get("order") is not None or line.order_id is None:
        return  # settled when it joined its order (or it has none: the flush fails anyway)
    currency = connection.scalar(select(Order.currency).where(Order.id == line.order_id))
    item_currency = None
    if line.__dict__.get("item") is None and line.item_id is not None:
        item_currency = connection.scalar(select(Item.currency).where(Item.id == line.item_id))
    _settle_line(line, currency or "EUR", item_currency=item_currency)
