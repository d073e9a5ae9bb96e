"""Money: Decimal end to end, quantized to the currency's minor unit."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from rulec.dsl.currencies import MINOR_UNITS

__all__ = ["ROUNDING", "allocate", "minor_unit", "percent_of", "quantize", "zero"]

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


def allocate(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """``amount`` split in proportion to ``weights``, in the currency's minor unit.

    The parts add up to ``amount`` exactly (largest remainder): each part is
    first rounded down to the minor unit, then the units left over go one
    each to the parts with the largest remainders (ties to the earlier part).
    No cent is lost or invented. Weights are the lines' totals; with no
    positive weight, every part is zero (and so must ``amount`` be).
    """
    unit = minor_unit(currency)
    amount = quantize(amount, currency)
    total = sum((w for w in weights if w > 0), Decimal(0))
    if not weights:
        return []
    if total <= 0:
        if amount:
            raise ValueError(f"cannot split {amount} {currency} over lines worth nothing")
        return [zero(currency)] * len(weights)
    exact = [amount * w / total if w > 0 else Decimal(0) for w in weights]
    parts = [x.quantize(unit, ROUND_DOWN) for x in exact]
    left = int((amount - sum(parts, Decimal(0))) / unit)
    order = sorted(range(len(parts)), key=lambda n: (-(exact[n] - parts[n]), n))
    for n in order[:left]:
        parts[n] += unit
    return parts
