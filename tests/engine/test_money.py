from decimal import Decimal
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulec.engine.core.money import allocate, minor_unit, percent_of, quantize


class TestMoney:
    @pytest.mark.parametrize(
        ("amount", "percent", "currency", "expected"),
        [
            ("19.99", "25", "EUR", "5.00"),  # 4.9975 rounds half-up
            ("0.05", "10", "EUR", "0.01"),  # 0.005 rounds half-up, not to even
            ("0.04", "10", "EUR", "0.00"),
            ("120.00", "10", "EUR", "12.00"),
            ("99.99", "12.5", "EUR", "12.50"),
            ("1999", "15", "JPY", "300"),  # 299.85 -> 300 yen, no minor unit
            ("1.005", "50", "KWD", "0.503"),  # three places
            ("10.00", "33.3333", "USD", "3.33"),
        ],
    )
    def test_percent_of_rounds_half_up_to_the_minor_unit(self, amount, percent, currency, expected):
        got = percent_of(Decimal(amount), Decimal(percent), currency)
        assert got == Decimal(expected)
        assert str(got) == expected

    def test_minor_units(self):
        assert minor_unit("EUR") == Decimal("0.01")
        assert minor_unit("JPY") == Decimal("1")
        assert minor_unit("KWD") == Decimal("0.001")

    def test_unknown_currency_is_an_error(self):
        with pytest.raises(ValueError, match="unknown currency 'XYZ'"):
            quantize(Decimal("1"), "XYZ")


class TestAllocate:
    """An order's discount split over its lines: exact, by largest remainder."""

    def test_thirds_give_the_odd_cent_to_the_largest_remainder(self):
        parts = allocate(D("10.00"), [D("33.33"), D("33.33"), D("33.34")], "EUR")
        assert parts == [D("3.33"), D("3.33"), D("3.34")]
        assert allocate(D("0.05"), [D("1"), D("1"), D("1")], "EUR") == [
            D("0.02"),
            D("0.02"),
            D("0.01"),
        ]  # equal remainders: the earlier lines first

    def test_minor_units_of_the_currency(self):
        assert allocate(D("7"), [D("100"), D("200")], "JPY") == [D("2"), D("5")]
        assert allocate(D("1.000"), [D("1"), D("2")], "KWD") == [D("0.333"), D("0.667")]

    def test_nothing_to_split(self):
        assert allocate(D("0.00"), [D("0"), D("0")], "EUR") == [D("0.00"), D("0.00")]
        assert allocate(D("0"), [], "EUR") == []
        with pytest.raises(ValueError, match="worth nothing"):
            allocate(D("1.00"), [D("0")], "EUR")

    @given(
        amount=st.decimals(min_value=0, max_value=100_000, places=2),
        weights=st.lists(
            st.decimals(min_value=0, max_value=10_000, places=2), min_size=1, max_size=30
        ),
    )
    @settings(max_examples=300, deadline=None, database=None)
    def test_parts_add_up_exactly_and_stay_within_a_cent_of_the_exact_share(self, amount, weights):
        total = sum(weights, D(0))
        if total == 0:
            amount = D("0.00")
        amount = min(amount, total).quantize(D("0.01"))
        parts = allocate(amount, weights, "EUR")
        assert sum(parts, D(0)) == amount
        for part, w in zip(parts, weights, strict=True):
            exact = amount * w / total if total else D(0)
            assert abs(part - exact) < D("0.01")
            assert part >= 0 and part.as_tuple().exponent == -2
