"""Models: exact money, totals never below zero, masked URLs."""

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from rulec.storage.models import Customer, Label, Order
from rulec.storage.session import mask_url


class TestMoneyColumns:
    @pytest.mark.parametrize("amount", ["0.01", "12.50", "99999999.9999", "0.1234"])
    def test_decimals_come_back_exactly(self, sessions, amount):
        with sessions.begin() as s:
            s.add(Order(subtotal=Decimal(amount), total_amount=Decimal(amount)))
        with sessions() as s:
            got = s.scalars(select(Order.subtotal)).one()
            assert got == Decimal(amount)
            assert isinstance(got, Decimal)

    def test_a_float_is_refused(self, sessions):
        with pytest.raises(StatementError, match="money must be a Decimal"), sessions.begin() as s:
            s.add(Order(subtotal=0.1))


class TestOrder:
    def test_calculate_total_never_goes_below_zero(self):
        o = Order(subtotal=Decimal("10.00"), discount_amount=Decimal("15.00"))
        assert o.calculate_total() == Decimal("0")
        o.discount_amount = Decimal("2.50")
        assert o.calculate_total() == Decimal("7.50")

    def test_labels_are_unique_by_name(self, sessions):
        from sqlalchemy.exc import IntegrityError

        with sessions.begin() as s:
            s.add(Label(name="Customer_VIP"))
        with pytest.raises(IntegrityError), sessions.begin() as s:
            s.add(Label(name="Customer_VIP"))

    def test_customer_labels_record_when_they_were_assigned(self, sessions):
        from rulec.storage.models import customer_labels

        with sessions.begin() as s:
            s.add(Customer(name="Ben", labels=[Label(name="Customer_VIP")]))
        with sessions() as s:
            assert s.execute(select(customer_labels.c.assigned_at)).scalar_one() is not None


class TestMaskUrl:
    def test_passwords_never_show(self):
        assert mask_url("postgresql+psycopg://shop:s3cret@db:5432/shop") == (
            "postgresql+psycopg://shop:***@db:5432/shop"
        )
        assert "s3cret" not in mask_url("not a url but s3cret@host")
