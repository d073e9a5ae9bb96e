"""Discounts on lines, buy X get Y and tiers through the ORM (issue 15): each line's
share written from the Decision, one audit row per applied rule, the basket; on
SQLite and PostgreSQL, on the reference models and on a backend's own."""

from __future__ import annotations

import pathlib
import re
from decimal import Decimal as D

import pytest
from sqlalchemy import select

import rulec
from rulec.engine.db.attach import Engine
from rulec.engine.db.basket import basket, render_basket
from rulec.engine.db.facts.row import load_facts
from rulec.storage.models import AppliedDiscount, Customer, Item, Label, Order, OrderItem

SHOP_RULES = """\
rule "three for two" combinable on order_created then buy 2 get 1 free on items "Three for two" end
on order_created then discount 2.00 EUR from 30.00 EUR, 5.00 EUR from 100.00 EUR "Spend and save"
"""


@pytest.fixture
def shop_engine(shop):
    e = Engine(rulec.load_text(SHOP_RULES, "rules/lines.rules"), binding=shop.binding)
    e.attach(shop.sessions)
    yield e
    e.detach(shop.sessions)


class TestOnEveryShop:
    def test_shares_audit_rows_and_an_update(self, shop, shop_engine):
        with shop.sessions.begin() as s:
            o = shop.order(s, None, (("Cake", 3, "10.00"), ("Tea", 1, "4.00")))
        key = shop.key(o)
        with shop.sessions() as s:
            o = shop.get(s, key)
            # 4 items: 1 free, the cheapest (the tea); the tier from 30.00 EUR gives
            # 2.00 EUR, shared over what the free tea leaves: all of it on the cake
            assert shop.figures(o) == (
                None,
                D("6.00"),
                "Spend and save + Three for two",
                D("28.00"),
            )
            lines = sorted(shop.lines(o), key=shop.unit_price)
            assert [shop.share(x) for x in lines] == [D("4.00"), D("2.00")]
            assert len(shop.audit_ids(s, o)) == 2  # one row per applied rule
        with shop.sessions.begin() as s:
            o = shop.get(s, key)
            cake = max(shop.lines(o), key=shop.unit_price)
            shop.set_quantity(cake, 5)  # 6 items: 2 free, the tea and one cake
        with shop.sessions() as s:
            o = shop.get(s, key)
            assert shop.figures(o)[1:] == (D("16.00"), "Spend and save + Three for two", D("38.00"))
            lines = sorted(shop.lines(o), key=shop.unit_price)
            assert [shop.share(x) for x in lines] == [D("4.00"), D("12.00")]
            assert sum(shop.share(x) for x in lines) == D("16.00")


RULES = """\
label Clearance, Socks for item
rule "Clearance sale" combinable on order_created
  then discount 20% on items with label Clearance up to 5.00 EUR per line "Clearance sale"
end
rule "Socks" combinable on order_created
  then buy 2 get 1 free on items with label Socks "Socks: 3 for 2"
end
on order_created then discount 10% "Ten off"
"""


def _label(name: str) -> Label:
    return Label(name=name, entity_type="item")


