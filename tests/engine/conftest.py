"""Two shops the engine's behaviours run on: rulec's reference models, and a
backend's own schema bound to rulec (issue 22).

The foreign shop has its own names for everything: ``shop_purchases`` keyed
by a UUID (``purchase_key``), its buyer by ``buyer_key``, its amounts as
``net_amount`` and ``currency_code``, its lines' ``qty``, ``price``,
``title``, and its labels as rows of one ``shop_tags`` table
``(holder_type, holder_id, name)``. The decision's columns come from
:class:`rulec.storage.owned.DiscountColumns`; rulec's own rows go to its
``rulec_*`` tables, keyed by the purchase's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import DateTime, ForeignKey, Integer, MetaData, String, Uuid, and_, select
from sqlalchemy.orm import DeclarativeBase, Mapped, foreign, mapped_column, relationship

from rulec.engine.db.facts.binding import REFERENCE, Binding, Entity
from rulec.engine.db.facts.labels import TagTable
from rulec.engine.db.records import applied
from rulec.storage import models
from rulec.storage.base import Money
from rulec.storage.owned import OWNED, DiscountColumns, RuleError, RuleStatusChange
from rulec.storage.session import make_session_factory


class ShopBase(DeclarativeBase):
    metadata = MetaData()


def _now() -> datetime:
    return datetime.now(UTC)


class Tag(ShopBase):
    __tablename__ = "shop_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_type: Mapped[str] = mapped_column(String(20))
    holder_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    name: Mapped[str] = mapped_column(String(100))


def _tags(holder: str, key: str) -> Any:
    return relationship(
        Tag,
        primaryjoin=lambda: and_(
            foreign(Tag.holder_id) == key_column(holder, key), Tag.holder_type == holder
        ),
        cascade="all, delete-orphan",
        overlaps="tags",
        order_by=Tag.id,
    )


def key_column(holder: str, key: str) -> Any:
    return getattr({"buyer": Buyer, "purchase": Purchase, "price": ShopPrice}[holder], key)


class Buyer(ShopBase):
    __tablename__ = "shop_buyers"

    uuid: Mapped[uuid.UUID] = mapped_column(
        "buyer_uuid", Uuid, primary_key=True, default=uuid.uuid4
    )
    full_name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    tags: Mapped[list[Tag]] = _tags("buyer", "uuid")


class Purchase(DiscountColumns, ShopBase):
    __tablename__ = "shop_purchases"

    key: Mapped[uuid.UUID] = mapped_column(
        "purchase_key", Uuid, primary_key=True, default=uuid.uuid4
    )
    buyer_key: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("shop_buyers.buyer_uuid"), default=None
    )
    net_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    currency_code: Mapped[str] = mapped_column(String(3), default="EUR")
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    state: Mapped[str] = mapped_column(String(20), default="new")
    channel: Mapped[str | None] = mapped_column(String(10), default=None)
    #: A shipping charge and its discount under the shop's own names: SHOP maps
    #: neither (a backend without shipping), test_shipping_engine.py's binding both.
    delivery_fee: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    delivery_discount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))

    buyer: Mapped[Buyer | None] = relationship()
    lines: Mapped[list[PurchaseLine]] = relationship(
        back_populates="purchase", cascade="all, delete-orphan", order_by="PurchaseLine.no"
    )
    tags: Mapped[list[Tag]] = _tags("purchase", "key")
    codes: Mapped[list[PurchaseCode]] = relationship(cascade="all, delete-orphan")


class PurchaseCode(ShopBase):
    """A voucher code entered on a purchase (bound as the order's ``coupons``)."""

    __tablename__ = "shop_purchase_codes"

    purchase_key: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("shop_purchases.purchase_key"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: What became of the code, written by rulec (a backend maps any of outcome, reason,
    #: rule, rule_set_version on its rows of codes; this one maps the outcome alone).
    outcome: Mapped[str | None] = mapped_column(String(40), default=None)


class ShopPrice(ShopBase):
    """A price list entry, shown or hidden by listing rules."""

    __tablename__ = "shop_prices"

    key: Mapped[uuid.UUID] = mapped_column("price_key", Uuid, primary_key=True, default=uuid.uuid4)
    caption: Mapped[str] = mapped_column(String(100))
    tags: Mapped[list[Tag]] = _tags("price", "key")


class PurchaseLine(ShopBase):
    __tablename__ = "shop_purchase_lines"

    no: Mapped[int] = mapped_column(Integer, primary_key=True)
    purchase_key: Mapped[uuid.UUID] = mapped_column(ForeignKey("shop_purchases.purchase_key"))
    title: Mapped[str] = mapped_column(String(100))
    qty: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal] = mapped_column(Money())
    share: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))

    purchase: Mapped[Purchase] = relationship(back_populates="lines")


