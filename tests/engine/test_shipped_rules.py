"""The rule files rulec ships (``rules/``) do what their comments say, on both databases."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, select

import rulec
from rulec.engine.db.attach import Engine
from rulec.storage.models import Agent, Customer, Item, Label, Order, OrderItem

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture
def engine(sessions):
    e = Engine.from_paths([RULES])
    e.attach(sessions)
    return e


def label(s, name, kind):
    found = s.execute(
        select(Label).where(Label.name == name, Label.entity_type == kind)
    ).scalar_one_or_none()
    return found or Label(name=name, entity_type=kind)


def names(labels):
    return sorted(x.name for x in labels)


def test_the_shipped_rules_are_clean():
    assert [d.check_tuple() for d in rulec.check_paths([RULES])] == []


class TestOrders:
    def test_a_fragile_line_makes_the_order_careful(self, engine, sessions):
        with sessions.begin() as s:
            vase = Item(
                name="Vase", unit_price=Decimal("30.00"), labels=[label(s, "Fragile", "item")]
            )
            o = Order(items=[OrderItem(item=vase, quantity=2)])
            s.add(o)
        with sessions() as s:
            o = s.get(Order, o.id)
            assert names(o.labels) == ["Careful_Handling"]
            assert (o.subtotal, o.status) == (Decimal("60.00"), "new")

    def test_a_rush_order_is_confirmed(self, engine, sessions):
        with sessions.begin() as s:
            o = Order(subtotal=Decimal("10.00"), labels=[label(s, "Rush", "order")])
            s.add(o)
        with sessions() as s:
            o = s.get(Order, o.id)
            assert o.status == "confirmed"
            assert [c.rule_name for c in o.status_changes] == ["orders.rules:11"]

    def test_an_agent_order_without_a_customer_waits(self, engine, sessions):
        with sessions.begin() as s:
            o = Order(agent=Agent(name="Bob"), subtotal=Decimal("10.00"))
            mine = Order(
                agent=Agent(name="Eve"), customer=Customer(name="Ada"), subtotal=Decimal("10.00")
            )
            s.add_all([o, mine])
        with sessions() as s:
            assert s.get(Order, o.id).status == "pending"
            assert s.get(Order, mine.id).status == "new"
            assert [c.rule_name for c in s.get(Order, o.id).status_changes] == ["agent orders wait"]

    def test_a_rush_order_an_agent_placed_alone_still_waits(self, engine, sessions):
        # two rules set the status: the rules say which wins (priority), not their order
        with sessions.begin() as s:
            o = Order(
                agent=Agent(name="Bob"),
                subtotal=Decimal("10.00"),
                labels=[label(s, "Rush", "order")],
            )
            s.add(o)
        with sessions() as s:
            o = s.get(Order, o.id)
            assert o.status == "pending"
            assert [c.rule_name for c in o.status_changes] == ["agent orders wait"]


class TestLabels:
    def test_a_new_vip_is_welcomed_and_the_welcome_goes_with_the_label(self, engine, sessions):
        with sessions.begin() as s:
            ada = Customer(name="Ada")
            s.add(ada)
        with sessions.begin() as s:
            c = s.get(Customer, ada.id)
            c.labels.append(label(s, "Customer_VIP", "customer"))
        with sessions.begin() as s:
            c = s.get(Customer, ada.id)
            assert names(c.labels) == ["Customer_VIP", "Welcomed"]
            c.labels.remove(next(x for x in c.labels if x.name == "Customer_VIP"))
        with sessions() as s:
            assert names(s.get(Customer, ada.id).labels) == []

    def test_a_vip_order_still_gets_the_old_systems_discount(self, engine, sessions):
        with sessions.begin() as s:
            ben = Customer(name="Ben", labels=[label(s, "Customer_VIP", "customer")])
            o = Order(customer=ben, subtotal=Decimal("120.00"))
            s.add(o)
        with sessions() as s:
            o = s.get(Order, o.id)
            assert (o.discount_percentage, o.discount_amount, o.total_amount) == (
                Decimal("10"),
                Decimal("12.00"),
                Decimal("108.00"),
            )
            assert o.discount_description == "VIP New Order Discount"


def test_an_order_loads_only_what_order_rules_read(engine, sessions, db):
    """The daily rules read a customer's order count; creating an order does not."""
    with sessions.begin() as s:
        ben = Customer(name="Ben", labels=[label(s, "Customer_VIP", "customer")])
        s.add(ben)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper())

    event.listen(db, "before_cursor_execute", seen)
    try:
        with sessions.begin() as s:
            s.add(Order(customer_id=ben.id, subtotal=Decimal("120.00")))
    finally:
        event.remove(db, "before_cursor_execute", seen)
    assert "order_count" in " ".join(engine.rules.keys_for("daily:customer")).replace(".", "_")
    assert statements.count("SELECT") == 1  # the customer's labels, nothing else
    assert statements.count("INSERT") == 2  # the order and its one audit row
