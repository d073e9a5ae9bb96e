"""The models' money rules (rulec.storage.currencies), without the engine.

The models keep their own copy of the ISO minor units (storage imports only
SQLAlchemy) and their own line total: both are held equal to the engine's
here.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import CheckConstraint, select

from rulec.dsl.currencies import MINOR_UNITS as LANGUAGE_UNITS
from rulec.engine.core import money
from rulec.storage.currencies import MINOR_UNITS, AmountError, amount, line_total
from rulec.storage.models import AppliedDiscount, Item, Order, OrderItem, Price


class TestTheTable:
    def test_the_models_minor_units_are_the_languages(self):
        assert MINOR_UNITS == LANGUAGE_UNITS

    @given(
        quantity=st.integers(min_value=1, max_value=10_000),
        price=st.decimals(min_value=0, max_value=1_000_000, places=4),
        currency=st.sampled_from(["EUR", "USD", "GBP", "JPY", "KWD", "CLF", "ZZZ"]),
    )
    @settings(max_examples=300, deadline=None, database=None)
    def test_a_models_line_total_is_the_engines(self, quantity, price, currency):
        got = line_total(quantity, price, currency)
        want = money.line_total(quantity, price, currency)
        assert str(got) == str(want)


class TestAmount:
    @pytest.mark.parametrize(
        ("value", "currency", "finer", "want"),
        [
            ("12.5", "EUR", False, "12.50"),
            ("12.5000", "EUR", False, "12.50"),
            ("100.00", "JPY", False, "100"),
            ("0", "KWD", False, "0.000"),
            ("-0.00", "EUR", False, "0.00"),
            ("1.4790", "EUR", True, "1.479"),
            ("150", "EUR", True, "150.00"),
            ("10.005", "ZZZ", False, "10.005"),  # a currency rulec does not know
            ("10.005", None, False, "10.005"),
        ],
    )
    def test_an_amount_takes_its_currencys_places(self, value, currency, finer, want):
        assert str(amount(D(value), currency, "x", finer=finer)) == want

    @pytest.mark.parametrize(
        ("value", "currency", "message"),
        [
            ("10.005", "EUR", "x 10.005 EUR is finer than the currency's minor unit: "),
            ("100.5", "JPY", "JPY amounts have 0 decimal places"),
            ("1.0005", "KWD", "KWD amounts have 3 decimal places"),
            ("-0.01", "EUR", "x -0.01 EUR is negative"),
            ("-1", None, "x -1 is negative"),
            ("NaN", "EUR", "x NaN is not an amount"),
        ],
    )
    def test_a_refusal_names_the_value_the_currency_and_its_places(self, value, currency, message):
        with pytest.raises(AmountError) as refused:
            amount(D(value), currency, "x")
        assert message in str(refused.value)
        assert isinstance(refused.value, ValueError)

    def test_a_float_is_a_type_error(self):
        with pytest.raises(TypeError, match="money must be a Decimal"):
            amount(0.1, "EUR", "x")


class TestOrders:
    """Issue 13, bug 4, in the database: refused by the model, not by the engine alone."""

    def test_a_subtotal_finer_than_its_currency_is_refused(self):
        with pytest.raises(AmountError, match=r"order subtotal 10\.005 EUR .* 2 decimal places"):
            Order(subtotal=D("10.005"))
        with pytest.raises(AmountError, match=r"order subtotal 100\.5 JPY .* 0 decimal places"):
            Order(subtotal=D("100.5"), currency="JPY")  # the currency counts wherever it is given
        o = Order(currency="KWD", subtotal=D("1.005"))
        with pytest.raises(AmountError, match=r"order subtotal 1\.005 EUR"):
            o.currency = "EUR"

    def test_a_negative_amount_is_refused(self):
        with pytest.raises(AmountError, match=r"order subtotal -5\.00 EUR is negative"):
            Order(subtotal=D("-5.00"))
        o = Order()
        with pytest.raises(AmountError, match=r"order total amount -0\.01 EUR is negative"):
            o.total_amount = D("-0.01")

    def test_amounts_have_the_currencys_places(self):
        o = Order(subtotal=D("12.5"))
        assert [str(o.subtotal), str(o.discount_amount), str(o.total_amount)] == [
            "12.50",
            "0.00",
            "0.00",
        ]
        assert str(o.calculate_total()) == "12.50"
        y = Order(currency="JPY", subtotal=D("1999.00"))
        assert [str(y.subtotal), str(y.discount_amount), str(y.total_amount)] == ["1999", "0", "0"]
        y.currency = "KWD"
        assert str(y.subtotal) == "1999.000"
        free = Order(currency="JPY", subtotal=D("10"), discount_amount=D("15"))
        assert str(free.calculate_total()) == "0"  # never below zero, and never a bare 0 for EUR
        assert str(Order().items_subtotal()) == "0.00"

    def test_the_database_constraints_are_named_by_the_convention(self):
        def checks(model):
            return {c.name for c in model.__table__.constraints if isinstance(c, CheckConstraint)}

        assert checks(Order) == {
            "ck_orders_subtotal_not_negative",
            "ck_orders_discount_amount_not_negative",
            "ck_orders_total_amount_not_negative",
            "ck_orders_shipping_amount_not_negative",
            "ck_orders_shipping_discount_not_negative",
        }
        assert checks(OrderItem) == {
            "ck_order_items_quantity_positive",
            "ck_order_items_unit_price_not_negative",
            "ck_order_items_line_total_not_negative",
            "ck_order_items_discount_amount_not_negative",
        }


class TestLines:
    def test_a_line_total_is_rounded_when_the_line_joins_its_order(self):
        line = OrderItem(description="Fuel", unit_price=D("1.4790"), quantity=3)
        assert str(line.line_total) == "4.4370"  # no currency yet: exact
        Order(currency="EUR", items=[line])
        assert [str(line.unit_price), str(line.line_total), str(line.discount_amount)] == [
            "1.479",
            "4.44",
            "0.00",
        ]

    def test_a_line_built_for_its_order_is_rounded_at_once(self):
        o = Order(currency="JPY")
        line = OrderItem(order=o, description="Rice", unit_price=D("33.3"), quantity=3)
        assert str(line.line_total) == "100"

    def test_a_line_total_given_by_hand_must_be_in_the_minor_unit(self):
        line = OrderItem(
            description="Fuel", unit_price=D("1.479"), quantity=3, line_total=D("4.435")
        )
        with pytest.raises(AmountError, match=r"order line 'Fuel' total 4\.435 EUR"):
            Order(items=[line])

    def test_a_line_from_an_item_in_another_currency_is_refused(self):
        lens = Item(name="Lens", unit_price=D("10.00"), currency="USD")
        refused = (
            r"order line 'Lens' is priced in USD \(catalog item 'Lens'\), but its order is in EUR"
        )
        with pytest.raises(AmountError, match=refused):
            Order(items=[OrderItem(item=lens)])
        with pytest.raises(AmountError, match=refused):
            OrderItem(order=Order(), item=lens)
        line = OrderItem(description="Lens", unit_price=D("9.00"))
        Order(items=[line])
        with pytest.raises(AmountError, match=refused):
            line.item = lens
        o = Order(currency="USD", items=[OrderItem(item=lens)])
        with pytest.raises(AmountError, match=r"priced in USD .* its order is in EUR"):
            o.currency = "EUR"

    def test_a_line_added_by_its_orders_id_is_settled_when_it_is_written(self, sessions):
        with sessions.begin() as s:
            yen, lens = Order(currency="JPY"), Item(name="Lens", unit_price=D("10"), currency="USD")
            s.add_all([yen, lens])
        with sessions.begin() as s:
            s.add(OrderItem(order_id=yen.id, description="Rice", unit_price=D("33.3"), quantity=3))
        with sessions() as s:
            got = s.scalars(select(OrderItem)).one()
            assert [str(got.unit_price), str(got.line_total), str(got.discount_amount)] == [
                "33.3",
                "100",
                "0",
            ]
        with pytest.raises(AmountError, match="priced in USD"), sessions.begin() as s:
            s.add(OrderItem(order_id=yen.id, item_id=lens.id, description="Lens", unit_price=1))


class TestOtherAmounts:
    def test_item_and_price_amounts_may_be_finer_but_never_negative(self):
        assert str(Item(name="Fuel", unit_price=D("1.4790")).unit_price) == "1.479"
        assert str(Price(name="P", amount=D("2.5"), currency="KWD").amount) == "2.500"
        with pytest.raises(AmountError, match="item 'Fuel' unit price -1 EUR is negative"):
            Item(name="Fuel", unit_price=D("-1"))
        with pytest.raises(AmountError, match="price 'P' amount -1 EUR is negative"):
            Price(name="P", amount=D("-1"))

    def test_an_audit_amount_is_never_negative(self):
        with pytest.raises(AmountError, match=r"applied discount amount -1\.00 is negative"):
            AppliedDiscount(amount=D("-1.00"))
