"""Money: Decimal end to end, quantized to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from rulec.dsl.currencies import MINOR_UNITS

__all__ = ["ROUNDING", "minor_unit", "percent_of", "quantize"]

#: The rounding mode for every amount the engine computes.
ROUNDING = ROUND_HALF_UP
_HUNDRED = Decimal(100)
_EXPONENTS = {code: Decimal(1).scaleb(-places) for code, places in MINOR_UNITS.items()}


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 EUR, 1 JPY, 0.001 KWD."""
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the minor unit of ``currency``."""
    return amount.quantize(minor_unit(currency), rounding=ROUNDING)


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """``percent`` % of ``amount``, rounded half-up: 25% of 19.99 EUR is 5.00."""
    return quantize(amount * percent / _HUNDRED, currency)
