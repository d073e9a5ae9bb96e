"""``rulec demo``: the old system's functional checks, told as a story."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulec.engine.db.attach import Engine
from rulec.engine.db.basket import basket, render_basket
from rulec.storage import migrate
from rulec.storage.models import Customer, Label, Order, OrderItem
from rulec.storage.session import make_engine, make_session_factory, mask_url

__all__ = ["run_demo", "show_basket"]


def show_basket(order: Order, who: str) -> str:
    """``order`` as the basket page shows it (:func:`rulec.engine.db.basket.render_basket`)."""
    return render_basket(basket(order), who)


def _label(session: Session, name: str) -> Label:
    """The customer label ``name`` (a label is its name and its entity type)."""
    label = session.execute(
        select(Label).where(Label.name == name, Label.entity_type == "customer")
    ).scalar_one_or_none()
    if label is None:
        label = Label(name=name, entity_type="customer", description="VIP customers")
        session.add(label)
    return label


def run_demo(
    url: str, rule_paths: Iterable[str | os.PathLike[str]], say: Callable[[str], None] = print
) -> None:
    """Migrate ``url``, load the rules and replay the VIP story, printing baskets."""
    db = make_engine(url)
    try:
        say(f"Database: {mask_url(url)}")
        migrate.upgrade(db)
        engine = Engine.from_paths(rule_paths)
        say(f"Rules: {len(engine.rules)} loaded, version {engine.rules.version}")
        factory = make_session_factory(db)
        engine.attach(factory)

        with factory.begin() as s:
            vip = _label(s, "Customer_VIP")
            ada = Customer(name="Ada")
            ben = Customer(name="Ben", labels=[vip])
            s.add_all([ada, ben])

        say("\n1. Ada has no VIP label and orders for 100.00 EUR: no discount.")
        with factory.begin() as s:
            o1 = Order(customer_id=ada.id, subtotal=Decimal("100.00"), currency="EUR")
            s.add(o1)
            s.flush()
            say(show_basket(o1, "Ada"))

        say("\n2. Ben is a VIP and orders for 120.00 EUR: 10% off.")
        with factory.begin() as s:
            o2 = Order(customer_id=ben.id, subtotal=Decimal("120.00"), currency="EUR")
            s.add(o2)
            s.flush()
            say(show_basket(o2, "Ben (VIP)"))
        first_vip_order = o2.id

        say("\n3. Ben loses the VIP label and orders for 80.00 EUR: no discount;")
        say("   his earlier order keeps its discount.")
        with factory.begin() as s:
            customer = s.get(Customer, ben.id)
            assert customer is not None
            customer.labels.clear()
        with factory.begin() as s:
            o3 = Order(customer_id=ben.id, subtotal=Decimal("80.00"), currency="EUR")
            s.add(o3)
            s.flush()
            say(show_basket(o3, "Ben"))
        with factory() as s:
            earlier = s.get(Order, first_vip_order)
            assert earlier is not None
            say(show_basket(earlier, "Ben, earlier order, read back from the database"))

        say("\n4. Cleo is a VIP and orders two albums and a photographer: 10% off,")
        say("   each line's share of the discount stored with the line.")
        with factory.begin() as s:
            cleo = Customer(name="Cleo", labels=[_label(s, "Customer_VIP")])
            s.add(cleo)
            s.flush()
            o4 = Order(
                customer_id=cleo.id,
                currency="EUR",
                items=[
                    OrderItem(description="Wedding album", quantity=2, unit_price=Decimal("150")),
                    OrderItem(description="Photographer, one day", unit_price=Decimal("1000")),
                ],
            )
            s.add(o4)
        with factory() as s:
            stored = s.get(Order, o4.id)
            assert stored is not None
            say(show_basket(stored, "Cleo (VIP), read back from the database"))
    finally:
        db.dispose()
