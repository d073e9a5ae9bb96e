"""Money: Decimal end to end, quantized to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from rulec.dsl.currencies import MINOR_UNITS

__all__ = ["ROUNDING", "minor_unit", "percent_of", "quantize", "zero"]

#: The rounding mode for every amount the engine computes.
ROUNDING = ROUND_HALF_UP
_HUNDRED = Decimal(100)
#: Currency code → its minor unit as a quantize exponent, computed once.
_EXPONENTS = {code: Decimal(1).scaleb(-places) for code, places in MINOR_UNITS.items()}
#: Currency code → zero in that currency (``0.00`` EUR, ``0`` JPY).
_ZEROS = {code: Decimal(0).quantize(exp) for code, exp in _EXPONENTS.items()}


def _unknown(currency: str) -> ValueError:
    return ValueError(f"unknown currency {currency!r}")


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 EUR, 1 JPY, 0.001 KWD."""
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise _unknown(currency) from None


def zero(currency: str) -> Decimal:
    """Zero quantized to ``currency``: what ``quantize(Decimal(0), currency)`` gives."""
    try:
        return _ZEROS[currency]
    except KeyError:
        raise _unknown(currency) from None


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the minor unit of ``currency``."""
    try:
        return amount.quantize(_EXPONENTS[currency], ROUNDING)
    except KeyError:
        raise _unknown(currency) from None


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """``percent`` % of ``amount``, rounded half-up: 25% of 19.99 EUR is 5.00."""
    try:
        return (amount * percent / _HUNDRED).quantize(_EXPONENTS[currency], ROUNDING)
    except KeyError:
        raise _unknown(currency) from None