#: The foreign shop bound to rulec: a few lines a backend writes.
SHOP = Binding.of(
    order=Entity(
        Purchase,
        id="key",
        customer_id="buyer_key",
        customer="buyer",
        subtotal="net_amount",
        currency="currency_code",
        created_at="placed_at",
        status="state",
        items="lines",
        coupons="codes",
    ),
    line=Entity(
        PurchaseLine,
        id="no",
        order_id="purchase_key",
        order="purchase",
        quantity="qty",
        unit_price="price",
        description="title",
        discount_amount="share",
    ),
    customer=Entity(Buyer, id="uuid", name="full_name"),
    labels=TagTable(Tag, holder_types={"order": "purchase", "customer": "buyer"}),
    holders={"order": Purchase, "customer": Buyer, "price": ShopPrice},
)


# ------------------------------------------------------------------ adapters --


class ReferenceShop:
    """The reference models, as the tests of both shops drive them."""

    name = "reference"
    binding = REFERENCE

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions

    def customer(self, s: Any, name: str, labels: Iterable[str] = ()) -> Any:
        c = models.Customer(name=name, labels=[self._label(s, n, "customer") for n in labels])
        s.add(c)
        return c

    def _label(self, s: Any, name: str, kind: str) -> models.Label:
        for obj in s.new:
            if isinstance(obj, models.Label) and (obj.name, obj.entity_type) == (name, kind):
                return obj
        with s.no_autoflush:  # the caller's rows are flushed when the caller says
            found = s.scalars(
                select(models.Label).where(
                    models.Label.name == name, models.Label.entity_type == kind
                )
            ).one_or_none()
        return found or models.Label(name=name, entity_type=kind)

    def order(
        self,
        s: Any,
        customer: Any = None,
        lines: Iterable[tuple[str, int, str]] = (),
        subtotal: str | None = None,
        codes: Iterable[str] = (),
        **fields: Any,
    ) -> Any:
        o = models.Order(
            customer=customer,
            coupon_codes=list(codes),
            subtotal=Decimal(subtotal) if subtotal is not None else None,
            items=[
                models.OrderItem(description=d, quantity=q, unit_price=Decimal(p))
                for d, q, p in lines
            ],
            **fields,
        )
        s.add(o)
        return o

    def get(self, s: Any, key: Any) -> Any:
        return s.get(models.Order, key)

    def key(self, order: Any) -> Any:
        return order.id

    def figures(self, o: Any) -> tuple[Any, ...]:
        return (o.discount_percentage, o.discount_amount, o.discount_description, o.total_amount)

    def subtotal(self, o: Any) -> Decimal:
        return o.subtotal

    def status(self, o: Any) -> str:
        return o.status

    def lines(self, o: Any) -> list[Any]:
        return list(o.items)

    def share(self, line: Any) -> Decimal:
        return line.discount_amount

    def unit_price(self, line: Any) -> Decimal:
        return line.unit_price

    def set_quantity(self, line: Any, quantity: int) -> None:
        line.quantity = quantity

    def audit(self, s: Any, o: Any) -> list[dict[str, Any]]:
        return applied(s, self.binding, o)

    def audit_ids(self, s: Any, o: Any) -> list[int]:
        return list(
            s.scalars(
                select(models.AppliedDiscount.id)
                .where(models.AppliedDiscount.order_id == o.id)
                .order_by(models.AppliedDiscount.id)
            )
        )

    def errors(self, s: Any, o: Any) -> list[str]:
        return [e.rule_name for e in o.rule_errors]

    def status_history(self, s: Any, o: Any) -> list[tuple[str | None, str]]:
        return [(c.old_status, c.new_status) for c in o.status_changes]

    def labels(self, s: Any, row: Any) -> set[str]:
        s.refresh(row)
        return {label.name for label in row.labels}

    def tag(self, s: Any, row: Any, name: str, kind: str) -> None:
        row.labels.append(self._label(s, name, kind))

    def untag(self, s: Any, row: Any, name: str) -> None:
        row.labels[:] = [label for label in row.labels if label.name != name]

    def set_field(self, o: Any, name: str, value: Any) -> None:
        setattr(o, name, value)

    def price(self, s: Any, name: str, labels: Iterable[str] = ()) -> Any:
        p = models.Price(
            name=name,
            amount=Decimal("100.00"),
            labels=[self._label(s, n, "price") for n in labels],
        )
        s.add(p)
        return p

    def price_name(self, p: Any) -> str:
        return p.name


