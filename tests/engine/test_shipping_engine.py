"""Shipping discounts written by the engine through the ORM, on SQLite and PostgreSQL:
the order's shipping discount and total, the audit rows, and deciding again."""

from decimal import Decimal

import pytest
from sqlalchemy import select

import rulec
from rulec.engine.db.attach import Engine
from rulec.engine.db.facts.binding import Binding, Entity
from rulec.storage.models import Order
from rulec.storage.owned import OWNED, RuleAudit
from rulec.storage.session import make_session_factory

from .conftest import SHOP, Purchase, ShopBase

RULES = (
    'rule "Free shipping over 50"\n'
    "  on order_created\n"
    "  when order subtotal >= 50.00\n"
    '  then free shipping "Free shipping over 50"\n'
    "end\n"
    'rule "Ten off"\n'
    "  on order_created\n"
    "  when order subtotal >= 100.00\n"
    '  then discount 10.00 EUR "Ten off"\n'
    "end\n"
)


@pytest.fixture
def engine(sessions):
    e = Engine(rulec.load_text(RULES, "rules/shipping.rules"))
    e.attach(sessions)
    return e


def stored(sessions, subtotal, shipping=None):
    with sessions.begin() as s:
        o = Order(subtotal=Decimal(subtotal), currency="EUR")
        if shipping is not None:
            o.shipping_amount = Decimal(shipping)
        s.add(o)
    with sessions() as s:
        o = s.get(Order, o.id)
        o.applied_discounts  # noqa: B018 - load while the session is open
        return o


class TestWrite:
    def test_free_shipping_is_written_with_its_audit_row(self, engine, sessions):
        o = stored(sessions, "60.00", "4.95")
        assert (o.shipping_amount, o.shipping_discount) == (Decimal("4.95"), Decimal("4.95"))
        assert (o.discount_amount, o.total_amount) == (Decimal("0.00"), Decimal("60.00"))
        assert o.discount_description == "Free shipping over 50"
        [a] = o.applied_discounts
        assert (a.rule_name, a.kind, a.amount, a.percentage) == (
            "Free shipping over 50",
            "free_shipping",
            Decimal("4.95"),
            None,
        )
        assert o.total_amount == o.calculate_total()

    def test_an_order_discount_and_free_shipping_both_apply(self, engine, sessions):
        o = stored(sessions, "120.00", "5.90")
        assert (o.discount_amount, o.shipping_discount, o.total_amount) == (
            Decimal("10.00"),
            Decimal("5.90"),
            Decimal("110.00"),
        )
        assert sorted(a.kind for a in o.applied_discounts) == ["fixed", "free_shipping"]

    def test_below_the_threshold_the_shipping_is_paid(self, engine, sessions):
        o = stored(sessions, "40.00", "4.95")
        assert (o.shipping_discount, o.total_amount) == (Decimal("0.00"), Decimal("44.95"))
        assert o.applied_discounts == []

    def test_an_order_without_shipping_keeps_the_figures_it_had(self, engine, sessions):
        o = stored(sessions, "120.00")
        assert (o.discount_percentage, o.discount_amount, o.discount_description) == (
            None,
            Decimal("10.00"),
            "Ten off",
        )
        assert (o.total_amount, o.shipping_amount, o.shipping_discount) == (
            Decimal("110.00"),
            Decimal("0.00"),
            Decimal("0.00"),
        )
        assert [a.kind for a in o.applied_discounts] == ["fixed"]

    def test_deciding_again_is_idempotent_and_follows_a_new_charge(self, engine, sessions):
        o = stored(sessions, "60.00", "4.95")
        with sessions.begin() as s:  # decided again: the same shipping discount, once
            s.get(Order, o.id).subtotal = Decimal("70.00")
        with sessions() as s:
            again = s.get(Order, o.id)
            assert (again.shipping_discount, again.total_amount) == (
                Decimal("4.95"),
                Decimal("70.00"),
            )
            assert [(a.kind, a.amount) for a in again.applied_discounts] == [
                ("free_shipping", Decimal("4.95"))
            ]
        with sessions.begin() as s:  # a cheaper charge: a smaller shipping discount
            again = s.scalars(select(Order).where(Order.id == o.id)).one()
            again.shipping_amount = Decimal("2.50")
        with sessions() as s:
            again = s.get(Order, o.id)
            assert (again.shipping_discount, again.total_amount) == (
                Decimal("2.50"),
                Decimal("70.00"),
            )
            assert [(a.kind, a.amount) for a in again.applied_discounts] == [
                ("free_shipping", Decimal("2.50"))
            ]


# ------------------------------------------------- a backend's own columns --

#: The foreign shop (tests/engine/conftest.py) with its shipping columns bound by
#: their own names; conftest's SHOP maps neither: a backend without shipping.
SHIPPING_SHOP = Binding.of(
    order=Entity(
        Purchase,
        **SHOP.o.names,
        shipping_amount="delivery_fee",
        shipping_discount="delivery_discount",
    ),
    line=SHOP.ln,
    customer=SHOP.entity("customer"),
    labels=SHOP.labels,
    holders=SHOP.holders,
)


@pytest.fixture
def foreign_sessions(foreign_db):
    yield make_session_factory(foreign_db)
    with foreign_db.begin() as conn:
        for table in (*reversed(ShopBase.metadata.sorted_tables), *OWNED.sorted_tables):
            conn.execute(table.delete())


def purchase(sessions, binding, fee):
    e = Engine(rulec.load_text(RULES, "rules/shipping.rules"), binding=binding)
    e.attach(sessions)
    try:
        with sessions.begin() as s:
            p = Purchase(net_amount=Decimal("60.00"), currency_code="EUR", delivery_fee=fee)
            s.add(p)
        with sessions() as s:
            p = s.get(Purchase, p.key)
            audit = s.scalars(select(RuleAudit).where(RuleAudit.order_key == str(p.key)))
            return p, [(a.rule_name, a.kind, a.amount) for a in audit]
    finally:
        e.detach(sessions)


class TestABackendsOwnColumns:
    def test_a_backend_binds_its_own_shipping_columns(self, foreign_sessions):
        p, audit = purchase(foreign_sessions, SHIPPING_SHOP, Decimal("4.95"))
        assert (p.delivery_discount, p.discount_amount, p.total_amount) == (
            Decimal("4.95"),
            Decimal("0.00"),
            Decimal("60.00"),
        )
        assert audit == [("Free shipping over 50", "free_shipping", Decimal("4.95"))]

    def test_a_backend_without_shipping_still_works(self, foreign_sessions):
        p, audit = purchase(foreign_sessions, SHOP, Decimal("4.95"))  # the fee is not bound
        assert (p.delivery_discount, p.total_amount) == (Decimal("0"), Decimal("60.00"))
        assert audit == []
