"""What rulec owns in a backend's database, beside the backend's own tables.

A backend that binds its own models (``rulec.engine.db.facts.binding``)
keeps its orders in its own tables; rulec keeps its own rows apart, keyed
by the order's key: the discounts it applied (audit rows), the status
changes its rules made, the rules that failed, the bookkeeping of
scheduled runs, and the uses of rules with usage limits. They live in
:data:`OWNED` (their own ``MetaData``, tables named ``rulec_*``), created by
the Alembic branch ``rulec`` (the folder
``migrations/owned``), which a backend's own Alembic environment includes
with ``version_locations`` (see ``docs/adopting.md``).

The order's key is kept as its text (:class:`OrderKey`: an integer's
digits, a UUID's canonical form), so one branch serves integer and UUID
keys alike; there is no foreign key to the backend's table, whose name the
branch cannot know, so an audit row outlives a deleted order.

:class:`DiscountColumns` gives a backend's order class the columns the
decision is written to, ready-made.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from rulec.storage.base import NAMING_CONVENTION, Money, Percent

__all__ = [
    "OWNED",
    "DiscountColumns",
    "OrderKey",
    "OwnedBase",
    "RuleAudit",
    "RuleError",
    "RuleRun",
    "RuleStatusChange",
    "RuleUsageClaim",
    "RuleUsageCounter",
    "ShippingColumns",
]

#: rulec's own tables in a backend's database.
OWNED = MetaData(naming_convention=NAMING_CONVENTION)


class OrderKey(TypeDecorator[str]):
    """An order's key as text: an integer's digits, a UUID's canonical form."""

    impl = String(36)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, uuid.UUID | int | str):
            return str(value)
        raise TypeError(f"an order key is an integer, a UUID or a string, not {value!r}")


def _now() -> datetime:
    return datetime.now(UTC)


class OwnedBase(DeclarativeBase):
    metadata = OWNED


class RuleAudit(OwnedBase):
    """One discount the engine applied to an order, and why (the order by its key)."""

    __tablename__ = "rulec_applied_discounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_key: Mapped[str] = mapped_column(OrderKey(), index=True)
    rule_name: Mapped[str] = mapped_column(String(200))
    rule_file: Mapped[str] = mapped_column(String(500))
    rule_line: Mapped[int] = mapped_column(Integer)
    rule_set_version: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # "percentage" | "fixed"
    percentage: Mapped[Decimal | None] = mapped_column(Percent(), default=None)
    amount: Mapped[Decimal] = mapped_column(Money())
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    #: The coupon code that unlocked the discount, or None (rulec_0004).
    coupon_code: Mapped[str | None] = mapped_column(String(100), default=None)
    #: The stacking group of its rule, or None (rulec_0005).
    stacking_group: Mapped[str | None] = mapped_column(String(100), default=None)
    #: What its percentage was taken of when that was not the subtotal, or None (rulec_0005).
    base: Mapped[Decimal | None] = mapped_column(Money(), default=None)


class RuleStatusChange(OwnedBase):
    """One change of an order's status a rule made."""

    __tablename__ = "rulec_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_key: Mapped[str] = mapped_column(OrderKey(), index=True)
    old_status: Mapped[str | None] = mapped_column(String(30), default=None)
    new_status: Mapped[str] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    rule_name: Mapped[str | None] = mapped_column(String(200), default=None)
    rule_file: Mapped[str | None] = mapped_column(String(500), default=None)
    rule_line: Mapped[int | None] = mapped_column(Integer, default=None)
    rule_set_version: Mapped[str | None] = mapped_column(String(64), default=None)


class ShippingColumns:
    """The shipping columns, for a backend's order class whose orders have a shipping
    charge: ``class Purchase(DiscountColumns, ShippingColumns, Base): ...``.

    ``shipping_amount`` is the charge, an input as the subtotal is (the fact
    ``order.shipping``); ``shipping_discount`` is what the shipping discounts
    took off it, which the engine writes. A backend with a column of its own
    for either binds it by name instead (``Entity(Purchase,
    shipping_amount="delivery_fee")``); one without shipping maps neither, and
    its orders have no shipping charge. Both are the backend's columns, in its
    own migrations, as :class:`DiscountColumns` are.
    """

    shipping_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    shipping_discount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))


class RuleError(OwnedBase):
    """A rule that raised while an order was decided (R401)."""

    __tablename__ = "rulec_rule_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_key: Mapped[str] = mapped_column(OrderKey(), index=True)
    rule_name: Mapped[str] = mapped_column(String(200))
    rule_file: Mapped[str] = mapped_column(String(500))
    rule_line: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )


class RuleRun(OwnedBase):
    """One run of the ``daily`` or ``monthly`` rules for one period, resumable
    (as :class:`rulec.storage.models.ScheduledRun`; the last subject done by its key)."""

    __tablename__ = "rulec_scheduled_runs"
    __table_args__ = (UniqueConstraint("event", "subject", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(30))
    period: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_key: Mapped[str | None] = mapped_column(OrderKey(), default=None)
    processed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RuleUsageCounter(OwnedBase):
    """How much of a rule's usage limit or budget is used (as
    :class:`rulec.storage.models.UsageCounter`): per rule and scope, ``total``,
    ``customer:KEY``, ``code:CODE`` or ``budget:EUR`` (money in minor units)."""

    __tablename__ = "rulec_usage_counters"
    __table_args__ = (UniqueConstraint("rule", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(120))
    used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    spent_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class RuleUsageClaim(OwnedBase):
    """One use an order (by its key) holds of a limited rule (as
    :class:`rulec.storage.models.UsageClaim`)."""

    __tablename__ = "rulec_usage_claims"
    __table_args__ = (UniqueConstraint("order_key", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_key: Mapped[str] = mapped_column(OrderKey(), index=True)
    rule: Mapped[str] = mapped_column(String(200))
    total: Mapped[bool] = mapped_column(Boolean, default=False)
    customer: Mapped[str | None] = mapped_column(String(36), default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    give_back: Mapped[bool] = mapped_column(Boolean, default=False)
    rule_set_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    #: The code whose uses it counts in (``limit 1 use per code``), or None (rulec_0004).
    code: Mapped[str | None] = mapped_column(String(100), default=None)


class DiscountColumns:
    """The columns a decision is written to, for a backend's order class:
    ``class Purchase(DiscountColumns, Base): ...``."""

    discount_percentage: Mapped[Decimal | None] = mapped_column(Percent(), default=None)
    discount_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    discount_description: Mapped[str | None] = mapped_column(Text, default=None)
    total_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    rule_set_version: Mapped[str | None] = mapped_column(String(64), default=None)
