"""``rulec demo``: the old system's functional checks, told as a story."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulec.engine.engine import Engine
from rulec.storage import migrate
from rulec.storage.models import Customer, Label, Order
from rulec.storage.session import make_engine, make_session_factory, mask_url

__all__ = ["basket", "run_demo"]


def basket(order: Order, who: str) -> str:
    """An order as the basket page shows it: subtotal, discount line, total."""
    cur = order.currency
    lines = [f"Basket: order #{order.id} for {who}"]
    lines.append(f"  {'Subtotal':<40}{order.subtotal:>12} {cur}")
    for d in order.applied_discounts:
        pct = f" ({d.percentage.normalize():f}%)" if d.percentage is not None else ""
        lines.append(f"  {(d.description + pct)[:40]:<40}{-d.amount:>12} {cur}")
    lines.append(f"  {'Total':<40}{order.total_amount:>12} {cur}")
    return "\n".join(lines)


def _label(session: Session, name: str) -> Label:
    label = session.execute(select(Label).where(Label.name == name)).scalar_one_or_none()
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
            say(basket(o1, "Ada"))

        say("\n2. Ben is a VIP and orders for 120.00 EUR: 10% off.")
        with factory.begin() as s:
            o2 = Order(customer_id=ben.id, subtotal=Decimal("120.00"), currency="EUR")
            s.add(o2)
            s.flush()
            say(basket(o2, "Ben (VIP)"))
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
            say(basket(o3, "Ben"))
        with factory() as s:
            earlier = s.get(Order, first_vip_order)
            assert earlier is not None
            say(basket(earlier, "Ben, earlier order, read back from the database"))
    finally:
        db.dispose()
