"""The order backend's tables: customers, labels, orders and the engine's audit rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rulec.storage.base import Base, Money, Percent

__all__ = [
    "AppliedDiscount",
    "Customer",
    "Label",
    "Order",
    "RuleErrorRecord",
    "customer_labels",
]


def _now() -> datetime:
    return datetime.now(UTC)


#: Which customer carries which label, and since when.
customer_labels = Table(
    "customer_labels",
    Base.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class Label(Base):
    """A named tag on an entity (customers now; orders and products later)."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    entity_type: Mapped[str] = mapped_column(String(30), default="customer")
    description: Mapped[str | None] = mapped_column(Text, default=None)
    #: How the back office shows the label, e.g. "#d4af37" or "gold" (revision 0002).
    color: Mapped[str | None] = mapped_column(String(30), default=None)
    #: Whether the customer may see the label, e.g. on the basket page (revision 0002).
    visible_to_client: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def __repr__(self) -> str:
        return f"Label({self.name!r}, {self.entity_type!r})"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    labels: Mapped[list[Label]] = relationship(secondary=customer_labels, lazy="select")
    orders: Mapped[list[Order]] = relationship(back_populates="customer")

    def __repr__(self) -> str:
        return f"Customer({self.id!r}, {self.name!r})"


class Order(Base):
    """An order. The engine writes the discount fields; ``subtotal`` is the input."""

    __tablename__ = "orders"

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

    customer: Mapped[Customer | None] = relationship(back_populates="orders")
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

    def __repr__(self) -> str:
        return f"Order({self.id!r}, {self.subtotal!r} {self.currency})"


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
