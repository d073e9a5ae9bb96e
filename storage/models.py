"""The order backend's tables.

Customers, professionals, agents, services, catalog items and price-list
entries; orders with their items (each line keeps the price it was sold
at), their status history and the engine's audit rows; labels on every one
of them; and the bookkeeping of scheduled rule runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from rulec.storage.base import Base, Money, Percent

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
    "OrderItem",
    "OrderStatusChange",
    "Price",
    "Professional",
    "RuleErrorRecord",
    "ScheduledRun",
    "Service",
    "agent_labels",
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

    def __repr__(self) -> str:
        return f"Price({self.id!r}, {self.name!r}, {self.amount!r} {self.currency})"


# ------------------------------------------------------------------ orders --


class Order(_LabelHolder, Base):
    """An order. The engine writes the discount fields; ``subtotal`` is the input."""

    __tablename__ = "orders"
    _label_holder = "order"

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

    def calculate_total(self) -> Decimal:
        """The subtotal less the discount, never below zero (as the old system did)."""
        total = (self.subtotal or Decimal(0)) - (self.discount_amount or Decimal(0))
        return max(total, Decimal(0))

    def items_subtotal(self) -> Decimal:
        """The sum of the lines' totals (``Decimal("0")`` without lines); exact, not rounded."""
        return sum(
            (
                line.line_total if line.line_total is not None else line.compute_line_total()
                for line in self.items
            ),
            Decimal(0),
        )

    def __repr__(self) -> str:
        return f"Order({self.id!r}, {self.subtotal!r} {self.currency})"


class OrderItem(_LabelHolder, Base):
    """One line of an order, with the unit price copied from the catalog when it was sold.

    Built with an ``item`` and no ``unit_price``, the line copies
    ``item.unit_price`` (and ``item.name`` as its description) at
    construction, so a later change to the catalog leaves it alone. Without
    a ``line_total`` it gets ``quantity × unit_price``; ``quantity`` is 1
    unless given.
    """

    __tablename__ = "order_items"
    _label_holder = "order_item"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

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

    def compute_line_total(self) -> Decimal:
        """``quantity × unit_price``, exact (it does not set ``line_total``)."""
        if self.quantity is None or self.unit_price is None:
            raise ValueError("a line total needs a quantity and a unit price")
        return _money(self.unit_price) * self.quantity

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

    order: Mapped[Order] = relationship(back_populates="applied_discounts")


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