class ForeignShop(ReferenceShop):
    """The foreign schema, bound with :data:`SHOP`."""

    name = "foreign"
    binding = SHOP

    def customer(self, s: Any, name: str, labels: Iterable[str] = ()) -> Any:
        c = Buyer(full_name=name, tags=[Tag(name=n, holder_type="buyer") for n in labels])
        s.add(c)
        return c

    def order(
        self,
        s: Any,
        customer: Any = None,
        lines: Iterable[tuple[str, int, str]] = (),
        subtotal: str | None = None,
        codes: Iterable[str] = (),
        **fields: Any,
    ) -> Any:
        o = Purchase(
            buyer=customer,
            codes=[PurchaseCode(code=c.upper()) for c in codes],
            net_amount=Decimal(subtotal) if subtotal is not None else Decimal("0.00"),
            lines=[PurchaseLine(title=d, qty=q, price=Decimal(p)) for d, q, p in lines],
            **{{"status": "state"}.get(k, k): v for k, v in fields.items()},
        )
        s.add(o)
        return o

    def get(self, s: Any, key: Any) -> Any:
        return s.get(Purchase, key)

    def key(self, order: Any) -> Any:
        return order.key

    def subtotal(self, o: Any) -> Decimal:
        return o.net_amount

    def status(self, o: Any) -> str:
        return o.state

    def lines(self, o: Any) -> list[Any]:
        return list(o.lines)

    def share(self, line: Any) -> Decimal:
        return line.share

    def unit_price(self, line: Any) -> Decimal:
        return line.price

    def set_quantity(self, line: Any, quantity: int) -> None:
        line.qty = quantity

    def audit_ids(self, s: Any, o: Any) -> list[int]:
        from rulec.storage.owned import RuleAudit

        return list(
            s.scalars(
                select(RuleAudit.id).where(RuleAudit.order_key == o.key).order_by(RuleAudit.id)
            )
        )

    def errors(self, s: Any, o: Any) -> list[str]:
        return list(
            s.scalars(
                select(RuleError.rule_name)
                .where(RuleError.order_key == o.key)
                .order_by(RuleError.id)
            )
        )

    def status_history(self, s: Any, o: Any) -> list[tuple[str | None, str]]:
        rows = s.execute(
            select(RuleStatusChange.old_status, RuleStatusChange.new_status)
            .where(RuleStatusChange.order_key == o.key)
            .order_by(RuleStatusChange.id)
        )
        return [tuple(r) for r in rows]

    def labels(self, s: Any, row: Any) -> set[str]:
        s.refresh(row)
        return {t.name for t in row.tags}

    def tag(self, s: Any, row: Any, name: str, kind: str) -> None:
        holder = {"customer": "buyer", "order": "purchase"}[kind]
        row.tags.append(Tag(name=name, holder_type=holder))

    def untag(self, s: Any, row: Any, name: str) -> None:
        for t in [t for t in row.tags if t.name == name]:
            row.tags.remove(t)

    def set_field(self, o: Any, name: str, value: Any) -> None:
        setattr(o, {"status": "state", "subtotal": "net_amount"}.get(name, name), value)

    def price(self, s: Any, name: str, labels: Iterable[str] = ()) -> Any:
        p = ShopPrice(caption=name, tags=[Tag(name=n, holder_type="price") for n in labels])
        s.add(p)
        return p

    def price_name(self, p: Any) -> str:
        return p.caption


@pytest.fixture(scope="module")
def foreign_db(db_engine: Any) -> Iterator[Any]:
    """The foreign shop's tables and rulec's own, beside the reference schema, for
    one test module (gone after it: the reference schema is compared to its models)."""
    ShopBase.metadata.drop_all(db_engine)
    OWNED.drop_all(db_engine)
    ShopBase.metadata.create_all(db_engine)
    OWNED.create_all(db_engine)
    yield db_engine
    ShopBase.metadata.drop_all(db_engine)
    OWNED.drop_all(db_engine)


@pytest.fixture(params=["reference", "foreign"])
def shop(request: Any, db: Any) -> Iterator[ReferenceShop]:
    """Each shop on each database, emptied after each test."""
    if request.param == "reference":
        yield ReferenceShop(make_session_factory(db))
        return
    engine = request.getfixturevalue("foreign_db")
    yield ForeignShop(make_session_factory(engine))
    with engine.begin() as conn:
        for table in (*reversed(ShopBase.metadata.sorted_tables), *OWNED.sorted_tables):
            conn.execute(table.delete())
