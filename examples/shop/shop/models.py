"""The shop's own models: its names, UUID keys, its tags in one table.

Nothing here comes from rulec but the discount columns (``DiscountColumns``)
and the exact money type.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, String, Uuid, and_
from sqlalchemy.orm import DeclarativeBase, Mapped, foreign, mapped_column, relationship

from rulec.storage.base import Money
from rulec.storage.owned import DiscountColumns


class Base(DeclarativeBase):
    pass


class Tag(Base):
    """A tag on a customer or a purchase: (holder type, holder id, name)."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_type: Mapped[str] = mapped_column(String(20))
    holder_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    name: Mapped[str] = mapped_column(String(100))


class Customer(Base):
    __tablename__ = "customers"

    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    full_name: Mapped[str] = mapped_column(String(100))
    tags: Mapped[list[Tag]] = relationship(
        primaryjoin=lambda: and_(
            foreign(Tag.holder_id) == Customer.uuid, Tag.holder_type == "customer"
        ),
        cascade="all, delete-orphan",
        overlaps="tags",
        order_by=Tag.id,
    )


class Purchase(DiscountColumns, Base):
    __tablename__ = "purchases"

    key: Mapped[uuid.UUID] = mapped_column(
        "purchase_key", Uuid, primary_key=True, default=uuid.uuid4
    )
    buyer_key: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.uuid"), index=True, default=None
    )
    net_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    currency_code: Mapped[str] = mapped_column(String(3), default="EUR")
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    state: Mapped[str] = mapped_column(String(20), default="new")

    buyer: Mapped[Customer | None] = relationship()
    lines: Mapped[list[PurchaseLine]] = relationship(
        back_populates="purchase", cascade="all, delete-orphan", order_by="PurchaseLine.no"
    )
    tags: Mapped[list[Tag]] = relationship(
        primaryjoin=lambda: and_(
            foreign(Tag.holder_id) == Purchase.key, Tag.holder_type == "purchase"
        ),
        cascade="all, delete-orphan",
        overlaps="tags",
        order_by=Tag.id,
    )


class PurchaseLine(Base):
    __tablename__ = "purchase_lines"

    no: Mapped[int] = mapped_column(Integer, primary_key=True)
    purchase_key: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("purchases.purchase_key", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(100))
    qty: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal] = mapped_column(Money())
    share: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))

    purchase: Mapped[Purchase] = relationship(back_populates="lines")
