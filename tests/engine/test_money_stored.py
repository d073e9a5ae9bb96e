"""The money rules as an order backend sees them: stored and read back (SQLite and PostgreSQL).

Issue 13, bugs 4, 5 and 6: amounts finer than the currency's minor unit,
lines in another currency than their order, line shares and the tie rule,
and every money field read back with the currency's places.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

import rulec
from rulec.engine.db.attach import Engine
from rulec.storage.models import AppliedDiscount, Item, Order, OrderItem, Price

from .test_money import PLACES, half_up, orders, reference_discounts, reference_shares, units


def engine_for(sessions, rules: str) -> Engine:
    e = Engine(rulec.load_text(rules, "money.rules"))
    e.attach(sessions)
    return e


def store(sessions, order: Order) -> int:
    with sessions.begin() as s:
        s.add(order)
    return order.id


def texts(*values) -> list[str]:
    """Amounts as a user reads them: ``str`` shows the places (12.50, not 12.5000)."""
    return [str(v) for v in values]


def lines(*sold) -> list[OrderItem]:
    return [
        OrderItem(description=f"line {n}", quantity=quantity, unit_price=D(price))
        for n, (quantity, price) in enumerate(sold)
    ]


def count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


class TestLinesFinerThanTheMinorUnit:
    def test_a_line_total_is_rounded_half_up_on_the_way_in(self, sessions):
        engine_for(sessions, 'on order_created then discount 10% "Ten"\n')
        oid = store(sessions, Order(currency="EUR", items=lines((3, "0.333"))))
        with sessions() as s:
            o = s.get(Order, oid)
            [line] = o.items
            assert texts(line.unit_price, line.line_total) == ["0.333", "1.00"]
            # was 0.999 - 0.10 = 0.899
            assert texts(o.subtotal, o.discount_amount, o.total_amount) == ["1.00", "0.10", "0.90"]

    def test_a_share_never_exceeds_its_line(self, sessions):
        engine_for(sessions, 'on order_created then discount 100% "Free"\n')
        sold = lines((1, "28.9631"), (3, "38.5923"), (10, "130.88"))
        oid = store(sessions, Order(currency="USD", items=sold))
        with sessions() as s:
            o = s.get(Order, oid)
            totals = [line.line_total for line in o.items]
            shares = [line.discount_amount for line in o.items]
            assert texts(*totals) == ["28.96", "115.78", "1308.80"]  # 115.7769 before
            assert shares == totals  # the share of 115.78 used to sit on a total of 115.7769
            assert texts(o.discount_amount, o.total_amount) == ["1453.54", "0.00"]


class TestTheTieRuleAsStored:
    @pytest.mark.parametrize(
        ("currency", "rule", "sold", "shares"),
        [
            ("EUR", "66.67%", [(1, "1.00"), (1, "1.00"), (1, "28.00")], ["0.67", "0.67", "18.66"]),
            ("JPY", "68 JPY", [(1, "1"), (1, "1"), (1, "100")], ["1", "1", "66"]),
        ],
    )
    def test_equal_remainders_go_to_the_earlier_line(self, sessions, currency, rule, sold, shares):
        engine_for(sessions, f'on order_created then discount {rule} "x"\n')
        oid = store(sessions, Order(currency=currency, items=lines(*sold)))
        with sessions() as s:
            assert texts(*(line.discount_amount for line in s.get(Order, oid).items)) == shares


class TestRefusedAmounts:
    @pytest.mark.parametrize(
        ("subtotal", "currency", "places"),
        [
            ("10.005", "EUR", "2 decimal places"),
            ("100.5", "JPY", "0 decimal places"),
            ("85.4960", "GBP", "2 decimal places"),
            ("9873.68", "JPY", "0 decimal places"),
            ("1.0005", "KWD", "3 decimal places"),
        ],
    )
    def test_a_subtotal_finer_than_its_currency_is_refused(
        self, sessions, subtotal, currency, places
    ):
        engine_for(sessions, 'on order_created then discount 10% "Ten"\n')
        with pytest.raises(ValueError, match=rf"subtotal {subtotal} {currency}\b.*{places}"):
            store(sessions, Order(currency=currency, subtotal=D(subtotal)))
        assert count(sessions, Order) == 0

    def test_a_negative_subtotal_is_refused(self, sessions):
        engine_for(sessions, 'on order_created then discount 10% "Ten"\n')
        with pytest.raises(ValueError, match=r"subtotal -5\.00 EUR is negative"):
            store(sessions, Order(currency="EUR", subtotal=D("-5.00")))
        assert count(sessions, Order) == 0

    def test_the_database_refuses_a_negative_subtotal_written_past_the_models(self, sessions):
        with pytest.raises(IntegrityError, match="subtotal"), sessions.begin() as s:
            s.execute(insert(Order).values(currency="EUR", subtotal=D("-5.00")))
        assert count(sessions, Order) == 0

    def test_removing_every_line_leaves_zero_in_the_currency(self, sessions):
        engine_for(sessions, 'on order_created then discount 10% "Ten"\n')
        eur = store(sessions, Order(currency="EUR", items=lines((1, "5.00"))))
        jpy = store(sessions, Order(currency="JPY", items=lines((1, "500"))))
        with sessions.begin() as s:
            for oid in (eur, jpy):
                order = s.get(Order, oid)
                order.items.clear()
        with sessions() as s:
            o, y = s.get(Order, eur), s.get(Order, jpy)
            assert texts(o.subtotal, o.discount_amount, o.total_amount) == ["0.00"] * 3
            assert texts(y.subtotal, y.discount_amount, y.total_amount) == ["0"] * 3


class TestLinesInAnotherCurrency:
    """Issue 13, bug 5: an EUR order with a USD item stored an EUR subtotal of 10.00."""

    @pytest.fixture
    def usd(self, sessions):
        with sessions.begin() as s:
            item = Item(name="Lens", unit_price=D("10.00"), currency="USD")
            s.add(item)
        return item.id

    def test_a_line_sold_from_an_item_in_another_currency_is_refused(self, sessions, usd):
        engine_for(sessions, 'on order_created then discount 10% "Ten"\n')
        refused = pytest.raises(ValueError, match=r"'Lens' is priced in USD.*order is in EUR")
        with refused, sessions.begin() as s:
            s.add(Order(currency="EUR", items=[OrderItem(item=s.get(Item, usd))]))
        assert count(sessions, Order) == count(sessions, OrderItem) == 0

    def test_nor_can_it_be_added_later(self, sessions, usd):
        engine_for(sessions, 'on order_created then discount 10% "Ten"\n')
        oid = store(sessions, Order(currency="EUR", items=lines((1, "4.00"))))
        refused = r"priced in USD.*order is in EUR"
        with pytest.raises(ValueError, match=refused), sessions.begin() as s:
            order = s.get(Order, oid)
            order.items.append(OrderItem(item=s.get(Item, usd)))
        with pytest.raises(ValueError, match=refused), sessions.begin() as s:
            s.add(OrderItem(order_id=oid, item=s.get(Item, usd)))  # by its order's id
        with sessions() as s:
            o = s.get(Order, oid)
            assert len(o.items) == 1 and texts(o.subtotal, o.total_amount) == ["4.00", "3.60"]

    def test_an_item_in_the_orders_currency_is_sold(self, sessions, usd):
        engine_for(sessions, 'on order_created then discount 10% "Ten"\n')
        with sessions.begin() as s:
            o = Order(currency="USD", items=[OrderItem(item=s.get(Item, usd), quantity=2)])
            s.add(o)
        with sessions() as s:
            assert texts(s.get(Order, o.id).total_amount) == ["18.00"]


class TestReadBackWithTheCurrencysPlaces:
    """Issue 13, bug 6: PostgreSQL read 12.50 back as 12.5000 (NUMERIC(14, 4))."""

    def test_every_money_field_of_an_order(self, sessions):
        engine_for(sessions, 'on order_created then discount 10% "Ten"\n')
        plain = store(sessions, Order(currency="EUR", subtotal=D("12.5")))
        made = store(sessions, Order(currency="EUR", items=lines((2, "150"), (1, "0.5"))))
        yen = store(sessions, Order(currency="JPY", subtotal=D("1999.00")))
        with sessions() as s:
            o = s.get(Order, plain)
            assert texts(o.subtotal, o.discount_amount, o.total_amount) == [
                "12.50",
                "1.25",
                "11.25",
            ]
            assert texts(*(a.amount for a in o.applied_discounts)) == ["1.25"]
            o = s.get(Order, made)
            assert [texts(x.unit_price, x.line_total, x.discount_amount) for x in o.items] == [
                ["150.00", "300.00", "30.00"],
                ["0.50", "0.50", "0.05"],
            ]
            o = s.get(Order, yen)
            assert texts(o.subtotal, o.discount_amount, o.total_amount) == ["1999", "200", "1799"]
            # not only through the ORM: a plain SELECT reads the same
            got = s.execute(select(Order.subtotal, Order.total_amount).order_by(Order.id)).all()
            assert [texts(*row) for row in got] == [
                ["12.50", "11.25"],
                ["300.50", "270.45"],
                ["1999", "1799"],
            ]
            amounts = s.scalars(select(AppliedDiscount.amount).order_by(AppliedDiscount.id))
            assert texts(*amounts) == ["1.25", "30.05", "200"]

    def test_item_and_price_amounts(self, sessions):
        with sessions.begin() as s:
            s.add_all(
                [
                    Item(name="Album", unit_price=D("150")),
                    Item(name="Fuel", unit_price=D("1.4790")),  # a unit price may be finer
                    Item(name="Tea", unit_price=D("300.0"), currency="JPY"),
                    Price(name="Plain", amount=D("100")),
                    Price(name="Dinar", amount=D("2.5"), currency="KWD"),
                ]
            )
        with sessions() as s:
            items = s.scalars(select(Item.unit_price).order_by(Item.id))
            assert texts(*items) == ["150.00", "1.479", "300"]
            prices = s.scalars(select(Price.amount).order_by(Price.id))
            assert texts(*prices) == ["100.00", "2.500"]


class TestStoredAgainstTheReference:
    """Random orders made of lines (unit prices finer than the minor unit included),
    decided by the engine, stored and read back, against the independent reference
    of test_money.py."""

    @given(order=orders().filter(lambda o: o[2] is not None))
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    def test_stored_figures_and_shares(self, sessions, order):
        currency, rules, sold, _ = order
        engine = Engine(rulec.load_text("".join(r.text(n) for n, r in enumerate(rules)), "r.rules"))
        engine.attach(sessions)
        try:
            oid = store(
                sessions,
                Order(
                    currency=currency,
                    items=[
                        OrderItem(description=f"l{n}", quantity=q, unit_price=p)
                        for n, (q, p) in enumerate(sold)
                    ],
                ),
            )
        finally:
            engine.detach(sessions)
        places = -PLACES[currency]
        with sessions() as s:
            o = s.get(Order, oid)
            totals = [line.line_total for line in o.items]
            assert [units(x, currency) for x in totals] == [
                half_up(q * units(p, currency)) for q, p in sold
            ]
            subtotal = sum(int(units(x, currency)) for x in totals)
            want = reference_discounts(rules, subtotal, currency)
            assert [units(a.amount, currency) for a in o.applied_discounts] == want
            assert units(o.discount_amount, currency) == sum(want)
            assert units(o.total_amount, currency) == subtotal - sum(want)
            shares = [line.discount_amount for line in o.items]
            assert [units(x, currency) for x in shares] == reference_shares(
                sum(want), [int(units(x, currency)) for x in totals]
            )
            assert all(0 <= share <= total for share, total in zip(shares, totals, strict=True))
            paid = [o.subtotal, o.discount_amount, o.total_amount, *totals, *shares]
            paid += [a.amount for a in o.applied_discounts]
            assert {x.as_tuple().exponent for x in paid} == {places}  # as written, on both