class TestReferenceModels:
    @pytest.fixture
    def engine(self, sessions):
        e = Engine(rulec.load_text(RULES, "rules/promo.rules"))
        e.attach(sessions)
        yield e
        e.detach(sessions)

    def test_catalog_labels_select_the_lines(self, sessions, engine):
        with sessions.begin() as s:
            socks = Item(name="Socks", unit_price=D("6.00"), labels=[_label("Socks")])
            coat = Item(name="Coat", unit_price=D("80.00"))
            o = Order(
                currency="EUR",
                items=[
                    OrderItem(description="Socks", quantity=3, unit_price=D("6.00"), item=socks),
                    OrderItem(
                        description="Coat",
                        quantity=1,
                        unit_price=D("80.00"),
                        item=coat,
                        labels=[_label("Clearance")],
                    ),
                ],
            )
            s.add(o)
        with sessions() as s:
            o = s.get(Order, o.id)
            # 10% of 98.00 is 9.80 (the best, applied first); the coat's 20% is
            # capped at 5.00; one pair of socks free; 9.80 shared over what is left
            assert (o.discount_amount, o.total_amount) == (D("20.80"), D("77.20"))
            # (12.00 and 75.00: 1.35 and 8.45, the odd cent to the larger remainder)
            socks_line, coat_line = sorted(o.items, key=lambda x: x.unit_price)
            assert (socks_line.discount_amount, coat_line.discount_amount) == (
                D("7.35"),
                D("13.45"),
            )
            rows = s.execute(
                select(AppliedDiscount.rule_name, AppliedDiscount.kind, AppliedDiscount.amount)
                .where(AppliedDiscount.order_id == o.id)
                .order_by(AppliedDiscount.id)
            ).all()
            assert [tuple(r) for r in rows] == [
                ("promo.rules:8", "percentage", D("9.80")),
                ("Clearance sale", "line_percentage", D("5.00")),
                ("Socks", "buy_get", D("6.00")),
            ]
            text = render_basket(basket(o))
            assert text.count("less discount") == 2
            assert "Socks: 3 for 2" in text and "-6.00 EUR" in text

    def test_deciding_again_keeps_the_shares_and_the_rows(self, sessions, engine):
        with sessions.begin() as s:
            o = Order(
                currency="EUR",
                items=[
                    OrderItem(
                        description="Scarf",
                        quantity=2,
                        unit_price=D("12.50"),
                        labels=[_label("Clearance")],
                    )
                ],
            )
            s.add(o)
        with sessions() as s:
            o = s.get(Order, o.id)
            first = ([x.discount_amount for x in o.items], o.discount_amount)
            ids = s.scalars(select(AppliedDiscount.id).where(AppliedDiscount.order_id == o.id))
            ids = list(ids)
        with sessions.begin() as s:
            o = s.get(Order, o.id)
            engine.fire("order_updated", o, s)
        with sessions() as s:
            o = s.get(Order, o.id)
            assert ([x.discount_amount for x in o.items], o.discount_amount) == first
            again = s.scalars(select(AppliedDiscount.id).where(AppliedDiscount.order_id == o.id))
            assert list(again) == ids
            # 25.00: 10% is 2.50, then 20% of the line, 5.00 (its cap per line)
            assert first == ([D("7.50")], D("7.50"))


class TestDocs:
    """The worked example of docs/discounts.md's 'Discounts on lines', as written."""

    SECTION = (
        (pathlib.Path(__file__).parents[2] / "docs" / "discounts.md")
        .read_text("utf-8")
        .split("\n## Discounts on lines\n", 1)[1]
        .split("\n## ", 1)[0]
    )

    def test_the_documented_basket_is_what_the_engine_writes(self, sessions):
        [rules] = re.findall(r"```rules\n(.*?)```", self.SECTION, re.S)
        [shown] = re.findall(r"```text\n(.*?)```", self.SECTION, re.S)
        engine = Engine(rulec.load_text(rules, "promotions.rules"))
        engine.attach(sessions)
        try:
            with sessions.begin() as s:
                socks, clearance = _label("Socks"), _label("Clearance")
                dan = Customer(
                    name="Dan", labels=[Label(name="Newsletter", entity_type="customer")]
                )
                sold = [
                    ("Winter coat", 1, "80.00", [clearance]),
                    ("Wool socks", 4, "6.00", [socks]),
                    ("Cotton socks", 2, "4.50", [socks]),
                    ("Scarf", 1, "30.00", []),
                ]
                o = Order(
                    customer=dan,
                    currency="EUR",
                    items=[
                        OrderItem(
                            description=name,
                            quantity=q,
                            unit_price=D(price),
                            item=Item(name=name, unit_price=D(price), labels=labels),
                        )
                        for name, q, price, labels in sold
                    ],
                )
                s.add(o)
            with sessions() as s:
                o = s.get(Order, o.id)
                text = render_basket(basket(o), "Dan (newsletter)")
                assert text.replace(f"#{o.id} ", "#7 ") + "\n" == shown
                facts = load_facts(s, o, engine.rules.keys_for("order_created"))
                reasons = {
                    r.rule: r.reason for r in engine.rules.explain("order_created", facts).rules
                }
        finally:
            engine.detach(sessions)
        said = " ".join(reasons["Socks 3 for 2"].split())
        assert said in " ".join(self.SECTION.split())
