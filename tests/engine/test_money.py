from decimal import Decimal

import pytest

from rulec.engine.money import minor_unit, percent_of, quantize


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
