"""Back-testing a backend's own schema bound to rulec (issue 22's foreign shop), on both
databases: the same report as on rulec's reference models (issue 16)."""

from __future__ import annotations

from decimal import Decimal

import pytest

import rulec
from rulec.engine.db.attach import Engine
from rulec.engine.db.facts.binding import BindingError
from rulec.storage.models import Order
from rulec.tools.diff import diff
from rulec.tools.simulate import simulate

OLD = """\
label Customer_VIP for customer
on order_created when customer has label Customer_VIP then discount 10% "VIP"
"""
NEW = """\
label Customer_VIP for customer
on order_created when customer has label Customer_VIP then discount 15% "VIP"
on order_created when order item count >= 3 and order subtotal >= 100.00 \
then discount 5.00 EUR "Bulk"
"""


@pytest.fixture
def stored(shop):
    """Three orders decided by the old rules when they were stored: a VIP's, a bulk one, a
    plain one."""
    old = rulec.load_text(OLD, "old.rules")
    engine = Engine(old, binding=shop.binding)
    engine.attach(shop.sessions)
    try:
        with shop.sessions.begin() as s:
            ada = shop.customer(s, "Ada", ["Customer_VIP"])
            ben = shop.customer(s, "Ben")
            orders = [
                shop.order(s, ada, [("Cake", 2, "30.00"), ("Flowers", 1, "60.00")]),
                shop.order(s, ben, [("Chairs", 4, "30.00")]),
                shop.order(s, ben, [("Tea", 1, "4.50")]),
            ]
    finally:
        engine.detach(shop.sessions)
    return old, rulec.load_text(NEW, "new.rules"), [shop.key(o) for o in orders]


def test_simulate_on_a_bound_schema(shop, stored) -> None:
    old, _, keys = stored
    sim = simulate(shop.sessions.kw["bind"], old, binding=shop.binding)
    assert (sim.orders, sim.decided) == (3, 1)
    vip = sim.rule("old.rules:2")
    assert (vip.matched, vip.applied, vip.discount, vip.sample) == (
        1, 1, {"EUR": Decimal("12.00")}, [keys[0]],
    )  # fmt: skip
    assert sim.stored == {"EUR": (3, Decimal("12.00"))}


def test_diff_on_a_bound_schema(shop, stored) -> None:
    old, new, keys = stored
    d = diff(shop.sessions.kw["bind"], old, new, binding=shop.binding)
    assert d.changed["amount changed"] == 1 and d.changed["newly discounted"] == 1
    assert d.total_changed == 2
    assert d.delta() == {"EUR": Decimal("11.00")}
    assert {c.order for c in d.sample} == set(keys[:2])  # in id order: UUIDs, not by age


def test_lines_that_carry_no_labels_in_a_bound_schema(shop) -> None:
    # the foreign shop's lines carry no labels (its binding names no holder for them,
    # and its tags are keyed by UUIDs while its lines are numbered): a rule on line
    # labels could never hold there, so the engine refuses it, naming what the binding
    # lacks, and back-testing says it read none; on the reference models a labelled
    # line is found by both
    text = (
        "label Fragile for item\n"
        'on order_created when any item has label Fragile then discount 5% "Careful"\n'
    )
    rules = rulec.load_text(text, "lines.rules")
    with shop.sessions.begin() as s:
        o = shop.order(s, shop.customer(s, "Ada"), [("Vase", 1, "40.00")])
        if shop.name == "reference":
            shop.tag(s, o.items[0], "Fragile", "item")
    bind = shop.sessions.kw["bind"]
    if shop.name == "foreign":
        said = "item.labels: the binding holds no labels for order lines or catalog items"
        with pytest.raises(BindingError, match=said):
            Engine(rules, binding=shop.binding)
        sim = simulate(bind, rules, binding=shop.binding)
        assert (sim.orders, sim.rule("lines.rules:2").matched) == (1, 0)
        assert sim.unloaded == ("item.labels",)
        # a rule on other facts of the lines is fine: the lines are read in batches
        # without their labels' statement ever comparing a UUID with a line number
        bulk = rulec.load_text(BULK, "bulk.rules")
        Engine(bulk, binding=shop.binding)
        sim = simulate(bind, bulk, binding=shop.binding)
        assert (sim.orders, sim.decided, sim.rule("bulk.rules:1").matched) == (1, 1, 1)
        return
    with shop.sessions() as s:
        by_row = Engine(rules).evaluate("order_created", shop.get(s, shop.key(o)), s)
    sim = simulate(bind, rules)
    assert by_row.discount_amount == Decimal("2.00")
    assert (sim.orders, sim.rule("lines.rules:2").matched) == (1, 1)


BULK = 'on order_created when any item quantity >= 1 then discount 1% "Bulk"\n'


def test_shipping_given_away_is_counted_as_stored_and_as_simulated(sessions) -> None:
    # an order stored with free shipping: the stored totals and the simulation
    # both count the shipping discount beside the order's discount
    text = (
        'on order_created when order subtotal >= 50.00 then discount 10% "Ten"\n'
        'on order_created when order subtotal >= 50.00 then free shipping "Free shipping"\n'
    )
    rules = rulec.load_text(text, "ship.rules")
    engine = Engine(rules)
    engine.attach(sessions)
    try:
        with sessions.begin() as s:
            s.add(Order(subtotal=Decimal("60.00"), shipping_amount=Decimal("4.95")))
    finally:
        engine.detach(sessions)
    sim = simulate(sessions.kw["bind"], rules)
    assert sim.stored == {"EUR": (1, Decimal("10.95"))}  # 6.00 + 4.95
    assert sim.discount == {"EUR": Decimal("10.95")}
    assert sim.rule("ship.rules:2").discount == {"EUR": Decimal("4.95")}
